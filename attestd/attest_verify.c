// SPDX-License-Identifier: MIT
/*
 * attest verify: check evidence from attestd -- signature, freshness, the
 * quote's PCR digest, the TPM clock against the last accepted evidence, the
 * logs' replays against the quoted PCRs, and everything against pcrpredict's
 * reference -- and print an EAT Attestation Result style JSON.  Exit 0 only
 * when affirming.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "attest.h"
#include "attest_client.h"
#include "cel.h"
#include "err.h"
#include "eventlog_ima.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "pcr_values.h"
#include "quote.h"

enum verdict { AFFIRMING = 0, WARNING = 1, CONTRAINDICATED = 2 };
static const char *const verdict_name[] = {"affirming", "warning", "contraindicated"};

struct verify {
	struct json_object *submods;
	enum verdict overall;
	struct attest_response resp;
	struct quote_info q;
	bool quote_ok;
	struct json_object *ref, *policy; /* reference document, Keylime runtime policy */
	const char *state;
	uint64_t ima_next;	   /* IMA bytes verified once this evidence is accepted */
	struct pcr_banks ima_pcrs; /* PCR 10 after them */
	bool ima_save;
};

static void verdict(struct verify *v, const char *component, enum verdict st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void verdict(struct verify *v, const char *component, enum verdict st, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object(), *old;
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* a component keeps its worst verdict */
	if (json_object_object_get_ex(v->submods, component, &old)) {
		struct json_object *s;

		json_object_object_get_ex(old, "status", &s);
		for (int k = CONTRAINDICATED; k > (int)st; k--)
			if (strcmp(json_object_get_string(s), verdict_name[k]) == 0) {
				json_object_put(o);
				return;
			}
	}
	json_object_object_add(o, "status", json_object_new_string(verdict_name[st]));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(v->submods, component, o);
	if (st > v->overall)
		v->overall = st;
}

static const uint8_t *quoted(struct verify *v, const struct hash_alg *alg, unsigned pcr)
{
	struct pcr_bank *bank = pcr_banks_find(&v->resp.pcrs, alg);

	return bank && (pcr_selection_mask(&v->resp.sel, alg) & (1u << pcr)) ? bank->value[pcr]
									     : NULL;
}

static void check_quote(struct verify *v, EVP_PKEY *ak, const uint8_t *nonce, size_t nonce_len)
{
	uint8_t root[NONCE_HASH_LEN];

	if (quote_verify_signature(v->resp.attest, v->resp.attest_len, v->resp.sig, v->resp.sig_len,
				   ak) < 0) {
		verdict(v, "attestation-key", CONTRAINDICATED, "%s", err_msg());
		return;
	}
	verdict(v, "attestation-key", AFFIRMING, "signed by the enrolled AK");
	if (quote_parse(v->resp.attest, v->resp.attest_len, &v->q) < 0) {
		verdict(v, "quote", CONTRAINDICATED, "%s", err_msg());
		return;
	}
	if (nonce_tree_root(nonce, nonce_len, &v->resp.path, root) < 0 ||
	    v->q.extra_len != sizeof(root) || memcmp(v->q.extra, root, sizeof(root)) != 0)
		verdict(v, "freshness", CONTRAINDICATED,
			"the quote's qualifying data is not our nonce's tree root (replayed or "
			"foreign "
			"evidence)");
	else
		verdict(v, "freshness", AFFIRMING, "our nonce, %u-step path to the quoted root",
			v->resp.path.len);
	if (quote_pcr_digest_matches(&v->q, &v->resp.sel, &v->resp.pcrs) < 0) {
		verdict(v, "quote", CONTRAINDICATED, "%s", err_msg());
		return;
	}
	verdict(v, "quote", AFFIRMING, "PCR values match the signed pcrDigest");
	v->quote_ok = true;
}

/* The TPM clock may only move forward within a boot, and boots only add up. */
static void check_clock(struct verify *v, const char *state, bool *ret_save)
{
	char path[4200];
	struct json_object *last = NULL, *o;
	uint64_t reset = 0, clock = 0;

	snprintf(path, sizeof(path), "%s/last.json", state);
	last = json_object_from_file(path);
	*ret_save = true;
	if (!last) {
		verdict(v, "clock", AFFIRMING, "first evidence from this device");
		return;
	}
	if (json_object_object_get_ex(last, "reset", &o))
		reset = (uint64_t)json_object_get_int64(o);
	if (json_object_object_get_ex(last, "clock", &o))
		clock = (uint64_t)json_object_get_int64(o);
	json_object_put(last);
	if (v->q.reset_count < reset)
		verdict(v, "clock", CONTRAINDICATED, "resetCount went back from %llu to %u",
			(unsigned long long)reset, v->q.reset_count);
	else if (v->q.reset_count == reset && v->q.clock <= clock)
		verdict(v, "clock", CONTRAINDICATED,
			"TPM clock %llu is not after the last accepted evidence's %llu (replayed "
			"evidence)",
			(unsigned long long)v->q.clock, (unsigned long long)clock);
	else
		verdict(v, "clock", AFFIRMING, "clock and reset counter moved forward");
}

static void save_clock(struct verify *v, const char *state)
{
	char path[4200], text[128];

	snprintf(path, sizeof(path), "%s/last.json", state);
	snprintf(text, sizeof(text), "{\"reset\":%u,\"restart\":%u,\"clock\":%llu}\n",
		 v->q.reset_count, v->q.restart_count, (unsigned long long)v->q.clock);
	(void)file_write_atomic(path, text, strlen(text), 0600);
}

/* Each PCR a log extends must equal the quoted value. */
static void compare_replay(struct verify *v, const char *component, const struct pcr_banks *replay,
			   uint32_t only)
{
	unsigned checked = 0;

	for (unsigned b = 0; b < replay->count; b++) {
		const struct pcr_bank *bank = &replay->bank[b];

		for (unsigned i = 0; i < PCR_COUNT; i++) {
			const uint8_t *q = quoted(v, bank->alg, i);

			if (!(bank->extended & only & (1u << i)) || !q)
				continue;
			checked++;
			if (memcmp(q, bank->value[i], bank->alg->size) != 0) {
				verdict(v, component, CONTRAINDICATED,
					"%s PCR %u: the log's replay differs from the quoted value",
					bank->alg->name, i);
				return;
			}
		}
	}
	if (checked)
		verdict(v, component, AFFIRMING,
			"log replays to the %u quoted PCR values it extends", checked);
	else
		verdict(v, component, WARNING, "no quoted PCR is extended by this log");
}

static void check_firmware_log(struct verify *v)
{
	struct tcg_log log;
	struct pcr_banks replay;

	if (!v->resp.has_log[ATTEST_LOG_TCG]) {
		verdict(v, "firmware", WARNING, "no firmware event log in the evidence");
		return;
	}
	if (tcg_log_parse(v->resp.log[ATTEST_LOG_TCG], v->resp.log_len[ATTEST_LOG_TCG],
			  "firmware log", &log) < 0) {
		verdict(v, "firmware", CONTRAINDICATED, "%s", err_msg());
		return;
	}
	pcr_banks_init(&replay);
	if (tcg_log_replay(&log, &replay) < 0)
		verdict(v, "firmware", CONTRAINDICATED, "%s", err_msg());
	else
		compare_replay(v, "firmware", &replay, 0x3ff);
	tcg_log_free(&log);
}

static bool reference_has(struct verify *v, const char *path, const uint8_t *digest, size_t len)
{
	char hex[2 * DIGEST_MAX + 1];
	struct json_object *ima, *files, *d;

	if (len > DIGEST_MAX)
		return false;
	hex_encode(digest, len, hex);
	if (v->ref && json_object_object_get_ex(v->ref, "ima", &ima) &&
	    json_object_object_get_ex(ima, "files", &files) &&
	    json_object_object_get_ex(files, path, &d) &&
	    strcmp(json_object_get_string(d), hex) == 0)
		return true;
	if (v->policy && json_object_object_get_ex(v->policy, "digests", &files) &&
	    json_object_object_get_ex(files, path, &d) && json_object_is_type(d, json_type_array))
		for (size_t i = 0; i < json_object_array_length(d); i++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(d, i)), hex) ==
			    0)
				return true;
	return false;
}

/*
 * Where the last accepted evidence left the IMA list: a device sends only
 * what came after it (attest quote asks from there), and PCR 10's replay
 * continues from the saved values -- the same boot only (resetCount).
 */
static int ima_state_load(struct verify *v, uint64_t offset, struct pcr_banks *replay)
{
	char path[4200];
	struct json_object *st, *o;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "%s/ima.json", v->state);
	st = json_object_from_file(path);
	if (st && json_object_object_get_ex(st, "reset", &o) &&
	    (uint64_t)json_object_get_int64(o) == v->q.reset_count &&
	    json_object_object_get_ex(st, "offset", &o) &&
	    (uint64_t)json_object_get_int64(o) == offset &&
	    json_object_object_get_ex(st, "pcr10", &o)) {
		rc = 0;
		for (unsigned b = 0; b < replay->count && rc == 0; b++) {
			struct json_object *hex;
			size_t len;

			if (!json_object_object_get_ex(o, replay->bank[b].alg->name, &hex) ||
			    hex_decode(json_object_get_string(hex), replay->bank[b].value[10],
				       DIGEST_MAX, &len) < 0 ||
			    len != replay->bank[b].alg->size)
				rc = -ENOENT;
			replay->bank[b].extended |= 1u << 10;
		}
	}
	json_object_put(st);
	return rc;
}

static void ima_state_save(struct verify *v)
{
	char path[4200], hex[2 * DIGEST_MAX + 1];
	struct json_object *st = json_object_new_object(), *pcr = json_object_new_object();

	for (unsigned b = 0; b < v->ima_pcrs.count; b++) {
		hex_encode(v->ima_pcrs.bank[b].value[10], v->ima_pcrs.bank[b].alg->size, hex);
		json_object_object_add(pcr, v->ima_pcrs.bank[b].alg->name,
				       json_object_new_string(hex));
	}
	json_object_object_add(st, "reset", json_object_new_int64(v->q.reset_count));
	json_object_object_add(st, "offset", json_object_new_int64((int64_t)v->ima_next));
	json_object_object_add(st, "pcr10", pcr);
	snprintf(path, sizeof(path), "%s/ima.json", v->state);
	(void)file_write_atomic(path, json_object_to_json_string(st),
				strlen(json_object_to_json_string(st)), 0600);
	json_object_put(st);
}

static void check_ima(struct verify *v)
{
	uint64_t offset = v->resp.log_offset[ATTEST_LOG_IMA];
	struct ima_list list;
	struct pcr_banks replay;
	size_t unknown = 0;
	char first[300] = "";

	if (!v->resp.has_log[ATTEST_LOG_IMA]) {
		verdict(v, "ima", WARNING, "no IMA list in the evidence");
		return;
	}
	if (ima_list_parse(v->resp.log[ATTEST_LOG_IMA], v->resp.log_len[ATTEST_LOG_IMA], "IMA list",
			   &list) < 0) {
		verdict(v, "ima", CONTRAINDICATED, "%s", err_msg());
		return;
	}
	pcr_banks_init(&replay);
	for (unsigned b = 0; b < v->resp.sel.count; b++)
		pcr_banks_add(&replay, v->resp.sel.bank[b].alg);
	if (offset && ima_state_load(v, offset, &replay) < 0) {
		verdict(v, "ima", CONTRAINDICATED,
			"the IMA list starts at byte %llu, where no verified state of this boot "
			"ends",
			(unsigned long long)offset);
		ima_list_free(&list);
		return;
	}
	if (ima_list_replay(&list, 0, &replay, NULL) < 0) {
		verdict(v, "ima", CONTRAINDICATED, "%s", err_msg());
		ima_list_free(&list);
		return;
	}
	compare_replay(v, "ima", &replay, 1u << 10);
	v->ima_next = offset + v->resp.log_len[ATTEST_LOG_IMA];
	v->ima_pcrs = replay;
	v->ima_save = true;
	if (v->ref || v->policy) {
		for (size_t i = 0; i < list.n_events; i++) {
			const struct ima_event *ev = &list.event[i];
			char path[4200];

			if (!ev->path || ev->violation)
				continue;
			snprintf(path, sizeof(path), "%.*s", (int)ev->path_len, ev->path);
			if (strcmp(path, "boot_aggregate") == 0)
				continue;
			if (!reference_has(v, path, ev->file_digest, ev->file_digest_len) &&
			    unknown++ == 0)
				snprintf(first, sizeof(first), "%.250s", path);
		}
		if (unknown)
			verdict(v, "ima-files", CONTRAINDICATED,
				"%zu measured files are not in the reference, first %s", unknown,
				first);
		else
			verdict(v, "ima-files", AFFIRMING,
				"all %zu new measured files are in the reference", list.n_events);
	}
	ima_list_free(&list);
}

static void check_cel(struct verify *v)
{
	struct cel_log log;
	struct pcr_banks replay;

	if (!v->resp.has_log[ATTEST_LOG_CEL]) {
		verdict(v, "measured-log", WARNING, "no CEL log in the evidence");
		return;
	}
	if (cel_log_parse(v->resp.log[ATTEST_LOG_CEL], v->resp.log_len[ATTEST_LOG_CEL], "CEL log",
			  &log) < 0) {
		verdict(v, "measured-log", CONTRAINDICATED, "%s", err_msg());
		return;
	}
	pcr_banks_init(&replay);
	if (cel_log_replay(&log, &replay) < 0)
		verdict(v, "measured-log", CONTRAINDICATED, "%s", err_msg());
	else
		compare_replay(v, "measured-log", &replay, ~0u);
	cel_log_free(&log);
}

/* Every PCR the reference predicts and the quote holds must be equal. */
static void check_reference(struct verify *v, const char *text, const char *path)
{
	struct pcr_banks ref;
	unsigned checked = 0;

	if (pcr_values_from_json(text, path, &ref) < 0) {
		verdict(v, "reference", CONTRAINDICATED, "%s", err_msg());
		return;
	}
	for (unsigned b = 0; b < ref.count; b++)
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			const uint8_t *q = quoted(v, ref.bank[b].alg, i);

			if (!(ref.bank[b].extended & (1u << i)) || !q)
				continue;
			checked++;
			if (memcmp(q, ref.bank[b].value[i], ref.bank[b].alg->size) != 0) {
				char comp[32];

				snprintf(comp, sizeof(comp), "pcr%u", i);
				verdict(v, comp, CONTRAINDICATED,
					"%s PCR %u is not the predicted value",
					ref.bank[b].alg->name, i);
			}
		}
	verdict(v, "reference", checked ? AFFIRMING : WARNING, "%u quoted PCRs compared with %s",
		checked, path);
}

static void print_result(struct verify *v, const uint8_t *nonce, size_t nonce_len)
{
	struct json_object *out = json_object_new_object();
	char hex[2 * ATTEST_NONCE_MAX + 1];

	hex_encode(nonce, nonce_len, hex);
	json_object_object_add(out, "eat_profile",
			       json_object_new_string("tag:measured.dev,2026:attestation-result"));
	json_object_object_add(out, "iat", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(out, "eat_nonce", json_object_new_string(hex));
	json_object_object_add(out, "status", json_object_new_string(verdict_name[v->overall]));
	json_object_object_add(out, "submods", json_object_get(v->submods));
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
}

int attest_verify_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"ak", required_argument, NULL, 'a'},
		{"reference", required_argument, NULL, 'r'},
		{"runtime-policy", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	struct verify v = {.submods = json_object_new_object(), .state = opts->state};
	const char *ak_path = NULL, *ref_path = NULL, *policy_path = NULL;
	char default_ak[4200];
	uint8_t nonce[ATTEST_NONCE_MAX], *body = NULL, *pem = NULL, *ref_text = NULL;
	size_t nonce_len, len, pem_len, ref_len;
	EVP_PKEY *ak = NULL;
	bool save = false;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'a')
			ak_path = optarg;
		else if (c == 'r')
			ref_path = optarg;
		else if (c == 'p')
			policy_path = optarg;
		else
			return ATTEST_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "attest verify: needs one EVIDENCE file\n");
		return ATTEST_EXIT_USAGE;
	}
	snprintf(default_ak, sizeof(default_ak), "%s/ak.pem", opts->state);
	if (evidence_read(argv[optind], nonce, &nonce_len, &body, &len) < 0 ||
	    attest_response_decode(body, len, &v.resp) < 0 ||
	    file_read_all(ak_path ? ak_path : default_ak, 1 << 16, &pem, &pem_len) < 0 ||
	    pkey_from_pem((char *)pem, pem_len, &ak) < 0 ||
	    (ref_path && file_read_all(ref_path, 256u << 20, &ref_text, &ref_len) < 0)) {
		fprintf(stderr, "attest verify: %s\n", err_msg());
		free(body);
		free(pem);
		json_object_put(v.submods);
		return ATTEST_EXIT_FAIL;
	}
	if (ref_text)
		v.ref = json_tokener_parse((char *)ref_text);
	if (policy_path)
		v.policy = json_object_from_file(policy_path);
	if (v.resp.status)
		verdict(&v, "device", CONTRAINDICATED, "attestd answered an error: %s",
			v.resp.error);
	else
		check_quote(&v, ak, nonce, nonce_len);
	if (v.quote_ok) {
		check_clock(&v, opts->state, &save);
		check_firmware_log(&v);
		check_ima(&v);
		check_cel(&v);
		if (ref_text)
			check_reference(&v, (char *)ref_text, ref_path);
		if (policy_path && !v.policy)
			verdict(&v, "runtime-policy", CONTRAINDICATED, "%s is not JSON",
				policy_path);
	}
	if (save && v.overall == AFFIRMING)
		save_clock(&v, opts->state);
	if (v.ima_save && v.overall == AFFIRMING)
		ima_state_save(&v);
	print_result(&v, nonce, nonce_len);
	attest_response_free(&v.resp);
	json_object_put(v.submods);
	json_object_put(v.ref);
	json_object_put(v.policy);
	EVP_PKEY_free(ak);
	free(ref_text);
	free(body);
	free(pem);
	return v.overall == AFFIRMING ? ATTEST_EXIT_OK : ATTEST_EXIT_FAIL;
}

/* attest check HOST: a fresh quote, verified at once -- what an operator runs. */
int attest_check_run(int argc, char **argv, const struct attest_opts *opts)
{
	char evidence[4200], *qargv[6], *vargv[8];
	int qargc = 0, vargc = 0, rc;

	if (argc < 2) {
		fprintf(stderr, "attest check: needs HOST[:PORT] [--pcrs SEL] [--reference REF] "
				"[--runtime-policy F] [--ak AK.pem]\n");
		return ATTEST_EXIT_USAGE;
	}
	snprintf(evidence, sizeof(evidence), "%s/last-evidence.cbor", opts->state);
	qargv[qargc++] = "quote";
	qargv[qargc++] = argv[1];
	vargv[vargc++] = "verify";
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--pcrs") == 0 && qargc < 4) {
			qargv[qargc++] = argv[i];
			qargv[qargc++] = argv[i + 1];
		} else if (vargc < 7) {
			vargv[vargc++] = argv[i];
			vargv[vargc++] = argv[i + 1];
		}
	}
	qargv[qargc++] = "--out";
	qargv[qargc++] = evidence;
	vargv[vargc++] = evidence;
	optind = 0;
	rc = attest_quote_run(qargc, qargv, opts);
	if (rc != ATTEST_EXIT_OK)
		return rc;
	optind = 0;
	return attest_verify_run(vargc, vargv, opts);
}
