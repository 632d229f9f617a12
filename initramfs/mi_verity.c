// SPDX-License-Identifier: MIT
/*
 * measured-init: enforce the verity measurement.  The hash tree that the
 * measured root hash was computed from (lib/verity.c, in memory, from the
 * one read of every data block) becomes a read-only loop device over a
 * sealed memfd; a read-only dm-verity mapping then checks every block read
 * from the root device against that tree, so a block changed on the device
 * after the measurement reads as EIO instead of as the attacker's data.
 *
 * The device-mapper ioctls directly (linux/dm-ioctl.h): libcryptsetup would
 * pull libdevmapper, which waits for a udev that the initramfs does not run.
 * The tree lives in RAM, 1/128 of the image for sha256 and 4 KiB blocks; the
 * image itself is unchanged (no hash partition, nothing new to build).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "mi.h"

/*
 * The tree as a read-only block device: a sealed memfd behind a loop device.
 * *ret_fd keeps the loop device open: with autoclear it would go at the last
 * close, so it is closed only once dm-verity holds it.
 */
static int tree_device(const struct verity_tree *t, dev_t *ret, int *ret_fd)
{
	struct loop_config lc = {.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR};
	char loop[32];
	struct stat st;
	int mfd, ctl = -1, lfd = -1, n = -1, rc;

	mfd = memfd_create("measured-verity-tree", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return err_set(-errno, "memfd_create: %s", strerror(errno));
	rc = fd_write_all(mfd, t->area, t->size);
	/* nobody changes the tree from now on, not even through this fd */
	if (rc == 0 && fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		rc = err_set(-errno, "sealing the hash tree: %s", strerror(errno));
	if (rc == 0 && (ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0)
		rc = err_set(-errno, "/dev/loop-control: %s (is the loop module loaded?)",
			     strerror(errno));
	if (rc == 0 && (n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
		rc = err_set(-errno, "no free loop device: %s", strerror(errno));
	if (rc == 0) {
		snprintf(loop, sizeof(loop), "/dev/loop%d", n);
		lfd = open(loop, O_RDONLY | O_CLOEXEC);
		if (lfd < 0)
			rc = err_set(-errno, "%s: %s", loop, strerror(errno));
	}
	lc.fd = (uint32_t)mfd;
	if (rc == 0 && ioctl(lfd, LOOP_CONFIGURE, &lc) < 0)
		rc = err_set(-errno, "%s over the hash tree: %s", loop, strerror(errno));
	if (rc == 0 && fstat(lfd, &st) < 0)
		rc = err_set(-errno, "%s: %s", loop, strerror(errno));
	if (rc == 0) {
		*ret = st.st_rdev;
		*ret_fd = lfd;
	} else if (lfd >= 0) {
		close(lfd);
	}
	/* the loop device holds the memfd */
	if (ctl >= 0)
		close(ctl);
	close(mfd);
	return rc;
}

struct dm_request {
	struct dm_ioctl io;
	struct dm_target_spec spec;
	char params[2 * VERITY_SALT_MAX + 2 * DIGEST_MAX + 256];
};

static int dm_call(int ctl, unsigned long cmd, const char *what, struct dm_request *r)
{
	r->io.version[0] = DM_VERSION_MAJOR;
	r->io.version[1] = 0;
	r->io.version[2] = 0;
	r->io.data_size = sizeof(*r);
	r->io.data_start = sizeof(r->io);
	snprintf(r->io.name, sizeof(r->io.name), "%s", MI_VERITY_NAME);
	if (ioctl(ctl, cmd, r) < 0)
		return err_set(-errno, "device-mapper %s %s: %s", what, MI_VERITY_NAME,
			       strerror(errno));
	return 0;
}

/* "1 data hash 4096 4096 blocks 0 sha256 root salt", devices by number: no path race */
static void verity_table(const struct mi_config *cfg, const struct rootfs_measurement *m,
			 dev_t hash_dev, char *out, size_t len)
{
	char root[2 * DIGEST_MAX + 1], salt[2 * VERITY_SALT_MAX + 1];

	hex_encode(m->root_hash, cfg->vp.alg->size, root);
	hex_encode(cfg->vp.salt, cfg->vp.salt_len, salt);
	snprintf(out, len, "1 %u:%u %u:%u %u %u %llu 0 %s %s %s", major(m->dev), minor(m->dev),
		 major(hash_dev), minor(hash_dev), cfg->vp.data_block_size, cfg->vp.hash_block_size,
		 (unsigned long long)m->data_blocks, cfg->vp.alg->name, root,
		 cfg->vp.salt_len ? salt : "-");
}

static int dm_verity_create(const struct mi_config *cfg, const struct rootfs_measurement *m,
			    dev_t hash_dev, dev_t *ret)
{
	struct dm_request r;
	dev_t dev;
	int ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	int rc;

	if (ctl < 0)
		return err_set(-errno, "/dev/mapper/control: %s (is dm_mod loaded?)",
			       strerror(errno));
	memset(&r, 0, sizeof(r));
	if ((rc = dm_call(ctl, DM_DEV_CREATE, "create", &r)) < 0)
		goto out;
	dev = makedev(major(r.io.dev), minor(r.io.dev));
	memset(&r, 0, sizeof(r));
	r.io.flags = DM_READONLY_FLAG;
	r.io.target_count = 1;
	r.spec.sector_start = 0;
	r.spec.length = m->data_blocks * (cfg->vp.data_block_size / 512);
	snprintf(r.spec.target_type, sizeof(r.spec.target_type), "verity");
	verity_table(cfg, m, hash_dev, r.params, sizeof(r.params));
	mi_say("dm-verity table: 0 %llu verity %s", (unsigned long long)r.spec.length, r.params);
	rc = dm_call(ctl, DM_TABLE_LOAD, "table load", &r);
	if (rc == 0) {
		memset(&r, 0, sizeof(r)); /* DM_DEV_SUSPEND without the suspend flag: resume */
		rc = dm_call(ctl, DM_DEV_SUSPEND, "resume", &r);
	}
	if (rc < 0) {
		memset(&r, 0, sizeof(r));
		dm_call(ctl, DM_DEV_REMOVE, "remove", &r); /* the cause above is the one */
		goto out;
	}
	*ret = dev;
out:
	close(ctl);
	return rc;
}

int mi_verity_map(const struct mi_config *cfg, const struct rootfs_measurement *m,
		  const struct verity_tree *tree, char *ret_dev, size_t len)
{
	dev_t hash_dev = 0, dev = 0;
	int rc, loop_fd = -1;

	if (!m->dev || !tree->area)
		return err_set(-EINVAL, "%s: dm-verity needs a block device of more than one block",
			       cfg->root);
	if ((rc = tree_device(tree, &hash_dev, &loop_fd)) == 0)
		rc = dm_verity_create(cfg, m, hash_dev, &dev);
	/* dm-verity holds the loop device now; it goes when the mapping does */
	if (loop_fd >= 0)
		close(loop_fd);
	if (rc < 0)
		return err_wrap(rc, "mapping %s through dm-verity", cfg->root);
	/* no udev here: the /dev/mapper name is ours to make (devtmpfs made dm-N) */
	snprintf(ret_dev, len, "/dev/mapper/%s", MI_VERITY_NAME);
	if (mknod(ret_dev, S_IFBLK | 0600, dev) < 0 && errno != EEXIST)
		return err_set(-errno, "mknod %s: %s", ret_dev, strerror(errno));
	return 0;
}
