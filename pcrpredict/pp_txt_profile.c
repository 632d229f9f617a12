// SPDX-License-Identifier: MIT
/*
 * pcrpredict txt-profile: a platform profile for `pcrpredict tboot --platform`
 * from what an operator can get on a real TXT machine (a DRTM log, a TXT
 * heap image, txt-stat's text, an Intel SecL host manifest).  Only the
 * SINIT ACM's events are kept; what is left out, and why, is said: the MLE
 * hash and tboot's own events are computed from the artifacts, PCR 255
 * events extend nothing.  --log writes every event as a DRTM log.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog_tcg.h"
#include "err.h"
#include "fileio.h"
#include "jsonw.h"
#include "mem.h"
#include "pcrpredict.h"
#include "txt_events.h"

#define SOURCE_MAX	    (64u << 20)
#define EVTYPE_TXT_MLE_HASH 0x404

static const char *const source_name[] = {
	[TXT_SRC_LOG] = "drtm-log",
	[TXT_SRC_HEAP] = "txt-heap",
	[TXT_SRC_TXT_STAT] = "txt-stat",
	[TXT_SRC_SECL] = "secl-manifest",
};

/* Why an event is not in the profile, or NULL when it is a SINIT/ACM event kept. */
static const char *left_out_why(const struct txt_ev *ev)
{
	if (ev->pcr == TXT_PCR_INFO)
		return "informational (PCR 255): extended nowhere";
	if (ev->type == EV_TBOOT_MEASUREMENT)
		return "tboot's own event: pcrpredict tboot computes it from the launch policy and "
		       "the modules";
	if (ev->pcr != 17 && ev->pcr != 18)
		return "not PCR 17 or 18: the SINIT ACM extends only those under the DA mapping";
	if (ev->type < 0x400 || ev->type > 0x4ff)
		return "not a TXT (SINIT ACM) event type";
	return NULL;
}

static bool has_alg(const struct txt_ev *ev, const struct hash_alg *alg)
{
	for (unsigned d = 0; d < ev->n_digests; d++)
		if (ev->digest[d].alg == alg)
			return true;
	return false;
}

/* Every bank some event of the source has a digest in. */
static unsigned source_banks(const struct txt_events *e, const struct hash_alg **out)
{
	unsigned n = 0;

	for (size_t i = 0; i < e->n; i++)
		for (unsigned d = 0; d < e->ev[i].n_digests; d++) {
			unsigned k;

			for (k = 0; k < n && out[k] != e->ev[i].digest[d].alg; k++)
				;
			if (k == n && n < PCR_BANKS_MAX)
				out[n++] = e->ev[i].digest[d].alg;
		}
	return n;
}

static void event_head(struct jw *j, const struct txt_ev *ev)
{
	char type[16];

	snprintf(type, sizeof(type), "0x%x", ev->type);
	jw_key(j, "pcr");
	jw_uint(j, ev->pcr);
	jw_key(j, "type");
	jw_string(j, type);
	jw_key(j, "name");
	jw_string(j, ev->label);
}

static void print_profile(FILE *out, const struct txt_events *e, const char *src)
{
	const struct hash_alg *banks[PCR_BANKS_MAX];
	unsigned n_banks = source_banks(e, banks);
	size_t kept = 0, tboot = 0, other = 0;
	struct jw j;

	jw_init(&j, out);
	jw_object_begin(&j);
	jw_key(&j, "profile");
	jw_string(&j, "txt-platform");
	jw_key(&j, "source");
	jw_string(&j, src);
	jw_key(&j, "source_kind");
	jw_string(&j, source_name[e->source]);
	jw_key(&j, "events");
	jw_array_begin(&j);
	for (size_t i = 0; i < e->n; i++) {
		const struct txt_ev *ev = &e->ev[i];

		if (left_out_why(ev))
			continue;
		kept++;
		jw_object_begin(&j);
		event_head(&j, ev);
		if (ev->type == EVTYPE_TXT_MLE_HASH) {
			jw_key(&j, "computed");
			jw_string(&j, "by pcrpredict tboot from tboot.gz and its command line");
		} else {
			jw_key(&j, "digests");
			jw_object_begin(&j);
			for (unsigned d = 0; d < ev->n_digests; d++) {
				jw_key(&j, ev->digest[d].alg->name);
				jw_hex(&j, ev->digest[d].value, ev->digest[d].alg->size);
			}
			jw_object_end(&j);
		}
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_key(&j, "left_out");
	jw_array_begin(&j);
	for (size_t i = 0; i < e->n; i++) {
		const char *why = left_out_why(&e->ev[i]);

		if (!why)
			continue;
		e->ev[i].type == EV_TBOOT_MEASUREMENT ? tboot++ : other++;
		jw_object_begin(&j);
		event_head(&j, &e->ev[i]);
		jw_key(&j, "why");
		jw_string(&j, why);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	/* a bank an ACM event has no digest in: said, not guessed */
	jw_key(&j, "missing");
	jw_array_begin(&j);
	for (size_t i = 0; i < e->n; i++)
		for (unsigned b = 0; b < n_banks; b++) {
			const struct txt_ev *ev = &e->ev[i];

			if (left_out_why(ev) || ev->type == EVTYPE_TXT_MLE_HASH ||
			    has_alg(ev, banks[b]))
				continue;
			jw_object_begin(&j);
			event_head(&j, ev);
			jw_key(&j, "bank");
			jw_string(&j, banks[b]->name);
			jw_object_end(&j);
			fprintf(stderr,
				"pcrpredict txt-profile: %s has no %s digest for PCR %u %s: that "
				"bank cannot be predicted from this source\n",
				src, banks[b]->name, ev->pcr, ev->label);
		}
	jw_array_end(&j);
	jw_object_end(&j);
	jw_finish(&j);
	fprintf(stderr,
		"pcrpredict txt-profile: %zu SINIT/ACM events kept (MLE_HASH by its place only: "
		"pcrpredict tboot computes it); left out: %zu of tboot's (computed from the "
		"artifacts), %zu others\n",
		kept, tboot, other);
	for (size_t i = 0; i < e->n; i++)
		if (e->ev[i].type == EV_TBOOT_MEASUREMENT)
			for (unsigned b = 0; b < n_banks; b++)
				if (!has_alg(&e->ev[i], banks[b]))
					fprintf(stderr,
						"pcrpredict txt-profile: tboot's %s (PCR %u) has "
						"no "
						"%s digest in %s: tboot extended only the banks it "
						"lists (extpol)\n",
						e->ev[i].label, e->ev[i].pcr, banks[b]->name, src);
}

/* Every event as a crypto-agile DRTM log: the source's banks in the header. */
static int write_log(const char *path, const struct txt_events *e)
{
	const struct hash_alg *banks[PCR_BANKS_MAX];
	unsigned n_banks = source_banks(e, banks);
	size_t cap = 128 + e->n * (12 + PCR_BANKS_MAX * (2 + DIGEST_MAX) + 4), off;
	_cleanup_free_ uint8_t *log = calloc(1, cap);

	if (!log)
		return err_set(-ENOMEM, "out of memory");
#define PUT32(p, v)                                                                              \
	do {                                                                                     \
		uint32_t v_ = (v);                                                               \
		(p)[0] = (uint8_t)v_, (p)[1] = (uint8_t)(v_ >> 8), (p)[2] = (uint8_t)(v_ >> 16), \
		(p)[3] = (uint8_t)(v_ >> 24);                                                    \
	} while (0)
	PUT32(log + 4, EV_NO_ACTION);
	PUT32(log + 28, 16 + 4 + 4 + 4 + 4 * n_banks + 1); /* TCG_EfiSpecIdEvent */
	memcpy(log + 32, "Spec ID Event03", 16);
	log[32 + 21] = 2;
	log[32 + 23] = 2;
	PUT32(log + 32 + 24, n_banks);
	off = 32 + 28;
	for (unsigned b = 0; b < n_banks; b++) {
		log[off] = (uint8_t)banks[b]->tpm_alg;
		log[off + 1] = (uint8_t)(banks[b]->tpm_alg >> 8);
		log[off + 2] = (uint8_t)banks[b]->size;
		log[off + 3] = 0;
		off += 4;
	}
	log[off++] = 0; /* vendor info */
	for (size_t i = 0; i < e->n; i++) {
		const struct txt_ev *ev = &e->ev[i];

		PUT32(log + off, ev->pcr);
		PUT32(log + off + 4, ev->type);
		PUT32(log + off + 8, ev->n_digests);
		off += 12;
		for (unsigned d = 0; d < ev->n_digests; d++) {
			log[off] = (uint8_t)ev->digest[d].alg->tpm_alg;
			log[off + 1] = (uint8_t)(ev->digest[d].alg->tpm_alg >> 8);
			memcpy(log + off + 2, ev->digest[d].value, ev->digest[d].alg->size);
			off += 2 + ev->digest[d].alg->size;
		}
		PUT32(log + off, 0);
		off += 4;
	}
#undef PUT32
	return file_write_atomic(path, log, off, 0644);
}

int pp_txt_profile_run(int argc, char **argv, const struct pp_opts *opts)
{
	static const struct option longopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"log", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	const char *out_path = NULL, *log_path = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct txt_events *e = NULL;
	size_t len;
	int c, rc;

	(void)opts;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'o')
			out_path = optarg;
		else if (c == 'l')
			log_path = optarg;
		else
			return PP_EXIT_INPUT;
	}
	if (optind != argc - 1) {
		err_set(-EINVAL, "needs one SOURCE (DRTM log, TXT heap image, txt-stat output or "
				 "SecL host manifest)");
		return pp_fail("txt-profile");
	}
	if ((rc = file_read_all(argv[optind], SOURCE_MAX, &buf, &len)) < 0)
		return pp_fail("txt-profile");
	if (!(e = malloc(sizeof(*e)))) {
		err_set(-ENOMEM, "out of memory");
		return pp_fail("txt-profile");
	}
	rc = txt_events_read(buf, len, argv[optind], e);
	if (rc == 0 && log_path)
		rc = write_log(log_path, e);
	if (rc == 0) {
		FILE *f = out_path ? fopen(out_path, "w") : stdout;

		if (!f) {
			rc = err_set(-errno, "%s: %s", out_path, strerror(errno));
		} else {
			print_profile(f, e, argv[optind]);
			if (out_path && fclose(f) != 0)
				rc = err_set(-EIO, "writing %s", out_path);
		}
	}
	free(e);
	return rc < 0 ? pp_fail("txt-profile") : PP_EXIT_OK;
}
