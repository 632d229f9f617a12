/* SPDX-License-Identifier: MIT */
/*
 * Container runtime.  start:
 *   parent: verifies the GuestOS config's signature, opens and hashes its
 *           images (mounted later from those descriptors), unseals or makes
 *           missing data images (ext4,
 *           root owned by the container's root), creates the cgroup, clones
 *   child:  new mount, PID, UTS, IPC and network namespaces; joins the
 *           cgroup; assembles the root from the GuestOS mounts (loop devices,
 *           overlay), /proc, /sys, /dev, /dev/cfifos; pivot_root; then
 *           unshare(CLONE_NEWUSER) and waits
 *   parent: writes uid_map/gid_map (container root = uid_base), sets up the
 *           network and the vTPM, lets the child go
 *   child:  becomes root of its user namespace, confines itself (cm_confine:
 *           no_new_privs, bounding set, seccomp) and execs the GuestOS init.
 * The child reports a failure on a CLOEXEC pipe; EOF there means exec worked.
 * The user namespace comes last so that the mounts can use loop devices
 * (which a user namespace may not), and the container's root then holds no
 * capability over them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/loop.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cm_cgroup.h"
#include "cm_image.h"
#include "cm_proc.h"
#include "cml_measure.h"
#include "cmld.h"
#include "cm_control.h"
#include "cm_guestos.h"
#include "cm_measure.h"
#include "cm_net.h"
#include "cm_runtime.h"
#include "cm_seal.h"
#include "cm_store.h"
#include "cm_vtpm.h"
#include "err.h"
#include "fileio.h"

#define CHILD_ERR_MAX 512

const char *cm_state_name(ContainerState s)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&container_state__descriptor, (int)s);
	return v ? v->name : "UNKNOWN";
}

static void run_path(const struct cmld *d, const struct cm_container *c, char *buf, size_t size,
		     const char *what)
{
	snprintf(buf, size, "%s/%s%s%s", d->run_dir, c->uuid, what[0] ? "/" : "", what);
}

static int mkdir_one(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", path, strerror(errno));
	return 0;
}

int cm_runtime_init(struct cmld *d)
{
	return mkdir_one(d->run_dir, 0700);
}

/* ---- child side: errors go to the parent as text ---- */

static int child_err_fd = -1;

static void __attribute__((noreturn, format(printf, 1, 2))) child_fail(const char *fmt, ...)
{
	char msg[CHILD_ERR_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && write(child_err_fd, msg,
			   (size_t)(n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1)) < 0) {
		/* nothing more to do: the parent sees the exit status */
	}
	_exit(127);
}

/*
 * Attaches the image open as @img to a free loop device; returns the device's
 * open fd (and path in @dev).  Autoclear detaches it at the last close once
 * unmounted, so the fd must stay open until the mount holds the device.
 */
static int loop_attach(int img, const char *name, bool ro, char *dev, size_t size)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int r = -1;

	if (ctl < 0)
		return -1;
	for (int attempt = 0; attempt < 16; attempt++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), fd;
		struct loop_config cfg = {.fd = (unsigned)img};
		if (n < 0)
			break;
		snprintf(dev, size, "/dev/loop%d", n);
		fd = open(dev, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			/* a minimal /dev: make the node the kernel just allocated */
			mknod(dev, S_IFBLK | 0600, makedev(7, n));
			fd = open(dev, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		}
		if (fd < 0)
			break;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0);
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", name);
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0) {
			r = fd;
			break;
		}
		close(fd);
		if (errno != EBUSY)
			break;
	}
	close(ctl);
	return r;
}

/*
 * Mounts an image on @target: a GuestOS image by the descriptor its digest
 * was read from (@img_fd >= 0), else the per-container image @image (an
 * unlocked /dev/mapper device, or a plain data image file).
 */
static void mount_image(int img_fd, const char *image, const char *target, const char *fstype,
			bool ro, const char *data)
{
	char dev[64];
	int loop, fd = img_fd;

	if (img_fd < 0 && !strncmp(image, "/dev/mapper/", 12)) {
		/* an unlocked LUKS2 data image: already a block device */
		if (mount(image, target, fstype, (ro ? MS_RDONLY : 0) | MS_NODEV | MS_NOSUID,
			  data) < 0)
			child_fail("mount %s (%s) on %s: %s", image, fstype, target,
				   strerror(errno));
		return;
	}
	if (fd < 0 && (fd = open(image, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW)) < 0)
		child_fail("%s: %s", image, strerror(errno));
	loop = loop_attach(fd, image, ro, dev, sizeof(dev));
	if (loop < 0)
		child_fail("loop device for %s: %s", image, strerror(errno));
	if (fd != img_fd)
		close(fd);
	if (mount(dev, target, fstype, (ro ? MS_RDONLY : 0) | MS_NODEV | MS_NOSUID, data) < 0)
		child_fail("mount %s (%s) on %s: %s", image, fstype, target, strerror(errno));
	close(loop);
}

struct start_plan {
	struct cmld *d;
	struct cm_container *c;
	const GuestOSConfig *g;
	int *image_fds; /* per mount: the GuestOS image hashed for this start, or -1 */
	bool setup;
	bool sealed;	  /* data images are unlocked LUKS2 mappings */
	char root[1024];  /* where the root is assembled */
	char stage[1024]; /* per-image mounts before they are placed */
	char fifos[1024];
	char **argv, **envp;
	int sync_rd, sync_wr, err_wr;
};

/*
 * The mount point @m->mount_point inside the root being assembled, made if
 * missing (a folder, or for @file an empty file), opened O_PATH without
 * following any symlink or leaving the root: what the GuestOS images or the
 * container itself wrote there earlier cannot point a mount elsewhere.
 * Returns "/proc/self/fd/N" in @buf (the fd stays open until exec).
 */
static void open_target(struct start_plan *p, const GuestOSMount *m, bool file, char *buf,
			size_t size)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS};
	const char *rel = m->mount_point + 1, *leaf = strrchr(m->mount_point, '/') + 1;
	char parent[1024];
	int root, dir, fd;

	if (!*rel) {
		snprintf(buf, size, "%s", p->root);
		return;
	}
	if ((root = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		child_fail("%s: %s", p->root, strerror(errno));
	snprintf(parent, sizeof(parent), "%.*s", (int)(leaf - rel), rel);
	if (!parent[0])
		dir = root;
	else if ((dir = (int)syscall(SYS_openat2, root, parent, &how, sizeof(how))) < 0)
		child_fail("mount_point %s: %s%s", m->mount_point, strerror(errno),
			   errno == ELOOP ? " (a symlink on the way)" : "");
	if (file) {
		fd = openat(dir, leaf, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	} else {
		mkdirat(dir, leaf, 0755); /* on a writable layer below; fine if it exists */
	}
	if ((fd = (int)syscall(SYS_openat2, dir, leaf, &how, sizeof(how))) < 0)
		child_fail("mount_point %s: %s%s", m->mount_point, strerror(errno),
			   errno == ELOOP ? " (a symlink)" : "");
	snprintf(buf, size, "/proc/self/fd/%d", fd);
	if (dir != root)
		close(dir);
	close(root);
}

static void place_mount(struct start_plan *p, const GuestOSMount *m, size_t index)
{
	char target[2048], image[1024], staged[1100], opts[4 * 1300];
	const char *name = m->image_file;
	bool per_container = m->mount_type == GUEST_OSMOUNT__TYPE__EMPTY ||
			     m->mount_type == GUEST_OSMOUNT__TYPE__OVERLAY_RW;
	bool file = m->mount_type == GUEST_OSMOUNT__TYPE__BIND_FILE ||
		    m->mount_type == GUEST_OSMOUNT__TYPE__BIND_FILE_RW;
	int img = per_container ? -1 : p->image_fds[index];

	if (m->mount_type == GUEST_OSMOUNT__TYPE__STORE_ONLY)
		return; /* kept in the GuestOS store (checked and measured), never mounted */
	if (per_container && p->sealed) {
		strcpy(image, "/dev/mapper/");
		cm_seal_mapping(p->c, index, image + 12, sizeof(image) - 12);
	} else if (per_container)
		cm_data_image_path(p->d, p->c->uuid, m, image, sizeof(image));
	else
		snprintf(image, sizeof(image), "/proc/self/fd/%d", img);
	snprintf(staged, sizeof(staged), "%s/%zu", p->stage, index);
	open_target(p, m, file, target, sizeof(target));

	switch (m->mount_type) {
	case GUEST_OSMOUNT__TYPE__SHARED:
		mount_image(img, image, target, m->fs_type, true, m->mount_data);
		break;
	case GUEST_OSMOUNT__TYPE__EMPTY:
		mount_image(img, image, target, m->fs_type, false, m->mount_data);
		break;
	case GUEST_OSMOUNT__TYPE__SHARED_RW:
	case GUEST_OSMOUNT__TYPE__OVERLAY_RO:
	case GUEST_OSMOUNT__TYPE__OVERLAY_RW: {
		bool rw_image = m->mount_type == GUEST_OSMOUNT__TYPE__OVERLAY_RW;
		mkdir(staged, 0700);
		if (m->mount_type == GUEST_OSMOUNT__TYPE__SHARED_RW) {
			/* writable, but only until stop: a tmpfs upper layer */
			if (mount("tmpfs", staged, "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755") < 0)
				child_fail("tmpfs for %s: %s", name, strerror(errno));
		} else {
			mount_image(img, image, staged, m->fs_type, !rw_image, m->mount_data);
		}
		if (m->mount_type == GUEST_OSMOUNT__TYPE__OVERLAY_RO) {
			snprintf(opts, sizeof(opts), "lowerdir=%s:%s", staged, target);
		} else {
			char upper[1300], work[1300], lower[2100];
			snprintf(upper, sizeof(upper), "%s/upper", staged);
			snprintf(work, sizeof(work), "%s/work", staged);
			mkdir(upper, 0755);
			mkdir(work, 0700);
			if (m->mount_type == GUEST_OSMOUNT__TYPE__SHARED_RW) {
				snprintf(lower, sizeof(lower), "%s/lower", staged);
				mkdir(lower, 0755);
				mount_image(img, image, lower, m->fs_type, true, m->mount_data);
			} else {
				snprintf(lower, sizeof(lower), "%s", target);
			}
			/* the merged top directory takes its owner from upper */
			if (p->c->config->userns &&
			    chown(upper, p->c->uid_base, p->c->uid_base) < 0)
				child_fail("chown %s: %s", upper, strerror(errno));
			snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower,
				 upper, work);
		}
		if (mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
			child_fail("overlay for %s on %s: %s", name, m->mount_point,
				   strerror(errno));
		break;
	}
	case GUEST_OSMOUNT__TYPE__BIND_FILE:
	case GUEST_OSMOUNT__TYPE__BIND_FILE_RW:
		if (mount(image, target, NULL, MS_BIND, NULL) < 0)
			child_fail("bind %s on %s: %s", name, m->mount_point, strerror(errno));
		if (mount(NULL, target, NULL,
			  MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV |
				  (m->mount_type == GUEST_OSMOUNT__TYPE__BIND_FILE ? MS_RDONLY : 0),
			  NULL) < 0)
			child_fail("remount %s: %s", m->mount_point, strerror(errno));
		break;
	default:
		child_fail("mount '%s': type %d is not supported", name, m->mount_type);
	}
}

static void bind_dev(const char *root, const char *name)
{
	char target[1200], source[64];
	int fd;

	snprintf(source, sizeof(source), "/dev/%s", name);
	snprintf(target, sizeof(target), "%s/dev/%s", root, name);
	fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	if (fd >= 0)
		close(fd);
	if (mount(source, target, NULL, MS_BIND, NULL) < 0)
		child_fail("bind %s: %s", source, strerror(errno));
}

static void mount_api_filesystems(struct start_plan *p)
{
	static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
	char path[1200];

	snprintf(path, sizeof(path), "%s/proc", p->root);
	mkdir(path, 0555);
	if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		child_fail("mount /proc: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/sys", p->root);
	mkdir(path, 0555);
	if (mount("sysfs", path, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		child_fail("mount /sys: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/dev", p->root);
	mkdir(path, 0755);
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m") < 0)
		child_fail("mount /dev: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		bind_dev(p->root, devs[i]);
	snprintf(path, sizeof(path), "%s/dev/shm", p->root);
	mkdir(path, 01777);
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		child_fail("mount /dev/shm: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/dev/cfifos", p->root);
	mkdir(path, 0755);
	if (mount(p->fifos, path, NULL, MS_BIND, NULL) < 0)
		child_fail("bind /dev/cfifos: %s", strerror(errno));
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
	    0)
		child_fail("bind /dev/cfifos: %s", strerror(errno));
}

/* @root as the process's root: a mount point of its own, pivoted into, the old root gone. -errno */
static int pivot_into(const char *root)
{
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	if (chdir(root) < 0)
		return -errno;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	if (umount2(".", MNT_DETACH) < 0)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	return 0;
}

/* Root of the user namespace it is in (after unshare, once the maps are written). -errno */
static int become_ns_root(void)
{
	if (setresgid(0, 0, 0) < 0)
		return -errno;
	if (setgroups(0, NULL) < 0)
		return -errno;
	if (setresuid(0, 0, 0) < 0)
		return -errno;
	return 0;
}

static void child_wait_go(struct start_plan *p, char say)
{
	char go = 0;

	if (write(p->sync_wr, &say, 1) != 1 || read(p->sync_rd, &go, 1) != 1 || go != 'G')
		child_fail("cmld went away during start");
}

static void __attribute__((noreturn)) child_main(struct start_plan *p)
{
	ContainerConfig *cfg = p->c->config;
	struct cm_cgroup cg;

	child_err_fd = p->err_wr;
	cm_child_reset_signals();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	cm_cgroup_open(&cg, p->c->uuid);
	if (cm_cgroup_enter_self(&cg) < 0)
		child_fail("%s", err_msg());
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail("make / private: %s", strerror(errno));
	mkdir(p->root, 0755);
	mkdir(p->stage, 0700);
	/* the staging area is ours alone: nothing mounted there reaches the host */
	if (mount("tmpfs", p->stage, "tmpfs", 0, "mode=0700") < 0)
		child_fail("tmpfs %s: %s", p->stage, strerror(errno));
	for (size_t i = 0; i < p->g->n_mounts; i++)
		place_mount(p, p->g->mounts[i], i);
	if (p->setup) {
		char setup[1200];
		snprintf(setup, sizeof(setup), "%s/setup", p->root);
		mkdir(setup, 0755);
		if (mount(p->root, setup, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail("bind the root at /setup: %s", strerror(errno));
	}
	mount_api_filesystems(p);
	if (sethostname(cfg->name, strlen(cfg->name)) < 0)
		child_fail("sethostname: %s", strerror(errno));
	if (pivot_into(p->root) < 0)
		child_fail("pivot_root into %s: %s", p->root, strerror(errno));
	if (cfg->userns && unshare(CLONE_NEWUSER) < 0)
		child_fail("user namespace: %s", strerror(errno));
	child_wait_go(p, cfg->userns ? 'U' : 'R');
	if (cfg->userns && become_ns_root() < 0)
		child_fail("becoming root of the user namespace: %s", strerror(errno));
	if (cm_confine_apply(&p->d->confine, cfg) < 0)
		child_fail("%s", err_msg());
	execve(p->argv[0], p->argv, p->envp);
	child_fail("exec %s: %s", p->argv[0], strerror(errno));
}

/* ---- parent side ---- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		r = err_set(-errno, "%s: %s", path, strerror(errno));
	close(fd);
	return r;
}

static int write_id_maps(struct cm_container *c)
{
	char path[64], map[64];
	int r;

	snprintf(map, sizeof(map), "0 %u 65536\n", c->uid_base);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", c->init_pid);
	r = write_file(path, map);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", c->init_pid);
	return write_file(path, map);
}

/* Plain data images (no TPM to seal their key): made at first start. */
static int make_data_images(struct cmld *d, struct cm_container *c, const GuestOSConfig *g)
{
	char path[4096], tmp[4200];
	int r;

	for (size_t i = 0; i < g->n_mounts; i++) {
		const GuestOSMount *m = g->mounts[i];
		if (cml_mount_has_image(m))
			continue;
		cm_data_image_path(d, c->uuid, m, path, sizeof(path));
		if (access(path, F_OK) == 0)
			continue;
		/* made under another name: a crash in mkfs must not leave a half image in use */
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		r = cm_data_image_mkfs(c, m, tmp);
		if (r == 0)
			r = file_commit(tmp, path);
		if (r < 0) {
			unlink(tmp);
			return r;
		}
	}
	return 0;
}

static int make_fifos(struct cmld *d, struct cm_container *c, const char *dir)
{
	int r;

	(void)d;
	r = mkdir_one(dir, 0755);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->config->n_fifos; i++) {
		char path[1200];
		const char *name = c->config->fifos[i];
		if (!*name || strchr(name, '/') || name[0] == '.')
			return err_set(-EINVAL, "fifo name '%s' is not a plain name", name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (mkfifo(path, 0660) < 0 && errno != EEXIST)
			return err_set(-errno, "mkfifo %s: %s", path, strerror(errno));
		if (c->config->userns && chown(path, c->uid_base, c->uid_base) < 0)
			return err_set(-errno, "chown %s: %s", path, strerror(errno));
	}
	return 0;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **grown = realloc(*v, (*n + 2) * sizeof(**v));

	if (!grown)
		return -ENOMEM;
	*v = grown;
	if (!(grown[*n] = strdup(s)))
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

static int build_exec(struct start_plan *p, char **vtpm_env, size_t n_vtpm_env)
{
	size_t na = 0, ne = 0;
	int r = 0;

	r |= strv_push(&p->argv, &na, p->g->init_path);
	for (size_t i = 0; i < p->g->n_init_param; i++)
		r |= strv_push(&p->argv, &na, p->g->init_param[i]);
	r |= strv_push(&p->envp, &ne,
		       "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	r |= strv_push(&p->envp, &ne, "container=cml");
	for (size_t i = 0; i < p->g->n_init_env; i++)
		r |= strv_push(&p->envp, &ne, p->g->init_env[i]);
	for (size_t i = 0; i < p->c->config->n_init_env; i++)
		r |= strv_push(&p->envp, &ne, p->c->config->init_env[i]);
	for (size_t i = 0; i < n_vtpm_env; i++)
		r |= strv_push(&p->envp, &ne, vtpm_env[i]);
	return r ? err_set(-ENOMEM, "out of memory") : 0;
}

/* Waits for the child's 'U'/'R', or its error text. */
static int read_child_ready(int sync_rd, int err_rd)
{
	char ch, msg[CHILD_ERR_MAX];
	ssize_t n = read(sync_rd, &ch, 1);

	if (n == 1)
		return 0;
	n = read(err_rd, msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	return err_set(-EIO, "%s", n > 0 ? msg : "the container's init died during setup");
}

static int spawn(struct start_plan *p)
{
	struct cm_container *c = p->c;
	int to_child[2], from_child[2], errp[2], r;
	unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
	char **vtpm_env = NULL;
	size_t n_vtpm_env = 0;
	char msg[CHILD_ERR_MAX];
	ssize_t n;

	if (c->config->netns)
		flags |= CLONE_NEWNET;
	r = cm_vtpm_env(p->d, c, &vtpm_env, &n_vtpm_env);
	if (r < 0)
		return r;
	r = build_exec(p, vtpm_env, n_vtpm_env);
	strv_free(vtpm_env);
	if (r < 0)
		return r;
	int *const pipes[] = {to_child, from_child, errp};

	for (size_t i = 0; i < sizeof(pipes) / sizeof(pipes[0]); i++)
		if (pipe2(pipes[i], O_CLOEXEC) < 0)
			return err_set(-errno, "pipe: %s", strerror(errno));
	p->sync_rd = to_child[0];
	p->sync_wr = from_child[1];
	p->err_wr = errp[1];
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		close(to_child[1]);
		close(from_child[0]);
		close(errp[0]);
		child_main(p);
	}
	close(to_child[0]);
	close(from_child[1]);
	close(errp[1]);
	if (pid < 0) {
		r = err_set(-errno, "clone: %s", strerror(errno));
		goto out;
	}
	c->init_pid = pid;
	c->init_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	r = read_child_ready(from_child[0], errp[0]);
	if (r < 0)
		goto out;
	if (c->config->userns) {
		r = write_id_maps(c);
		if (r < 0)
			goto out;
	}
	r = cm_net_setup(p->d, c);
	if (r < 0)
		goto out;
	r = cm_vtpm_start(p->d, c);
	if (r < 0)
		goto out;
	if (write(to_child[1], "G", 1) != 1) {
		r = err_set(-EIO, "the container's init died during setup");
		goto out;
	}
	/* EOF: exec happened (the pipe is CLOEXEC); text: it failed */
	n = read(errp[0], msg, sizeof(msg) - 1);
	if (n > 0) {
		msg[n] = '\0';
		r = err_set(-EIO, "%s", msg);
	}
out:
	close(to_child[1]);
	close(from_child[0]);
	close(errp[0]);
	return r;
}

/* Another container that was given the same user ids (a record edited offline). */
static int uid_range_check(struct cmld *d, struct cm_container *c)
{
	if (c->config->userns && cm_uid_base_used(d, c->uid_base, c))
		return err_set(-EPERM,
			       "container %s: its user ids (from %u) are another container's",
			       c->config->name, c->uid_base);
	return 0;
}

/*
 * What a start runs, checked now rather than trusted from the data folder:
 * the GuestOS config's signature (a sealed container's against the trust
 * anchors only), the container config's paths and user ids, and each GuestOS
 * image hashed from the descriptor that is then mounted.
 */
static int start_check(struct cmld *d, struct cm_container *c, struct start_plan *p,
		       GuestOSConfig **ret_g)
{
	enum cm_trust trust = p->sealed ? CM_TRUST_ANCHORS : CM_TRUST_ANY_REGISTERED;
	GuestOSConfig *g;
	int r;

	r = cm_config_check(d, c->uuid, c->config);
	if (r < 0)
		return r;
	r = uid_range_check(d, c);
	if (r < 0)
		return r;
	r = cm_guestos_load_verified(d, c->config->guest_os, trust, &g);
	if (r < 0)
		return r;
	*ret_g = g;
	if (!g->n_mounts || strcmp(g->mounts[0]->mount_point, "/"))
		return err_set(-EINVAL, "GuestOS %s: the first mount must be at /", g->name);
	if (!(p->image_fds = calloc(g->n_mounts, sizeof(int))))
		return err_set(-ENOMEM, "out of memory");
	return cm_guestos_open_images(d, g, p->image_fds);
}

static void close_images(struct start_plan *p)
{
	for (size_t i = 0; p->image_fds && i < p->g->n_mounts; i++)
		if (p->image_fds[i] >= 0)
			close(p->image_fds[i]);
	free(p->image_fds);
}

int cm_container_start(struct cmld *d, struct cm_container *c, bool setup, const char *pin)
{
	struct start_plan p = {.d = d, .c = c, .setup = setup, .sealed = cm_sealed(d, c)};
	GuestOSConfig *g = NULL;
	struct cm_cgroup cg;
	char dir[1024];
	int r;

	if (c->state != CONTAINER_STATE__STOPPED)
		return err_set(-EEXIST, "container %s is %s", c->config->name,
			       cm_state_name(c->state));
	c->unlock_rc = 0;
	r = start_check(d, c, &p, &g);
	p.g = g;
	if (r < 0)
		goto out_free;
	c->state = CONTAINER_STATE__STARTING;
	cm_store_path(d, dir, sizeof(dir), "containers/%s", c->uuid);
	r = mkdir_one(dir, 0700);
	if (r < 0)
		goto out;
	r = p.sealed ? cm_seal_open(d, c, g, pin) : make_data_images(d, c, g);
	if (r < 0)
		goto out;
	r = cm_measure_start(d, c, g);
	if (r < 0)
		goto out;
	run_path(d, c, dir, sizeof(dir), "");
	r = mkdir_one(dir, 0700);
	if (r < 0)
		goto out;
	run_path(d, c, p.root, sizeof(p.root), "root");
	run_path(d, c, p.stage, sizeof(p.stage), "stage");
	run_path(d, c, p.fifos, sizeof(p.fifos), "fifos");
	r = make_fifos(d, c, p.fifos);
	if (r < 0)
		goto out;
	uint64_t mib = c->config->ram_limit ? c->config->ram_limit : d->confine.memory_mib;
	struct cm_cgroup_limits lim = {.memory_max = mib << 20,
				       .pids_max = d->confine.pids_max,
				       .cpu_percent = d->confine.cpu_percent};
	r = cm_cgroup_create(&cg, c->uuid, &lim);
	if (r < 0)
		goto out;
	r = spawn(&p);
out:
	strv_free(p.argv);
	strv_free(p.envp);
	if (r < 0) {
		char why[1024];
		snprintf(why, sizeof(why), "%s", err_msg()); /* the cleanup may record its own */
		c->state = CONTAINER_STATE__STOPPED;
		if (c->init_pid > 0) {
			kill(c->init_pid, SIGKILL);
			while (waitpid(c->init_pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		cm_container_reaped(d, c, 0);
		err_set(r, "%s", why);
	} else {
		c->state = setup ? CONTAINER_STATE__SETUP : CONTAINER_STATE__RUNNING;
		c->setup_mode = setup;
		c->started = time(NULL);
		log_info("container %s (%s) started, init pid %d", c->config->name, c->uuid,
			 c->init_pid);
	}
out_free:
	if (g) {
		close_images(&p);
		protobuf_c_message_free_unpacked(&g->base, NULL);
	}
	return r;
}

int cm_container_stop(struct cmld *d, struct cm_container *c)
{
	struct timespec now;

	if (c->state == CONTAINER_STATE__STOPPED || !c->init_pid)
		return err_set(-ESRCH, "container %s is not running", c->config->name);
	if (c->state == CONTAINER_STATE__FROZEN || c->state == CONTAINER_STATE__FREEZING)
		cm_container_freeze(d, c, false);
	c->state = CONTAINER_STATE__SHUTTING_DOWN;
	kill(c->init_pid, SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &now);
	c->stop_deadline = now;
	c->stop_deadline.tv_sec += d->stop_timeout_ms / 1000;
	c->stop_deadline.tv_nsec += (long)(d->stop_timeout_ms % 1000) * 1000000L;
	if (c->stop_deadline.tv_nsec >= 1000000000L) {
		c->stop_deadline.tv_sec++;
		c->stop_deadline.tv_nsec -= 1000000000L;
	}
	return 0;
}

int cm_container_freeze(struct cmld *d, struct cm_container *c, bool freeze)
{
	struct cm_cgroup cg;
	int r;

	(void)d;
	if (!c->init_pid)
		return err_set(-ESRCH, "container %s is not running", c->config->name);
	if (freeze && c->state != CONTAINER_STATE__RUNNING && c->state != CONTAINER_STATE__SETUP)
		return err_set(-EINVAL, "container %s is %s", c->config->name,
			       cm_state_name(c->state));
	if (!freeze && c->state != CONTAINER_STATE__FROZEN && c->state != CONTAINER_STATE__FREEZING)
		return err_set(-EINVAL, "container %s is not frozen", c->config->name);
	cm_cgroup_open(&cg, c->uuid);
	r = cm_cgroup_freeze(&cg, freeze);
	if (r < 0)
		return r;
	if (!freeze) {
		c->state = c->setup_mode ? CONTAINER_STATE__SETUP : CONTAINER_STATE__RUNNING;
		return 0;
	}
	c->state = CONTAINER_STATE__FREEZING;
	for (int i = 0; i < 200 && !cm_cgroup_frozen(&cg); i++) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (cm_cgroup_frozen(&cg))
		c->state = CONTAINER_STATE__FROZEN;
	return 0;
}

void cm_container_reaped(struct cmld *d, struct cm_container *c, int status)
{
	struct cm_cgroup cg;
	char dir[1024];

	if (c->init_pid)
		log_info("container %s (%s): init exited (status 0x%x)", c->config->name, c->uuid,
			 status);
	cm_cgroup_open(&cg, c->uuid);
	if (cg.v2[0] && cm_cgroup_populated(&cg))
		cm_cgroup_kill(&cg);
	cm_cgroup_remove(&cg);
	cm_vtpm_stop(d, c);
	run_path(d, c, dir, sizeof(dir), "");
	cm_rmtree(dir);
	cm_seal_close(d, c);
	if (c->init_pidfd >= 0)
		close(c->init_pidfd);
	c->init_pidfd = -1;
	c->init_pid = 0;
	c->started = 0;
	c->setup_mode = false;
	for (size_t i = 0; i < c->n_ifaces; i++)
		free(c->ifaces[i]);
	c->n_ifaces = 0;
	c->state = CONTAINER_STATE__STOPPED;
	if (c->pending) {
		/* update_config while it ran: the next start runs the new config */
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
		c->config = c->pending;
		c->pending = NULL;
	}
}

int cm_runtime_tick(struct cmld *d)
{
	struct timespec now;
	long next = -1;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (struct cm_container *c = d->containers; c; c = c->next) {
		if (c->state == CONTAINER_STATE__FREEZING) {
			struct cm_cgroup cg;
			cm_cgroup_open(&cg, c->uuid);
			if (cm_cgroup_frozen(&cg))
				c->state = CONTAINER_STATE__FROZEN;
			else
				next = next < 0 || next > 50 ? 50 : next;
		}
		if (c->state != CONTAINER_STATE__SHUTTING_DOWN || !c->init_pid)
			continue;
		long ms = (c->stop_deadline.tv_sec - now.tv_sec) * 1000 +
			  (c->stop_deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0) {
			struct cm_cgroup cg;
			log_info("container %s: no exit after SIGTERM, killing", c->config->name);
			cm_cgroup_open(&cg, c->uuid);
			cm_cgroup_kill(&cg);
			kill(c->init_pid, SIGKILL);
			c->stop_deadline.tv_sec += 3600;
		} else if (next < 0 || ms < next) {
			next = ms;
		}
	}
	return (int)next;
}

void cm_runtime_cleanup_stale(struct cmld *d)
{
	for (struct cm_container *c = d->containers; c; c = c->next) {
		struct cm_cgroup cg;
		cm_cgroup_open(&cg, c->uuid);
		if (cg.v2[0] && access(cg.v2, F_OK) == 0) {
			log_warn("container %s: processes of an earlier cmld, killing them",
				 c->config->name);
			cm_cgroup_kill(&cg);
			cm_cgroup_remove(&cg);
		}
		char dir[1024];
		run_path(d, c, dir, sizeof(dir), "");
		cm_rmtree(dir);
		cm_seal_close(d, c);
	}
}

static int ns_open(pid_t pid, const char *ns)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* In a forked child: enters every namespace of @c's init and its cgroup. */
static int enter_container(struct cm_container *c)
{
	static const char *const order[] = {"ipc", "uts", "net", "pid", "mnt"};
	int fds[5], user_fd = -1;
	struct cm_cgroup cg;

	for (int i = 0; i < 5; i++)
		if ((fds[i] = ns_open(c->init_pid, order[i])) < 0)
			return -errno;
	if (c->config->userns && (user_fd = ns_open(c->init_pid, "user")) < 0)
		return -errno;
	cm_cgroup_open(&cg, c->uuid);
	if (cm_cgroup_enter_self(&cg) < 0)
		return -EIO;
	for (int i = 0; i < 5; i++) {
		if (setns(fds[i], 0) < 0)
			return -errno;
		close(fds[i]);
	}
	/* the user namespace last: after it we hold no rights over the others */
	if (user_fd >= 0 && setns(user_fd, CLONE_NEWUSER) < 0)
		return -errno;
	return 0;
}

int cm_container_exec(struct cmld *d, struct cm_container *c, char *const argv[], int pty_slave,
		      pid_t *ret_pid)
{
	pid_t pid;

	if (!c->init_pid ||
	    (c->state != CONTAINER_STATE__RUNNING && c->state != CONTAINER_STATE__SETUP))
		return err_set(-ESRCH, "container %s is not running", c->config->name);
	pid = fork();
	if (pid < 0)
		return err_set(-errno, "fork: %s", strerror(errno));
	if (pid > 0) {
		*ret_pid = pid;
		return 0;
	}
	/* child: join, then fork once more so that the PID namespace applies */
	if (pty_slave > 3)
		close_range(3, (unsigned)pty_slave - 1, 0);
	close_range((unsigned)pty_slave + 1, ~0U, 0);
	int r = enter_container(c);
	if (r < 0) {
		dprintf(pty_slave, "cmld: cannot enter the container: %s\r\n", strerror(-r));
		_exit(126);
	}
	pid_t inner = fork();
	if (inner == 0) {
		cm_child_reset_signals();
		setsid();
		ioctl(pty_slave, TIOCSCTTY, 0);
		dup2(pty_slave, 0);
		dup2(pty_slave, 1);
		dup2(pty_slave, 2);
		if (pty_slave > 2)
			close(pty_slave);
		if (chdir("/") < 0)
			_exit(126);
		if (c->config->userns && become_ns_root() < 0)
			_exit(126);
		/* the same confinement as the container's init: this process did not inherit it */
		if (cm_confine_apply(&d->confine, c->config) < 0) {
			dprintf(2, "cmld: %s\r\n", err_msg());
			_exit(126);
		}
		clearenv();
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
		setenv("TERM", "xterm", 1);
		setenv("HOME", "/", 1);
		execvp(argv[0], argv);
		dprintf(2, "%s: %s\r\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status = 0;
	while (inner > 0 && waitpid(inner, &status, 0) < 0 && errno == EINTR)
		;
	if (inner < 0)
		_exit(126);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int cm_container_wipe(struct cmld *d, struct cm_container *c)
{
	static const char *const keep_files[] = {"created", "uid_base"};
	char dir[1024], path[1100];
	uint8_t *keep[2] = {NULL, NULL};
	size_t keep_len[2] = {0, 0};
	int r;

	if (c->state != CONTAINER_STATE__STOPPED)
		return err_set(-EBUSY, "container %s is %s; stop it first", c->config->name,
			       cm_state_name(c->state));
	cm_store_path(d, dir, sizeof(dir), "containers/%s", c->uuid);
	/* the data images go; "created" and the user id record stay */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, keep_files[i]);
		file_read_all(path, 64, &keep[i], &keep_len[i]);
	}
	r = cm_rmtree(dir);
	if (r == 0)
		r = mkdir_one(dir, 0700);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, keep_files[i]);
		if (r == 0 && keep[i])
			r = file_write_atomic(path, keep[i], keep_len[i], 0600);
		free(keep[i]);
	}
	return r;
}
