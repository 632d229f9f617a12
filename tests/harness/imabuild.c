// SPDX-License-Identifier: MIT
/* IMA binary list builder for tests (kernel ima_fs.c layout, little-endian). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "imabuild.h"

static void put(struct imabuf *b, const void *p, size_t n)
{
	b->data = realloc(b->data, b->len + n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put32(struct imabuf *b, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	put(b, le, 4);
}

static size_t field(uint8_t *out, const void *p, size_t n)
{
	out[0] = (uint8_t)n;
	out[1] = (uint8_t)(n >> 8);
	out[2] = (uint8_t)(n >> 16);
	out[3] = (uint8_t)(n >> 24);
	if (n)
		memcpy(out + 4, p, n);
	return 4 + n;
}

size_t imabuild_ng_template_data(uint8_t *out, const char *alg, const uint8_t *digest,
				 size_t digest_len, const char *name)
{
	uint8_t d[128];
	size_t alen = strlen(alg), off = 0;

	memcpy(d, alg, alen);
	d[alen] = ':';
	d[alen + 1] = '\0';
	memcpy(d + alen + 2, digest, digest_len);
	off += field(out + off, d, alen + 2 + digest_len);
	off += field(out + off, name, strlen(name) + 1);
	return off;
}

static void entry(struct imabuf *b, const uint8_t hash[20], const char *tname, const uint8_t *td,
		  size_t td_len)
{
	put32(b, 10);
	put(b, hash, 20);
	put32(b, (uint32_t)strlen(tname));
	put(b, tname, strlen(tname));
	put32(b, (uint32_t)td_len);
	put(b, td, td_len);
}

void imabuild_ng(struct imabuf *b, const char *template_name, const char *alg,
		 const uint8_t *digest, size_t digest_len, const char *name, const uint8_t *extra,
		 size_t extra_len, int with_extra)
{
	uint8_t *td = malloc(8192 + extra_len), hash[20];
	size_t n = imabuild_ng_template_data(td, alg, digest, digest_len, name);

	if (with_extra)
		n += field(td + n, extra, extra_len);
	SHA1(td, n, hash);
	entry(b, hash, template_name, td, n);
	free(td);
}

void imabuild_violation(struct imabuf *b, const char *name)
{
	uint8_t td[4096], zero[32] = {0}, hash[20] = {0};
	size_t n = imabuild_ng_template_data(td, "sha256", zero, 32, name);

	entry(b, hash, "ima-ng", td, n);
}

void imabuild_ima(struct imabuf *b, const uint8_t sha1[20], const char *name)
{
	uint8_t padded[20 + 256] = {0}, hash[20];
	size_t nlen = strlen(name);

	memcpy(padded, sha1, 20);
	memcpy(padded + 20, name, nlen);
	SHA1(padded, sizeof(padded), hash);
	put32(b, 10);
	put(b, hash, 20);
	put32(b, 3);
	put(b, "ima", 3);
	put(b, sha1, 20); /* no template data length, no field length for the digest */
	put32(b, (uint32_t)nlen);
	put(b, name, nlen);
}

void imabuild_fields(struct imabuf *b, const char *template_name, const uint8_t *const *f,
		     const size_t *len, unsigned n)
{
	size_t total = 0, off = 0;
	uint8_t *td, hash[20];

	for (unsigned i = 0; i < n; i++)
		total += 4 + len[i];
	td = malloc(total ? total : 1);
	for (unsigned i = 0; i < n; i++)
		off += field(td + off, f[i], len[i]);
	SHA1(td, off, hash);
	entry(b, hash, template_name, td, off);
	free(td);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void imabuild_rehash(const struct imabuf *in, const char *alg, struct imabuf *out)
{
	const EVP_MD *md = EVP_get_digestbyname(alg);
	size_t off = 0;

	while (off < in->len) {
		const uint8_t *e = in->data + off, *zero20 =
							   (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0"
									    "\0\0\0\0\0\0\0\0\0\0";
		uint32_t nlen = get32(e + 24), tdlen;
		const uint8_t *name = e + 28, *td;
		uint8_t hash[EVP_MAX_MD_SIZE] = {0}, padded[20 + 256] = {0};
		unsigned hlen = (unsigned)EVP_MD_get_size(md);
		int is_ima = nlen == 3 && memcmp(name, "ima", 3) == 0;

		if (is_ima) { /* 'ima': 20-byte digest, u32 len, name; hashed name-padded */
			td = name + 3;
			tdlen = 20 + 4 + get32(td + 20);
			memcpy(padded, td, 20);
			memcpy(padded + 20, td + 24, get32(td + 20));
		} else {
			tdlen = get32(name + nlen);
			td = name + nlen + 4;
		}
		if (memcmp(e + 4, zero20, 20) != 0) /* a violation stays zeros */
			EVP_Digest(is_ima ? padded : td, is_ima ? sizeof(padded) : tdlen, hash,
				   NULL, md, NULL);
		put(out, e, 4);
		put(out, hash, hlen);
		put(out, e + 24, 4 + nlen);
		if (!is_ima)
			put(out, name + nlen, 4);
		put(out, td, tdlen);
		off = (size_t)(td + tdlen - in->data);
	}
}
