// SPDX-License-Identifier: MIT
/* PCR 17/18 prediction for a tboot launch: profile events, MLE hash, tboot's own events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "tboot.h"
#include "tboot_predict.h"

#define FILE_MAX	    (256u << 20)
#define EVTYPE_TXT_MLE_HASH 0x404

static struct tboot_event *add_event(struct tboot_prediction *p, unsigned pcr, uint32_t type,
				     const char *source)
{
	struct tboot_event *ev;

	if (p->n_events == TBOOT_MAX_EVENTS) {
		err_set(-E2BIG, "more than %d events", TBOOT_MAX_EVENTS);
		return NULL;
	}
	ev = &p->event[p->n_events++];
	memset(ev, 0, sizeof(*ev));
	ev->pcr = pcr;
	ev->type = type;
	ev->source = source;
	for (unsigned b = 0; b < p->n_banks; b++)
		ev->digest[b].alg = p->bank[b];
	return ev;
}

/* An ACM event from the profile; 0x404 gets our MLE hash whatever the profile says. */
static int add_acm_event(struct tboot_prediction *p, unsigned pcr, uint32_t type,
			 const struct alg_digest *given, unsigned n_given, const char *what)
{
	struct tboot_event *ev;

	if (type == EV_TBOOT_MEASUREMENT || type == EV_NO_ACTION)
		return 0; /* tboot's own events are computed, not taken */
	if (pcr != TBOOT_PCR_DETAILS && pcr != TBOOT_PCR_AUTHORITIES)
		return 0;
	ev = add_event(p, pcr, type, "acm");
	if (!ev)
		return -E2BIG;
	snprintf(ev->what, sizeof(ev->what), "%s", tcg_event_type_name(type) ?: "ACM event");
	for (unsigned b = 0; b < p->n_banks; b++) {
		unsigned k;

		if (type == EVTYPE_TXT_MLE_HASH) {
			memcpy(ev->digest[b].value, p->mle[b], p->bank[b]->size);
			p->platform_had_mle = true;
			continue;
		}
		for (k = 0; k < n_given && given[k].alg != p->bank[b]; k++)
			;
		if (k == n_given)
			return err_set(-EINVAL, "%s: %s event in PCR %u has no %s digest", what,
				       ev->what, pcr, p->bank[b]->name);
		memcpy(ev->digest[b].value, given[k].value, p->bank[b]->size);
	}
	return 0;
}

static int profile_from_txt_log(const uint8_t *buf, size_t len, const char *what,
				struct tboot_prediction *p)
{
	struct tcg_log log;
	int rc = tcg_log_parse(buf, len, what, &log);

	for (size_t i = 0; rc == 0 && i < log.n_events; i++)
		rc = add_acm_event(p, log.event[i].pcr, log.event[i].type, log.event[i].digest,
				   log.event[i].n_digests, what);
	if (rc == 0 || log.event)
		tcg_log_free(&log);
	return rc;
}

static int profile_event_from_json(struct json_object *e, size_t i, const char *what,
				   struct tboot_prediction *p)
{
	struct json_object *pcr, *type, *digests;
	struct alg_digest given[PCR_BANKS_MAX];
	unsigned n = 0;
	uint32_t t;

	if (!json_object_object_get_ex(e, "pcr", &pcr) ||
	    !json_object_object_get_ex(e, "type", &type))
		return err_set(-EINVAL, "%s: event %zu needs \"pcr\" and \"type\"", what, i);
	if (json_object_is_type(type, json_type_string))
		t = (uint32_t)strtoul(json_object_get_string(type), NULL, 0);
	else
		t = (uint32_t)json_object_get_int64(type);
	if (json_object_object_get_ex(e, "digests", &digests) &&
	    json_object_is_type(digests, json_type_object)) {
		json_object_object_foreach(digests, name, val)
		{
			const struct hash_alg *alg = hash_alg_by_name(name);
			size_t len;

			if (!alg || n == PCR_BANKS_MAX ||
			    !json_object_is_type(val, json_type_string) ||
			    hex_decode(json_object_get_string(val), given[n].value, DIGEST_MAX,
				       &len) < 0 ||
			    len != alg->size)
				return err_set(-EINVAL,
					       "%s: event %zu: digests.%s is not a %s value", what,
					       i, name, alg ? alg->name : "known bank");
			given[n++].alg = alg;
		}
	}
	return add_acm_event(p, (unsigned)json_object_get_int(pcr), t, given, n, what);
}

static int profile_from_json(const char *text, const char *what, struct tboot_prediction *p)
{
	struct json_object *doc = json_tokener_parse(text), *events = doc;
	int rc = 0;

	if (!doc)
		return err_set(-EINVAL, "%s: neither a JSON platform profile nor a TXT event log",
			       what);
	if (json_object_is_type(doc, json_type_object))
		json_object_object_get_ex(doc, "events", &events);
	if (!events || !json_object_is_type(events, json_type_array)) {
		json_object_put(doc);
		return err_set(-EINVAL, "%s: expected a list of events", what);
	}
	for (size_t i = 0; i < json_object_array_length(events) && rc == 0; i++)
		rc = profile_event_from_json(json_object_array_get_idx(events, i), i, what, p);
	json_object_put(doc);
	return rc;
}

static int load_platform(const char *path, struct tboot_prediction *p)
{
	uint8_t *buf;
	size_t len;
	int rc = file_read_all(path, FILE_MAX, &buf, &len);

	if (rc < 0)
		return rc;
	if (len && (buf[0] == '{' || buf[0] == '[' || buf[0] == ' ' || buf[0] == '\n'))
		rc = profile_from_json((char *)buf, path, p);
	else
		rc = profile_from_txt_log(buf, len, path, p);
	free(buf);
	p->have_platform = rc == 0;
	return rc;
}

static int add_tboot_events(const struct tboot_inputs *a, const uint8_t *policy, size_t policy_len,
			    const struct tboot_policy *pol, struct tboot_prediction *p)
{
	struct tboot_event *ev17 = add_event(p, TBOOT_PCR_DETAILS, EV_TBOOT_MEASUREMENT, "tboot");
	struct tboot_event *ev18 =
		add_event(p, TBOOT_PCR_AUTHORITIES, EV_TBOOT_MEASUREMENT, "tboot");
	int rc = 0;

	if (!ev17 || !ev18)
		return -E2BIG;
	snprintf(ev17->what, sizeof(ev17->what), "launch policy");
	snprintf(ev18->what, sizeof(ev18->what), "launch policy");
	for (unsigned b = 0; b < p->n_banks && rc == 0; b++) {
		rc = tboot_policy_digest(policy, policy_len, p->bank[b], ev17->digest[b].value);
		memcpy(ev18->digest[b].value, ev17->digest[b].value, p->bank[b]->size);
	}
	for (unsigned m = 0; m < a->n_modules && rc == 0; m++) {
		struct tboot_event *ev =
			add_event(p, tboot_module_pcr(pol, m), EV_TBOOT_MEASUREMENT, "tboot");
		uint8_t *img;
		size_t len;

		if (!ev)
			return -E2BIG;
		snprintf(ev->what, sizeof(ev->what), "module %u: %.100s", m, a->module[m].path);
		rc = file_read_all(a->module[m].path, FILE_MAX, &img, &len);
		for (unsigned b = 0; b < p->n_banks && rc == 0; b++)
			rc = tboot_module_digest(img, len, a->module[m].cmdline, p->bank[b],
						 ev->digest[b].value);
		if (rc == 0)
			free(img);
		else if (rc != -ENOENT)
			return err_wrap(rc, "%s", a->module[m].path);
	}
	return rc;
}

int tboot_predict(const struct tboot_inputs *a, const struct hash_alg *const *banks,
		  unsigned n_banks, struct tboot_prediction *p)
{
	uint8_t *tboot = NULL, *policy_buf = NULL;
	const uint8_t *policy = tboot_default_policy;
	size_t tboot_len, policy_len = tboot_default_policy_len;
	struct tboot_policy pol;
	int rc;

	/* extpol=sha256: tboot and the ACM extend only the SHA-256 bank */
	if (strcmp(a->extpol, "sha256") == 0) {
		p->n_banks = 1;
		p->bank[0] = hash_alg_by_id(TPM_ALG_SHA256);
	} else {
		p->n_banks = n_banks;
		for (unsigned b = 0; b < n_banks; b++)
			p->bank[b] = banks[b];
	}
	if ((rc = file_read_all(a->tboot, FILE_MAX, &tboot, &tboot_len)) < 0)
		return rc;
	for (unsigned b = 0; b < p->n_banks && rc == 0; b++)
		rc = tboot_mle_hash(tboot, tboot_len, a->tboot, a->tboot_cmdline, p->bank[b],
				    p->mle[b]);
	free(tboot);
	if (rc < 0)
		return rc;
	if (a->policy) {
		if ((rc = file_read_all(a->policy, FILE_MAX, &policy_buf, &policy_len)) < 0)
			return rc;
		policy = policy_buf;
	}
	rc = tboot_policy_parse(policy, policy_len, a->policy ? a->policy : "default policy", &pol);
	if (rc == 0 && a->platform)
		rc = load_platform(a->platform, p);
	if (rc == 0 && p->have_platform && !p->platform_had_mle) {
		/* the profile left the MLE hash out: it follows the ACM's PCR 17 events */
		rc = add_acm_event(p, TBOOT_PCR_DETAILS, EVTYPE_TXT_MLE_HASH, NULL, 0, "mle");
	}
	if (rc == 0)
		rc = add_tboot_events(a, policy, policy_len, &pol, p);
	free(policy_buf);
	if (rc < 0 || !p->have_platform)
		return rc;
	pcr_banks_init(&p->pcrs);
	for (unsigned b = 0; b < p->n_banks; b++)
		pcr_banks_add(&p->pcrs, p->bank[b]); /* a measured launch resets 17-22 to zero */
	for (unsigned e = 0; e < p->n_events && rc == 0; e++)
		for (unsigned b = 0; b < p->n_banks && rc == 0; b++)
			rc = pcr_bank_extend(&p->pcrs.bank[b], p->event[e].pcr,
					     p->event[e].digest[b].value);
	return rc;
}
