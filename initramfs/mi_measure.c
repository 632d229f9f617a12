// SPDX-License-Identifier: MIT
/* measured-init: measure the root device into its PCR in every allocated bank. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hex.h"
#include "measure.h"
#include "mi.h"
#include "tpm.h"

#define MI_TCTI "device:/dev/tpmrm0"

/* The kernel's TPM driver may still be probing when we start. */
static int open_tpm(struct tpm **ret)
{
	int rc = -ENODEV;

	for (int i = 0; i < 100; i++) {
		if (access("/dev/tpmrm0", F_OK) == 0 && (rc = tpm_open(MI_TCTI, 0, ret)) == 0)
			return 0;
		usleep(50 * 1000);
	}
	return rc == -ENODEV ? err_set(rc, "no TPM (/dev/tpmrm0) appeared") : rc;
}

/* The TPM and the algorithms of its allocated banks. */
static int open_banks(struct tpm **tpm, const struct hash_alg **algs, unsigned *n)
{
	struct pcr_selection banks;
	int rc;

	if ((rc = open_tpm(tpm)) < 0 || (rc = tpm_pcr_banks(*tpm, &banks)) < 0)
		return rc;
	for (unsigned i = 0; i < banks.count; i++)
		algs[i] = banks.bank[i].alg;
	*n = banks.count;
	return 0;
}

int mi_measure_root(const struct mi_config *cfg, struct rootfs_measurement *ret,
		    struct verity_tree *ret_tree)
{
	const struct hash_alg *algs[PCR_BANKS_MAX];
	struct rootfs_measurement m;
	struct verity_tree tree = {0};
	struct tpm *tpm = NULL;
	char detail[600], hex[2 * DIGEST_MAX + 1], salt[2 * VERITY_SALT_MAX + 1];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n;
	int rc;

	if ((rc = open_banks(&tpm, algs, &n)) < 0)
		goto out;
	/* the same code as pcrpredict rootfs; the tree comes from the same single read */
	rc = rootfs_measure(cfg->root, cfg->mode, &cfg->vp, algs, n, cpus > 0 ? (unsigned)cpus : 1,
			    NULL, NULL, &m, cfg->mode == ROOTFS_VERITY ? &tree : NULL);
	if (rc < 0)
		goto out;
	hex_encode(cfg->vp.salt, cfg->vp.salt_len, salt);
	snprintf(detail, sizeof(detail), "mode=%s size=%llu%s%s", rootfs_mode_name(m.mode),
		 (unsigned long long)m.size, m.mode == ROOTFS_VERITY ? " salt=" : "",
		 m.mode == ROOTFS_VERITY ? salt : "");
	rc = measure_extend(tpm, cfg->pcr, m.digest, m.n, "rootfs", cfg->root,
			    (const uint8_t *)detail, strlen(detail), MEASURED_CEL_PATH);
	if (rc < 0)
		goto out;
	for (unsigned i = 0; i < m.n; i++) {
		if (m.digest[i].alg->tpm_alg != TPM_ALG_SHA256)
			continue;
		hex_encode(m.digest[i].value, 32, hex);
		mi_say("%s (%s) measured into PCR %u: sha256 %s", cfg->root,
		       rootfs_mode_name(m.mode), cfg->pcr, hex);
		if (cfg->expect[0] && strcmp(hex, cfg->expect) != 0)
			rc = err_set(-EPERM, "%s does not match measured.expect=%s", cfg->root,
				     cfg->expect);
	}
out:
	tpm_close(tpm);
	if (rc == 0) {
		*ret = m;
		*ret_tree = tree;
	} else {
		verity_tree_free(&tree);
	}
	return rc;
}

int mi_record_failure(const struct mi_config *cfg, const char *stage, const char *cause)
{
	const struct hash_alg *algs[PCR_BANKS_MAX];
	struct alg_digest d[PCR_BANKS_MAX];
	struct tpm *tpm = NULL;
	unsigned n = 0;
	int rc = open_banks(&tpm, algs, &n);

	for (unsigned i = 0; i < n && rc == 0; i++) {
		d[i].alg = algs[i];
		rc = digest_buf(algs[i], MI_FAILURE_EVENT, strlen(MI_FAILURE_EVENT), d[i].value);
	}
	if (rc == 0)
		rc = measure_extend(tpm, cfg->pcr, d, n, MI_FAILURE_TYPE, stage,
				    (const uint8_t *)cause, strlen(cause), MEASURED_CEL_PATH);
	tpm_close(tpm);
	return rc < 0 ? err_wrap(rc, "recording the failure in PCR %u", cfg->pcr) : 0;
}
