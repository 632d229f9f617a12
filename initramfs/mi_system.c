// SPDX-License-Identifier: MIT
/* measured-init's system work: mounts, modules, waiting for the root, switch_root. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "mi.h"

void mi_say(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the console, whatever stdout is: this line is what an operator sees */
	fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	dprintf(fd >= 0 ? fd : STDERR_FILENO, "measured-init: %s\n", msg);
	if (fd >= 0)
		close(fd);
}

static int mount_one(const char *src, const char *target, const char *type, unsigned long flags,
		     const char *data)
{
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", target, strerror(errno));
	if (mount(src, target, type, flags, data) < 0 && errno != EBUSY)
		return err_set(-errno, "mount %s on %s: %s", type, target, strerror(errno));
	return 0;
}

int mi_mount_early(void)
{
	int rc;

	if ((rc = mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0 ||
	    (rc = mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) <
		    0 ||
	    (rc = mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755")) < 0 ||
	    (rc = mount_one("securityfs", "/sys/kernel/security", "securityfs",
			    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) < 0 ||
	    (rc = mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) < 0)
		return rc;
	return 0;
}

/* One module path per line, dependencies first (the builder orders them). */
int mi_load_modules(const char *list)
{
	uint8_t *text;
	size_t len;
	char *save = NULL;
	int rc = file_read_all(list, 1 << 20, &text, &len);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	for (char *m = strtok_r((char *)text, "\n", &save); m && rc == 0;
	     m = strtok_r(NULL, "\n", &save)) {
		int fd = open(m, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			rc = err_set(-errno, "module %s: %s", m, strerror(errno));
			break;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			rc = err_set(-errno, "loading module %s: %s", m, strerror(errno));
		close(fd);
	}
	free(text);
	return rc;
}

int mi_wait_for(const char *dev, unsigned seconds)
{
	struct timespec tick = {0, 50 * 1000 * 1000};

	for (unsigned i = 0; i <= seconds * 20; i++) {
		struct stat st;

		if (stat(dev, &st) == 0)
			return 0;
		nanosleep(&tick, NULL);
	}
	return err_set(-ENODEV, "root device %s did not appear within %u s", dev, seconds);
}

int mi_load_ima_policy(const char *path)
{
	const char *target = "/sys/kernel/security/ima/policy";
	uint8_t *policy;
	size_t len;
	int fd, rc = file_read_all(path, 1 << 20, &policy, &len);

	if (rc == -ENOENT)
		return 0; /* no policy in this initramfs: the kernel's stays */
	if (rc < 0)
		return rc;
	fd = open(target, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		rc = err_set(-errno, "%s: %s (is IMA enabled?)", target, strerror(errno));
	else
		rc = fd_write_all(fd, policy, len);
	/* the kernel checks the rules at close */
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = err_set(-errno, "IMA refused the policy %s: %s", path, strerror(errno));
	free(policy);
	return rc < 0 ? err_wrap(rc, "loading the IMA policy") : 0;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", path, strerror(errno));
	return 0;
}

int mi_mount_root(const char *dev)
{
	int rc;

	/* the image stays untouched (its measurement is stable); changes live in tmpfs */
	if ((rc = make_dir("/run/measured")) < 0 ||
	    (rc = mount_one(dev, "/run/measured/lower", "ext4", MS_RDONLY, NULL)) < 0 ||
	    (rc = mount_one("tmpfs", "/run/measured/rw", "tmpfs", 0, "mode=0755")) < 0 ||
	    (rc = make_dir("/run/measured/rw/upper")) < 0 ||
	    (rc = make_dir("/run/measured/rw/work")) < 0)
		return rc;
	return mount_one("overlay", MI_NEWROOT, "overlay", 0,
			 "lowerdir=/run/measured/lower,upperdir=/run/measured/rw/upper,"
			 "workdir=/run/measured/rw/work");
}

int mi_switch_root(const char *init)
{
	static const char *const moves[] = {"/run", "/dev", "/proc", "/sys"};
	char target[300];

	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		snprintf(target, sizeof(target), MI_NEWROOT "%s", moves[i]);
		mkdir(target, 0755);
		if (mount(moves[i], target, NULL, MS_MOVE, NULL) < 0)
			return err_set(-errno, "moving %s into the new root: %s", moves[i],
				       strerror(errno));
	}
	if (chdir(MI_NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return err_set(-errno, "switching to the new root: %s", strerror(errno));
	execl(init, init, (char *)NULL);
	return err_set(-errno, "exec %s: %s", init, strerror(errno));
}
