// SPDX-License-Identifier: MIT
/*
 * pcrpredict rootfs: the digest measured-init extends for a root image, and
 * the PCR value that results from a zero PCR.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hex.h"
#include "jsonw.h"
#include "pcrpredict.h"
#include "rootfs.h"

struct rootfs_args {
	const char *image;
	enum rootfs_mode mode;
	struct verity_params vp;
	unsigned pcr;
};

static int parse_salt(const char *text, struct verity_params *vp)
{
	if (strcmp(text, "-") == 0) {
		vp->salt_len = 0;
		return 0;
	}
	return hex_decode(text, vp->salt, sizeof(vp->salt), &vp->salt_len) < 0
		       ? err_wrap(-EINVAL, "--salt")
		       : 0;
}

static int parse_args(int argc, char **argv, struct rootfs_args *a)
{
	static const struct option longopts[] = {
		{"mode", required_argument, NULL, 'm'},
		{"salt", required_argument, NULL, 's'},
		{"pcr", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	int c;

	verity_params_default(&a->vp);
	a->pcr = ROOTFS_DEFAULT_PCR;
	a->mode = ROOTFS_DEFAULT_MODE;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (rootfs_mode_parse(optarg, &a->mode) < 0)
				return -EINVAL;
			break;
		case 's':
			if (parse_salt(optarg, &a->vp) < 0)
				return -EINVAL;
			break;
		case 'p':
			if (rootfs_pcr_parse(optarg, &a->pcr) < 0)
				return err_wrap(-EINVAL, "--pcr");
			break;
		default:
			return err_set(-EINVAL, "unknown option");
		}
	}
	if (optind != argc - 1)
		return err_set(-EINVAL, "expects one IMAGE");
	a->image = argv[optind];
	return 0;
}

static void print(const struct rootfs_args *a, const struct rootfs_measurement *m,
		  const struct pcr_bank *pcrs, bool json)
{
	char hex[2 * DIGEST_MAX + 1];
	struct jw j;

	if (!json) {
		printf("rootfs %s: %s, %llu bytes, PCR %u\n", a->image, rootfs_mode_name(m->mode),
		       (unsigned long long)m->size, a->pcr);
		if (m->mode == ROOTFS_VERITY) {
			hex_encode(m->root_hash, a->vp.alg->size, hex);
			printf("  verity root hash: %s (%llu data blocks)\n", hex,
			       (unsigned long long)m->data_blocks);
		}
		for (unsigned i = 0; i < m->n; i++) {
			hex_encode(m->digest[i].value, m->digest[i].alg->size, hex);
			printf("  %-7s digest: %s\n", m->digest[i].alg->name, hex);
			hex_encode(pcrs[i].value[a->pcr], pcrs[i].alg->size, hex);
			printf("  %-7s PCR %u: %s\n", m->digest[i].alg->name, a->pcr, hex);
		}
		return;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "pcr");
	jw_uint(&j, a->pcr);
	jw_key(&j, "mode");
	jw_string(&j, rootfs_mode_name(m->mode));
	jw_key(&j, "size");
	jw_uint(&j, m->size);
	if (m->mode == ROOTFS_VERITY) {
		jw_key(&j, "root_hash");
		jw_hex(&j, m->root_hash, a->vp.alg->size);
		jw_key(&j, "salt");
		jw_hex(&j, a->vp.salt, a->vp.salt_len);
	}
	jw_key(&j, "banks");
	jw_object_begin(&j);
	for (unsigned i = 0; i < m->n; i++) {
		jw_key(&j, m->digest[i].alg->name);
		jw_object_begin(&j);
		jw_key(&j, "digest");
		jw_hex(&j, m->digest[i].value, m->digest[i].alg->size);
		jw_key(&j, "pcr");
		jw_hex(&j, pcrs[i].value[a->pcr], pcrs[i].alg->size);
		jw_object_end(&j);
	}
	jw_object_end(&j);
	jw_object_end(&j);
	jw_finish(&j);
}

int pp_rootfs_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct rootfs_args a = {0};
	struct rootfs_measurement m;
	struct pcr_bank pcrs[PCR_BANKS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (parse_args(argc, argv, &a) < 0)
		return pp_fail("rootfs");
	if (rootfs_measure(a.image, a.mode, &a.vp, opts->banks, opts->n_banks,
			   cpus > 0 ? (unsigned)cpus : 1, pp_progress, (void *)a.image, &m,
			   NULL) < 0)
		return pp_fail("rootfs");
	for (unsigned i = 0; i < m.n; i++) {
		pcr_bank_init(&pcrs[i], m.digest[i].alg);
		if (pcr_bank_extend(&pcrs[i], a.pcr, m.digest[i].value) < 0)
			return pp_fail("rootfs");
	}
	print(&a, &m, pcrs, opts->json);
	return PP_EXIT_OK;
}
