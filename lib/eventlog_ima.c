// SPDX-License-Identifier: MIT
/*
 * IMA binary measurement list reader and replay.
 *
 * Entry: u32 pcr, 20-byte SHA-1 template hash, u32 name_len, name,
 * [u32 template_data_len (all but 'ima')], template data.  Template data is a
 * sequence of u32-length-prefixed fields, except for the original 'ima'
 * template: a bare 20-byte digest, then u32 len + name without NUL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "eventlog_ima.h"
#include "reader.h"

#define SHA1_LEN 20

/* The kernel's built-in templates (ima_template.c); custom ones are named by their format. */
static const struct {
	const char *name, *fmt;
} builtin_templates[] = {
	{"ima-ng", "d-ng|n-ng"},
	{"ima-ngv2", "d-ngv2|n-ng"},
	{"ima-sig", "d-ng|n-ng|sig"},
	{"ima-sigv2", "d-ngv2|n-ng|sig"},
	{"ima-buf", "d-ng|n-ng|buf"},
	{"ima-modsig", "d-ng|n-ng|sig|d-modsig|modsig"},
	{"evm-sig", "d-ng|n-ng|evmsig|xattrnames|xattrlengths|xattrvalues|iuid|igid|imode"},
};

/* The template fields the kernel defines (ima_template.c supported_fields). */
static const char *const known_fields[] = {
	"d",   "n",	 "d-ng", "d-ngv2", "n-ng",  "sig",	  "d-modsig",	  "modsig",
	"buf", "evmsig", "iuid", "igid",   "imode", "xattrnames", "xattrlengths", "xattrvalues",
};

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The 'ima' template: raw SHA-1 file digest, then u32 len + name (no NUL). */
static int parse_ima_template(struct reader *r, struct ima_event *ev)
{
	size_t start = r->off;
	const uint8_t *digest, *name;
	uint32_t name_len;
	int rc;

	if ((rc = reader_bytes(r, "'ima' file digest", SHA1_LEN, &digest)) < 0 ||
	    (rc = reader_le32(r, "'ima' name length", &name_len)) < 0)
		return rc;
	if (name_len >= IMA_EVENT_NAME_PAD)
		return reader_fail(r, r->off - 4, "'ima' template name of %u bytes (max %d)",
				   name_len, IMA_EVENT_NAME_PAD - 1);
	if ((rc = reader_bytes(r, "'ima' name", name_len, &name)) < 0)
		return rc;
	ev->template_data = r->data + start;
	ev->template_data_len = (uint32_t)(r->off - start);
	ev->n_fields = 2;
	ev->field[0] = (struct ima_field){digest, SHA1_LEN};
	ev->field[1] = (struct ima_field){name, name_len};
	strcpy(ev->digest_alg, "sha1");
	ev->file_digest = digest;
	ev->file_digest_len = SHA1_LEN;
	ev->path = (const char *)name;
	ev->path_len = name_len;
	return 0;
}

/* Splits template data into its u32-length-prefixed fields. */
static int split_fields(struct reader *r, struct ima_event *ev)
{
	struct reader fr;
	int rc;

	reader_init(&fr, r->data, (size_t)(ev->template_data - r->data) + ev->template_data_len,
		    r->what);
	fr.off = (size_t)(ev->template_data - r->data);
	while (reader_left(&fr)) {
		struct ima_field *f;

		if (ev->n_fields == IMA_MAX_FIELDS)
			return reader_fail(&fr, fr.off, "more than %d template fields",
					   IMA_MAX_FIELDS);
		f = &ev->field[ev->n_fields];
		if ((rc = reader_le32(&fr, "template field length", &f->len)) < 0 ||
		    (rc = reader_bytes(&fr, "template field", f->len, &f->data)) < 0)
			return rc;
		ev->n_fields++;
	}
	return 0;
}

/* d-ng / d-ngv2: "[type:]alg:" NUL digest. */
static int decode_digest_field(const struct reader *r, struct ima_event *ev,
			       const struct ima_field *f)
{
	const uint8_t *nul = memchr(f->data, '\0', f->len);
	size_t prefix;

	if (!nul || nul == f->data || nul[-1] != ':')
		return reader_fail(r, (size_t)(f->data - r->data),
				   "digest field lacks its \"alg:\" prefix");
	prefix = (size_t)(nul - f->data) - 1; /* without the ':' */
	if (prefix >= sizeof(ev->digest_alg))
		return reader_fail(r, (size_t)(f->data - r->data),
				   "digest algorithm name too long");
	memcpy(ev->digest_alg, f->data, prefix);
	ev->digest_alg[prefix] = '\0';
	/* d-ngv2: "ima:sha256" / "verity:sha256" -- the algorithm is after the type */
	char *type_end = strchr(ev->digest_alg, ':');

	if (type_end)
		memmove(ev->digest_alg, type_end + 1, strlen(type_end + 1) + 1);
	ev->file_digest = nul + 1;
	ev->file_digest_len = f->len - (uint32_t)(nul + 1 - f->data);
	return 0;
}

/* The format of @name: a built-in template's, or the name itself when it is a field list. */
static const char *template_format(const char *name)
{
	for (size_t t = 0; t < sizeof(builtin_templates) / sizeof(builtin_templates[0]); t++)
		if (strcmp(name, builtin_templates[t].name) == 0)
			return builtin_templates[t].fmt;
	for (const char *p = name; *p;) {
		size_t n = strcspn(p, "|");
		bool known = false;

		for (size_t f = 0; f < sizeof(known_fields) / sizeof(known_fields[0]); f++)
			known |=
				strlen(known_fields[f]) == n && strncmp(p, known_fields[f], n) == 0;
		if (!known)
			return NULL; /* not a field list: replayed, not decoded */
		p += n + (p[n] == '|');
	}
	return name;
}

static void decode_name(struct ima_event *ev, const struct ima_field *f)
{
	ev->path = (const char *)f->data;
	ev->path_len = f->len;
	if (ev->path_len && f->data[f->len - 1] == '\0')
		ev->path_len--; /* n-ng stores the NUL */
}

/* Names the fields of @ev from its template's format, field by field. */
static int decode_fields(const struct reader *r, struct ima_event *ev)
{
	const char *fmt = template_format(ev->template_name), *p = fmt;
	unsigned n = 0;
	int rc;

	if (!fmt)
		return 0;
	for (const char *q = fmt; *q; q++)
		n += *q == '|';
	if (ev->n_fields != n + 1)
		return reader_fail(r, ev->offset, "template %s with %u fields, expected %u",
				   ev->template_name, ev->n_fields, n + 1);
	for (unsigned i = 0; i < ev->n_fields; i++) {
		size_t len = strcspn(p, "|");
		const struct ima_field *f = &ev->field[i];

		if ((len == 4 && strncmp(p, "d-ng", 4) == 0) ||
		    (len == 6 && strncmp(p, "d-ngv2", 6) == 0)) {
			if ((rc = decode_digest_field(r, ev, f)) < 0)
				return rc;
		} else if (len == 1 && *p == 'd' && f->len == SHA1_LEN) {
			strcpy(ev->digest_alg, "sha1");
			ev->file_digest = f->data;
			ev->file_digest_len = f->len;
		} else if ((len == 4 && strncmp(p, "n-ng", 4) == 0) || (len == 1 && *p == 'n')) {
			decode_name(ev, f);
		} else if (len == 3 && strncmp(p, "sig", 3) == 0) {
			ev->sig = *f;
		} else if (len == 3 && strncmp(p, "buf", 3) == 0) {
			ev->buf = *f;
		}
		p += len + 1;
	}
	return 0;
}

static int parse_event(struct reader *r, const struct hash_alg *template_alg, struct ima_event *ev)
{
	const uint8_t *hash, *name;
	uint32_t name_len;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->offset = r->off;
	if ((rc = reader_le32(r, "PCR index", &ev->pcr)) < 0 ||
	    (rc = reader_bytes(r, "template hash", template_alg->size, &hash)) < 0 ||
	    (rc = reader_le32(r, "template name length", &name_len)) < 0)
		return rc;
	if (name_len == 0 || name_len > IMA_TEMPLATE_NAME_MAX)
		return reader_fail(r, r->off - 4, "template name length %u (1-%d)", name_len,
				   IMA_TEMPLATE_NAME_MAX);
	if ((rc = reader_bytes(r, "template name", name_len, &name)) < 0)
		return rc;
	if (memchr(name, '\0', name_len))
		return reader_fail(r, r->off - name_len, "template name contains a NUL byte");
	memcpy(ev->template_hash, hash, template_alg->size);
	memcpy(ev->template_name, name, name_len);
	ev->template_name[name_len] = '\0';
	ev->violation = is_zero(hash, template_alg->size);
	if (ev->pcr >= PCR_COUNT)
		return reader_fail(r, ev->offset, "PCR index %u beyond %d", ev->pcr, PCR_COUNT - 1);

	if (strcmp(ev->template_name, "ima") == 0)
		return parse_ima_template(r, ev);

	if ((rc = reader_le32(r, "template data length", &ev->template_data_len)) < 0 ||
	    (rc = reader_bytes(r, "template data", ev->template_data_len, &ev->template_data)) < 0)
		return rc;
	if ((rc = split_fields(r, ev)) < 0)
		return rc;
	return decode_fields(r, ev);
}

static int parse_list(const uint8_t *buf, size_t len, const char *what,
		      const struct hash_alg *template_alg, struct ima_list *ret)
{
	struct ima_list list = {.template_alg = template_alg};
	struct reader r;
	size_t cap = 0;
	int rc;

	reader_init(&r, buf, len, what);
	while (reader_left(&r)) {
		rc = array_grow((void **)&list.event, &cap, list.n_events, sizeof(*list.event),
				256);
		if (rc < 0)
			goto fail;
		rc = parse_event(&r, template_alg, &list.event[list.n_events]);
		if (rc < 0)
			goto fail;
		list.n_events++;
	}
	*ret = list;
	return 0;
fail:
	free(list.event);
	return rc;
}

/* The file name the kernel gives a list of @alg's template hashes. */
static const char *list_file(const struct hash_alg *alg, char *buf, size_t size)
{
	snprintf(buf, size, "binary_runtime_measurements%s%s",
		 alg->tpm_alg == TPM_ALG_SHA1 ? "" : "_",
		 alg->tpm_alg == TPM_ALG_SHA1 ? "" : alg->name);
	return buf;
}

int ima_list_parse_as(const uint8_t *buf, size_t len, const char *what,
		      const struct hash_alg *template_alg, struct ima_list *ret)
{
	static const uint16_t others[] = {TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384,
					  TPM_ALG_SHA512};
	int rc = parse_list(buf, len, what, template_alg, ret);
	char cause[512];

	if (rc == 0)
		return 0;
	snprintf(cause, sizeof(cause), "%s", err_msg()); /* the tries below overwrite it */
	/* the wrong form: say which form it is (the first entry decides little) */
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		const struct hash_alg *alg = hash_alg_by_id(others[i]);
		struct ima_list other;
		char want[64], have[64];

		if (!alg || alg == template_alg || parse_list(buf, len, what, alg, &other) < 0)
			continue;
		ima_list_free(&other);
		return err_set(
			-EBADMSG,
			"%s: not a list of %zu-byte template hashes (%s) but of %zu-byte ones "
			"(%s, a %s list): read it as that",
			what, template_alg->size, list_file(template_alg, want, sizeof(want)),
			alg->size, list_file(alg, have, sizeof(have)), alg->name);
	}
	return err_set(rc, "%s", cause);
}

int ima_list_parse(const uint8_t *buf, size_t len, const char *what, struct ima_list *ret)
{
	return ima_list_parse_as(buf, len, what, hash_alg_by_id(TPM_ALG_SHA1), ret);
}

void ima_list_free(struct ima_list *list)
{
	free(list->event);
	list->event = NULL;
	list->n_events = 0;
}

int ima_event_template_hash(const struct ima_event *ev, const struct hash_alg *alg, uint8_t *out)
{
	uint8_t padded[IMA_EVENT_NAME_PAD] = {0};
	struct digest_ctx ctx;
	int rc;

	if (strcmp(ev->template_name, "ima") != 0)
		return digest_buf(alg, ev->template_data, ev->template_data_len, out);
	/* 'ima': H(digest || name zero-padded to 256 bytes), no length fields */
	memcpy(padded, ev->field[1].data, ev->field[1].len);
	rc = digest_init(&ctx, alg);
	if (rc < 0)
		return rc;
	if ((rc = digest_update(&ctx, ev->field[0].data, ev->field[0].len)) < 0 ||
	    (rc = digest_update(&ctx, padded, sizeof(padded))) < 0) {
		digest_free(&ctx);
		return rc;
	}
	return digest_final(&ctx, out);
}

static int replay_event(const struct ima_list *list, const struct ima_event *ev,
			struct pcr_banks *banks, const struct ima_replay_opts *opts)
{
	const struct hash_alg *sha1 = hash_alg_by_id(TPM_ALG_SHA1), *logged = list->template_alg;
	uint8_t check[DIGEST_MAX];
	int rc;

	if (!ev->violation) {
		if ((rc = ima_event_template_hash(ev, logged, check)) < 0)
			return rc;
		if (memcmp(check, ev->template_hash, logged->size) != 0)
			return err_set(-EBADMSG,
				       "IMA entry at offset %zu: template hash does not match its "
				       "template data",
				       ev->offset);
	}
	for (unsigned b = 0; b < banks->count; b++) {
		struct pcr_bank *bank = &banks->bank[b];
		uint8_t value[DIGEST_MAX] = {0};

		if (ev->violation)
			memset(value, 0xff, bank->alg->size);
		else if (bank->alg == logged)
			memcpy(value, ev->template_hash, logged->size);
		else if (opts->sha1_padded && logged == sha1)
			memcpy(value, ev->template_hash, SHA1_LEN);
		else if ((rc = ima_event_template_hash(ev, bank->alg, value)) < 0)
			return rc;
		rc = pcr_bank_extend(bank, ev->pcr, value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ima_list_replay(const struct ima_list *list, size_t from, struct pcr_banks *banks,
		    const struct ima_replay_opts *opts)
{
	static const struct ima_replay_opts defaults;

	if (!opts)
		opts = &defaults;
	for (size_t i = from; i < list->n_events; i++) {
		int rc = replay_event(list, &list->event[i], banks, opts);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int ima_boot_aggregate(const struct pcr_bank *pcrs, uint8_t *out)
{
	struct digest_ctx ctx;
	unsigned last;
	int rc;

	if (!pcrs)
		return err_set(-EINVAL, "no PCR values for boot_aggregate");
	last = pcrs->alg->tpm_alg == TPM_ALG_SHA1 ? 7 : 9;
	if ((rc = digest_init(&ctx, pcrs->alg)) < 0)
		return rc;
	for (unsigned i = 0; i <= last && rc == 0; i++)
		rc = digest_update(&ctx, pcrs->value[i], pcrs->alg->size);
	if (rc < 0) {
		digest_free(&ctx);
		return rc;
	}
	return digest_final(&ctx, out);
}
