// SPDX-License-Identifier: MIT
/*
 * PCR 11 at container start: what the container is about to run (its
 * GuestOS images, checked against the signed config just before) and how it
 * is configured, extended before init runs and logged as CEL records beside
 * measured-init's, so that a verifier replays PCR 11 from the log and
 * `pcrpredict cml` predicts it from the signed configs.
 */
#include <stdio.h>
#include <string.h>

#include "cml_measure.h"
#include "cmld.h"
#include "cm_measure.h"
#include "err.h"
#include "measure.h"
#include "tpm.h"

int cm_measure_start(struct cmld *d, struct cm_container *c, const GuestOSConfig *g)
{
	const struct hash_alg *algs[PCR_BANKS_MAX];
	struct cml_event ev[CML_EVENTS_MAX];
	struct alg_digest digests[PCR_BANKS_MAX];
	struct pcr_selection banks;
	_cleanup_tpm_ struct tpm *tpm = NULL;
	char data[128];
	size_t n = 0;
	int r;

	if (!d->seal.tcti)
		return 0;
	r = cml_start_events(g, c->config, ev, &n);
	if (r == 0)
		r = tpm_open(d->seal.tcti, 0, &tpm);
	if (r == 0)
		r = tpm_pcr_banks(tpm, &banks);
	if (r < 0)
		return err_wrap(r, "measuring container %s into PCR %d", c->config->name, CML_PCR);
	for (unsigned i = 0; i < banks.count; i++)
		algs[i] = banks.bank[i].alg;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!strcmp(ev[i].type, "container-config"))
			snprintf(data, sizeof(data), "uuid=%s", c->uuid);
		else
			snprintf(data, sizeof(data), "version=%llu",
				 (unsigned long long)g->version);
		r = digest_per_bank(hash_alg_by_name("sha256"), ev[i].sha256, algs, banks.count,
				    digests);
		if (r == 0)
			r = measure_extend(tpm, CML_PCR, digests, banks.count, ev[i].type,
					   ev[i].name, (const uint8_t *)data, strlen(data),
					   d->seal.cel_path);
	}
	return r < 0 ? err_wrap(r, "measuring container %s into PCR %d", c->config->name, CML_PCR)
		     : 0;
}

void cm_measure_recover(struct cmld *d)
{
	struct tpm *tpm = NULL;
	char report[256];

	if (!d->seal.tcti)
		return;
	unsigned objects = 0, sessions = 0;

	if (tpm_open(d->seal.tcti, 0, &tpm) < 0) {
		log_warn("recovery: %s", err_msg());
		return;
	}
	/* a cmld killed inside an unseal left its objects loaded (no resource manager) */
	if (tpm_flush_stale(tpm, &objects, &sessions) < 0)
		log_warn("recovery: %s", err_msg());
	else if (objects || sessions)
		log_warn("recovery: flushed %u transient objects and %u sessions an earlier cmld "
			 "left in the TPM",
			 objects, sessions);
	if (measure_log_recover(tpm, d->seal.cel_path, report, sizeof(report)) < 0)
		log_warn("recovery: measurement log: %s", err_msg());
	else if (report[0])
		log_warn("recovery: measurement log %s: %s", d->seal.cel_path, report);
	tpm_close(tpm);
}
