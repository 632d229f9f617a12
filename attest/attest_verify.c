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
#include "drtm.h"
#include "ear.h"
#include "explain.h"
#include "err.h"
#include "eventlog_ima.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "mem.h"
#include "pcr_values.h"
#include "quote.h"

struct verify {
	struct json_object *checks; /* component -> {status, reason} */
	struct ear_vector tv;
	bool runtime_ok; /* every IMA-measured file is in the reference */
	char policy_id[96];
	enum ear_tier overall;
	struct attest_response resp;
	struct quote_info q;
	bool quote_ok;
	const struct verify_args *args;
	struct json_object *ref, *policy;   /* reference document, Keylime runtime policy */
	struct pcr_banks ref_pcrs;	    /* the reference's predicted PCRs */
	struct predicted_events ref_events; /* and the events it predicts (GRUB, tboot) */
	struct tcg_log fw;		    /* the firmware log, once parsed */
	bool has_fw;
	struct tcg_log drtm; /* the DRTM log, once parsed and replayed */
	bool has_drtm;
	const char *state;
	uint64_t ima_next;	   /* IMA bytes verified once this evidence is accepted */
	struct pcr_banks ima_pcrs; /* PCR 10 after them */
	bool ima_save;
	size_t ima_violations; /* in this boot's list so far */
	char ima_violation_first[300];
};

static void verdict(struct verify *v, const char *component, enum ear_tier st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void verdict(struct verify *v, const char *component, enum ear_tier st, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object(), *old;
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* a component keeps its worst verdict */
	if (json_object_object_get_ex(v->checks, component, &old)) {
		struct json_object *s;

		json_object_object_get_ex(old, "status", &s);
		for (int k = EAR_CONTRAINDICATED; k > (int)st; k--)
			if (strcmp(json_object_get_string(s), ear_tier_name[k]) == 0) {
				json_object_put(o);
				return;
			}
	}
	json_object_object_add(o, "status", json_object_new_string(ear_tier_name[st]));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(v->checks, component, o);
	if (st > v->overall)
		v->overall = st;
}

static const uint8_t *quoted(struct verify *v, const struct hash_alg *alg, unsigned pcr)
{
	struct pcr_bank *bank = pcr_banks_find(&v->resp.pcrs, alg);

	return bank && (pcr_selection_mask(&v->resp.sel, alg) & (1u << pcr)) ? bank->value[pcr]
									     : NULL;
}

/*
 * Which AR4SI appraisal a PCR speaks to: firmware and its configuration is
 * the hardware; GRUB's commands and the kernel command line the
 * configuration; what was loaded and run (boot applications, GRUB's files,
 * IMA, container images) the executables; the root filesystem its own.
 */
static enum ear_category pcr_category(unsigned pcr)
{
	switch (pcr) {
	case 8:
		return EAR_CONFIGURATION;
	case 4:
	case 9:
	case 10:
	case 11:
		return EAR_EXECUTABLES;
	case 13:
		return EAR_FILE_SYSTEM;
	default:
		return pcr < 8 || pcr == 17 || pcr == 18 ? EAR_HARDWARE : EAR_EXECUTABLES;
	}
}

static void claim(struct verify *v, enum ear_category cat, int value)
{
	ear_vector_worsen(&v->tv, cat, value);
}

/* The evidence itself cannot be trusted: nothing in it can be claimed. */
static void claim_crypto_failed(struct verify *v)
{
	for (int c = EAR_INSTANCE_IDENTITY; c <= EAR_HARDWARE; c++)
		claim(v, (enum ear_category)c, EAR_CRYPTO_FAILED);
}

static void check_quote(struct verify *v, EVP_PKEY *ak, const uint8_t *nonce, size_t nonce_len)
{
	uint8_t root[NONCE_HASH_LEN];

	if (quote_verify_signature(v->resp.attest, v->resp.attest_len, v->resp.sig, v->resp.sig_len,
				   ak) < 0) {
		verdict(v, "attestation-key", EAR_CONTRAINDICATED, "%s", err_msg());
		claim_crypto_failed(v);
		return;
	}
	verdict(v, "attestation-key", EAR_AFFIRMING, "signed by the enrolled AK");
	if (quote_parse(v->resp.attest, v->resp.attest_len, &v->q) < 0) {
		verdict(v, "quote", EAR_CONTRAINDICATED, "%s", err_msg());
		claim_crypto_failed(v);
		return;
	}
	if (nonce_tree_root(nonce, nonce_len, &v->resp.path, root) < 0 ||
	    v->q.extra_len != sizeof(root) || memcmp(v->q.extra, root, sizeof(root)) != 0) {
		claim_crypto_failed(v);
		verdict(v, "freshness", EAR_CONTRAINDICATED,
			"the quote's qualifying data is not our nonce's tree root (replayed or "
			"foreign "
			"evidence)");
	} else
		verdict(v, "freshness", EAR_AFFIRMING, "our nonce, %u-step path to the quoted root",
			v->resp.path.len);
	if (quote_pcr_digest_matches(&v->q, &v->resp.sel, &v->resp.pcrs) < 0) {
		verdict(v, "quote", EAR_CONTRAINDICATED, "%s", err_msg());
		claim_crypto_failed(v);
		return;
	}
	verdict(v, "quote", EAR_AFFIRMING, "PCR values match the signed pcrDigest");
	v->quote_ok = true;
}

/* How the device's EK was checked at enrolment (attest enroll records it). */
static void check_identity(struct verify *v)
{
	char path[4200];
	struct json_object *id, *o;
	const char *how = NULL;

	snprintf(path, sizeof(path), "%s/identity.json", v->state);
	id = json_object_from_file(path);
	if (id && json_object_object_get_ex(id, "ek", &o) &&
	    json_object_is_type(o, json_type_string))
		how = json_object_get_string(o);
	if (how && strcmp(how, "certified") == 0 && json_object_object_get_ex(id, "issuer", &o)) {
		claim(v, EAR_INSTANCE_IDENTITY, EAR_TRUSTWORTHY_INSTANCE);
		verdict(v, "identity", EAR_AFFIRMING,
			"EK certificate issued by %s checked at enrolment",
			json_object_get_string(o));
	} else if (how && strcmp(how, "trust-on-first-use") == 0) {
		claim(v, EAR_INSTANCE_IDENTITY, EAR_WARNING_GENERIC);
		verdict(v, "identity", EAR_WARNING,
			"the EK was trusted on first use (--trust-on-first-use): no certificate "
			"says this TPM is genuine");
	} else {
		claim(v, EAR_INSTANCE_IDENTITY, EAR_WARNING_GENERIC);
		verdict(v, "identity", EAR_WARNING,
			"%s records no EK check (enrolled before identity was recorded)", path);
	}
	json_object_put(id);
}

static const char *selection_why(uint32_t bit, uint32_t asked, uint32_t opt, uint32_t ref)
{
	return asked & bit ? "asked for"
	       : opt & bit ? "required by --pcrs"
	       : ref & bit ? "predicted by the reference"
			   : "required";
}

/*
 * The device does not choose what is checked: every PCR the verifier asked
 * for, --pcrs requires or the reference predicts must be in the signed
 * selection.  A quote over fewer PCRs hides the others.
 */
static void check_selection(struct verify *v, const struct evidence *ev)
{
	struct pcr_selection need = {0};
	unsigned missing = 0, checked = 0;
	char first[160] = "";

	if (ev->has_asked)
		for (unsigned b = 0; b < ev->asked.count; b++)
			pcr_selection_add(&need, ev->asked.bank[b].alg, ev->asked.bank[b].mask);
	if (v->args->has_pcrs)
		for (unsigned b = 0; b < v->args->pcrs.count; b++)
			pcr_selection_add(&need, v->args->pcrs.bank[b].alg,
					  v->args->pcrs.bank[b].mask);
	for (unsigned b = 0; b < v->ref_pcrs.count; b++)
		pcr_selection_add(&need, v->ref_pcrs.bank[b].alg, v->ref_pcrs.bank[b].extended);
	for (unsigned b = 0; b < need.count; b++) {
		const struct hash_alg *alg = need.bank[b].alg;
		uint32_t lack = need.bank[b].mask & ~pcr_selection_mask(&v->q.sel, alg);
		const struct pcr_bank *ref = pcr_banks_get(&v->ref_pcrs, alg);

		checked += (unsigned)__builtin_popcount(need.bank[b].mask);
		if (!lack)
			continue;
		missing += (unsigned)__builtin_popcount(lack);
		for (unsigned i = 0; i < PCR_COUNT; i++)
			if (lack & (1u << i))
				claim(v, pcr_category(i), EAR_CONTRAINDICATED_GENERIC);
		if (!first[0]) {
			uint32_t bit = lack & -lack;

			snprintf(first, sizeof(first), "%s PCR %d (%s)", alg->name,
				 __builtin_ctz(bit),
				 selection_why(
					 bit,
					 ev->has_asked ? pcr_selection_mask(&ev->asked, alg) : 0,
					 v->args->has_pcrs ? pcr_selection_mask(&v->args->pcrs, alg)
							   : 0,
					 ref ? ref->extended : 0));
		}
	}
	if (missing)
		verdict(v, "selection", EAR_CONTRAINDICATED,
			"%u required PCRs were not quoted, first %s: the device chose what to show",
			missing, first);
	else if (!ev->has_asked && !v->args->has_pcrs && !v->ref_pcrs.count)
		verdict(v, "selection", EAR_WARNING,
			"the evidence does not record the selection asked for; give --pcrs or "
			"--reference");
	else
		verdict(v, "selection", EAR_AFFIRMING, "all %u required PCRs are quoted", checked);
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
		verdict(v, "clock", EAR_AFFIRMING, "first evidence from this device");
		return;
	}
	if (json_object_object_get_ex(last, "reset", &o))
		reset = (uint64_t)json_object_get_int64(o);
	if (json_object_object_get_ex(last, "clock", &o))
		clock = (uint64_t)json_object_get_int64(o);
	json_object_put(last);
	if (v->q.reset_count < reset || (v->q.reset_count == reset && v->q.clock <= clock))
		claim_crypto_failed(v);
	if (v->q.reset_count < reset)
		verdict(v, "clock", EAR_CONTRAINDICATED, "resetCount went back from %llu to %u",
			(unsigned long long)reset, v->q.reset_count);
	else if (v->q.reset_count == reset && v->q.clock <= clock)
		verdict(v, "clock", EAR_CONTRAINDICATED,
			"TPM clock %llu is not after the last accepted evidence's %llu (replayed "
			"evidence)",
			(unsigned long long)v->q.clock, (unsigned long long)clock);
	else
		verdict(v, "clock", EAR_AFFIRMING, "clock and reset counter moved forward");
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
				claim(v, pcr_category(i), EAR_CONTRAINDICATED_GENERIC);
				verdict(v, component, EAR_CONTRAINDICATED,
					"%s PCR %u: the log's replay differs from the quoted value",
					bank->alg->name, i);
				return;
			}
		}
	}
	if (checked)
		verdict(v, component, EAR_AFFIRMING,
			"log replays to the %u quoted PCR values it extends", checked);
	else
		verdict(v, component, EAR_WARNING, "no quoted PCR is extended by this log");
}

static void check_firmware_log(struct verify *v)
{
	struct tcg_log log;
	struct pcr_banks replay;

	if (!v->resp.has_log[ATTEST_LOG_TCG]) {
		verdict(v, "firmware", EAR_WARNING, "no firmware event log in the evidence");
		return;
	}
	if (tcg_log_parse(v->resp.log[ATTEST_LOG_TCG], v->resp.log_len[ATTEST_LOG_TCG],
			  "firmware log", &log) < 0) {
		claim(v, EAR_HARDWARE, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "firmware", EAR_CONTRAINDICATED, "%s", err_msg());
		return;
	}
	pcr_banks_init(&replay);
	if (tcg_log_replay(&log, &replay) < 0) {
		claim(v, EAR_HARDWARE, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "firmware", EAR_CONTRAINDICATED, "%s", err_msg());
		tcg_log_free(&log);
		return;
	}
	compare_replay(v, "firmware", &replay, 0x3ff);
	v->fw = log; /* kept: a PCR that is not the predicted value is explained from it */
	v->has_fw = true;
}

/* The DRTM PCRs (17-22) quoted, in any bank. */
static uint32_t drtm_quoted(struct verify *v)
{
	uint32_t m = 0;

	for (unsigned b = 0; b < v->resp.sel.count; b++)
		m |= v->resp.sel.bank[b].mask & DRTM_PCR_MASK;
	return m;
}

/* A quoted PCR 17 of all-ones: this boot had no measured launch. */
static const struct hash_alg *unlaunched_bank(struct verify *v)
{
	for (unsigned b = 0; b < v->resp.pcrs.count; b++) {
		const struct hash_alg *alg = v->resp.pcrs.bank[b].alg;
		const uint8_t *q = quoted(v, alg, 17);

		if (q && drtm_pcr_unlaunched(q, alg->size))
			return alg;
	}
	return NULL;
}

/*
 * The DRTM log against PCR 17-22: replayed from zero (the launch reset
 * them), it must give the quoted values; without a launch (PCR 17 reads
 * all-ones) no event can have reached them, so a log that claims one lies.
 */
static void check_drtm(struct verify *v)
{
	const struct hash_alg *none = unlaunched_bank(v);
	const struct tcg_event *first;
	struct pcr_banks replay;

	if (!v->resp.has_log[ATTEST_LOG_DRTM]) {
		if (!drtm_quoted(v))
			return;
		if (none)
			verdict(v, "drtm", EAR_AFFIRMING,
				"no measured launch (%s PCR 17 reads all-ones) and no DRTM log",
				none->name);
		else
			verdict(v, "drtm", EAR_WARNING,
				"PCR 17 shows a measured launch but the evidence has no DRTM log");
		return;
	}
	if (tcg_log_parse(v->resp.log[ATTEST_LOG_DRTM], v->resp.log_len[ATTEST_LOG_DRTM],
			  "DRTM log", &v->drtm) < 0) {
		claim(v, EAR_HARDWARE, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "drtm", EAR_CONTRAINDICATED, "%s", err_msg());
		return;
	}
	v->has_drtm = true; /* kept: a PCR 17-22 that is not the predicted value is explained */
	first = drtm_first_event(&v->drtm);
	if (none && first) {
		claim(v, EAR_HARDWARE, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "drtm", EAR_CONTRAINDICATED,
			"%s PCR 17 reads all-ones: there was no measured launch, yet the DRTM log "
			"claims %zu events (the first, type 0x%x in PCR %u at offset %zu)",
			none->name, v->drtm.n_events, first->type, first->pcr, first->offset);
		return;
	}
	if (drtm_replay(&v->drtm, "DRTM log", &replay) < 0) {
		claim(v, EAR_HARDWARE, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "drtm", EAR_CONTRAINDICATED, "%s", err_msg());
		return;
	}
	compare_replay(v, "drtm", &replay, DRTM_PCR_MASK);
}

static bool hex_equal(struct json_object *o, const char *hex)
{
	return json_object_is_type(o, json_type_string) &&
	       strcmp(json_object_get_string(o), hex) == 0;
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
	    json_object_object_get_ex(files, path, &d) && hex_equal(d, hex))
		return true;
	if (v->policy && json_object_object_get_ex(v->policy, "digests", &files) &&
	    json_object_object_get_ex(files, path, &d) && json_object_is_type(d, json_type_array))
		for (size_t i = 0; i < json_object_array_length(d); i++)
			if (hex_equal(json_object_array_get_idx(d, i), hex))
				return true;
	return false;
}

/* File digests in a reference (ima.files) or a runtime policy (digests) must be hex strings. */
static int file_digests_check(struct json_object *doc, const char *what, bool lists)
{
	struct json_object *files, *ima;

	if (!lists && !(json_object_object_get_ex(doc, "ima", &ima) &&
			json_object_object_get_ex(ima, "files", &files)))
		return 0;
	if (lists && !json_object_object_get_ex(doc, "digests", &files))
		return 0;
	if (!json_object_is_type(files, json_type_object))
		return err_set(-EINVAL, "%s: %s is not an object", what,
			       lists ? "digests" : "ima.files");
	json_object_object_foreach(files, name, val)
	{
		bool ok = lists ? json_object_is_type(val, json_type_array)
				: json_object_is_type(val, json_type_string);

		for (size_t i = 0; ok && lists && i < json_object_array_length(val); i++)
			ok = json_object_is_type(json_object_array_get_idx(val, i),
						 json_type_string);
		if (!ok)
			return err_set(-EINVAL, "%s: %s.%s is not %s", what,
				       lists ? "digests" : "ima.files", name,
				       lists ? "a list of hex strings" : "a hex string");
	}
	return 0;
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
		/* violations seen earlier in this boot stay reported */
		if (json_object_object_get_ex(st, "violations", &o))
			v->ima_violations = (size_t)json_object_get_int64(o);
		if (json_object_object_get_ex(st, "violation", &o) &&
		    json_object_is_type(o, json_type_string))
			snprintf(v->ima_violation_first, sizeof(v->ima_violation_first), "%s",
				 json_object_get_string(o));
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
	json_object_object_add(st, "violations", json_object_new_int64((int64_t)v->ima_violations));
	if (v->ima_violations)
		json_object_object_add(st, "violation",
				       json_object_new_string(v->ima_violation_first));
	snprintf(path, sizeof(path), "%s/ima.json", v->state);
	(void)file_write_atomic(path, json_object_to_json_string(st),
				strlen(json_object_to_json_string(st)), 0600);
	json_object_put(st);
}

/* Every measured file must be in the reference or the runtime policy. */
static void check_ima_files(struct verify *v, const struct ima_list *list)
{
	size_t unknown = 0;
	char first[300] = "";

	for (size_t i = 0; i < list->n_events; i++) {
		const struct ima_event *ev = &list->event[i];
		char path[4200];

		if (!ev->path || ev->violation)
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)ev->path_len, ev->path);
		if (strcmp(path, "boot_aggregate") == 0)
			continue;
		if (!reference_has(v, path, ev->file_digest, ev->file_digest_len) && unknown++ == 0)
			snprintf(first, sizeof(first), "%.250s", path);
	}
	if (unknown) {
		claim(v, EAR_EXECUTABLES, EAR_CONTRAINDICATED_GENERIC);
	} else {
		claim(v, EAR_EXECUTABLES, EAR_APPROVED);
		v->runtime_ok = true;
	}
	if (unknown)
		verdict(v, "ima-files", EAR_CONTRAINDICATED,
			"%zu measured files are not in the reference, first %s", unknown, first);
	else
		verdict(v, "ima-files", EAR_AFFIRMING,
			"all %zu new measured files are in the reference", list->n_events);
}

/*
 * A violation (a file opened for write while measured, or measured while
 * open for write) means IMA could not vouch for what was read: its entry
 * is all zeros and PCR 10 got all ones.  It stays reported for the boot.
 */
static void check_ima_violations(struct verify *v, const struct ima_list *list)
{
	for (size_t i = 0; i < list->n_events; i++) {
		const struct ima_event *ev = &list->event[i];

		if (!ev->violation)
			continue;
		if (v->ima_violations++ == 0)
			snprintf(v->ima_violation_first, sizeof(v->ima_violation_first), "%.*s",
				 (int)(ev->path_len < 250 ? ev->path_len : 250),
				 ev->path ? ev->path : "?");
	}
	if (v->ima_violations)
		claim(v, EAR_EXECUTABLES,
		      v->args->strict ? EAR_CONTRAINDICATED_GENERIC : EAR_WARNING_GENERIC);
	if (v->ima_violations)
		verdict(v, "ima-violations", v->args->strict ? EAR_CONTRAINDICATED : EAR_WARNING,
			"%zu IMA violations this boot (ToMToU or open-writers: the file read may "
			"not be the one measured), first %s%s",
			v->ima_violations, v->ima_violation_first,
			v->args->strict ? " (--strict)" : "");
}

static void check_ima(struct verify *v)
{
	uint64_t offset = v->resp.log_offset[ATTEST_LOG_IMA];
	struct ima_list list;
	struct pcr_banks replay;

	if (!v->resp.has_log[ATTEST_LOG_IMA]) {
		verdict(v, "ima", EAR_WARNING, "no IMA list in the evidence");
		return;
	}
	if (ima_list_parse(v->resp.log[ATTEST_LOG_IMA], v->resp.log_len[ATTEST_LOG_IMA], "IMA list",
			   &list) < 0) {
		verdict(v, "ima", EAR_CONTRAINDICATED, "%s", err_msg());
		claim(v, EAR_EXECUTABLES, EAR_CONTRAINDICATED_GENERIC);
		return;
	}
	pcr_banks_init(&replay);
	for (unsigned b = 0; b < v->resp.sel.count; b++)
		pcr_banks_add(&replay, v->resp.sel.bank[b].alg);
	if (offset && ima_state_load(v, offset, &replay) < 0) {
		claim(v, EAR_EXECUTABLES, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "ima", EAR_CONTRAINDICATED,
			"the IMA list starts at byte %llu, where no verified state of this boot "
			"ends",
			(unsigned long long)offset);
	} else if (ima_list_replay(&list, 0, &replay, NULL) < 0) {
		claim(v, EAR_EXECUTABLES, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "ima", EAR_CONTRAINDICATED, "%s", err_msg());
	} else {
		compare_replay(v, "ima", &replay, 1u << 10);
		v->ima_next = offset + v->resp.log_len[ATTEST_LOG_IMA];
		v->ima_pcrs = replay;
		v->ima_save = true;
		check_ima_violations(v, &list);
		if (v->ref || v->policy)
			check_ima_files(v, &list);
	}
	ima_list_free(&list);
}

/* Whether every PCR of @replay that @only selects and the quote holds equals the quoted value. */
static bool replay_matches(struct verify *v, const struct pcr_banks *replay, uint32_t only)
{
	for (unsigned b = 0; b < replay->count; b++)
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			const uint8_t *q = quoted(v, replay->bank[b].alg, i);

			if ((replay->bank[b].extended & only & (1u << i)) && q &&
			    memcmp(q, replay->bank[b].value[i], replay->bank[b].alg->size))
				return false;
		}
	return true;
}

/*
 * The CEL log as the writers leave it (docs/FORMATS.md, "Pending records"):
 * a record cut short at the end is left out (its extend comes after it), and
 * a pending last record counts when the quote holds its extend.  Either way
 * each quoted PCR must equal a replay: an extend without its record cannot
 * pass.
 */
static void check_cel(struct verify *v)
{
	struct cel_log log;
	struct pcr_banks replay, with;
	const struct cel_record *last;

	if (!v->resp.has_log[ATTEST_LOG_CEL]) {
		verdict(v, "measured-log", EAR_WARNING, "no CEL log in the evidence");
		return;
	}
	if (cel_log_parse_tail(v->resp.log[ATTEST_LOG_CEL], v->resp.log_len[ATTEST_LOG_CEL],
			       "CEL log", &log) < 0) {
		claim(v, EAR_FILE_SYSTEM, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "measured-log", EAR_CONTRAINDICATED, "%s", err_msg());
		return;
	}
	if (log.torn)
		verdict(v, "measured-log", EAR_WARNING,
			"the last %zu bytes are a record cut short (being written, or its writer "
			"stopped); left out",
			log.torn);
	last = log.n_records ? &log.record[log.n_records - 1] : NULL;
	pcr_banks_init(&replay);
	if (cel_log_replay(&log, &replay) < 0) {
		claim(v, EAR_FILE_SYSTEM, EAR_CONTRAINDICATED_GENERIC);
		verdict(v, "measured-log", EAR_CONTRAINDICATED, "%s", err_msg());
	} else {
		if (last && last->pending) {
			with = replay;
			bool in = cel_record_replay(last, &with) == 0 &&
				  replay_matches(v, &with, ~0u);
			verdict(v, "measured-log", EAR_WARNING,
				"record %llu (%s %s) is pending: its extend %s",
				(unsigned long long)last->recnum, last->type,
				last->name ? last->name : "",
				in ? "happened (the quote holds it)" : "is not in the quote");
			if (in)
				replay = with;
		}
		compare_replay(v, "measured-log", &replay, ~0u);
	}
	cel_log_free(&log);
}

/* Every PCR the reference predicts must equal the quoted value (check_selection: it is quoted). */
static void check_reference(struct verify *v)
{
	unsigned checked = 0;

	for (unsigned b = 0; b < v->ref_pcrs.count; b++)
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			const struct pcr_bank *ref = &v->ref_pcrs.bank[b];
			const uint8_t *q = quoted(v, ref->alg, i);

			if (!(ref->extended & (1u << i)) || !q)
				continue;
			checked++;
			claim(v, pcr_category(i),
			      memcmp(q, ref->value[i], ref->alg->size) == 0
				      ? EAR_APPROVED
				      : EAR_CONTRAINDICATED_GENERIC);
			if (memcmp(q, ref->value[i], ref->alg->size) != 0) {
				char comp[32], why[600] = "";

				snprintf(comp, sizeof(comp), "pcr%u", i);
				const struct tcg_log *log =
					DRTM_PCR_MASK & (1u << i) ? (v->has_drtm ? &v->drtm : NULL)
								  : (v->has_fw ? &v->fw : NULL);

				if (log && explain_pcr(log, i, ref->alg, &v->ref_events, why + 2,
						       sizeof(why) - 2) == 1)
					memcpy(why, ": ", 2);
				verdict(v, comp, EAR_CONTRAINDICATED,
					"%s PCR %u is not the predicted value%s", ref->alg->name, i,
					why);
			}
		}
	verdict(v, "reference", checked ? EAR_AFFIRMING : EAR_WARNING,
		"%u quoted PCRs compared with %s", checked, v->args->ref_path);
}

/*
 * The result as an EAR claims-set (docs/PROTOCOL.md "Result"): one
 * attester, "measured-boot", its status and trustworthiness vector, and our
 * checks with their reasons under "ear.measured.checks".  Printed as JSON,
 * or signed as a JWT with --ear-key.
 */
static int print_result(struct verify *v, const struct evidence *ev)
{
	struct ear_appraisal a = {
		.name = "measured-boot",
		.status = v->overall,
		.tv = v->tv,
		.policy_id = v->policy_id,
		.extension_key = "ear.measured.checks",
		.extension = v->checks,
	};
	struct json_object *out;
	char *token = NULL;
	int rc = 0;

	/* executables: approved at run time only if IMA's files all were, else at boot */
	if (ear_claim_tier(a.tv.claim[EAR_EXECUTABLES]) == EAR_AFFIRMING)
		a.tv.claim[EAR_EXECUTABLES] = v->runtime_ok ? EAR_APPROVED : EAR_APPROVED_BOOT;
	out = ear_claims((int64_t)time(NULL), "measured attest " MEASURED_VERSION,
			 "https://github.com/measured-boot/measured", ev->nonce, ev->nonce_len, &a,
			 1);
	/* a nonce read back from the file proves freshness only if the file is ours */
	json_object_object_add(
		out, "ear.measured.nonce-source",
		json_object_new_string(v->args->nonce_ours ? "verifier" : "evidence-file"));
	if (v->args->ear_key)
		rc = ear_jwt_sign(
			json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE),
			v->args->ear_key, &token);
	if (rc < 0)
		fprintf(stderr, "attest verify: %s\n", err_msg());
	else if (token)
		printf("%s\n", token);
	else
		printf("%s\n",
		       json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	free(token);
	json_object_put(out);
	return rc;
}

/* What the appraisal was against: the reference, the runtime policy and the options. */
static void policy_id(struct verify *v, const void *ref, size_t ref_len, const void *pol,
		      size_t pol_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t d[32];
	char hex[65], opts[300] = "";

	if (v->args->has_pcrs)
		pcr_selection_format(&v->args->pcrs, opts, sizeof(opts));
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, ref, ref_len) != 1 || EVP_DigestUpdate(ctx, "\0", 1) != 1 ||
	    EVP_DigestUpdate(ctx, pol, pol_len) != 1 || EVP_DigestUpdate(ctx, "\0", 1) != 1 ||
	    EVP_DigestUpdate(ctx, opts, strlen(opts)) != 1 ||
	    EVP_DigestUpdate(ctx, v->args->strict ? "strict" : "", v->args->strict ? 6 : 0) != 1 ||
	    EVP_DigestFinal_ex(ctx, d, NULL) != 1)
		memset(d, 0, sizeof(d));
	EVP_MD_CTX_free(ctx);
	hex_encode(d, sizeof(d), hex);
	snprintf(v->policy_id, sizeof(v->policy_id), "urn:measured:policy:sha256:%s", hex);
}

/* The reference and the runtime policy, checked before anything is compared with them. */
static int load_references(struct verify *v)
{
	const struct verify_args *a = v->args;
	_cleanup_free_ uint8_t *text = NULL, *pol = NULL;
	size_t len = 0, pol_len = 0;
	int rc;

	pcr_banks_init(&v->ref_pcrs);
	if (a->ref_path) {
		if ((rc = file_read_all(a->ref_path, 256u << 20, &text, &len)) < 0)
			return rc;
		if (!(v->ref = json_tokener_parse((char *)text)))
			return err_set(-EINVAL, "%s is not JSON", a->ref_path);
		if ((rc = pcr_values_from_json_object(v->ref, a->ref_path, &v->ref_pcrs)) < 0 ||
		    (rc = predicted_events_from_json(v->ref, a->ref_path, &v->ref_events)) < 0 ||
		    (rc = file_digests_check(v->ref, a->ref_path, false)) < 0)
			return rc;
	}
	if (a->policy_path) {
		if ((rc = file_read_all(a->policy_path, 256u << 20, &pol, &pol_len)) < 0)
			return rc;
		if (!(v->policy = json_tokener_parse((char *)pol)))
			return err_set(-EINVAL, "%s is not JSON", a->policy_path);
		if ((rc = file_digests_check(v->policy, a->policy_path, true)) < 0)
			return rc;
	}
	policy_id(v, text ? text : (uint8_t *)"", len, pol ? pol : (uint8_t *)"", pol_len);
	return 0;
}

static int check_evidence(struct verify *v, const struct evidence *ev, EVP_PKEY *ak)
{
	bool save = false;

	check_identity(v);
	if (attest_response_decode(ev->body, ev->body_len, &v->resp) < 0)
		verdict(v, "device", EAR_CONTRAINDICATED, "%s", err_msg());
	else if (v->resp.status)
		verdict(v, "device", EAR_CONTRAINDICATED, "attestd answered an error: %s",
			v->resp.error);
	else
		check_quote(v, ak, ev->nonce, ev->nonce_len);
	if (v->quote_ok) {
		check_selection(v, ev);
		check_clock(v, v->state, &save);
		check_firmware_log(v);
		check_drtm(v);
		check_ima(v);
		check_cel(v);
		if (v->args->ref_path)
			check_reference(v);
	}
	/* warnings do not stop the state moving on: they are reported again from it */
	if (save && v->overall != EAR_CONTRAINDICATED)
		save_clock(v, v->state);
	if (v->ima_save && v->overall != EAR_CONTRAINDICATED)
		ima_state_save(v);
	if (print_result(v, ev) < 0)
		return ATTEST_EXIT_FAIL;
	return v->overall == EAR_AFFIRMING ? ATTEST_EXIT_OK
	       : v->overall == EAR_WARNING ? ATTEST_EXIT_WARNING
					   : ATTEST_EXIT_FAIL;
}

int attest_verify_evidence(const struct evidence *ev, const struct verify_args *args,
			   const struct attest_opts *opts)
{
	struct verify v = {.checks = json_object_new_object(),
			   .overall = EAR_AFFIRMING,
			   .state = opts->state,
			   .args = args};
	char default_ak[4200];
	_cleanup_free_ uint8_t *pem = NULL;
	size_t pem_len;
	EVP_PKEY *ak = NULL;
	int rc;

	snprintf(default_ak, sizeof(default_ak), "%s/ak.pem", opts->state);
	if (file_read_all(args->ak_path ? args->ak_path : default_ak, 1 << 16, &pem, &pem_len) <
		    0 ||
	    pkey_from_pem((char *)pem, pem_len, &ak) < 0 || load_references(&v) < 0) {
		fprintf(stderr, "attest verify: %s\n", err_msg());
		rc = ATTEST_EXIT_FAIL;
	} else {
		rc = check_evidence(&v, ev, ak);
	}
	attest_response_free(&v.resp);
	if (v.has_fw)
		tcg_log_free(&v.fw);
	if (v.has_drtm)
		tcg_log_free(&v.drtm);
	predicted_events_free(&v.ref_events);
	json_object_put(v.checks);
	json_object_put(v.ref);
	json_object_put(v.policy);
	EVP_PKEY_free(ak);
	return rc;
}

/*
 * The options attest verify and attest check share: 1 when @c was one of
 * them, 0 when it is not, -1 (said on stderr) when its value is bad.
 */
static int verify_option(int c, const char *arg, struct verify_args *a)
{
	switch (c) {
	case 'a':
		a->ak_path = arg;
		return 1;
	case 'r':
		a->ref_path = arg;
		return 1;
	case 'p':
		a->policy_path = arg;
		return 1;
	case 's':
		a->strict = true;
		return 1;
	case 'l':
		if (pcr_selection_parse(arg, &a->pcrs) < 0)
			break;
		a->has_pcrs = true;
		return 1;
	case 'k':
		EVP_PKEY_free(a->ear_key);
		a->ear_key = NULL;
		if (ear_key_load(arg, &a->ear_key) < 0)
			break;
		return 1;
	default:
		return 0;
	}
	fprintf(stderr, "attest: %s %s: %s\n", c == 'l' ? "--pcrs" : "--ear-key", arg, err_msg());
	return -1;
}

int attest_verify_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"ak", required_argument, NULL, 'a'},
		{"reference", required_argument, NULL, 'r'},
		{"runtime-policy", required_argument, NULL, 'p'},
		{"pcrs", required_argument, NULL, 'l'},
		{"nonce", required_argument, NULL, 'n'},
		{"strict", no_argument, NULL, 's'},
		{"ear-key", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	struct verify_args args = {0};
	struct evidence ev = {0};
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'n' && hex_decode(optarg, nonce, sizeof(nonce), &nonce_len) == 0)
			args.nonce_ours = true;
		else if (c == 'n' || verify_option(c, optarg, &args) <= 0) {
			if (c == 'n')
				fprintf(stderr, "attest verify: --nonce: %s\n", err_msg());
			EVP_PKEY_free(args.ear_key);
			return ATTEST_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "attest verify: needs one EVIDENCE file\n");
		EVP_PKEY_free(args.ear_key);
		return ATTEST_EXIT_USAGE;
	}
	if (evidence_read(argv[optind], &ev) < 0) {
		fprintf(stderr, "attest verify: %s\n", err_msg());
		EVP_PKEY_free(args.ear_key);
		return ATTEST_EXIT_FAIL;
	}
	if (args.nonce_ours && (nonce_len != ev.nonce_len || memcmp(nonce, ev.nonce, nonce_len))) {
		/* the file's nonce is not the one we sent: check the quote against ours */
		memcpy(ev.nonce, nonce, nonce_len);
		ev.nonce_len = nonce_len;
	}
	rc = attest_verify_evidence(&ev, &args, opts);
	evidence_free(&ev);
	EVP_PKEY_free(args.ear_key);
	return rc;
}

static int reference_pcrs(const char *path, struct pcr_banks *ret)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int rc = file_read_all(path, 256u << 20, &text, &len);

	return rc < 0 ? rc : pcr_values_from_json((char *)text, path, ret);
}

/* attest check HOST: a fresh quote, verified at once -- what an operator runs. */
int attest_check_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option longopts[] = {
		{"ak", required_argument, NULL, 'a'},
		{"reference", required_argument, NULL, 'r'},
		{"runtime-policy", required_argument, NULL, 'p'},
		{"pcrs", required_argument, NULL, 'l'},
		{"strict", no_argument, NULL, 's'},
		{"full", no_argument, NULL, 'f'},
		{"ear-key", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	struct verify_args args = {.nonce_ours = true};
	struct evidence ev = {0};
	struct pcr_selection ask;
	struct pcr_banks ref;
	char path[4200];
	bool full = false;
	int c, rc;

	if (pcr_selection_parse(ATTEST_DEFAULT_PCRS, &ask) < 0)
		return ATTEST_EXIT_FAIL;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'f') {
			full = true;
		} else if (verify_option(c, optarg, &args) <= 0) {
			EVP_PKEY_free(args.ear_key);
			return ATTEST_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"attest check: needs HOST[:PORT] [--pcrs SEL] [--reference REF] "
			"[--runtime-policy F] [--ak AK.pem] [--strict] [--full] [--ear-key K]\n");
		EVP_PKEY_free(args.ear_key);
		return ATTEST_EXIT_USAGE;
	}
	/* ask for what --pcrs names and everything the reference predicts */
	if (args.has_pcrs)
		ask = args.pcrs;
	if (args.ref_path && reference_pcrs(args.ref_path, &ref) == 0)
		for (unsigned b = 0; b < ref.count; b++)
			pcr_selection_add(&ask, ref.bank[b].alg, ref.bank[b].extended);
	rc = attest_quote_fetch(argv[optind], &ask, opts->state, full, &ev);
	snprintf(path, sizeof(path), "%s/last-evidence.cbor", opts->state);
	if (rc == 0)
		rc = evidence_write(path, &ev);
	if (rc < 0) {
		fprintf(stderr, "attest check: %s\n", err_msg());
		rc = ATTEST_EXIT_FAIL;
	} else {
		rc = attest_verify_evidence(&ev, &args, opts);
	}
	evidence_free(&ev);
	EVP_PKEY_free(args.ear_key);
	return rc;
}
