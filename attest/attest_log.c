// SPDX-License-Identifier: MIT
/*
 * attest log: print the events of a TCG firmware log, a DRTM (Intel TXT)
 * log or a TXT heap image's, an IMA binary list or our CEL log, and the PCR
 * values they replay to.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "cel.h"
#include "drtm.h"
#include "err.h"
#include "eventlog_ima.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "jsonw.h"
#include "reader.h"
#include "txt_heap.h"

#define LOG_FILE_MAX (512u << 20)

enum log_format { FORMAT_AUTO, FORMAT_TCG, FORMAT_IMA, FORMAT_CEL, FORMAT_DRTM };

struct log_args {
	const char *path;
	enum log_format format;
	struct pcr_selection ima_banks;
	struct ima_replay_opts ima_opts;
	const struct hash_alg
		*ima_list; /* --ima-list: its template hash algorithm (default sha1) */
};

/* An IMA entry starts: u32 PCR (< 24), template hash, u32 name length, "ima..." */
static bool ima_entry_at(const uint8_t *buf, size_t len, size_t hash_len)
{
	size_t n = 4 + hash_len;

	return len >= n + 7 && buf[0] < PCR_COUNT && !buf[1] && !buf[2] && !buf[3] && buf[n] > 0 &&
	       !buf[n + 1] && !buf[n + 2] && !buf[n + 3] && memcmp(buf + n + 4, "ima", 3) == 0;
}

static const struct hash_alg *alg_of_size(size_t n)
{
	static const uint16_t ids[] = {TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384,
				       TPM_ALG_SHA512};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (hash_alg_by_id(ids[i]) && hash_alg_by_id(ids[i])->size == n)
			return hash_alg_by_id(ids[i]);
	return NULL;
}

/* Guesses the format from the first bytes; the parser still checks everything. */
static enum log_format detect_format(const uint8_t *buf, size_t len)
{
	if (len > 0 && buf[0] >= 0xa0 && buf[0] <= 0xbf)
		return FORMAT_CEL;			     /* a CBOR map */
	for (size_t h = 20; h <= 64; h += h == 20 ? 12 : 16) /* sha1, sha256, sha384, sha512 */
		if (ima_entry_at(buf, len, h))
			return FORMAT_IMA;
	/* a TCG log whose events are all in PCR 17-22, or a TXT heap image */
	struct tcg_log log;
	const uint8_t *p;
	size_t n;

	if (tcg_log_parse(buf, len, "log", &log) == 0) {
		bool drtm = drtm_log_looks_like(&log);

		tcg_log_free(&log);
		return drtm ? FORMAT_DRTM : FORMAT_TCG;
	}
	if (txt_heap_image_log(buf, len, "heap", &p, &n) == 0)
		return FORMAT_DRTM;
	err_clear();
	return FORMAT_TCG;
}

/* A parsed log of any format, with the banks it replays to. */
struct loaded {
	union {
		struct tcg_log tcg;
		struct ima_list ima;
		struct cel_log cel;
	};
	struct pcr_banks banks;
};

/* What differs between the formats; printing around it is shared. */
struct format_ops {
	const char *name;
	int (*load)(const uint8_t *buf, size_t len, const struct log_args *a, struct loaded *l);
	size_t (*count)(const struct loaded *l);
	void (*title)(const struct loaded *l);
	void (*event_text)(const struct loaded *l, size_t i);
	void (*event_json)(struct jw *j, const struct loaded *l, size_t i);
	void (*release)(struct loaded *l);
};

static void print_hex_line(const char *label, const uint8_t *d, size_t n)
{
	char hex[2 * DIGEST_MAX + 1];

	hex_encode(d, n, hex);
	printf("    %-7s %s\n", label, hex);
}

static void print_banks(const struct pcr_banks *banks)
{
	for (unsigned b = 0; b < banks->count; b++) {
		const struct pcr_bank *bank = &banks->bank[b];

		printf("%s:\n", bank->alg->name);
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			char hex[2 * DIGEST_MAX + 1];

			if (!(bank->extended & (1u << i)))
				continue;
			hex_encode(bank->value[i], bank->alg->size, hex);
			printf("  %2u: %s\n", i, hex);
		}
	}
}

static void json_digests(struct jw *j, const struct alg_digest *d, unsigned n)
{
	jw_key(j, "digests");
	jw_object_begin(j);
	for (unsigned i = 0; i < n; i++) {
		jw_key(j, d[i].alg->name);
		jw_hex(j, d[i].value, d[i].alg->size);
	}
	jw_object_end(j);
}

/* --- TCG --- */

static int tcg_load(const uint8_t *buf, size_t len, const struct log_args *a, struct loaded *l)
{
	int rc = tcg_log_parse(buf, len, a->path, &l->tcg);

	if (rc == 0 && (rc = tcg_log_replay(&l->tcg, &l->banks)) < 0)
		tcg_log_free(&l->tcg);
	return rc;
}

static size_t tcg_count(const struct loaded *l)
{
	return l->tcg.n_events;
}

static void tcg_title(const struct loaded *l)
{
	printf("TCG event log, %s, %zu events\n",
	       l->tcg.crypto_agile ? "crypto-agile" : "SHA-1 only", l->tcg.n_events);
}

static void tcg_event_text(const struct loaded *l, size_t i)
{
	const struct tcg_event *ev = &l->tcg.event[i];
	const char *name = tcg_event_type_name(ev->type);

	if (name)
		printf("%4zu  PCR %2u  %s", i, ev->pcr, name);
	else
		printf("%4zu  PCR %2u  0x%08x", i, ev->pcr, ev->type);
	printf("  (offset %zu, %u data bytes)\n", ev->offset, ev->data_len);
	for (unsigned d = 0; d < ev->n_digests; d++)
		print_hex_line(ev->digest[d].alg->name, ev->digest[d].value,
			       ev->digest[d].alg->size);
}

static void tcg_event_json(struct jw *j, const struct loaded *l, size_t i)
{
	const struct tcg_event *ev = &l->tcg.event[i];
	const char *name = tcg_event_type_name(ev->type);

	jw_key(j, "offset");
	jw_uint(j, ev->offset);
	jw_key(j, "pcr");
	jw_uint(j, ev->pcr);
	jw_key(j, "type");
	jw_uint(j, ev->type);
	if (name) {
		jw_key(j, "type_name");
		jw_string(j, name);
	}
	json_digests(j, ev->digest, ev->n_digests);
	jw_key(j, "data");
	jw_hex(j, ev->data, ev->data_len);
}

static void tcg_release(struct loaded *l)
{
	tcg_log_free(&l->tcg);
}

/* --- DRTM: a TCG log replayed from zero in PCR 17-22 only, or the one in a TXT heap image --- */

static int drtm_load(const uint8_t *buf, size_t len, const struct log_args *a, struct loaded *l)
{
	const uint8_t *log = buf;
	size_t log_len = len;
	int rc;

	/* a TCG log starts with PCR 0 and EV_NO_ACTION; anything else is read as a heap image */
	if (len >= 8 && (le32_at(buf) != 0 || le32_at(buf + 4) != EV_NO_ACTION) &&
	    (rc = txt_heap_image_log(buf, len, a->path, &log, &log_len)) < 0)
		return rc;
	if ((rc = tcg_log_parse(log, log_len, a->path, &l->tcg)) < 0)
		return rc;
	if ((rc = drtm_replay(&l->tcg, a->path, &l->banks)) < 0)
		tcg_log_free(&l->tcg);
	return rc;
}

static void drtm_title(const struct loaded *l)
{
	printf("DRTM (Intel TXT) event log, %zu events; PCR 17-22 replayed from zero\n",
	       l->tcg.n_events);
}

/* --- IMA --- */

static int ima_load(const uint8_t *buf, size_t len, const struct log_args *a, struct loaded *l)
{
	const struct hash_alg *alg = a->ima_list;
	int rc;

	/* without --ima-list, the layout of the first entry says which list this is */
	for (size_t h = 20; !alg && h <= 64; h += h == 20 ? 12 : 16)
		if (ima_entry_at(buf, len, h))
			alg = alg_of_size(h);
	if ((rc = ima_list_parse_as(buf, len, a->path, alg ? alg : hash_alg_by_id(TPM_ALG_SHA1),
				    &l->ima)) < 0)
		return rc;
	for (unsigned b = 0; b < a->ima_banks.count; b++)
		pcr_banks_add(&l->banks, a->ima_banks.bank[b].alg);
	if ((rc = ima_list_replay(&l->ima, 0, &l->banks, &a->ima_opts)) < 0)
		ima_list_free(&l->ima);
	return rc;
}

static size_t ima_count(const struct loaded *l)
{
	return l->ima.n_events;
}

static void ima_title(const struct loaded *l)
{
	printf("IMA measurement list, %zu entries\n", l->ima.n_events);
}

static void ima_event_text(const struct loaded *l, size_t i)
{
	const struct ima_event *ev = &l->ima.event[i];
	char hex[2 * DIGEST_MAX + 1] = "";

	if (ev->file_digest_len <= DIGEST_MAX)
		hex_encode(ev->file_digest, ev->file_digest_len, hex);
	printf("%6zu  PCR %2u  %-8s %s%s:%s %.*s\n", i, ev->pcr, ev->template_name,
	       ev->violation ? "VIOLATION " : "", ev->digest_alg, hex, (int)ev->path_len,
	       ev->path ? ev->path : "");
}

static void ima_event_json(struct jw *j, const struct loaded *l, size_t i)
{
	const struct ima_event *ev = &l->ima.event[i];

	jw_key(j, "offset");
	jw_uint(j, ev->offset);
	jw_key(j, "pcr");
	jw_uint(j, ev->pcr);
	jw_key(j, "template");
	jw_string(j, ev->template_name);
	jw_key(j, "template_hash");
	jw_hex(j, ev->template_hash, l->ima.template_alg->size);
	jw_key(j, "violation");
	jw_bool(j, ev->violation);
	if (ev->file_digest) {
		jw_key(j, "digest_alg");
		jw_string(j, ev->digest_alg);
		jw_key(j, "digest");
		jw_hex(j, ev->file_digest, ev->file_digest_len);
	}
	if (ev->path) {
		jw_key(j, "path");
		jw_string_n(j, ev->path, ev->path_len);
	}
	if (ev->sig.len) {
		jw_key(j, "sig");
		jw_hex(j, ev->sig.data, ev->sig.len);
	}
	if (ev->buf.data) {
		jw_key(j, "buf");
		jw_hex(j, ev->buf.data, ev->buf.len);
	}
}

static void ima_release(struct loaded *l)
{
	ima_list_free(&l->ima);
}

/* --- CEL --- */

static int cel_load(const uint8_t *buf, size_t len, const struct log_args *a, struct loaded *l)
{
	/* a record cut short at the end (being written, or a crash) is left out */
	int rc = cel_log_parse_tail(buf, len, a->path, &l->cel);

	if (rc == 0 && (rc = cel_log_replay(&l->cel, &l->banks)) < 0)
		cel_log_free(&l->cel);
	return rc;
}

static size_t cel_count(const struct loaded *l)
{
	return l->cel.n_records;
}

static void cel_title(const struct loaded *l)
{
	printf("CEL measurement log, %zu records", l->cel.n_records);
	if (l->cel.torn)
		printf(" (and %zu bytes of a record cut short, left out)", l->cel.torn);
	printf("\n");
}

static void cel_event_text(const struct loaded *l, size_t i)
{
	const struct cel_record *rec = &l->cel.record[i];

	printf("%4llu  PCR %2u  %s %s%s\n", (unsigned long long)rec->recnum, rec->pcr, rec->type,
	       rec->name ? rec->name : "",
	       rec->pending ? "  (pending: its extend may not have happened; not replayed)" : "");
	for (unsigned d = 0; d < rec->n_digests; d++)
		print_hex_line(rec->digest[d].alg->name, rec->digest[d].value,
			       rec->digest[d].alg->size);
}

static void cel_event_json(struct jw *j, const struct loaded *l, size_t i)
{
	const struct cel_record *rec = &l->cel.record[i];

	jw_key(j, "recnum");
	jw_uint(j, rec->recnum);
	jw_key(j, "pcr");
	jw_uint(j, rec->pcr);
	jw_key(j, "content_type");
	jw_uint(j, rec->content_type);
	if (rec->name) {
		jw_key(j, "type");
		jw_string(j, rec->type);
		jw_key(j, "name");
		jw_string(j, rec->name);
	}
	json_digests(j, rec->digest, rec->n_digests);
}

static void cel_release(struct loaded *l)
{
	cel_log_free(&l->cel);
}

static const struct format_ops formats[] = {
	[FORMAT_TCG] = {"tcg", tcg_load, tcg_count, tcg_title, tcg_event_text, tcg_event_json,
			tcg_release},
	[FORMAT_IMA] = {"ima", ima_load, ima_count, ima_title, ima_event_text, ima_event_json,
			ima_release},
	[FORMAT_CEL] = {"cel", cel_load, cel_count, cel_title, cel_event_text, cel_event_json,
			cel_release},
	[FORMAT_DRTM] = {"drtm", drtm_load, tcg_count, drtm_title, tcg_event_text, tcg_event_json,
			 tcg_release},
};

static void print_log(const struct format_ops *ops, const struct loaded *l, bool json)
{
	size_t n = ops->count(l);
	struct jw j;

	if (!json) {
		ops->title(l);
		for (size_t i = 0; i < n; i++)
			ops->event_text(l, i);
		printf("\n");
		print_banks(&l->banks);
		return;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "format");
	jw_string(&j, ops->name);
	jw_key(&j, "events");
	jw_array_begin(&j);
	for (size_t i = 0; i < n; i++) {
		jw_object_begin(&j);
		ops->event_json(&j, l, i);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_key(&j, "pcrs");
	pcr_banks_json(&j, &l->banks, ~0u, true);
	jw_object_end(&j);
	jw_finish(&j);
}

/* "sha1,sha256" -> a selection of those banks (all PCRs). */
static int parse_bank_list(const char *list, struct pcr_selection *ret)
{
	char sel[256] = "";
	char *copy = strdup(list), *save = NULL;
	int rc;

	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	for (char *b = strtok_r(copy, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
		size_t used = strlen(sel);

		snprintf(sel + used, sizeof(sel) - used, "%s%s:all", used ? "+" : "", b);
	}
	free(copy);
	rc = pcr_selection_parse(sel, ret);
	return rc < 0 ? err_wrap(rc, "--banks %s", list) : 0;
}

static int parse_args(int argc, char **argv, struct log_args *a, bool *json)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},   {"json", no_argument, NULL, 'j'},
		{"banks", required_argument, NULL, 'b'},    {"sha1-padded", no_argument, NULL, 'p'},
		{"ima-list", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0},
	};
	int c;

	if (parse_bank_list("sha1,sha256", &a->ima_banks) < 0)
		return -EINVAL;
	while ((c = getopt_long(argc, argv, "f:jb:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "tcg") == 0)
				a->format = FORMAT_TCG;
			else if (strcmp(optarg, "ima") == 0)
				a->format = FORMAT_IMA;
			else if (strcmp(optarg, "cel") == 0)
				a->format = FORMAT_CEL;
			else if (strcmp(optarg, "drtm") == 0)
				a->format = FORMAT_DRTM;
			else
				return err_set(-EINVAL,
					       "--format must be tcg, drtm, ima or cel, not \"%s\"",
					       optarg);
			break;
		case 'j':
			*json = true;
			break;
		case 'b':
			if (parse_bank_list(optarg, &a->ima_banks) < 0)
				return -EINVAL;
			break;
		case 'p':
			a->ima_opts.sha1_padded = true;
			break;
		case 'l':
			if (!(a->ima_list = hash_alg_by_name(optarg)))
				return err_set(-EINVAL, "--ima-list %s: not a hash algorithm",
					       optarg);
			break;
		default:
			return err_set(-EINVAL, "unknown option");
		}
	}
	if (optind != argc - 1)
		return err_set(-EINVAL, "expects exactly one FILE");
	a->path = argv[optind];
	return 0;
}

int attest_log_run(int argc, char **argv, const struct attest_opts *opts)
{
	struct log_args a = {0};
	struct loaded loaded = {0};
	bool json = opts->json;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if (parse_args(argc, argv, &a, &json) < 0) {
		fprintf(stderr, "attest log: %s\n", err_msg());
		return ATTEST_EXIT_USAGE;
	}
	rc = file_read_all(a.path, LOG_FILE_MAX, &buf, &len);
	if (rc == 0) {
		if (a.format == FORMAT_AUTO)
			a.format = detect_format(buf, len);
		rc = formats[a.format].load(buf, len, &a, &loaded);
		if (rc == 0) {
			print_log(&formats[a.format], &loaded, json);
			formats[a.format].release(&loaded);
		}
	}
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "attest log: %s\n", err_msg());
		return ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}
