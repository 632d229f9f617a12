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
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "eventlog_ima.h"
#include "reader.h"

#define SHA1_LEN 20

static const struct {
	const char *name;
	unsigned n_fields;
	bool has_sig, has_buf;
} known_templates[] = {
	{"ima-ng", 2, false, false}, {"ima-ngv2", 2, false, false},
	{"ima-sig", 3, true, false}, {"ima-sigv2", 3, true, false},
	{"ima-buf", 3, false, true}, {"ima-modsig", 5, true, false},
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
	ev->file_digest = nul + 1;
	ev->file_digest_len = f->len - (uint32_t)(nul + 1 - f->data);
	return 0;
}

static int decode_known_template(const struct reader *r, struct ima_event *ev)
{
	for (size_t t = 0; t < sizeof(known_templates) / sizeof(known_templates[0]); t++) {
		const struct ima_field *name;
		int rc;

		if (strcmp(ev->template_name, known_templates[t].name) != 0)
			continue;
		if (ev->n_fields != known_templates[t].n_fields)
			return reader_fail(r, ev->offset, "template %s with %u fields, expected %u",
					   ev->template_name, ev->n_fields,
					   known_templates[t].n_fields);
		rc = decode_digest_field(r, ev, &ev->field[0]);
		if (rc < 0)
			return rc;
		name = &ev->field[1];
		ev->path = (const char *)name->data;
		ev->path_len = name->len;
		if (ev->path_len && name->data[name->len - 1] == '\0')
			ev->path_len--; /* n-ng stores the NUL */
		if (known_templates[t].has_sig)
			ev->sig = ev->field[2];
		if (known_templates[t].has_buf)
			ev->buf = ev->field[2];
		return 0;
	}
	return 0; /* unknown templates are replayed but not decoded */
}

static int parse_event(struct reader *r, struct ima_event *ev)
{
	const uint8_t *hash, *name;
	uint32_t name_len;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->offset = r->off;
	if ((rc = reader_le32(r, "PCR index", &ev->pcr)) < 0 ||
	    (rc = reader_bytes(r, "template hash", SHA1_LEN, &hash)) < 0 ||
	    (rc = reader_le32(r, "template name length", &name_len)) < 0)
		return rc;
	if (name_len == 0 || name_len > IMA_TEMPLATE_NAME_MAX)
		return reader_fail(r, r->off - 4, "template name length %u (1-%d)", name_len,
				   IMA_TEMPLATE_NAME_MAX);
	if ((rc = reader_bytes(r, "template name", name_len, &name)) < 0)
		return rc;
	if (memchr(name, '\0', name_len))
		return reader_fail(r, r->off - name_len, "template name contains a NUL byte");
	memcpy(ev->template_hash, hash, SHA1_LEN);
	memcpy(ev->template_name, name, name_len);
	ev->template_name[name_len] = '\0';
	ev->violation = is_zero(hash, SHA1_LEN);
	if (ev->pcr >= PCR_COUNT)
		return reader_fail(r, ev->offset, "PCR index %u beyond %d", ev->pcr, PCR_COUNT - 1);

	if (strcmp(ev->template_name, "ima") == 0)
		return parse_ima_template(r, ev);

	if ((rc = reader_le32(r, "template data length", &ev->template_data_len)) < 0 ||
	    (rc = reader_bytes(r, "template data", ev->template_data_len, &ev->template_data)) < 0)
		return rc;
	if ((rc = split_fields(r, ev)) < 0)
		return rc;
	return decode_known_template(r, ev);
}

int ima_list_parse(const uint8_t *buf, size_t len, const char *what, struct ima_list *ret)
{
	struct ima_list list = {0};
	struct reader r;
	size_t cap = 0;
	int rc;

	reader_init(&r, buf, len, what);
	while (reader_left(&r)) {
		rc = array_grow((void **)&list.event, &cap, list.n_events, sizeof(*list.event),
				256);
		if (rc < 0)
			goto fail;
		rc = parse_event(&r, &list.event[list.n_events]);
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

static int replay_event(const struct ima_event *ev, struct pcr_banks *banks,
			const struct ima_replay_opts *opts)
{
	const struct hash_alg *sha1 = hash_alg_by_id(TPM_ALG_SHA1);
	uint8_t sha1_hash[SHA1_LEN];
	int rc;

	if (!ev->violation) {
		rc = ima_event_template_hash(ev, sha1, sha1_hash);
		if (rc < 0)
			return rc;
		if (memcmp(sha1_hash, ev->template_hash, SHA1_LEN) != 0)
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
		else if (bank->alg == sha1 || opts->sha1_padded)
			memcpy(value, sha1_hash, SHA1_LEN);
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
		int rc = replay_event(&list->event[i], banks, opts);

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
