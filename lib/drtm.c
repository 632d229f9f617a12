// SPDX-License-Identifier: MIT
/* DRTM log replay: PCR 17-22 from zero, nothing else. */
#include <errno.h>
#include <string.h>

#include "drtm.h"
#include "err.h"

int drtm_replay(const struct tcg_log *log, const char *what, struct pcr_banks *ret)
{
	struct pcr_banks banks;

	pcr_banks_init(&banks);
	for (unsigned a = 0; a < log->n_algs; a++)
		if (!pcr_banks_add(&banks, log->alg[a]))
			return err_set(-E2BIG, "%s: too many banks", what);
	for (size_t i = 0; i < log->n_events; i++) {
		const struct tcg_event *e = &log->event[i];

		/* PCR 255: SINIT's informational events (PCR_MAPPING), extended nowhere */
		if (e->type == EV_NO_ACTION || e->pcr == DRTM_PCR_INFO)
			continue;
		if (e->pcr < DRTM_PCR_FIRST || e->pcr > DRTM_PCR_LAST)
			return err_set(
				-EBADMSG,
				"%s: offset %zu: event %zu (type 0x%x) extends PCR %u: a DRTM "
				"log extends only PCR 17-22",
				what, e->offset, i, e->type, e->pcr);
		for (unsigned d = 0; d < e->n_digests; d++) {
			struct pcr_bank *bank = pcr_banks_find(&banks, e->digest[d].alg);
			int rc;

			if (bank && (rc = pcr_bank_extend(bank, e->pcr, e->digest[d].value)) < 0)
				return rc;
		}
	}
	*ret = banks;
	return 0;
}

const struct tcg_event *drtm_first_event(const struct tcg_log *log)
{
	for (size_t i = 0; i < log->n_events; i++)
		if (log->event[i].type != EV_NO_ACTION && log->event[i].pcr != DRTM_PCR_INFO)
			return &log->event[i];
	return NULL;
}

bool drtm_pcr_unlaunched(const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != 0xff)
			return false;
	return n > 0;
}

bool drtm_log_looks_like(const struct tcg_log *log)
{
	if (!drtm_first_event(log))
		return false;
	for (size_t i = 0; i < log->n_events; i++)
		if (log->event[i].type != EV_NO_ACTION && log->event[i].pcr != DRTM_PCR_INFO &&
		    (log->event[i].pcr < DRTM_PCR_FIRST || log->event[i].pcr > DRTM_PCR_LAST))
			return false;
	return true;
}
