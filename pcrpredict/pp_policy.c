// SPDX-License-Identifier: MIT
/*
 * pcrpredict policy: the PolicyPCR digest (then PolicyAuthValue with --pin)
 * for given PCR values, as a trial session on a TPM holding them would give.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "hex.h"
#include "jsonw.h"
#include "pcr_values.h"
#include "pcrpredict.h"
#include "policy_digest.h"

int pp_policy_run(int argc, char **argv, const struct pp_opts *opts)
{
	static const struct option longopts[] = {
		{"pcrs", required_argument, NULL, 'l'},
		{"values", required_argument, NULL, 'f'},
		{"pin", no_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	const char *sel_text = NULL, *values_path = NULL;
	struct pcr_selection sel;
	struct pcr_banks values;
	struct policy pol;
	bool pin = false;
	char hex[2 * DIGEST_MAX + 1];
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'l')
			sel_text = optarg;
		else if (c == 'f')
			values_path = optarg;
		else if (c == 'p')
			pin = true;
		else
			return err_set(-EINVAL, "unknown option"), pp_fail("policy");
	}
	if (!sel_text || !values_path || optind != argc)
		return err_set(-EINVAL, "needs --pcrs SEL and --values FILE"), pp_fail("policy");
	if (pcr_selection_parse(sel_text, &sel) < 0 ||
	    pcr_values_load(values_path, &sel, &values) < 0)
		return pp_fail("policy");
	/* the session hash: the first --banks entry (sha256 unless told) */
	policy_init(&pol, opts->banks[0]);
	if (policy_pcr(&pol, &sel, &values) < 0 || (pin && policy_auth_value(&pol) < 0))
		return pp_fail("policy");
	hex_encode(pol.digest, pol.alg->size, hex);
	if (opts->json) {
		struct jw j;

		jw_init(&j, stdout);
		jw_object_begin(&j);
		jw_key(&j, "policy");
		jw_string(&j, hex);
		jw_key(&j, "alg");
		jw_string(&j, pol.alg->name);
		jw_key(&j, "pcrs");
		jw_string(&j, sel_text);
		jw_key(&j, "pin");
		jw_bool(&j, pin);
		jw_object_end(&j);
		jw_finish(&j);
	} else {
		printf("%s\n", hex);
	}
	return PP_EXIT_OK;
}
