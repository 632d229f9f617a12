// SPDX-License-Identifier: MIT
/*
 * attestd's batches: the quote requests that arrive within the batch window
 * share one TPM quote whose qualifying data is the root of a hash tree over
 * their nonces; each reply carries its path, the PCR values read
 * consistently with the quote, and the logs from the offsets the verifier
 * asked for.  One batch is at the TPM at a time, known by its id, so an
 * answer can only ever reach the requests it was taken for.  The logs are
 * read once per batch and shared by its replies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ad_engine.h"
#include "chan.h"
#include "err.h"
#include "frame.h"

#define LOG_MAX (256u << 20)

void ad_batch_queue(struct ad_engine *e, struct conn *c)
{
	ad_conn_state(e, c, CONN_QUEUED);
	c->queued_ms = frame_now_ms();
	if (e->queued++ == 0 || c->queued_ms < e->first_queued_ms)
		e->first_queued_ms = c->queued_ms;
	ad_batch_maybe(e);
}

static int older_first(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a, *y = *(struct conn *const *)b;

	return x->queued_ms < y->queued_ms ? -1 : x->queued_ms > y->queued_ms;
}

static void batch_fail(struct ad_engine *e, uint64_t id, int code, const char *msg)
{
	struct conn *c;

	TAILQ_FOREACH (c, &e->conns, link) {
		if (c->state == CONN_TPM && c->batch == id && c->req.type == ATTEST_QUOTE)
			ad_reply_error(e, c, code, msg);
	}
}

/* The longest waiting first, so that nobody starves when batches are small. */
static void batch_send(struct ad_engine *e)
{
	struct conn **queued = e->scratch;
	const uint8_t *nonces[AD_BATCH_MAX];
	size_t lens[AD_BATCH_MAX], nq = 0, n = 0;
	struct nonce_path paths[AD_BATCH_MAX];
	struct pcr_selection all = {0};
	struct ad_msg_quote m = {0};
	struct conn *c;

	TAILQ_FOREACH (c, &e->conns, link)
		if (c->state == CONN_QUEUED)
			queued[nq++] = c;
	qsort(queued, nq, sizeof(*queued), older_first);
	for (; n < nq && n < e->cfg->batch_max; n++) {
		nonces[n] = queued[n]->req.nonce;
		lens[n] = queued[n]->req.nonce_len;
		for (unsigned b = 0; b < queued[n]->req.sel.count; b++)
			pcr_selection_add(&all, queued[n]->req.sel.bank[b].alg,
					  queued[n]->req.sel.bank[b].mask);
	}
	e->batch_id++;
	for (size_t k = 0; k < n; k++) {
		queued[k]->batch = e->batch_id;
		ad_conn_state(e, queued[k], CONN_TPM);
	}
	e->queued -= (unsigned)n;
	/* those left (batch_max reached) are due as soon as this batch is answered */
	e->first_queued_ms = n < nq ? queued[n]->queued_ms : 0;
	if (nonce_tree_build(nonces, lens, n, m.nonce_root, paths) < 0) {
		batch_fail(e, e->batch_id, EIO, err_msg());
		return;
	}
	for (size_t k = 0; k < n; k++)
		queued[k]->path = paths[k];
	ad_sel_to_wire(&all, &m.sel);
	if (chan_send(e->chan, AD_MSG_QUOTE, e->batch_id, &m, sizeof(m)) < 0) {
		batch_fail(e, e->batch_id, EAGAIN, "the TPM is busy: try again");
		return;
	}
	e->batch_in_flight = true;
}

void ad_batch_maybe(struct ad_engine *e)
{
	int64_t due = e->first_queued_ms + (int64_t)e->cfg->batch_ms;

	if (e->queued && !e->batch_in_flight &&
	    (frame_now_ms() >= due || e->queued >= e->cfg->batch_max))
		batch_send(e);
	/* those left behind (batch_max, or a send that failed) are due when their window ends */
	if (e->queued && !e->batch_in_flight)
		ev_timer_at(e->loop, &e->batch_due, e->first_queued_ms + (int64_t)e->cfg->batch_ms);
	else
		ev_timer_stop(e->loop, &e->batch_due);
}

/* The whole log as it is now; a log that cannot be read is left out (the verifier sees that). */
static int log_pread(int fd, uint8_t **ret, size_t *ret_len)
{
	size_t len = 0, cap = 64 << 10;
	uint8_t *buf = malloc(cap);

	while (buf) {
		ssize_t n = pread(fd, buf + len, cap - len, (off_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			*ret = buf;
			*ret_len = len;
			return 0;
		}
		len += (size_t)n;
		if (len == cap) {
			uint8_t *more = cap < LOG_MAX ? realloc(buf, cap * 2) : NULL;

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
	}
	free(buf);
	return -EIO;
}

/* The logs @wanted (bit per enum attest_log) by at least one request of the batch. */
static struct ad_logs *logs_read(struct ad_engine *e, unsigned wanted)
{
	struct ad_logs *logs = calloc(1, sizeof(*logs));

	for (int i = 0; logs && i < ATTEST_LOGS; i++)
		if ((wanted & (1u << i)) && e->setup->log_fd[i] >= 0 &&
		    log_pread(e->setup->log_fd[i], &logs->data[i], &logs->len[i]) < 0)
			logs->data[i] = NULL;
	return logs;
}

void ad_logs_put(struct ad_logs *logs)
{
	if (!logs || --logs->refs > 0)
		return;
	for (int i = 0; i < ATTEST_LOGS; i++)
		free(logs->data[i]);
	free(logs);
}

static void attach_logs(struct ad_logs *logs, const struct conn *c, struct attest_response *r)
{
	for (int i = 0; logs && i < ATTEST_LOGS; i++) {
		if (!(c->req.logs & (1u << i)) || !logs->data[i])
			continue;
		/* beyond the end (a rebooted device, a confused verifier): send it all again */
		uint64_t off = c->req.offset[i] <= logs->len[i] ? c->req.offset[i] : 0;

		r->has_log[i] = true;
		r->log[i] = logs->data[i] + off;
		r->log_len[i] = logs->len[i] - off;
		r->log_offset[i] = off;
	}
}

/* The parent's answer, bounded before use; its PCR values into banks. */
static int quote_from_wire(const struct ad_msg_quote_done *m, struct attest_response *r)
{
	if (m->attest_len > sizeof(m->attest) || m->sig_len > sizeof(m->sig) ||
	    ad_sel_from_wire(&m->sel, &r->sel) < 0)
		return err_set(-EBADMSG, "a quote answer with impossible sizes");
	r->attest = (uint8_t *)m->attest;
	r->attest_len = m->attest_len;
	r->sig = (uint8_t *)m->sig;
	r->sig_len = m->sig_len;
	pcr_banks_init(&r->pcrs);
	for (unsigned b = 0; b < r->sel.count; b++) {
		struct pcr_bank *bank = pcr_banks_add(&r->pcrs, r->sel.bank[b].alg);

		if (bank)
			memcpy(bank->value, m->pcr[b], sizeof(bank->value));
	}
	return 0;
}

static void batch_answer(struct ad_engine *e, uint64_t id, const struct ad_msg_quote_done *m)
{
	static struct attest_response r;
	struct ad_logs *logs;
	struct conn *c;

	if (m->st.status != 0) {
		batch_fail(e, id, m->st.status, m->st.error);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (quote_from_wire(m, &r) < 0) {
		batch_fail(e, id, EIO, err_msg());
		return;
	}
	e->quotes++;
	/* read after the quote: the logs hold at least what the quote covers */
	/* only what someone asked for: a batch of bare quotes reads no log at all */
	unsigned wanted = 0;

	TAILQ_FOREACH (c, &e->conns, link)
		if (c->state == CONN_TPM && c->batch == id && c->req.type == ATTEST_QUOTE)
			wanted |= c->req.logs;
	logs = logs_read(e, wanted);
	if (logs)
		logs->refs = 1; /* ours, until every reply has its own */
	TAILQ_FOREACH (c, &e->conns, link) {
		if (c->state != CONN_TPM || c->batch != id || c->req.type != ATTEST_QUOTE)
			continue;
		memset(r.has_log, 0, sizeof(r.has_log));
		r.path = c->path;
		attach_logs(logs, c, &r);
		ad_reply(e, c, &r, logs);
	}
	ad_logs_put(logs);
}

void ad_batch_done(struct ad_engine *e, uint64_t id, const struct ad_msg_quote_done *m)
{
	if (!e->batch_in_flight || id != e->batch_id) {
		log_warn("engine: the answer for batch %llu came after its requests gave up",
			 (unsigned long long)id);
		return;
	}
	e->batch_in_flight = false;
	batch_answer(e, id, m);
	ad_batch_maybe(e); /* the requests that came meanwhile */
}
