// SPDX-License-Identifier: MIT
/* attest quote / attest enroll / attest export: ask attestd for evidence, or for its keys. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "attest.h"
#include "attest_client.h"
#include "credential.h"
#include "enrol.h"
#include "err.h"
#include "fileio.h"
#include "quote.h"

#define TIMEOUT_MS 30000

/* One quote request; an error reply is the device's refusal, not evidence. */
static int quote_once(const char *where, struct attest_request *req, int timeout_ms,
		      struct evidence *ret, uint32_t *ret_reset)
{
	struct attest_response resp;
	struct quote_info q;
	uint8_t *body = NULL;
	size_t len;
	int rc;

	if (RAND_bytes(req->nonce, (int)req->nonce_len) != 1)
		return err_set(-EIO, "no randomness for the nonce");
	if ((rc = attest_call(where, req, timeout_ms, &body, &len)) < 0)
		return rc;
	if ((rc = attest_response_decode(body, len, &resp)) < 0) {
		free(body);
		return rc;
	}
	if (resp.status)
		rc = err_set(-(int)resp.status, "attestd refused: %s", resp.error);
	else if (!resp.attest)
		rc = err_set(-EBADMSG, "attestd sent no quote");
	/* unverified here: only used to ask again from offset 0, never to accept */
	*ret_reset = resp.attest && quote_parse(resp.attest, resp.attest_len, &q) == 0
			     ? q.reset_count
			     : UINT32_MAX;
	attest_response_free(&resp);
	if (rc < 0) {
		free(body);
		return rc;
	}
	memcpy(ret->nonce, req->nonce, req->nonce_len);
	ret->nonce_len = req->nonce_len;
	ret->asked = req->sel;
	ret->has_asked = true;
	ret->body = body;
	ret->body_len = len;
	return 0;
}

int attest_quote_fetch(const char *where, const struct pcr_selection *sel,
		       const struct device_state *st, bool full, int timeout_ms,
		       struct evidence *ret)
{
	struct attest_request req = {.type = ATTEST_QUOTE, .nonce_len = 32, .logs = 7, .sel = *sel};
	struct evidence ev = {0};
	uint64_t saved_reset = UINT64_MAX;
	uint32_t reset;
	int rc;

	/* the DRTM log when a DRTM PCR (17-22) is asked for */
	for (unsigned b = 0; b < sel->count; b++)
		if (sel->bank[b].mask & 0x7e0000u)
			req.logs |= 1u << ATTEST_LOG_DRTM;
	/* only the IMA entries after those already verified */
	if (!full && st->has_ima) {
		req.offset[ATTEST_LOG_IMA] = st->ima_offset;
		saved_reset = st->ima_reset;
	}
	rc = quote_once(where, &req, timeout_ms, &ev, &reset);
	if (rc == -EBADMSG && (req.logs & (1u << ATTEST_LOG_DRTM)) &&
	    strstr(err_msg(), "unknown logs")) {
		/* an attestd older than the DRTM log: asked again for the three it knows */
		log_info("%s does not know the DRTM log: asking without it", where);
		req.logs &= ~(1u << ATTEST_LOG_DRTM);
		rc = quote_once(where, &req, timeout_ms, &ev, &reset);
	}
	if (rc < 0)
		return rc;
	if (req.offset[ATTEST_LOG_IMA] && reset != saved_reset) {
		/* the TPM was reset (a reboot): the saved offset is of another list */
		log_info("%s rebooted (resetCount %u): fetching the IMA list from the start", where,
			 reset);
		evidence_free(&ev);
		req.offset[ATTEST_LOG_IMA] = 0;
		if ((rc = quote_once(where, &req, timeout_ms, &ev, &reset)) < 0)
			return rc;
	}
	*ret = ev;
	return 0;
}

int attest_quote_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"pcrs", required_argument, NULL, 'l'},
		{"out", required_argument, NULL, 'o'},
		{"full", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pcr_selection sel;
	struct device_state st;
	struct evidence ev = {0};
	bool full = false;
	const char *sel_text = ATTEST_DEFAULT_PCRS, *out = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'l')
			sel_text = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'f')
			full = true;
		else
			return ATTEST_EXIT_USAGE;
	}
	if (!out || optind != argc - 1) {
		fprintf(stderr, "attest quote: needs HOST[:PORT] and --out EVIDENCE\n");
		return ATTEST_EXIT_USAGE;
	}
	if (pcr_selection_parse(sel_text, &sel) < 0) {
		fprintf(stderr, "attest quote: %s\n", err_msg());
		return ATTEST_EXIT_USAGE;
	}
	rc = device_state_load(opts->state, &st);
	if (rc == 0)
		rc = attest_quote_fetch(argv[optind], &sel, &st, full, TIMEOUT_MS, &ev);
	if (rc == 0)
		rc = evidence_write(out, &ev);
	evidence_free(&ev);
	if (rc < 0) {
		fprintf(stderr, "attest quote: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}

int attest_enroll_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"trust-on-first-use", no_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct enrolment e = {0};
	const char *ca = opts->ek_ca;
	bool tofu = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 't')
			return ATTEST_EXIT_USAGE;
		tofu = true;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "attest enroll: needs HOST[:PORT]\n");
		return ATTEST_EXIT_USAGE;
	}
	if (!ca && !tofu && access(ATTEST_DEFAULT_EK_CA, F_OK) == 0)
		ca = ATTEST_DEFAULT_EK_CA;
	if (!ca && !tofu) {
		fprintf(stderr,
			"attest enroll: no EK CA: give --ek-ca FILE|DIR (the TPM vendors' "
			"roots; default " ATTEST_DEFAULT_EK_CA "), or --trust-on-first-use\n");
		return ATTEST_EXIT_USAGE;
	}
	if (tofu)
		ca = NULL; /* said explicitly: recorded, and every verdict reports it */
	mkdir(opts->state, 0700);
	rc = enrol_device(argv[optind], ca, TIMEOUT_MS, &e);
	if (rc == 0)
		rc = enrolment_save(opts->state, ca, &e);
	if (rc == 0)
		printf("enrolled %s: the AK is a restricted signing key in the TPM of this EK "
		       "(credential activated)%s; %s/ak.pem\n",
		       argv[optind],
		       ca ? ", and the EK's certificate chains to the CA"
			  : "; the EK is trusted on first use, unchecked",
		       opts->state);
	enrolment_free(&e);
	if (rc < 0) {
		fprintf(stderr, "attest enroll: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}

int attest_export_run(int argc, char **argv, const struct attest_opts *opts)
{
	struct attest_response resp;
	struct quote_info info;
	struct evidence ev = {0};
	int rc;

	(void)opts;
	if (argc != 3) {
		fprintf(stderr, "attest export: needs EVIDENCE DIR\n");
		return ATTEST_EXIT_USAGE;
	}
	mkdir(argv[2], 0755);
	rc = evidence_read(argv[1], &ev);
	if (rc == 0)
		rc = attest_response_decode(ev.body, ev.body_len, &resp);
	if (rc == 0 && resp.status)
		rc = err_set(-(int)resp.status, "the evidence is an error reply: %s", resp.error);
	if (rc == 0 && (rc = quote_parse(resp.attest, resp.attest_len, &info)) == 0)
		/* nonce.hex: the quote's qualifying data (the nonce tree's root) */
		rc = quote_export(argv[2], resp.attest, resp.attest_len, resp.sig, resp.sig_len,
				  &resp.sel, &resp.pcrs, info.extra, info.extra_len);
	if (rc == 0)
		attest_response_free(&resp);
	evidence_free(&ev);
	if (rc < 0) {
		fprintf(stderr, "attest export: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}
