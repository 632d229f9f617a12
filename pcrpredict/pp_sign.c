// SPDX-License-Identifier: MIT
/*
 * pcrpredict sign: a vendor's approval of predicted PCR values, for secrets
 * sealed to PolicyAuthorize(vendor key).  The signed policy (JSON,
 * docs/FORMATS.md) goes where cmld looks (--signed-policies); devices then
 * unlock on the new chain without re-sealing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authorize.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "pcr_values.h"
#include "pcrpredict.h"

int pp_sign_run(int argc, char **argv, const struct pp_opts *opts)
{
	static const struct option longopts[] = {
		{"key", required_argument, NULL, 'k'},
		{"pcrs", required_argument, NULL, 'l'},
		{"values", required_argument, NULL, 'f'},
		{"out", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	const char *key_path = NULL, *sel_text = NULL, *values = NULL, *out = NULL;
	struct signed_policy sp = {0};
	struct policy_signer key;
	char *json = NULL;
	int c, r;

	(void)opts;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'k')
			key_path = optarg;
		else if (c == 'l')
			sel_text = optarg;
		else if (c == 'f')
			values = optarg;
		else if (c == 'o')
			out = optarg;
		else
			return err_set(-EINVAL, "unknown option"), pp_fail("sign");
	}
	if (!key_path || !sel_text || !values || optind != argc)
		return err_set(-EINVAL, "needs --key KEY.pem, --pcrs SEL and --values FILE"),
		       pp_fail("sign");
	if (pcr_selection_parse(sel_text, &sp.pcrs) < 0 ||
	    pcr_values_load(values, &sp.pcrs, &sp.values) < 0 ||
	    policy_signer_load(key_path, &key) < 0)
		return pp_fail("sign");
	r = signed_policy_sign(&key, &sp);
	if (r == 0)
		r = signed_policy_to_json(&sp, &json);
	policy_signer_free(&key);
	if (r == 0 && out) {
		size_t len = strlen(json);
		json[len] = '\n';
		r = file_write_atomic(out, json, len + 1, 0644);
	} else if (r == 0) {
		printf("%s\n", json);
	}
	free(json);
	return r < 0 ? pp_fail("sign") : PP_EXIT_OK;
}
