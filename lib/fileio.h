/* SPDX-License-Identifier: MIT */
/* Whole-file reads with a size bound, and atomic replacement. */
#ifndef MEASURED_FILEIO_H
#define MEASURED_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Reads all of @fd (a file, pipe or sysfs/securityfs file whose size stat
 * does not tell) into a malloc'd buffer, NUL-terminated for convenience
 * (the NUL is not counted).  Fails with -EFBIG beyond @max bytes.
 */
int fd_read_all(int fd, size_t max, uint8_t **ret_buf, size_t *ret_len);
int file_read_all(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len);

/* Writes all of @len bytes, retrying short writes and EINTR. */
int fd_write_all(int fd, const void *data, size_t len);

/*
 * Creates (or truncates) @path as a file of @size bytes, its blocks allocated
 * (-ENOSPC naming the size when they are not there; sparse where the file
 * system cannot allocate); removes it on failure.
 */
int file_create_sized(const char *path, uint64_t size, mode_t mode);

/*
 * Replaces @path with @data so that a reader sees the old or the new file,
 * never a mix, also across a crash: temp file in the same directory, write,
 * fsync, rename, fsync the directory.
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Makes the finished file @tmp (same directory) durable and renames it to
 * @path, then syncs the directory: the commit point of a file made in place
 * under a temporary name (a data image, a staged GuestOS file).
 */
int file_commit(const char *tmp, const char *path);

/* fsync()s the directory that holds @path (after a rename or unlink in it). */
int fsync_parent_dir(const char *path);

#endif
