// SPDX-License-Identifier: MIT
/*
 * pcrpredict tboot: tboot's own events (policy digest, module measurements),
 * the MLE hash, and -- with a platform profile for the SINIT ACM's events --
 * PCR 17 and 18 under the DA mapping.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "jsonw.h"
#include "pcrpredict.h"
#include "tboot.h"

#define MAX_MODULES	    16
#define MAX_EVENTS	    64
#define FILE_MAX	    (256u << 20)
#define EVTYPE_TXT_MLE_HASH 0x404

struct module_arg {
	const char *path;
	const char *cmdline;
};

struct tboot_args {
	const char *tboot, *tboot_cmdline, *policy, *platform, *extpol;
	unsigned n_modules;
	struct module_arg module[MAX_MODULES];
};

struct event {
	unsigned pcr;
	uint32_t type;
	const char *source; /* "acm" or "tboot" */
	char what[128];
	struct alg_digest digest[PCR_BANKS_MAX]; /* one per predicted bank, in bank order */
};

struct prediction {
	unsigned n_banks;
	const struct hash_alg *bank[PCR_BANKS_MAX];
	uint8_t mle[PCR_BANKS_MAX][DIGEST_MAX];
	unsigned n_events;
	struct event event[MAX_EVENTS];
	bool have_platform, platform_had_mle;
	struct pcr_banks pcrs;
};

static int parse_args(int argc, char **argv, struct tboot_args *a)
{
	static const struct option longopts[] = {
		{"tboot", required_argument, NULL, 't'},
		{"tboot-cmdline", required_argument, NULL, 'T'},
		{"module", required_argument, NULL, 'm'},
		{"cmdline", required_argument, NULL, 'c'},
		{"policy", required_argument, NULL, 'p'},
		{"platform", required_argument, NULL, 'P'},
		{"extpol", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	int c;

	a->tboot_cmdline = "";
	a->extpol = "sha256";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			a->tboot = optarg;
			break;
		case 'T':
			a->tboot_cmdline = optarg;
			break;
		case 'm':
			if (a->n_modules == MAX_MODULES)
				return err_set(-EINVAL, "more than %d modules", MAX_MODULES);
			a->module[a->n_modules++] = (struct module_arg){optarg, ""};
			break;
		case 'c':
			if (a->n_modules == 0)
				return err_set(-EINVAL,
					       "--cmdline belongs after the --module it is for");
			a->module[a->n_modules - 1].cmdline = optarg;
			break;
		case 'p':
			a->policy = optarg;
			break;
		case 'P':
			a->platform = optarg;
			break;
		case 'e':
			if (strcmp(optarg, "sha256") && strcmp(optarg, "agile") &&
			    strcmp(optarg, "embedded"))
				return err_set(-EINVAL,
					       "--extpol must be sha256, agile or embedded");
			a->extpol = optarg;
			break;
		default:
			return err_set(-EINVAL, "unknown option");
		}
	}
	if (!a->tboot || optind != argc)
		return err_set(-EINVAL,
			       "needs --tboot FILE (and --module FILE [--cmdline STR] ...)");
	if (a->n_modules == 0)
		return err_set(-EINVAL, "needs at least one --module (the kernel)");
	return 0;
}

static struct event *add_event(struct prediction *p, unsigned pcr, uint32_t type,
			       const char *source)
{
	struct event *ev;

	if (p->n_events == MAX_EVENTS) {
		err_set(-E2BIG, "more than %d events", MAX_EVENTS);
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
static int add_acm_event(struct prediction *p, unsigned pcr, uint32_t type,
			 const struct alg_digest *given, unsigned n_given, const char *what)
{
	struct event *ev;

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
				struct prediction *p)
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
				   struct prediction *p)
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

static int profile_from_json(const char *text, const char *what, struct prediction *p)
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

static int load_platform(const char *path, struct prediction *p)
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

static int add_tboot_events(const struct tboot_args *a, const uint8_t *policy, size_t policy_len,
			    const struct tboot_policy *pol, struct prediction *p)
{
	struct event *ev17 = add_event(p, TBOOT_PCR_DETAILS, EV_TBOOT_MEASUREMENT, "tboot");
	struct event *ev18 = add_event(p, TBOOT_PCR_AUTHORITIES, EV_TBOOT_MEASUREMENT, "tboot");
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
		struct event *ev =
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

static int predict(const struct tboot_args *a, const struct pp_opts *opts, struct prediction *p)
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
		p->n_banks = opts->n_banks;
		memcpy(p->bank, opts->banks, sizeof(p->bank));
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

static void print_text(const struct tboot_args *a, const struct prediction *p)
{
	char hex[2 * DIGEST_MAX + 1];

	printf("tboot %s, command line \"%s\", extpol=%s\n", a->tboot, a->tboot_cmdline, a->extpol);
	for (unsigned b = 0; b < p->n_banks; b++) {
		hex_encode(p->mle[b], p->bank[b]->size, hex);
		printf("  MLE hash %-7s %s\n", p->bank[b]->name, hex);
	}
	printf("events:\n");
	for (unsigned e = 0; e < p->n_events; e++) {
		const struct event *ev = &p->event[e];

		printf("  PCR %u  0x%03x  %-5s %s\n", ev->pcr, ev->type, ev->source, ev->what);
		for (unsigned b = 0; b < p->n_banks; b++) {
			hex_encode(ev->digest[b].value, p->bank[b]->size, hex);
			printf("      %-7s %s\n", p->bank[b]->name, hex);
		}
	}
	if (!p->have_platform) {
		printf("PCR 17/18: these are tboot's contributions only; the full values need the "
		       "SINIT ACM's events (--platform PROFILE.json or a reference TXT log)\n");
		return;
	}
	for (unsigned b = 0; b < p->n_banks; b++)
		for (unsigned pcr = TBOOT_PCR_DETAILS; pcr <= TBOOT_PCR_AUTHORITIES; pcr++) {
			hex_encode(p->pcrs.bank[b].value[pcr], p->bank[b]->size, hex);
			printf("%-7s PCR %u: %s\n", p->bank[b]->name, pcr, hex);
		}
}

static void print_json(const struct tboot_args *a, const struct prediction *p)
{
	struct jw j;

	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "extpol");
	jw_string(&j, a->extpol);
	jw_key(&j, "mle_hash");
	jw_object_begin(&j);
	for (unsigned b = 0; b < p->n_banks; b++) {
		jw_key(&j, p->bank[b]->name);
		jw_hex(&j, p->mle[b], p->bank[b]->size);
	}
	jw_object_end(&j);
	jw_key(&j, "events");
	jw_array_begin(&j);
	for (unsigned e = 0; e < p->n_events; e++) {
		const struct event *ev = &p->event[e];

		jw_object_begin(&j);
		jw_key(&j, "pcr");
		jw_uint(&j, ev->pcr);
		jw_key(&j, "type");
		jw_uint(&j, ev->type);
		jw_key(&j, "source");
		jw_string(&j, ev->source);
		jw_key(&j, "what");
		jw_string(&j, ev->what);
		jw_key(&j, "digests");
		jw_object_begin(&j);
		for (unsigned b = 0; b < p->n_banks; b++) {
			jw_key(&j, p->bank[b]->name);
			jw_hex(&j, ev->digest[b].value, p->bank[b]->size);
		}
		jw_object_end(&j);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_key(&j, "complete");
	jw_bool(&j, p->have_platform);
	if (p->have_platform) {
		jw_key(&j, "pcrs");
		pcr_banks_json(&j, &p->pcrs, 1u << 17 | 1u << 18, false);
	}
	jw_object_end(&j);
	jw_finish(&j);
}

int pp_tboot_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct tboot_args a = {0};
	struct prediction *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return err_set(-ENOMEM, "out of memory"), pp_fail("tboot");
	rc = parse_args(argc, argv, &a);
	if (rc == 0)
		rc = predict(&a, opts, p);
	if (rc == 0 && opts->json)
		print_json(&a, p);
	else if (rc == 0)
		print_text(&a, p);
	free(p);
	return rc < 0 ? pp_fail("tboot") : PP_EXIT_OK;
}
