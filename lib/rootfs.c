// SPDX-License-Identifier: MIT
/* Root filesystem image measurement: flat digest or dm-verity root hash. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "rootfs.h"

int rootfs_mode_parse(const char *text, enum rootfs_mode *ret)
{
	if (strcmp(text, "flat") == 0)
		*ret = ROOTFS_FLAT;
	else if (strcmp(text, "verity") == 0)
		*ret = ROOTFS_VERITY;
	else
		return err_set(-EINVAL, "mode must be flat or verity, not \"%s\"", text);
	return 0;
}

int rootfs_pcr_check(unsigned pcr)
{
	const char *why = pcr <= 7    ? "belongs to the firmware"
			  : pcr == 10 ? "belongs to IMA"
			  : pcr == 11 ? "belongs to cmld"
			  : pcr == 16 || pcr == 23
				  ? "can be reset by any program (debug / application PCR)"
			  : pcr >= 17 && pcr <= 22 ? "belongs to TXT (reset by a late launch)"
			  : pcr >= PCR_COUNT	   ? "does not exist"
						   : NULL;

	if (why)
		return err_set(-EINVAL, "PCR %u %s: the rootfs goes to 8, 9, 12, 13, 14 or 15", pcr,
			       why);
	return 0;
}

int rootfs_pcr_parse(const char *text, unsigned *ret)
{
	char *end;
	unsigned long pcr = strtoul(text, &end, 10);
	int rc;

	if (*end || end == text || *text == '-' || *text == '+' || *text == ' ')
		return err_set(-EINVAL, "\"%s\" is not a number", text);
	if ((rc = rootfs_pcr_check(pcr > PCR_COUNT ? PCR_COUNT : (unsigned)pcr)) < 0)
		return rc;
	*ret = (unsigned)pcr;
	return 0;
}

const char *rootfs_mode_name(enum rootfs_mode mode)
{
	return mode == ROOTFS_VERITY ? "verity" : "flat";
}

static int measure_verity(int fd, const struct verity_params *vp,
			  const struct hash_alg *const *banks, unsigned n, unsigned threads,
			  progress_fn progress, void *arg, struct rootfs_measurement *m,
			  struct verity_tree *ret_tree)
{
	struct verity_tree t;
	int rc = verity_hash_tree(fd, vp, threads, progress, arg, m->root_hash, &t);

	if (rc < 0)
		return rc;
	m->data_blocks = t.data_blocks;
	rc = digest_per_bank(vp->alg, m->root_hash, banks, n, m->digest);
	if (rc == 0 && ret_tree)
		*ret_tree = t;
	else
		verity_tree_free(&t);
	return rc;
}

int rootfs_measure(const char *path, enum rootfs_mode mode, const struct verity_params *vp,
		   const struct hash_alg *const *banks, unsigned n, unsigned threads,
		   progress_fn progress, void *progress_arg, struct rootfs_measurement *ret,
		   struct verity_tree *ret_tree)
{
	struct rootfs_measurement m = {.mode = mode, .n = n};
	struct verity_params defaults;
	struct stat st;
	int fd, rc;

	if (n == 0 || n > PCR_BANKS_MAX)
		return err_set(-EINVAL, "between 1 and %d banks", PCR_BANKS_MAX);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		close(fd);
		return err_set(-EINVAL, "%s: not a regular file or block device", path);
	}
	m.dev = S_ISBLK(st.st_mode) ? st.st_rdev : 0;
	m.size = S_ISBLK(st.st_mode) ? (uint64_t)lseek(fd, 0, SEEK_END) : (uint64_t)st.st_size;
	lseek(fd, 0, SEEK_SET);
	if (mode == ROOTFS_VERITY) {
		if (!vp) {
			verity_params_default(&defaults);
			vp = &defaults;
		}
		rc = measure_verity(fd, vp, banks, n, threads, progress, progress_arg, &m,
				    ret_tree);
	} else {
		uint8_t outs[PCR_BANKS_MAX][DIGEST_MAX];

		rc = digest_fd_multi(fd, banks, n, outs, progress, progress_arg);
		for (unsigned i = 0; i < n && rc == 0; i++) {
			m.digest[i].alg = banks[i];
			memcpy(m.digest[i].value, outs[i], banks[i]->size);
		}
	}
	close(fd);
	if (rc < 0)
		return err_wrap(rc, "%s", path);
	*ret = m;
	return 0;
}
