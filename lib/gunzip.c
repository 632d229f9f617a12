// SPDX-License-Identifier: MIT
/* Bounded in-memory gunzip. */
#include <errno.h>
#include <stdlib.h>

#include <zlib.h>

#include "err.h"
#include "gunzip.h"
#include "mem.h"

bool is_gzip(const uint8_t *buf, size_t len)
{
	return len >= 3 && buf[0] == 0x1f && buf[1] == 0x8b && buf[2] == 8;
}

int gunzip_buf(const uint8_t *buf, size_t len, size_t max, uint8_t **ret, size_t *ret_len)
{
	z_stream z = {0};
	uint8_t *out = NULL;
	size_t cap = 0, used = 0;
	int zrc = Z_OK, rc = 0;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return err_set(-ENOMEM, "zlib: cannot initialise");
	z.next_in = (Bytef *)buf;
	while (rc == 0) {
		if (used == cap) {
			if (cap >= max) {
				rc = err_set(-EFBIG, "decompresses to more than %zu bytes", max);
				break;
			}
			rc = array_grow((void **)&out, &cap, used, 1, 1 << 20);
			if (rc < 0)
				break;
		}
		z.avail_in = (uInt)(len - (size_t)(z.next_in - buf));
		z.next_out = out + used;
		z.avail_out = (uInt)(cap - used);
		zrc = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
		if (zrc == Z_STREAM_END) {
			if (z.next_in == buf + len || *z.next_in == 0)
				break;	  /* done, or zero padding after the stream */
			inflateReset(&z); /* another member follows */
		} else if (zrc != Z_OK && !(zrc == Z_BUF_ERROR && z.avail_out == 0)) {
			rc = err_set(-EBADMSG, "not valid gzip data (%s at input byte %zu)",
				     z.msg ? z.msg : "truncated", (size_t)(z.next_in - buf));
		}
	}
	inflateEnd(&z);
	if (rc < 0) {
		free(out);
		return rc;
	}
	*ret = out;
	*ret_len = used;
	return 0;
}
