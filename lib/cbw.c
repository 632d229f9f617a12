// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cbw.h"
#include "err.h"

static uint8_t *cbw_room(struct cbw *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (w->cap - w->len < n) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *p;

		while (cap - w->len < n)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p) {
			w->failed = true;
			return NULL;
		}
		w->buf = p;
		w->cap = cap;
	}
	w->len += n;
	return w->buf + w->len - n;
}

void cbw_head(struct cbw *w, enum cbw_major major, uint64_t v)
{
	uint8_t ib = (uint8_t)(major << 5), *p;
	unsigned extra = v < 24 ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;

	p = cbw_room(w, 1 + extra);
	if (!p)
		return;
	p[0] = ib | (uint8_t)(extra == 0   ? v
			      : extra == 1 ? 24
			      : extra == 2 ? 25
			      : extra == 4 ? 26
					   : 27);
	for (unsigned i = 0; i < extra; i++)
		p[1 + i] = (uint8_t)(v >> (8 * (extra - 1 - i)));
}

void cbw_raw(struct cbw *w, const void *src, size_t n)
{
	uint8_t *p = cbw_room(w, n);

	if (p && n)
		memcpy(p, src, n);
}

void cbw_bytes(struct cbw *w, const void *p, size_t n)
{
	cbw_head(w, CBW_BYTES, n);
	cbw_raw(w, p, n);
}

void cbw_text(struct cbw *w, const char *s)
{
	size_t n = strlen(s);

	cbw_head(w, CBW_TEXT, n);
	cbw_raw(w, s, n);
}

void cbw_bool(struct cbw *w, bool v)
{
	uint8_t b = v ? 0xf5 : 0xf4;

	cbw_raw(w, &b, 1);
}

void cbw_null(struct cbw *w)
{
	uint8_t b = 0xf6;

	cbw_raw(w, &b, 1);
}

int cbw_finish(struct cbw *w)
{
	if (!w->failed)
		return 0;
	free(w->buf);
	*w = (struct cbw){0};
	return err_set(-ENOMEM, "out of memory writing CBOR");
}
