// SPDX-License-Identifier: MIT
/*
 * dm-verity hash tree, version 1: every block's hash is H(salt || block);
 * the hashes of one level are packed into hash blocks (zero-padded), which
 * are hashed the same way to make the next level, until one hash is left:
 * the root hash.  A single data block's hash is the root itself.  Stored
 * as dm-verity reads it from the hash device: the top level first, the data
 * blocks' hashes last.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "err.h"
#include "verity.h"

#define READ_CHUNK (4u << 20)

void verity_params_default(struct verity_params *p)
{
	memset(p, 0, sizeof(*p));
	p->alg = hash_alg_by_id(TPM_ALG_SHA256);
	p->data_block_size = 4096;
	p->hash_block_size = 4096;
}

/* A context with the salt already absorbed, copied for every block. */
struct salted {
	EVP_MD_CTX *base;
	EVP_MD_CTX *work;
};

static int salted_init(struct salted *s, const struct verity_params *p)
{
	EVP_MD *md = EVP_MD_fetch(NULL, p->alg->evp, NULL);
	int ok;

	s->base = EVP_MD_CTX_new();
	s->work = EVP_MD_CTX_new();
	ok = md && s->base && s->work && EVP_DigestInit_ex(s->base, md, NULL) == 1 &&
	     EVP_DigestUpdate(s->base, p->salt, p->salt_len) == 1;
	EVP_MD_free(md);
	if (!ok) {
		EVP_MD_CTX_free(s->base);
		EVP_MD_CTX_free(s->work);
		return err_set(-EIO, "OpenSSL cannot compute %s", p->alg->name);
	}
	return 0;
}

static void salted_free(struct salted *s)
{
	EVP_MD_CTX_free(s->base);
	EVP_MD_CTX_free(s->work);
}

static int salted_hash(struct salted *s, const uint8_t *block, size_t len, uint8_t *out)
{
	if (EVP_MD_CTX_copy_ex(s->work, s->base) != 1 ||
	    EVP_DigestUpdate(s->work, block, len) != 1 ||
	    EVP_DigestFinal_ex(s->work, out, NULL) != 1)
		return err_set(-EIO, "hashing a verity block failed");
	return 0;
}

struct worker {
	int fd;
	const struct verity_params *p;
	uint64_t first, count; /* data blocks */
	uint8_t *hashes;       /* level 0, indexed by block number */
	uint64_t *done;	       /* shared progress counter (bytes) */
	unsigned *finished;    /* workers done */
	int rc;
	char err[256];
};

static void *hash_data_blocks(void *arg)
{
	struct worker *w = arg;
	const struct verity_params *p = w->p;
	size_t per_read = READ_CHUNK / p->data_block_size, dsize = p->alg->size;
	uint8_t *buf = malloc(READ_CHUNK);
	struct salted s;

	w->rc = buf ? salted_init(&s, p) : err_set(-ENOMEM, "out of memory");
	if (w->rc < 0)
		goto out;
	for (uint64_t b = 0; b < w->count && w->rc == 0;) {
		size_t n = w->count - b < per_read ? (size_t)(w->count - b) : per_read;
		size_t want = n * p->data_block_size, got = 0;
		off_t off = (off_t)((w->first + b) * p->data_block_size);

		while (got < want) {
			ssize_t r = pread(w->fd, buf + got, want - got, off + (off_t)got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				w->rc = err_set(r < 0 ? -errno : -EIO, "read at byte %lld: %s",
						(long long)(off + (off_t)got),
						r < 0 ? strerror(errno) : "file shrank");
				break;
			}
			got += (size_t)r;
		}
		for (size_t i = 0; i < n && w->rc == 0; i++)
			w->rc = salted_hash(&s, buf + i * p->data_block_size, p->data_block_size,
					    w->hashes + (w->first + b + i) * dsize);
		__atomic_add_fetch(w->done, want, __ATOMIC_RELAXED);
		b += n;
	}
	salted_free(&s);
out:
	if (w->rc < 0)
		snprintf(w->err, sizeof(w->err), "%s", err_msg());
	free(buf);
	__atomic_add_fetch(w->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int check_params(const struct verity_params *p)
{
	size_t d = p->alg ? p->alg->size : 0;

	if (!d || (d & (d - 1)))
		return err_set(-EINVAL, "verity hash must have a power-of-two digest size");
	if (p->data_block_size < 512 || (p->data_block_size & (p->data_block_size - 1)) ||
	    p->hash_block_size < 512 || (p->hash_block_size & (p->hash_block_size - 1)) ||
	    p->data_block_size > READ_CHUNK || p->hash_block_size < 2 * d)
		return err_set(-EINVAL, "verity block sizes must be powers of two from 512");
	if (p->salt_len > VERITY_SALT_MAX)
		return err_set(-EINVAL, "verity salt longer than %d bytes", VERITY_SALT_MAX);
	return 0;
}

/* The tree's shape: hash blocks per level (0 = the hashes of the data blocks). */
struct shape {
	unsigned levels;
	uint64_t blocks[VERITY_LEVELS_MAX];
	uint64_t offset[VERITY_LEVELS_MAX]; /* bytes into the hash area */
	uint64_t size;			    /* bytes of the hash area */
};

/* As dm-verity lays it out: the top level first, the data blocks' hashes last. */
static void tree_shape(const struct verity_params *p, uint64_t data_blocks, struct shape *t)
{
	uint64_t per = p->hash_block_size / p->alg->size, off = 0;

	memset(t, 0, sizeof(*t));
	for (uint64_t n = data_blocks; n > 1 && t->levels < VERITY_LEVELS_MAX;)
		n = t->blocks[t->levels++] = (n + per - 1) / per;
	for (unsigned i = t->levels; i-- > 0;) {
		t->offset[i] = off;
		off += t->blocks[i] * p->hash_block_size;
	}
	t->size = off;
}

static int device_size(int fd, uint64_t *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return err_set(-errno, "stat: %s", strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		if (end < 0)
			return err_set(-errno, "block device size: %s", strerror(errno));
		st.st_size = end;
	}
	*ret = (uint64_t)st.st_size;
	return 0;
}

/* Hashes the data blocks into @hashes (indexed by block) on @threads threads. */
static int hash_data(int fd, const struct verity_params *p, uint64_t blocks, unsigned threads,
		     progress_fn progress, void *progress_arg, uint8_t *hashes)
{
	struct worker w[16];
	pthread_t tid[16];
	uint64_t done = 0;
	unsigned finished = 0, started = 0;
	int rc = 0;

	threads = threads < 1 ? 1 : threads > 16 ? 16 : threads;
	if (blocks < threads * 256ull)
		threads = 1;
	for (unsigned t = 0; t < threads; t++) {
		uint64_t share = blocks / threads;

		w[t] = (struct worker){.fd = fd,
				       .p = p,
				       .first = t * share,
				       .hashes = hashes,
				       .done = &done,
				       .finished = &finished};
		w[t].count = t == threads - 1 ? blocks - w[t].first : share;
	}
	for (; started < threads; started++)
		if (pthread_create(&tid[started], NULL, hash_data_blocks, &w[started]) != 0)
			break;
	for (unsigned t = started; t < threads; t++) /* no thread to be had: do it here */
		hash_data_blocks(&w[t]);
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < threads) {
		if (progress)
			progress(__atomic_load_n(&done, __ATOMIC_RELAXED),
				 blocks * p->data_block_size, progress_arg);
		usleep(50 * 1000);
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	if (progress)
		progress(blocks * p->data_block_size, blocks * p->data_block_size, progress_arg);
	for (unsigned t = 0; t < threads; t++)
		if (w[t].rc < 0 && rc == 0)
			rc = err_set(w[t].rc, "%s", w[t].err);
	return rc;
}

int verity_hash_tree(int fd, const struct verity_params *p, unsigned threads, progress_fn progress,
		     void *progress_arg, uint8_t *ret_root, struct verity_tree *ret_tree)
{
	struct shape sh;
	struct salted s;
	uint64_t size = 0, blocks;
	uint8_t *area;
	int rc = check_params(p);

	if (rc < 0 || (rc = device_size(fd, &size)) < 0)
		return rc;
	blocks = size / p->data_block_size;
	if (blocks == 0)
		return err_set(-EINVAL, "smaller than one %u-byte data block", p->data_block_size);
	tree_shape(p, blocks, &sh);
	/* a hash block holds exactly hash_block_size / digest size hashes (both powers of
	 * two), so each level is its hashes back to back, zero-padded: calloc pads.  One
	 * data block has no tree: its hash, the root, needs room all the same. */
	area = calloc(1, sh.levels ? sh.size : p->alg->size);
	if (!area)
		return err_set(-ENOMEM, "out of memory for the hash tree of %llu blocks",
			       (unsigned long long)blocks);
	rc = hash_data(fd, p, blocks, threads, progress, progress_arg,
		       area + (sh.levels ? sh.offset[0] : 0));
	if (rc == 0)
		rc = salted_init(&s, p);
	if (rc < 0)
		goto out;
	for (unsigned i = 0; i < sh.levels && rc == 0; i++) {
		/* level i's blocks hash into level i + 1, the top level's into the root */
		uint8_t *out = i + 1 < sh.levels ? area + sh.offset[i + 1] : ret_root;

		for (uint64_t b = 0; b < sh.blocks[i] && rc == 0; b++)
			rc = salted_hash(&s, area + sh.offset[i] + b * p->hash_block_size,
					 p->hash_block_size, out + b * p->alg->size);
	}
	salted_free(&s);
	if (rc == 0 && sh.levels == 0)
		memcpy(ret_root, area, p->alg->size);
	if (rc == 0 && ret_tree) {
		*ret_tree = (struct verity_tree){.area = sh.levels ? area : NULL,
						 .size = sh.size,
						 .levels = sh.levels,
						 .data_blocks = blocks};
		if (sh.levels)
			area = NULL; /* the caller's now */
	}
out:
	free(area);
	return rc;
}

void verity_tree_free(struct verity_tree *t)
{
	free(t->area);
	t->area = NULL;
	t->size = 0;
}
