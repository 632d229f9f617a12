// SPDX-License-Identifier: MIT
/* Hash tree over verifier nonces. */
#include <errno.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "nonce_tree.h"

static int leaf(const uint8_t *nonce, size_t len, uint8_t *out)
{
	uint8_t buf[1 + 256];

	if (len > sizeof(buf) - 1)
		return err_set(-EINVAL, "nonce of %zu bytes", len);
	buf[0] = 0x00;
	memcpy(buf + 1, nonce, len);
	return digest_buf(hash_alg_by_id(TPM_ALG_SHA256), buf, 1 + len, out);
}

static int node(const uint8_t *l, const uint8_t *r, uint8_t *out)
{
	uint8_t buf[1 + 2 * NONCE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, l, NONCE_HASH_LEN);
	memcpy(buf + 1 + NONCE_HASH_LEN, r, NONCE_HASH_LEN);
	return digest_buf(hash_alg_by_id(TPM_ALG_SHA256), buf, sizeof(buf), out);
}

int nonce_tree_build(const uint8_t *const *nonces, const size_t *lens, size_t n,
		     uint8_t root[NONCE_HASH_LEN], struct nonce_path *paths)
{
	static __thread uint8_t level[NONCE_TREE_MAX_LEAVES][NONCE_HASH_LEN];
	size_t pos[NONCE_TREE_MAX_LEAVES];
	int rc = 0;

	if (n == 0 || n > NONCE_TREE_MAX_LEAVES)
		return err_set(-EINVAL, "%zu nonces in one tree (1-%d)", n, NONCE_TREE_MAX_LEAVES);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = leaf(nonces[i], lens[i], level[i]);
		pos[i] = i;
		if (paths)
			paths[i].len = 0;
	}
	for (size_t width = n; width > 1 && rc == 0; width = (width + 1) / 2) {
		for (size_t i = 0; paths && i < n; i++) {
			size_t p = pos[i], sib = p ^ 1;

			if (sib < width) {
				struct nonce_path *path = &paths[i];

				path->step[path->len].right = sib > p;
				memcpy(path->step[path->len].hash, level[sib], NONCE_HASH_LEN);
				path->len++;
			}
			pos[i] = p / 2;
		}
		for (size_t k = 0; k < width / 2 && rc == 0; k++)
			rc = node(level[2 * k], level[2 * k + 1], level[k]);
		if (width % 2)
			memmove(level[width / 2], level[width - 1], NONCE_HASH_LEN);
	}
	if (rc == 0)
		memcpy(root, level[0], NONCE_HASH_LEN);
	return rc;
}

int nonce_tree_root(const uint8_t *nonce, size_t len, const struct nonce_path *path,
		    uint8_t root[NONCE_HASH_LEN])
{
	uint8_t cur[NONCE_HASH_LEN];
	int rc = leaf(nonce, len, cur);

	if (path->len > NONCE_TREE_MAX_DEPTH)
		return err_set(-EBADMSG, "nonce path of %u steps", path->len);
	for (unsigned i = 0; i < path->len && rc == 0; i++)
		rc = path->step[i].right ? node(cur, path->step[i].hash, cur)
					 : node(path->step[i].hash, cur, cur);
	if (rc == 0)
		memcpy(root, cur, NONCE_HASH_LEN);
	return rc;
}
