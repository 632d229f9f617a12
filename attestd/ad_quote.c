// SPDX-License-Identifier: MIT
/*
 * attestd's quotes: every queued request shares one TPM quote whose
 * qualifying data is the root of a hash tree over their nonces; each reply
 * carries its path, the PCR values read consistently with the quote, and the
 * logs from the offsets the verifier asked for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attestd.h"
#include "err.h"
#include "fileio.h"
#include "tpm.h"

#define LOG_MAX (256u << 20)

/* The union of the selections asked for, so that one quote covers everyone. */
static void merge_selection(struct pcr_selection *all, const struct pcr_selection *one)
{
	for (unsigned b = 0; b < one->count; b++) {
		unsigned i;

		for (i = 0; i < all->count && all->bank[i].alg != one->bank[b].alg; i++)
			;
		if (i == all->count) {
			if (all->count == PCR_BANKS_MAX)
				continue;
			all->bank[all->count++].alg = one->bank[b].alg;
		}
		all->bank[i].mask |= one->bank[b].mask;
	}
}

static void attach_logs(struct ad_server *s, const uint8_t *const *logs, const size_t *lens,
			struct conn *c, struct attest_response *r)
{
	for (int i = 0; i < ATTEST_LOGS; i++) {
		if (!(c->req.logs & (1u << i)) || !logs[i])
			continue;
		/* beyond the end (a rebooted device, a confused verifier): send it all again */
		uint64_t off = c->req.offset[i] <= lens[i] ? c->req.offset[i] : 0;

		r->has_log[i] = true;
		r->log[i] = (uint8_t *)logs[i] + off;
		r->log_len[i] = lens[i] - off;
		r->log_offset[i] = off;
	}
	(void)s;
}

static int older_first(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a, *y = *(struct conn *const *)b;

	return x->queued_ms < y->queued_ms ? -1 : x->queued_ms > y->queued_ms;
}

void ad_serve_batch(struct ad_server *s)
{
	const uint8_t *nonces[AD_BATCH_MAX];
	size_t lens[AD_BATCH_MAX], n = 0, log_len[ATTEST_LOGS] = {0};
	struct conn *who[AD_BATCH_MAX];
	struct nonce_path *paths = calloc(AD_BATCH_MAX, sizeof(*paths));
	struct pcr_selection all = {0};
	struct tpm_quote *q = calloc(1, sizeof(*q));
	uint8_t root[NONCE_HASH_LEN], *log[ATTEST_LOGS] = {0};
	int rc = paths && q ? 0 : err_set(-ENOMEM, "out of memory");

	/* the longest waiting first, so that nobody starves when batches are small */
	struct conn **queued = calloc(s->queued ? s->queued : 1, sizeof(*queued));
	size_t nq = 0;

	for (unsigned i = 0; queued && i < s->n_conns; i++)
		if (s->conn[i].state == CONN_QUEUED)
			queued[nq++] = &s->conn[i];
	if (queued)
		qsort(queued, nq, sizeof(*queued), older_first);
	for (size_t i = 0; i < nq && n < s->cfg->batch_max; i++) {
		struct conn *c = queued[i];

		who[n] = c;
		nonces[n] = c->req.nonce;
		lens[n] = c->req.nonce_len;
		merge_selection(&all, &c->req.sel);
		n++;
	}
	free(queued);
	if (n == 0)
		rc = err_set(-ENOMEM, "out of memory");
	if (rc == 0)
		rc = nonce_tree_build(nonces, lens, n, root, paths);
	if (rc == 0 && !s->tpm && (rc = tpm_open(s->cfg->tcti, 0, &s->tpm)) < 0)
		s->tpm = NULL;
	if (rc == 0 && (rc = tpm_quote(s->tpm, root, sizeof(root), &all, q)) < 0 &&
	    (rc == -ECONNREFUSED || tpm_last_rc() != 0)) {
		/* the TPM went away (or answers errors): reconnect for the next batch */
		tpm_close(s->tpm);
		s->tpm = NULL;
	}
	for (int i = 0; rc == 0 && i < ATTEST_LOGS; i++)
		if (s->cfg->log_path[i] &&
		    file_read_all(s->cfg->log_path[i], LOG_MAX, &log[i], &log_len[i]) < 0)
			log[i] =
				NULL; /* a log that cannot be read is left out; the verifier sees that */
	if (rc == 0)
		s->quotes++;
	for (size_t k = 0; k < n; k++) {
		struct attest_response r = {0};

		s->queued--;
		if (rc < 0) {
			char msg[300];

			snprintf(msg, sizeof(msg), "TPM unavailable: %s", err_msg());
			ad_reply_error(who[k], EIO, msg);
			continue;
		}
		r.attest = q->attest;
		r.attest_len = q->attest_len;
		r.sig = q->sig;
		r.sig_len = q->sig_len;
		r.sel = q->sel;
		r.pcrs = q->pcrs;
		r.path = paths[k];
		attach_logs(s, (const uint8_t *const *)log, log_len, who[k], &r);
		ad_reply(who[k], &r);
	}
	for (int i = 0; i < ATTEST_LOGS; i++)
		free(log[i]);
	free(paths);
	free(q);
	/* those still queued (batch_max reached) are due at once */
	s->first_queued_ms = 0;
}
