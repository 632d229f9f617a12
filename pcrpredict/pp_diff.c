// SPDX-License-Identifier: MIT
/*
 * pcrpredict diff REF LOG: each PCR the prediction REF gives against the
 * replay of a firmware event log; for a PCR that differs, the first event
 * that makes it differ and what was predicted there (lib/explain).
 * Exit 0 when every predicted PCR holds, 1 when one differs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "eventlog_tcg.h"
#include "explain.h"
#include "fileio.h"
#include "pcr_values.h"
#include "pcrpredict.h"

#define LOG_MAX (64u << 20)

static int compare(const struct pcr_banks *want, const struct pcr_banks *got,
		   const struct tcg_log *log, const struct predicted_events *p,
		   unsigned *ret_differ)
{
	char why[512];
	int rc;

	*ret_differ = 0;
	for (unsigned b = 0; b < want->count; b++) {
		const struct pcr_bank *w = &want->bank[b], *g = pcr_banks_get(got, w->alg);

		for (unsigned i = 0; i < PCR_COUNT; i++) {
			if (!(w->extended & (1u << i)))
				continue;
			if (g && !(g->extended & (1u << i))) {
				printf("%s PCR %u: not in this log (extended by other code: see "
				       "its CEL log)\n",
				       w->alg->name, i);
				continue;
			}
			if (g && !memcmp(g->value[i], w->value[i], w->alg->size)) {
				printf("%s PCR %u: as predicted\n", w->alg->name, i);
				continue;
			}
			(*ret_differ)++;
			rc = 0;
			if (!g)
				snprintf(why, sizeof(why), "the log has no %s bank", w->alg->name);
			else if ((rc = explain_pcr(log, i, w->alg, p, why, sizeof(why))) == 0)
				snprintf(why, sizeof(why), "(no event-level prediction for it)");
			if (rc < 0)
				return rc;
			printf("%s PCR %u differs: %s\n", w->alg->name, i, why);
		}
	}
	return 0;
}

int pp_diff_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct predicted_events p = {0};
	struct pcr_banks want, got;
	struct tcg_log log;
	struct json_object *doc;
	uint8_t *buf = NULL;
	size_t len;
	unsigned differ = 0;
	int rc;

	(void)opts;
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-')
		return err_set(-EINVAL, "needs REF.json LOG"), pp_fail("diff");
	if (!(doc = json_object_from_file(argv[1])))
		return err_set(-EINVAL, "%s is not JSON", argv[1]), pp_fail("diff");
	rc = pcr_values_from_json_object(doc, argv[1], &want);
	if (rc == 0)
		rc = predicted_events_from_json(doc, argv[1], &p);
	json_object_put(doc);
	if (rc == 0 && (rc = file_read_all(argv[2], LOG_MAX, &buf, &len)) == 0 &&
	    (rc = tcg_log_parse(buf, len, argv[2], &log)) == 0) {
		pcr_banks_init(&got);
		if ((rc = tcg_log_replay(&log, &got)) == 0)
			rc = compare(&want, &got, &log, &p, &differ);
		tcg_log_free(&log);
	}
	free(buf);
	predicted_events_free(&p);
	if (rc < 0)
		return pp_fail("diff");
	return differ ? PP_EXIT_FAIL : PP_EXIT_OK;
}
