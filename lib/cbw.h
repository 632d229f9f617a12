/* SPDX-License-Identifier: MIT */
/*
 * A CBOR writer into one growing buffer, for what is written often (attestd's
 * replies): no item tree, no allocation per item.  Minimal-length heads
 * (RFC 8949 preferred serialisation), definite lengths only.  A failed
 * allocation is remembered and reported once, by cbw_finish().
 */
#ifndef MEASURED_CBW_H
#define MEASURED_CBW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cbw_major { CBW_UINT = 0, CBW_BYTES = 2, CBW_TEXT = 3, CBW_ARRAY = 4, CBW_MAP = 5 };

struct cbw {
	uint8_t *buf;
	size_t len, cap;
	bool failed;
};

/* A head: @major with argument @v (a uint, or the length of what follows). */
void cbw_head(struct cbw *w, enum cbw_major major, uint64_t v);
void cbw_raw(struct cbw *w, const void *p, size_t n);
void cbw_bytes(struct cbw *w, const void *p, size_t n);
void cbw_text(struct cbw *w, const char *s);
void cbw_bool(struct cbw *w, bool v);
void cbw_null(struct cbw *w);
/* 0, or -ENOMEM (the buffer freed) if any write could not grow it. */
int cbw_finish(struct cbw *w);

#endif
