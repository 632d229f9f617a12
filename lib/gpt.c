// SPDX-License-Identifier: MIT
/* GPT of a disk image, as EV_EFI_GPT_EVENT data (EDK2's Tcg2MeasureGptTable). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "err.h"
#include "gpt.h"
#include "reader.h"

#define GPT_HEADER_SIZE 92 /* sizeof(EFI_PARTITION_TABLE_HEADER): what is measured */
#define GPT_ENTRIES_MAX 1024
#define GPT_ENTRY_MAX	4096

static int read_at(int fd, void *buf, size_t n, uint64_t off, const char *path, const char *what)
{
	ssize_t got = pread(fd, buf, n, (off_t)off);

	if (got < 0)
		return err_set(-errno, "%s: reading the %s: %s", path, what, strerror(errno));
	if ((size_t)got != n)
		return err_set(-EBADMSG, "%s: the %s (%zu bytes at %llu) is past the end", path,
			       what, n, (unsigned long long)off);
	return 0;
}

/* The primary header at LBA 1, its CRC checked. */
static int read_header(int fd, const char *path, uint8_t hdr[GPT_SECTOR])
{
	uint8_t copy[GPT_SECTOR];
	uint32_t size, crc;
	int rc = read_at(fd, hdr, GPT_SECTOR, GPT_SECTOR, path, "GPT header");

	if (rc < 0)
		return rc;
	if (memcmp(hdr, "EFI PART", 8) != 0)
		return err_set(-EBADMSG, "%s: no GPT (no \"EFI PART\" at LBA 1)", path);
	size = le32_at(hdr + 12);
	if (size < GPT_HEADER_SIZE || size > GPT_SECTOR)
		return err_set(-EBADMSG, "%s: GPT header size %u", path, size);
	crc = le32_at(hdr + 16);
	memcpy(copy, hdr, size);
	memset(copy + 16, 0, 4); /* the CRC is over the header with its own field zero */
	if (crc32(0, copy, size) != crc)
		return err_set(-EBADMSG, "%s: GPT header CRC does not match", path);
	return 0;
}

static bool entry_used(const uint8_t *e)
{
	for (int i = 0; i < 16; i++)
		if (e[i])
			return true; /* a PartitionTypeGUID that is not all zeros */
	return false;
}

int gpt_event_data(const char *path, uint8_t **ret, size_t *ret_len)
{
	uint8_t hdr[GPT_SECTOR], *entries = NULL, *out = NULL;
	uint32_t n, esize;
	uint64_t used = 0, lba;
	size_t off;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if ((rc = read_header(fd, path, hdr)) < 0)
		goto out;
	n = le32_at(hdr + 80);
	esize = le32_at(hdr + 84);
	if (n > GPT_ENTRIES_MAX || esize < 128 || esize > GPT_ENTRY_MAX || esize % 8) {
		rc = err_set(-EBADMSG, "%s: GPT with %u entries of %u bytes", path, n, esize);
		goto out;
	}
	if (!(entries = malloc((size_t)n * esize + 1)) ||
	    !(out = malloc(GPT_HEADER_SIZE + 8 + (size_t)n * esize))) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	lba = le64_at(hdr + 72);
	/* an LBA whose byte offset overflows would read the entries from somewhere else */
	if (lba < 2 || lba > (uint64_t)INT64_MAX / GPT_SECTOR - 1) {
		rc = err_set(-EBADMSG, "%s: GPT partition entries at LBA %llu", path,
			     (unsigned long long)lba);
		goto out;
	}
	if ((rc = read_at(fd, entries, (size_t)n * esize, lba * GPT_SECTOR, path,
			  "GPT partition entries")) < 0)
		goto out;
	if (crc32(0, entries, (uInt)((size_t)n * esize)) != le32_at(hdr + 88)) {
		rc = err_set(-EBADMSG, "%s: GPT partition entry array CRC does not match", path);
		goto out;
	}
	/* UEFI_GPT_DATA: header, UINT64 NumberOfPartitions, the used entries */
	memcpy(out, hdr, GPT_HEADER_SIZE);
	off = GPT_HEADER_SIZE + 8;
	for (uint32_t i = 0; i < n; i++)
		if (entry_used(entries + (size_t)i * esize)) {
			memcpy(out + off, entries + (size_t)i * esize, esize);
			off += esize;
			used++;
		}
	for (int i = 0; i < 8; i++)
		out[GPT_HEADER_SIZE + i] = (uint8_t)(used >> (8 * i));
	*ret = out;
	*ret_len = off;
	out = NULL;
out:
	free(entries);
	free(out);
	close(fd);
	return rc;
}
