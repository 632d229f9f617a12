/* SPDX-License-Identifier: MIT */
/*
 * A cursor over untrusted bytes.  Every read is checked against what is left;
 * a short read fails with -EBADMSG and an error naming the input, the field
 * and the byte offset, and leaves the cursor where it was.
 */
#ifndef MEASURED_READER_H
#define MEASURED_READER_H

#include <stddef.h>
#include <stdint.h>

struct reader {
	const uint8_t *data;
	size_t len;
	size_t off;
	const char *what; /* name of the input, for error messages */
};

static inline void reader_init(struct reader *r, const void *data, size_t len, const char *what)
{
	r->data = data;
	r->len = len;
	r->off = 0;
	r->what = what;
}

/* Little-endian integers at @p, for formats read by offset (the caller checked the bounds). */
static inline uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64_at(const uint8_t *p)
{
	return (uint64_t)le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

static inline size_t reader_left(const struct reader *r)
{
	return r->off < r->len ? r->len - r->off : 0; /* off may be set past the end */
}

int reader_u8(struct reader *r, const char *field, uint8_t *ret);
int reader_le16(struct reader *r, const char *field, uint16_t *ret);
int reader_le32(struct reader *r, const char *field, uint32_t *ret);
int reader_be16(struct reader *r, const char *field, uint16_t *ret);
int reader_be32(struct reader *r, const char *field, uint32_t *ret);
int reader_be64(struct reader *r, const char *field, uint64_t *ret);
/* Points *ret at the next @n bytes (inside the input, not copied) and skips them. */
int reader_bytes(struct reader *r, const char *field, size_t n, const uint8_t **ret);
/* Copies the next @n bytes to @out. */
int reader_copy(struct reader *r, const char *field, size_t n, void *out);
/* Fails with a message naming the input, offset and field; returns -EBADMSG. */
int reader_fail(const struct reader *r, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
