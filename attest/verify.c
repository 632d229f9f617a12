// SPDX-License-Identifier: MIT
/*
 * The checks of evidence from attestd -- signature, freshness, the quote's
 * PCR digest, the TPM clock against the last accepted evidence, the logs'
 * replays against the quoted PCRs, and everything against pcrpredict's
 * reference -- giving an EAT Attestation Result.  Every verifier here
 * (attest verify, attest check, attest serve) comes through verify_evidence.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cel.h"
#include "drtm.h"
#include "ear.h"
#include "err.h"
#include "eventlog_ima.h"
#include "eventlog_tcg.h"
#include "explain.h"
#include "fileio.h"
#include "hex.h"
#include "mem.h"
#include "nonce_tree.h"
#include "pcr_values.h"
#include "quote.h"
#include "verify.h"

struct verify {
	struct json_object *checks; /* component -> {status, reason} */
	struct ear_vector tv;
	bool runtime_ok; /* every IMA-measured file is in the reference */
	enum ear_tier overall;
	struct attest_response resp;
	struct quote_info q;
	bool quote_ok;
	const struct verify_policy *pol;
	struct tcg_log fw; /* the firmware log, once parsed */
	bool has_fw;
	struct tcg_log drtm; /* the DRTM log, once parsed and replayed */
	bool has_drtm;
	struct device_state *st;   /* in: the last accepted evidence; out: this one */
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
	switch (v->st->identity) {
	case IDENTITY_CERTIFIED:
		claim(v, EAR_INSTANCE_IDENTITY, EAR_TRUSTWORTHY_INSTANCE);
		verdict(v, "identity", EAR_AFFIRMING,
			"EK certificate issued by %s checked at enrolment", v->st->ek_issuer);
		break;
	case IDENTITY_TOFU:
		claim(v, EAR_INSTANCE_IDENTITY, EAR_WARNING_GENERIC);
		verdict(v, "identity", EAR_WARNING,
			"the EK was trusted on first use (--trust-on-first-use): no certificate "
			"says this TPM is genuine");
		break;
	default:
		claim(v, EAR_INSTANCE_IDENTITY, EAR_WARNING_GENERIC);
		verdict(v, "identity", EAR_WARNING,
			"no EK check is recorded for this device (enrolled before identity was "
			"recorded)");
	}
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
	if (v->pol->has_pcrs)
		for (unsigned b = 0; b < v->pol->pcrs.count; b++)
			pcr_selection_add(&need, v->pol->pcrs.bank[b].alg,
					  v->pol->pcrs.bank[b].mask);
	for (unsigned b = 0; b < v->pol->ref_pcrs.count; b++)
		pcr_selection_add(&need, v->pol->ref_pcrs.bank[b].alg,
				  v->pol->ref_pcrs.bank[b].extended);
	for (unsigned b = 0; b < need.count; b++) {
		const struct hash_alg *alg = need.bank[b].alg;
		uint32_t lack = need.bank[b].mask & ~pcr_selection_mask(&v->q.sel, alg);
		const struct pcr_bank *ref = pcr_banks_get(&v->pol->ref_pcrs, alg);

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
					 v->pol->has_pcrs ? pcr_selection_mask(&v->pol->pcrs, alg)
							  : 0,
					 ref ? ref->extended : 0));
		}
	}
	if (missing)
		verdict(v, "selection", EAR_CONTRAINDICATED,
			"%u required PCRs were not quoted, first %s: the device chose what to show",
			missing, first);
	else if (!ev->has_asked && !v->pol->has_pcrs && !v->pol->ref_pcrs.count)
		verdict(v, "selection", EAR_WARNING,
			"the evidence does not record the selection asked for; give --pcrs or "
			"--reference");
	else
		verdict(v, "selection", EAR_AFFIRMING, "all %u required PCRs are quoted", checked);
}

/* The TPM clock may only move forward within a boot, and boots only add up. */
static void check_clock(struct verify *v)
{
	uint64_t reset = v->st->reset, clock = v->st->clock;

	if (!v->st->has_clock) {
		verdict(v, "clock", EAR_AFFIRMING, "first evidence from this device");
		return;
	}
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
	if (v->pol->ref && json_object_object_get_ex(v->pol->ref, "ima", &ima) &&
	    json_object_object_get_ex(ima, "files", &files) &&
	    json_object_object_get_ex(files, path, &d) && hex_equal(d, hex))
		return true;
	if (v->pol->runtime && json_object_object_get_ex(v->pol->runtime, "digests", &files) &&
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
	const struct device_state *st = v->st;

	if (!st->has_ima || st->ima_reset != v->q.reset_count || st->ima_offset != offset)
		return -ENOENT;
	for (unsigned b = 0; b < replay->count; b++) {
		unsigned k = 0;

		while (k < st->n_pcr10 && st->pcr10[k].alg != replay->bank[b].alg)
			k++;
		if (k == st->n_pcr10)
			return -ENOENT;
		memcpy(replay->bank[b].value[10], st->pcr10[k].value, replay->bank[b].alg->size);
		replay->bank[b].extended |= 1u << 10;
	}
	/* violations seen earlier in this boot stay reported */
	v->ima_violations = (size_t)st->ima_violations;
	snprintf(v->ima_violation_first, sizeof(v->ima_violation_first), "%s",
		 st->ima_violation_first);
	return 0;
}

/* This evidence accepted: the state moves on to it. */
static void state_advance(struct verify *v)
{
	struct device_state *st = v->st;

	st->has_clock = true;
	st->reset = v->q.reset_count;
	st->restart = v->q.restart_count;
	st->clock = v->q.clock;
	if (!v->ima_save)
		return;
	st->has_ima = true;
	st->ima_reset = v->q.reset_count;
	st->ima_offset = v->ima_next;
	st->n_pcr10 = v->ima_pcrs.count;
	for (unsigned b = 0; b < v->ima_pcrs.count; b++) {
		st->pcr10[b].alg = v->ima_pcrs.bank[b].alg;
		memcpy(st->pcr10[b].value, v->ima_pcrs.bank[b].value[10],
		       v->ima_pcrs.bank[b].alg->size);
	}
	st->ima_violations = v->ima_violations;
	snprintf(st->ima_violation_first, sizeof(st->ima_violation_first), "%s",
		 v->ima_violation_first);
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
		      v->pol->strict ? EAR_CONTRAINDICATED_GENERIC : EAR_WARNING_GENERIC);
	if (v->ima_violations)
		verdict(v, "ima-violations", v->pol->strict ? EAR_CONTRAINDICATED : EAR_WARNING,
			"%zu IMA violations this boot (ToMToU or open-writers: the file read may "
			"not be the one measured), first %s%s",
			v->ima_violations, v->ima_violation_first,
			v->pol->strict ? " (--strict)" : "");
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
		if (v->pol->ref || v->pol->runtime)
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

	for (unsigned b = 0; b < v->pol->ref_pcrs.count; b++)
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			const struct pcr_bank *ref = &v->pol->ref_pcrs.bank[b];
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

				if (log && explain_pcr(log, i, ref->alg, &v->pol->ref_events,
						       why + 2, sizeof(why) - 2) == 1)
					memcpy(why, ": ", 2);
				verdict(v, comp, EAR_CONTRAINDICATED,
					"%s PCR %u is not the predicted value%s", ref->alg->name, i,
					why);
			}
		}
	verdict(v, "reference", checked ? EAR_AFFIRMING : EAR_WARNING,
		"%u quoted PCRs compared with %s", checked, v->pol->name);
}

/*
 * The result as an EAR claims-set (docs/PROTOCOL.md "Result"): one
 * attester, "measured-boot", its status and trustworthiness vector, and our
 * checks with their reasons under "ear.measured.checks".
 */
static struct json_object *ear_of(struct verify *v, const struct evidence *ev, bool nonce_ours)
{
	struct ear_appraisal a = {
		.name = "measured-boot",
		.status = v->overall,
		.tv = v->tv,
		.policy_id = v->pol->id,
		.extension_key = "ear.measured.checks",
		.extension = v->checks,
	};
	struct json_object *out;

	/* executables: approved at run time only if IMA's files all were, else at boot */
	if (ear_claim_tier(a.tv.claim[EAR_EXECUTABLES]) == EAR_AFFIRMING)
		a.tv.claim[EAR_EXECUTABLES] = v->runtime_ok ? EAR_APPROVED : EAR_APPROVED_BOOT;
	out = ear_claims((int64_t)time(NULL), "measured attest " MEASURED_VERSION,
			 "https://github.com/measured-boot/measured", ev->nonce, ev->nonce_len, &a,
			 1);
	/* a nonce read back from the file proves freshness only if the file is ours */
	json_object_object_add(out, "ear.measured.nonce-source",
			       json_object_new_string(nonce_ours ? "verifier" : "evidence-file"));
	return out;
}

static void check_evidence(struct verify *v, const struct evidence *ev, EVP_PKEY *ak)
{
	check_identity(v);
	if (attest_response_decode(ev->body, ev->body_len, &v->resp) < 0)
		verdict(v, "device", EAR_CONTRAINDICATED, "%s", err_msg());
	else if (v->resp.status)
		verdict(v, "device", EAR_CONTRAINDICATED, "attestd answered an error: %s",
			v->resp.error);
	else
		check_quote(v, ak, ev->nonce, ev->nonce_len);
	if (!v->quote_ok)
		return;
	check_selection(v, ev);
	check_clock(v);
	check_firmware_log(v);
	check_drtm(v);
	check_ima(v);
	check_cel(v);
	if (v->pol->ref)
		check_reference(v);
}

/* The first check with the overall verdict, "component: reason", when it is not affirming. */
static void first_reason(struct verify *v, char *buf, size_t size)
{
	buf[0] = '\0';
	if (v->overall == EAR_AFFIRMING)
		return;
	json_object_object_foreach(v->checks, comp, o)
	{
		struct json_object *s, *r;

		if (json_object_object_get_ex(o, "status", &s) &&
		    strcmp(json_object_get_string(s), ear_tier_name[v->overall]) == 0 &&
		    json_object_object_get_ex(o, "reason", &r)) {
			snprintf(buf, size, "%s: %s", comp, json_object_get_string(r));
			return;
		}
	}
}

int verify_evidence(const struct evidence *ev, EVP_PKEY *ak, const struct verify_policy *pol,
		    bool nonce_ours, struct device_state *st, struct verify_result *ret)
{
	struct verify *v = calloc(1, sizeof(*v)); /* ~100 KiB of replays: not on a thread's stack */

	*ret = (struct verify_result){0};
	if (!v || !(v->checks = json_object_new_object())) {
		free(v);
		return err_set(-ENOMEM, "out of memory");
	}
	v->overall = EAR_AFFIRMING;
	v->pol = pol;
	v->st = st;
	check_evidence(v, ev, ak);
	/* warnings do not stop the state moving on: they are reported again from it */
	if (v->quote_ok && v->overall != EAR_CONTRAINDICATED) {
		state_advance(v);
		ret->state_changed = true;
	}
	ret->overall = v->overall;
	first_reason(v, ret->reason, sizeof(ret->reason));
	ret->ear = ear_of(v, ev, nonce_ours);
	attest_response_free(&v->resp);
	if (v->has_fw)
		tcg_log_free(&v->fw);
	if (v->has_drtm)
		tcg_log_free(&v->drtm);
	json_object_put(v->checks);
	free(v);
	return ret->ear ? 0 : err_set(-ENOMEM, "out of memory");
}

void verify_result_free(struct verify_result *r)
{
	json_object_put(r->ear);
	r->ear = NULL;
}

/* What the appraisal was against: the reference, the runtime policy and the options. */
static void policy_id(struct verify_policy *pol, const void *ref, size_t ref_len, const void *rt,
		      size_t rt_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t d[32];
	char hex[65], opts[300] = "";

	if (pol->has_pcrs)
		pcr_selection_format(&pol->pcrs, opts, sizeof(opts));
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, ref, ref_len) != 1 || EVP_DigestUpdate(ctx, "\0", 1) != 1 ||
	    EVP_DigestUpdate(ctx, rt, rt_len) != 1 || EVP_DigestUpdate(ctx, "\0", 1) != 1 ||
	    EVP_DigestUpdate(ctx, opts, strlen(opts)) != 1 ||
	    EVP_DigestUpdate(ctx, pol->strict ? "strict" : "", pol->strict ? 6 : 0) != 1 ||
	    EVP_DigestFinal_ex(ctx, d, NULL) != 1)
		memset(d, 0, sizeof(d));
	EVP_MD_CTX_free(ctx);
	hex_encode(d, sizeof(d), hex);
	snprintf(pol->id, sizeof(pol->id), "urn:measured:policy:sha256:%s", hex);
}

static int json_parse_doc(const char *text, size_t len, const char *what, struct json_object **ret)
{
	struct json_tokener *tok = json_tokener_new();

	if (!tok)
		return err_set(-ENOMEM, "out of memory");
	*ret = json_tokener_parse_ex(tok, text, (int)len);
	if (!*ret || json_tokener_get_error(tok) != json_tokener_success) {
		int at = (int)json_tokener_get_parse_end(tok);

		json_object_put(*ret);
		*ret = NULL;
		json_tokener_free(tok);
		return err_set(-EINVAL, "%s is not JSON (at byte %d)", what, at);
	}
	json_tokener_free(tok);
	return 0;
}

/*
 * The reference and the runtime policy, checked before anything is compared
 * with them.  The selection and strictness (pol->pcrs, has_pcrs, strict) are
 * the caller's, set before, since the policy id covers them.
 */
int verify_policy_load(struct verify_policy *pol, const char *ref_name, const char *ref,
		       size_t ref_len, const char *runtime_name, const char *runtime,
		       size_t runtime_len)
{
	int rc;

	snprintf(pol->name, sizeof(pol->name), "%s", ref_name ? ref_name : "the reference");
	if (!runtime_name)
		runtime_name = "the runtime policy";
	pol->ref = pol->runtime = NULL;
	pcr_banks_init(&pol->ref_pcrs);
	pol->ref_events = (struct predicted_events){0};
	if (ref) {
		if ((rc = json_parse_doc(ref, ref_len, pol->name, &pol->ref)) < 0)
			return rc;
		rc = pcr_values_from_json_object(pol->ref, pol->name, &pol->ref_pcrs);
		if (rc == 0)
			rc = predicted_events_from_json(pol->ref, pol->name, &pol->ref_events);
		if (rc == 0)
			rc = file_digests_check(pol->ref, pol->name, false);
		if (rc < 0)
			goto fail;
	}
	if (runtime) {
		rc = json_parse_doc(runtime, runtime_len, runtime_name, &pol->runtime);
		if (rc == 0)
			rc = file_digests_check(pol->runtime, runtime_name, true);
		if (rc < 0)
			goto fail;
	}
	policy_id(pol, ref ? ref : "", ref ? ref_len : 0, runtime ? runtime : "",
		  runtime ? runtime_len : 0);
	return 0;
fail:
	verify_policy_free(pol);
	return rc;
}

int verify_policy_load_files(struct verify_policy *pol, const char *ref_path,
			     const char *runtime_path)
{
	_cleanup_free_ uint8_t *ref = NULL, *rt = NULL;
	size_t ref_len = 0, rt_len = 0;
	int rc;

	if (ref_path && (rc = file_read_all(ref_path, 256u << 20, &ref, &ref_len)) < 0)
		return rc;
	if (runtime_path && (rc = file_read_all(runtime_path, 256u << 20, &rt, &rt_len)) < 0)
		return rc;
	return verify_policy_load(pol, ref_path, (char *)ref, ref_len, runtime_path, (char *)rt,
				  rt_len);
}

void verify_policy_free(struct verify_policy *pol)
{
	predicted_events_free(&pol->ref_events);
	json_object_put(pol->ref);
	json_object_put(pol->runtime);
	pol->ref = pol->runtime = NULL;
}

/* What to ask a device to quote: @base (or the policy's --pcrs) and every PCR the reference predicts. */
int verify_policy_selection(const struct verify_policy *pol, const char *base,
			    struct pcr_selection *ret)
{
	int rc;

	if (pol && pol->has_pcrs)
		*ret = pol->pcrs;
	else if ((rc = pcr_selection_parse(base, ret)) < 0)
		return rc;
	for (unsigned b = 0; pol && b < pol->ref_pcrs.count; b++)
		if ((rc = pcr_selection_add(ret, pol->ref_pcrs.bank[b].alg,
					    pol->ref_pcrs.bank[b].extended)) < 0)
			return rc;
	return 0;
}
