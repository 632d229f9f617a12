// SPDX-License-Identifier: MIT
/* Bounded whole-file reads and crash-safe file replacement. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"

int fd_read_all(int fd, size_t max, uint8_t **ret_buf, size_t *ret_len)
{
	size_t cap = 64 * 1024, len = 0;
	uint8_t *buf = malloc(cap + 1);

	if (!buf)
		return err_set(-ENOMEM, "out of memory");
	for (;;) {
		ssize_t got;

		if (len == cap) {
			uint8_t *n;

			if (cap >= max) {
				uint8_t probe;
				ssize_t more = read(fd, &probe, 1);

				if (more == 0)
					break; /* exactly max bytes */
				free(buf);
				return err_set(-EFBIG, "larger than %zu bytes", max);
			}
			cap = cap * 2 > max ? max : cap * 2;
			n = realloc(buf, cap + 1);
			if (!n) {
				free(buf);
				return err_set(-ENOMEM, "out of memory");
			}
			buf = n;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;

			free(buf);
			return err_set(-e, "read: %s", strerror(e));
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int file_read_all(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	rc = fd_read_all(fd, max, ret_buf, ret_len);
	close(fd);
	if (rc < 0)
		return err_wrap(rc, "%s", path);
	return 0;
}

int fd_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(-errno, "write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fsync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = err_set(-errno, "%s: syncing its directory: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	size_t n = strlen(path) + sizeof(".tmp.XXXXXX");
	char *tmp = malloc(n);
	int fd, rc;

	if (!tmp)
		return err_set(-ENOMEM, "out of memory");
	snprintf(tmp, n, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(-errno, "%s: creating a temporary file: %s", path, strerror(errno));
		free(tmp);
		return rc;
	}
	rc = fd_write_all(fd, data, len);
	if (rc == 0 && fchmod(fd, mode) < 0)
		rc = err_set(-errno, "chmod: %s", strerror(errno));
	if (rc == 0 && fsync(fd) < 0)
		rc = err_set(-errno, "fsync: %s", strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = err_set(-errno, "close: %s", strerror(errno));
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_set(-errno, "rename: %s", strerror(errno));
	if (rc < 0) {
		unlink(tmp);
		free(tmp);
		return err_wrap(rc, "%s", path);
	}
	free(tmp);
	return fsync_parent_dir(path);
}

int file_create_sized(const char *path, uint64_t size, mode_t mode)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode), rc = 0, e;

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	/*
	 * The blocks reserved now: a full disk is refused here, naming the size,
	 * rather than later as a write error inside mkfs or the LUKS payload.
	 */
	e = posix_fallocate(fd, 0, (off_t)size);
	if (e == ENOSPC)
		rc = err_set(-ENOSPC, "%s: no space left for %llu MiB", path,
			     (unsigned long long)(size >> 20));
	else if (e && e != EOPNOTSUPP && e != EINVAL)
		rc = err_set(-e, "%s: %s", path, strerror(e));
	else if (e && ftruncate(fd, (off_t)size) < 0)
		rc = err_set(-errno, "%s: %s", path, strerror(errno));
	close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

int file_commit(const char *tmp, const char *path)
{
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(-errno, "%s: %s", tmp, strerror(errno));
	if (fsync(fd) < 0) {
		int e = errno;

		close(fd);
		return err_set(-e, "%s: fsync: %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) < 0)
		return err_set(-errno, "rename %s to %s: %s", tmp, path, strerror(errno));
	return fsync_parent_dir(path);
}
