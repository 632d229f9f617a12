// SPDX-License-Identifier: MIT
/*
 * attest verify EVIDENCE and attest check HOST: the state folder and the
 * files around verify_evidence (verify.c), and its result printed as an EAR
 * (JSON, or a JWT with --ear-key).  Exit 0 only when affirming.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "attest.h"
#include "attest_client.h"
#include "ear.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "mem.h"
#include "pcr_values.h"
#include "quote.h"
#include "verify.h"

static int print_result(const struct verify_result *r, EVP_PKEY *ear_key)
{
	_cleanup_free_ char *token = NULL;

	if (!ear_key) {
		printf("%s\n",
		       json_object_to_json_string_ext(
			       r->ear, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		return 0;
	}
	if (ear_jwt_sign(json_object_to_json_string_ext(
				 r->ear, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			 ear_key, &token) < 0)
		return -1;
	printf("%s\n", token);
	return 0;
}

static int load_ak(const char *path, const char *state, EVP_PKEY **ret)
{
	char default_ak[4200];
	_cleanup_free_ uint8_t *pem = NULL;
	size_t pem_len;
	int rc;

	snprintf(default_ak, sizeof(default_ak), "%s/ak.pem", state);
	if ((rc = file_read_all(path ? path : default_ak, 1 << 16, &pem, &pem_len)) < 0)
		return rc;
	return pkey_from_pem((char *)pem, pem_len, ret);
}

int attest_verify_evidence(const struct evidence *ev, const struct verify_args *args,
			   const struct attest_opts *opts)
{
	struct verify_policy pol = {
		.pcrs = args->pcrs, .has_pcrs = args->has_pcrs, .strict = args->strict};
	struct verify_result r = {0};
	struct device_state st;
	EVP_PKEY *ak = NULL;
	int rc = -1;

	if (load_ak(args->ak_path, opts->state, &ak) == 0 &&
	    device_state_load(opts->state, &st) == 0 &&
	    verify_policy_load_files(&pol, args->ref_path, args->policy_path) == 0) {
		rc = verify_evidence(ev, ak, &pol, args->nonce_ours, &st, &r);
		verify_policy_free(&pol);
	}
	/* as before the split: a state folder that cannot be written is said, not fatal */
	if (rc == 0 && r.state_changed && device_state_save(opts->state, &st) < 0)
		log_warn("%s", err_msg());
	if (rc == 0)
		rc = print_result(&r, args->ear_key);
	EVP_PKEY_free(ak);
	verify_result_free(&r);
	if (rc < 0) {
		fprintf(stderr, "attest verify: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return r.overall == EAR_AFFIRMING ? ATTEST_EXIT_OK
	       : r.overall == EAR_WARNING ? ATTEST_EXIT_WARNING
					  : ATTEST_EXIT_FAIL;
}

/*
 * The options attest verify and attest check share: 1 when @c was one of
 * them, 0 when it is not, -1 (said on stderr) when its value is bad.
 */
static int verify_option(int c, const char *arg, struct verify_args *a)
{
	switch (c) {
	case 'a':
		a->ak_path = arg;
		return 1;
	case 'r':
		a->ref_path = arg;
		return 1;
	case 'p':
		a->policy_path = arg;
		return 1;
	case 's':
		a->strict = true;
		return 1;
	case 'l':
		if (pcr_selection_parse(arg, &a->pcrs) < 0)
			break;
		a->has_pcrs = true;
		return 1;
	case 'k':
		EVP_PKEY_free(a->ear_key);
		a->ear_key = NULL;
		if (ear_key_load(arg, &a->ear_key) < 0)
			break;
		return 1;
	default:
		return 0;
	}
	fprintf(stderr, "attest: %s %s: %s\n", c == 'l' ? "--pcrs" : "--ear-key", arg, err_msg());
	return -1;
}

int attest_verify_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"ak", required_argument, NULL, 'a'},
		{"reference", required_argument, NULL, 'r'},
		{"runtime-policy", required_argument, NULL, 'p'},
		{"pcrs", required_argument, NULL, 'l'},
		{"nonce", required_argument, NULL, 'n'},
		{"strict", no_argument, NULL, 's'},
		{"ear-key", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	struct verify_args args = {0};
	struct evidence ev = {0};
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'n' && hex_decode(optarg, nonce, sizeof(nonce), &nonce_len) == 0)
			args.nonce_ours = true;
		else if (c == 'n' || verify_option(c, optarg, &args) <= 0) {
			if (c == 'n')
				fprintf(stderr, "attest verify: --nonce: %s\n", err_msg());
			EVP_PKEY_free(args.ear_key);
			return ATTEST_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "attest verify: needs one EVIDENCE file\n");
		EVP_PKEY_free(args.ear_key);
		return ATTEST_EXIT_USAGE;
	}
	if (evidence_read(argv[optind], &ev) < 0) {
		fprintf(stderr, "attest verify: %s\n", err_msg());
		EVP_PKEY_free(args.ear_key);
		return ATTEST_EXIT_FAIL;
	}
	if (args.nonce_ours && (nonce_len != ev.nonce_len || memcmp(nonce, ev.nonce, nonce_len))) {
		/* the file's nonce is not the one we sent: check the quote against ours */
		memcpy(ev.nonce, nonce, nonce_len);
		ev.nonce_len = nonce_len;
	}
	rc = attest_verify_evidence(&ev, &args, opts);
	evidence_free(&ev);
	EVP_PKEY_free(args.ear_key);
	return rc;
}

static int reference_pcrs(const char *path, struct pcr_banks *ret)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int rc = file_read_all(path, 256u << 20, &text, &len);

	return rc < 0 ? rc : pcr_values_from_json((char *)text, path, ret);
}

/* attest check HOST: a fresh quote, verified at once -- what an operator runs. */
int attest_check_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"ak", required_argument, NULL, 'a'},
		{"reference", required_argument, NULL, 'r'},
		{"runtime-policy", required_argument, NULL, 'p'},
		{"pcrs", required_argument, NULL, 'l'},
		{"strict", no_argument, NULL, 's'},
		{"full", no_argument, NULL, 'f'},
		{"ear-key", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	struct verify_args args = {.nonce_ours = true};
	struct evidence ev = {0};
	struct pcr_selection ask;
	struct pcr_banks ref;
	struct device_state st;
	char path[4200];
	bool full = false;
	int c, rc;

	if (pcr_selection_parse(ATTEST_DEFAULT_PCRS, &ask) < 0)
		return ATTEST_EXIT_FAIL;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'f') {
			full = true;
		} else if (verify_option(c, optarg, &args) <= 0) {
			EVP_PKEY_free(args.ear_key);
			return ATTEST_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"attest check: needs HOST[:PORT] [--pcrs SEL] [--reference REF] "
			"[--runtime-policy F] [--ak AK.pem] [--strict] [--full] [--ear-key K]\n");
		EVP_PKEY_free(args.ear_key);
		return ATTEST_EXIT_USAGE;
	}
	/* ask for what --pcrs names and everything the reference predicts */
	if (args.has_pcrs)
		ask = args.pcrs;
	if (args.ref_path && reference_pcrs(args.ref_path, &ref) == 0)
		for (unsigned b = 0; b < ref.count; b++)
			pcr_selection_add(&ask, ref.bank[b].alg, ref.bank[b].extended);
	rc = device_state_load(opts->state, &st);
	if (rc == 0)
		rc = attest_quote_fetch(argv[optind], &ask, &st, full, 30000, &ev);
	snprintf(path, sizeof(path), "%s/last-evidence.cbor", opts->state);
	if (rc == 0)
		rc = evidence_write(path, &ev);
	if (rc < 0) {
		fprintf(stderr, "attest check: %s\n", err_msg());
		rc = ATTEST_EXIT_FAIL;
	} else {
		rc = attest_verify_evidence(&ev, &args, opts);
	}
	evidence_free(&ev);
	EVP_PKEY_free(args.ear_key);
	return rc;
}
