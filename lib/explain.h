/* SPDX-License-Identifier: MIT */
/*
 * Why a PCR is not the predicted value: the first event in the log whose
 * digest differs from the predicted event at the same place, named with
 * what was predicted there.  Shared by attest verify (the EAR's reason) and
 * pcrpredict diff.
 */
#ifndef MEASURED_EXPLAIN_H
#define MEASURED_EXPLAIN_H

#include <stddef.h>

#include "digest.h"
#include "eventlog_tcg.h"

struct json_object;

struct predicted_event {
	unsigned pcr;
	char description[160];
	struct alg_digest digest[TCG_LOG_MAX_ALGS];
	unsigned n_digests;
};

struct predicted_events {
	size_t n;
	struct predicted_event *ev;
};

/*
 * The events a prediction lists: a reference document's components.grub and
 * components.tboot events, or the "events" of `pcrpredict grub --json`.
 * None is not an error.
 */
int predicted_events_from_json(struct json_object *doc, const char *what,
			       struct predicted_events *ret);
void predicted_events_free(struct predicted_events *p);

/*
 * Compares @log's events of @pcr with the predicted ones, in order, in
 * @alg.  Returns 1 and a sentence in @out at the first difference (an
 * event changed, missing, or one too many), 0 when the events agree or
 * nothing of @pcr was predicted event by event.
 */
int explain_pcr(const struct tcg_log *log, unsigned pcr, const struct hash_alg *alg,
		const struct predicted_events *p, char *out, size_t size);

#endif
