/* SPDX-License-Identifier: MIT */
/*
 * Hash algorithms by TPM algorithm ID, and streaming digests over OpenSSL EVP.
 */
#ifndef MEASURED_DIGEST_H
#define MEASURED_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_MAX 64 /* SHA-512 */

#define TPM_ALG_SHA1   0x0004
#define TPM_ALG_SHA256 0x000b
#define TPM_ALG_SHA384 0x000c
#define TPM_ALG_SHA512 0x000d

struct hash_alg {
	uint16_t tpm_alg; /* TPM_ALG_ID */
	const char *name; /* tpm2-tools spelling: "sha256" */
	size_t size;	  /* digest bytes */
	const char *evp;  /* OpenSSL fetch name */
};

/* The known algorithms, NULL when unknown. */
const struct hash_alg *hash_alg_by_id(uint16_t tpm_alg);
const struct hash_alg *hash_alg_by_name(const char *name);
/* The algorithms this library knows, in TPM_ALG_ID order; *ret_n gets the count. */
const struct hash_alg *hash_algs(size_t *ret_n);

/* A digest tagged with its algorithm (one entry of a TPML_DIGEST_VALUES). */
struct alg_digest {
	const struct hash_alg *alg;
	uint8_t value[DIGEST_MAX];
};

/* A running digest. Free with digest_free() unless digest_final() was called. */
struct digest_ctx {
	const struct hash_alg *alg;
	void *md; /* EVP_MD_CTX */
};

int digest_init(struct digest_ctx *ctx, const struct hash_alg *alg);
int digest_update(struct digest_ctx *ctx, const void *data, size_t len);
/* Writes alg->size bytes to @out and releases the context. */
int digest_final(struct digest_ctx *ctx, uint8_t *out);
void digest_free(struct digest_ctx *ctx);

/* Called now and then with bytes done of @total (0 when unknown); may be NULL. */
typedef void (*progress_fn)(uint64_t done, uint64_t total, void *arg);

/* One-shot digest of a buffer. */
int digest_buf(const struct hash_alg *alg, const void *data, size_t len, uint8_t *out);
/*
 * One digest per bank for a value that is itself an @alg digest (a verity
 * root hash, a signed image hash): the value in @alg's bank, H_bank(value)
 * in the others -- so every bank records the same measured thing.
 */
int digest_per_bank(const struct hash_alg *alg, const uint8_t *value,
		    const struct hash_alg *const *banks, unsigned n, struct alg_digest *ret);
/*
 * Digest of everything readable from @fd, streamed in large blocks, in every
 * algorithm of @algs at once (one read pass). @outs[i] receives algs[i]'s digest.
 */
int digest_fd_multi(int fd, const struct hash_alg *const *algs, size_t n,
		    uint8_t (*outs)[DIGEST_MAX], progress_fn progress, void *progress_arg);

#endif
