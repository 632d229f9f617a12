// SPDX-License-Identifier: MIT
/* Hash algorithm table and streaming EVP digests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include <openssl/evp.h>

#include "digest.h"
#include "err.h"

static const struct hash_alg hash_alg_table[] = {
	{TPM_ALG_SHA1, "sha1", 20, "SHA1"},
	{TPM_ALG_SHA256, "sha256", 32, "SHA256"},
	{TPM_ALG_SHA384, "sha384", 48, "SHA384"},
	{TPM_ALG_SHA512, "sha512", 64, "SHA512"},
};

#define N_ALGS (sizeof(hash_alg_table) / sizeof(hash_alg_table[0]))

const struct hash_alg *hash_algs(size_t *ret_n)
{
	*ret_n = N_ALGS;
	return hash_alg_table;
}

const struct hash_alg *hash_alg_by_id(uint16_t tpm_alg)
{
	for (size_t i = 0; i < N_ALGS; i++)
		if (hash_alg_table[i].tpm_alg == tpm_alg)
			return &hash_alg_table[i];
	return NULL;
}

const struct hash_alg *hash_alg_by_name(const char *name)
{
	for (size_t i = 0; i < N_ALGS; i++)
		if (strcasecmp(hash_alg_table[i].name, name) == 0)
			return &hash_alg_table[i];
	return NULL;
}

/* Fetching an EVP_MD is a provider lookup: do it once per algorithm, not per digest. */
static EVP_MD *md_cache[N_ALGS];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch_all(void)
{
	for (size_t i = 0; i < N_ALGS; i++)
		md_cache[i] = EVP_MD_fetch(NULL, hash_alg_table[i].evp, NULL);
}

int digest_init(struct digest_ctx *ctx, const struct hash_alg *alg)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const EVP_MD *type;

	if (!md)
		return err_set(-ENOMEM, "out of memory for a %s context", alg->name);
	pthread_once(&md_once, md_fetch_all);
	type = md_cache[alg - hash_alg_table];
	if (!type || EVP_DigestInit_ex(md, type, NULL) != 1) {
		EVP_MD_CTX_free(md);
		return err_set(-EIO, "OpenSSL cannot compute %s", alg->name);
	}
	ctx->alg = alg;
	ctx->md = md;
	return 0;
}

int digest_update(struct digest_ctx *ctx, const void *data, size_t len)
{
	if (EVP_DigestUpdate(ctx->md, data, len) != 1)
		return err_set(-EIO, "%s update failed", ctx->alg->name);
	return 0;
}

int digest_final(struct digest_ctx *ctx, uint8_t *out)
{
	unsigned int n = 0;
	int ok = EVP_DigestFinal_ex(ctx->md, out, &n);

	digest_free(ctx);
	if (ok != 1 || n != ctx->alg->size)
		return err_set(-EIO, "%s final failed", ctx->alg->name);
	return 0;
}

void digest_free(struct digest_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->md);
	ctx->md = NULL;
}

int digest_buf(const struct hash_alg *alg, const void *data, size_t len, uint8_t *out)
{
	struct digest_ctx ctx;
	int rc = digest_init(&ctx, alg);

	if (rc < 0)
		return rc;
	rc = digest_update(&ctx, data, len);
	if (rc < 0) {
		digest_free(&ctx);
		return rc;
	}
	return digest_final(&ctx, out);
}

int digest_fd_multi(int fd, const struct hash_alg *const *algs, size_t n,
		    uint8_t (*outs)[DIGEST_MAX], progress_fn progress, void *progress_arg)
{
	enum { BLOCK = 4 << 20 };
	struct stat st;
	uint64_t total = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	uint64_t done = 0;
	struct digest_ctx ctx[8];
	uint8_t *buf = NULL;
	size_t started = 0;
	int rc = 0;

	if (n == 0 || n > 8)
		return err_set(-EINVAL, "between 1 and 8 algorithms, not %zu", n);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = malloc(BLOCK);
	if (!buf)
		return err_set(-ENOMEM, "out of memory");
	for (; started < n; started++) {
		rc = digest_init(&ctx[started], algs[started]);
		if (rc < 0)
			goto out;
	}
	for (;;) {
		ssize_t got = read(fd, buf, BLOCK);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = err_set(-errno, "read failed: %s", strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		done += (uint64_t)got;
		if (progress)
			progress(done, total, progress_arg);
		for (size_t i = 0; i < n; i++) {
			rc = digest_update(&ctx[i], buf, (size_t)got);
			if (rc < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		rc = digest_final(&ctx[i], outs[i]);
		if (rc < 0)
			goto out;
	}
	started = 0;
out:
	for (size_t i = 0; i < started; i++)
		if (ctx[i].md)
			digest_free(&ctx[i]);
	free(buf);
	return rc;
}

int digest_per_bank(const struct hash_alg *alg, const uint8_t *value,
		    const struct hash_alg *const *banks, unsigned n, struct alg_digest *ret)
{
	int rc = 0;

	for (unsigned i = 0; i < n && rc == 0; i++) {
		ret[i].alg = banks[i];
		if (banks[i] == alg)
			memcpy(ret[i].value, value, alg->size);
		else
			rc = digest_buf(banks[i], value, alg->size, ret[i].value);
	}
	return rc;
}
