// SPDX-License-Identifier: MIT
/*
 * pcrpredict ima: reference digests for every file of a root filesystem the
 * IMA policy would measure (a Keylime runtime policy, or our own JSON), and
 * boot_aggregate from PCR 0-9 values.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "eventlog_ima.h"
#include "fileio.h"
#include "hex.h"
#include "ima_ref.h"
#include "jsonw.h"
#include "pcr_values.h"
#include "pcrpredict.h"

struct ima_args {
	const char *rootfs, *policy_path, *output, *values;
	const struct hash_alg *ima_hash;
	uint32_t fsmagic;
	bool boot_aggregate;
};

static void print_keylime(const struct ima_ref *t)
{
	struct jw j;
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;

	/* SOURCE_DATE_EPOCH keeps builds reproducible */
	if (getenv("SOURCE_DATE_EPOCH"))
		now = (time_t)strtoll(getenv("SOURCE_DATE_EPOCH"), NULL, 10);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));

	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "meta");
	jw_object_begin(&j);
	jw_key(&j, "version");
	jw_uint(&j, 1);
	/* Keylime's RUNTIME_POLICY_GENERATOR: 0 is "Unknown", any tool but Keylime's own */
	jw_key(&j, "generator");
	jw_uint(&j, 0);
	jw_key(&j, "timestamp");
	jw_string(&j, stamp);
	jw_object_end(&j);
	jw_key(&j, "release");
	jw_uint(&j, 0);
	jw_key(&j, "digests");
	jw_object_begin(&j);
	for (size_t i = 0; i < t->n; i++) {
		char key[4200];

		snprintf(key, sizeof(key), "/%s", t->file[i].path);
		jw_key(&j, key);
		jw_array_begin(&j);
		jw_hex(&j, t->file[i].digest, t->alg->size);
		jw_array_end(&j);
	}
	jw_object_end(&j);
	jw_key(&j, "excludes");
	jw_array_begin(&j);
	jw_array_end(&j);
	jw_key(&j, "keyrings");
	jw_object_begin(&j);
	jw_object_end(&j);
	jw_key(&j, "ima");
	jw_object_begin(&j);
	jw_key(&j, "ignored_keyrings");
	jw_array_begin(&j);
	jw_array_end(&j);
	jw_key(&j, "log_hash_alg");
	jw_string(&j, "sha1");
	jw_key(&j, "dm_policy");
	jw_null(&j);
	jw_object_end(&j);
	jw_key(&j, "ima-buf");
	jw_object_begin(&j);
	jw_object_end(&j);
	jw_key(&j, "verification-keys");
	jw_string(&j, "");
	jw_object_end(&j);
	jw_finish(&j);
}

static void print_refs(const struct ima_ref *t, bool json)
{
	struct jw j;

	if (!json) {
		char hex[2 * DIGEST_MAX + 1];

		for (size_t i = 0; i < t->n; i++) {
			hex_encode(t->file[i].digest, t->alg->size, hex);
			printf("%s  /%s\n", hex, t->file[i].path);
		}
		return;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "ima_hash");
	jw_string(&j, t->alg->name);
	jw_key(&j, "files");
	jw_object_begin(&j);
	for (size_t i = 0; i < t->n; i++) {
		char key[4200];

		snprintf(key, sizeof(key), "/%s", t->file[i].path);
		jw_key(&j, key);
		jw_hex(&j, t->file[i].digest, t->alg->size);
	}
	jw_object_end(&j);
	jw_object_end(&j);
	jw_finish(&j);
}

static int run_boot_aggregate(const struct ima_args *a, const struct pp_opts *opts)
{
	struct pcr_selection sel = {0};
	struct pcr_banks values;
	struct jw j;

	if (!a->values)
		return err_set(-EINVAL, "--boot-aggregate needs --values FILE (PCR 0-9)");
	/* PCR 8 and 9 (in the non-SHA-1 aggregates) left out of the values were never
	 * extended: zeros, as the kernel reads them */
	for (unsigned b = 0; b < opts->n_banks; b++) {
		sel.bank[b].alg = opts->banks[b];
		sel.bank[b].mask = 0xff;
	}
	sel.count = opts->n_banks;
	if (pcr_values_load(a->values, &sel, &values) < 0)
		return -EINVAL;
	if (opts->json) {
		jw_init(&j, stdout);
		jw_object_begin(&j);
	}
	for (unsigned b = 0; b < opts->n_banks; b++) {
		uint8_t agg[DIGEST_MAX];
		char hex[2 * DIGEST_MAX + 1];
		int rc = ima_boot_aggregate(pcr_banks_find(&values, opts->banks[b]), agg);

		if (rc < 0)
			return rc;
		hex_encode(agg, opts->banks[b]->size, hex);
		if (opts->json) {
			jw_key(&j, opts->banks[b]->name);
			jw_string(&j, hex);
		} else {
			printf("%s:%s boot_aggregate\n", opts->banks[b]->name, hex);
		}
	}
	if (opts->json) {
		jw_object_end(&j);
		jw_finish(&j);
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct ima_args *a)
{
	static const struct option longopts[] = {
		{"rootfs", required_argument, NULL, 'r'},
		{"policy", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"ima-hash", required_argument, NULL, 'h'},
		{"fsmagic", required_argument, NULL, 'f'},
		{"boot-aggregate", no_argument, NULL, 'b'},
		{"values", required_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	int c;

	a->ima_hash = hash_alg_by_id(TPM_ALG_SHA256);
	a->fsmagic = EXT4_SUPER_MAGIC;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a->rootfs = optarg;
			break;
		case 'p':
			a->policy_path = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "keylime") && strcmp(optarg, "json") &&
			    strcmp(optarg, "text"))
				return err_set(-EINVAL, "--output must be keylime, json or text");
			a->output = optarg;
			break;
		case 'h':
			a->ima_hash = hash_alg_by_name(optarg);
			if (!a->ima_hash)
				return err_set(-EINVAL, "--ima-hash: unknown hash \"%s\"", optarg);
			break;
		case 'f':
			a->fsmagic = (uint32_t)strtoul(optarg, NULL, 16);
			break;
		case 'b':
			a->boot_aggregate = true;
			break;
		case 'v':
			a->values = optarg;
			break;
		default:
			return err_set(-EINVAL, "unknown option");
		}
	}
	if (optind != argc)
		return err_set(-EINVAL, "unexpected argument \"%s\"", argv[optind]);
	if (!a->boot_aggregate && !a->rootfs)
		return err_set(-EINVAL,
			       "needs --rootfs DIR|IMAGE (or --boot-aggregate --values FILE)");
	return 0;
}

int pp_ima_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct ima_args a = {0};
	struct ima_ref ref;
	int rc = parse_args(argc, argv, &a);

	if (rc == 0 && a.boot_aggregate)
		rc = run_boot_aggregate(&a, opts);
	else if (rc == 0 &&
		 (rc = ima_ref_build(a.rootfs, a.policy_path, a.ima_hash, a.fsmagic, &ref)) == 0) {
		const char *out = a.output ? a.output : opts->json ? "json" : "text";

		if (strcmp(out, "keylime") == 0)
			print_keylime(&ref);
		else
			print_refs(&ref, strcmp(out, "json") == 0);
		ima_ref_free(&ref);
	}
	return rc < 0 ? pp_fail("ima") : PP_EXIT_OK;
}
