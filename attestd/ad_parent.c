// SPDX-License-Identifier: MIT
/*
 * attestd's privileged process.  It keeps the TPM, forks the engine, and
 * answers the engine's three kinds of request, one at a time, checking each
 * message's length and fields first; a message that fails the check means a
 * broken or captured engine: it is killed and a fresh one started.  Nothing
 * here parses bytes from the network.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "attestd.h"
#include "chan.h"
#include "err.h"
#include "evloop.h"
#include "frame.h"
#include "tpm.h"

struct ad_parent {
	struct ad_setup *setup;
	struct tpm *tpm; /* NULL while the TPM is unreachable; reopened on demand */
	struct evloop *loop;
	int chan; /* to the engine; -1 while there is none */
	struct ev_io chan_io;
	pid_t engine;
	struct ev_timer restart; /* armed while there is no engine: when to start one */
	unsigned restarts;	 /* in a row without an engine that lasted */
	int64_t started_ms;
	uint64_t quotes;
};

static void status_set(struct ad_msg_status *st, int rc, const char *prefix)
{
	st->status = rc < 0 ? -rc : rc;
	snprintf(st->error, sizeof(st->error), "%s%s", prefix, err_msg());
}

/* A TPM that answers nothing, or only errors, is reopened next time. */
static int parent_tpm(struct ad_parent *p)
{
	if (p->tpm)
		return 0;
	return tpm_open(p->setup->cfg->tcti, 0, &p->tpm);
}

static void parent_tpm_failed(struct ad_parent *p, int rc)
{
	if (rc == -ECONNREFUSED || tpm_last_rc() != 0) {
		tpm_close(p->tpm);
		p->tpm = NULL;
	}
}

static void answer_quote(struct ad_parent *p, uint64_t id, const struct ad_msg_quote *m,
			 const struct pcr_selection *sel)
{
	static struct ad_msg_quote_done done;
	static struct tpm_quote q;
	int rc;

	memset(&done, 0, sizeof(done));
	rc = parent_tpm(p);
	if (rc == 0) {
		rc = tpm_quote(p->tpm, m->nonce_root, sizeof(m->nonce_root), sel, &q);
		if (rc < 0)
			parent_tpm_failed(p, rc);
	}
	if (rc < 0) {
		status_set(&done.st, rc, "TPM unavailable: ");
	} else {
		p->quotes++;
		done.attest_len = (uint32_t)q.attest_len;
		memcpy(done.attest, q.attest, q.attest_len);
		done.sig_len = (uint32_t)q.sig_len;
		memcpy(done.sig, q.sig, q.sig_len);
		ad_sel_to_wire(&q.sel, &done.sel);
		for (unsigned b = 0; b < q.sel.count; b++) {
			const struct pcr_bank *bank = pcr_banks_get(&q.pcrs, q.sel.bank[b].alg);

			if (bank)
				memcpy(done.pcr[b], bank->value, sizeof(done.pcr[b]));
		}
	}
	chan_send(p->chan, AD_MSG_QUOTE_DONE, id, &done, sizeof(done));
}

static void copy_cert(struct ad_parent *p, uint32_t nv, struct ad_msg_keys_done *done, int slot)
{
	uint8_t *der = NULL;
	size_t len = 0;

	/* a slot without a certificate stays empty: the verifier decides */
	if (tpm_ek_certificate(p->tpm, nv, &der, &len) == 0 && len <= AD_EK_CERT_MAX) {
		memcpy(done->ek_cert[slot], der, len);
		done->ek_cert_len[slot] = (uint32_t)len;
	} else if (der) {
		log_warn("the EK certificate at 0x%08x has %zu bytes: more than %u, not served", nv,
			 len, AD_EK_CERT_MAX);
	}
	free(der);
}

static void answer_keys(struct ad_parent *p, uint64_t id)
{
	static struct ad_msg_keys_done done;
	struct ak_info info;
	int rc;

	memset(&done, 0, sizeof(done));
	rc = parent_tpm(p);
	if (rc == 0) {
		rc = tpm_keys_ensure(p->tpm, false, &info);
		if (rc < 0)
			parent_tpm_failed(p, rc);
	}
	if (rc < 0) {
		status_set(&done.st, rc, "");
	} else {
		done.ek_public_len = (uint32_t)info.ek_public_len;
		memcpy(done.ek_public, info.ek_public, info.ek_public_len);
		done.ak_public_len = (uint32_t)info.ak_public_len;
		memcpy(done.ak_public, info.ak_public, info.ak_public_len);
		done.ak_name_len = (uint32_t)info.ak_name_len;
		memcpy(done.ak_name, info.ak_name, info.ak_name_len);
		copy_cert(p, TPM_NV_EK_CERT_RSA, &done, ATTEST_EK_CERT_RSA);
		copy_cert(p, TPM_NV_EK_CERT_ECC, &done, ATTEST_EK_CERT_ECC);
	}
	chan_send(p->chan, AD_MSG_KEYS_DONE, id, &done, sizeof(done));
}

static void answer_activate(struct ad_parent *p, uint64_t id, const struct ad_msg_activate *m)
{
	struct ad_msg_activate_done done = {0};
	size_t len = 0;
	int rc = parent_tpm(p);

	if (rc == 0) {
		rc = tpm_activate_credential(p->tpm, m->blob, m->blob_len, m->secret, m->secret_len,
					     done.credential, &len);
		if (rc < 0)
			parent_tpm_failed(p, rc);
	}
	if (rc < 0) /* the verifier learns that it failed, and why, not more */
		status_set(&done.st, -EPERM, "");
	done.credential_len = (uint32_t)len;
	chan_send(p->chan, AD_MSG_ACTIVATE_DONE, id, &done, sizeof(done));
	OPENSSL_cleanse(&done, sizeof(done));
}

static void engine_chan_close(struct ad_parent *p)
{
	if (p->chan < 0)
		return;
	ev_io_del(p->loop, &p->chan_io);
	close(p->chan);
	p->chan = -1;
}

static void engine_kill(struct ad_parent *p, const char *why)
{
	log_err("engine %d: %s; starting a new one", (int)p->engine, why);
	if (p->engine > 0)
		kill(p->engine, SIGKILL);
	engine_chan_close(p);
}

/* One message from the engine: each type has exactly one length. */
static void parent_dispatch(void *arg, unsigned ready)
{
	struct ad_parent *p = arg;
	static union {
		struct ad_msg_quote quote;
		struct ad_msg_activate activate;
		uint8_t bytes[CHAN_MSG_MAX];
	} body;
	struct chan_hdr hdr;
	struct pcr_selection sel;
	int rc = chan_recv(p->chan, &hdr, &body, sizeof(body));

	(void)ready;
	if (rc == -EAGAIN)
		return;
	if (rc == -EPIPE) {
		engine_chan_close(p); /* the engine is gone; SIGCHLD tells the rest */
		return;
	}
	if (rc == 0)
		rc = ad_msg_from_engine(&hdr, &body, &sel);
	if (rc < 0)
		engine_kill(p, err_msg());
	else if (hdr.type == AD_MSG_QUOTE)
		answer_quote(p, hdr.id, &body.quote, &sel);
	else if (hdr.type == AD_MSG_KEYS)
		answer_keys(p, hdr.id);
	else
		answer_activate(p, hdr.id, &body.activate);
	OPENSSL_cleanse(&body.activate, sizeof(body.activate));
}

static void engine_start(void *arg)
{
	struct ad_parent *p = arg;
	int fd, rc;
	pid_t pid = chan_fork(&fd);

	if (pid == 0)
		ad_engine_main(p->setup, fd);
	rc = pid < 0 ? (int)pid
		     : ev_io_add(p->loop, &p->chan_io, fd, EVLOOP_READ, parent_dispatch, p);
	if (rc < 0) {
		log_err("%s", err_msg());
		if (pid > 0) {
			kill(pid, SIGKILL);
			close(fd);
		}
		ev_timer_at(p->loop, &p->restart, frame_now_ms() + 1000);
		return;
	}
	p->chan = fd;
	p->engine = pid;
	p->started_ms = frame_now_ms();
}

/* A dead engine is replaced; one that keeps dying is replaced more and more slowly. */
static void engine_reap(struct ad_parent *p)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != p->engine)
			continue;
		char how[96];

		log_err("engine %d %s", (int)pid, chan_child_status(status, how, sizeof(how)));
		p->engine = 0;
		engine_chan_close(p);
		p->restarts = frame_now_ms() - p->started_ms > 10000 ? 0 : p->restarts + 1;
		int64_t backoff =
			p->restarts == 0 ? 0 : 100LL << (p->restarts < 6 ? p->restarts : 6);

		ev_timer_at(p->loop, &p->restart, frame_now_ms() + backoff);
	}
}

static void parent_signal(void *arg, int signo)
{
	struct ad_parent *p = arg;

	if (signo == SIGCHLD)
		engine_reap(p);
	else
		evloop_exit(p->loop);
}

int ad_parent_run(struct ad_setup *setup, struct tpm *tpm)
{
	static const int signals[] = {SIGTERM, SIGINT, SIGCHLD};
	struct ad_parent p = {.setup = setup, .tpm = tpm, .chan = -1};
	int rc = evloop_new(&p.loop);

	if (rc == 0)
		rc = evloop_signals(p.loop, signals, 3, parent_signal, &p);
	if (rc == 0)
		rc = ev_timer_add(p.loop, &p.restart, engine_start, &p);
	if (rc == 0) {
		ev_timer_at(p.loop, &p.restart, 0);
		rc = evloop_run(p.loop);
	}
	if (p.engine > 0) {
		kill(p.engine, SIGKILL);
		waitpid(p.engine, NULL, 0);
	}
	engine_chan_close(&p);
	evloop_free(p.loop);
	tpm_close(p.tpm);
	log_info("%llu quotes", (unsigned long long)p.quotes);
	return rc;
}
