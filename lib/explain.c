// SPDX-License-Identifier: MIT
/* The first event that makes a PCR differ from its prediction. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "explain.h"
#include "hex.h"
#include "mem.h"

static int add_events(struct json_object *list, const char *what, struct predicted_events *p,
		      size_t *cap)
{
	if (!json_object_is_type(list, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *v, *d;
		struct predicted_event *pe;
		int rc;

		if (!json_object_object_get_ex(e, "pcr", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    !json_object_object_get_ex(e, "digests", &d) ||
		    !json_object_is_type(d, json_type_object))
			return err_set(-EINVAL, "%s: event %zu needs \"pcr\" and \"digests\"", what,
				       i);
		if ((rc = array_grow((void **)&p->ev, cap, p->n, sizeof(*p->ev), 32)) < 0)
			return rc;
		pe = &p->ev[p->n];
		memset(pe, 0, sizeof(*pe));
		pe->pcr = (unsigned)json_object_get_int(v);
		if ((json_object_object_get_ex(e, "description", &v) ||
		     json_object_object_get_ex(e, "what", &v)) &&
		    json_object_is_type(v, json_type_string))
			snprintf(pe->description, sizeof(pe->description), "%s",
				 json_object_get_string(v));
		json_object_object_foreach(d, bank, hex)
		{
			const struct hash_alg *alg = hash_alg_by_name(bank);
			size_t len;

			if (!alg || pe->n_digests == TCG_LOG_MAX_ALGS ||
			    !json_object_is_type(hex, json_type_string) ||
			    hex_decode(json_object_get_string(hex), pe->digest[pe->n_digests].value,
				       DIGEST_MAX, &len) < 0 ||
			    len != alg->size)
				return err_set(-EINVAL, "%s: event %zu: digests.%s is not a digest",
					       what, i, bank);
			pe->digest[pe->n_digests++].alg = alg;
		}
		p->n++;
	}
	return 0;
}

int predicted_events_from_json(struct json_object *doc, const char *what,
			       struct predicted_events *ret)
{
	struct predicted_events p = {0};
	struct json_object *c, *part, *list;
	size_t cap = 0;
	int rc = 0;

	if (json_object_object_get_ex(doc, "events", &list))
		rc = add_events(list, what, &p, &cap);
	if (rc == 0 && json_object_object_get_ex(doc, "components", &c) &&
	    json_object_is_type(c, json_type_object)) {
		json_object_object_foreach(c, name, comp)
		{
			(void)name;
			part = comp;
			if (rc == 0 && json_object_object_get_ex(part, "events", &list))
				rc = add_events(list, what, &p, &cap);
		}
	}
	if (rc < 0) {
		predicted_events_free(&p);
		return rc;
	}
	*ret = p;
	return 0;
}

void predicted_events_free(struct predicted_events *p)
{
	free(p->ev);
	p->ev = NULL;
	p->n = 0;
}

static const uint8_t *digest_of(const struct alg_digest *d, unsigned n, const struct hash_alg *alg)
{
	for (unsigned i = 0; i < n; i++)
		if (d[i].alg == alg)
			return d[i].value;
	return NULL;
}

/* @n bytes of @in quoted for one line: tabs and newlines escaped, cut at 100 characters. */
static void quote(const char *in, size_t n, char *out, size_t size)
{
	size_t k = 0;

	out[k++] = '\'';
	for (size_t i = 0; i < n && k + 6 < size && i < 100; i++) {
		if (in[i] == '\n' || in[i] == '\t') {
			out[k++] = '\\';
			out[k++] = in[i] == '\n' ? 'n' : 't';
		} else {
			out[k++] = in[i];
		}
	}
	if (n > 100 && k + 4 < size)
		out[k++] = '.', out[k++] = '.';
	out[k++] = '\'';
	out[k] = '\0';
}

/* The event's data as a person reads it: text when it is text, else its first bytes in hex. */
static void data_text(const struct tcg_event *e, char *out, size_t size)
{
	size_t n = e->data_len;
	bool text = n > 0;

	while (n && e->data[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n && text; i++)
		text = (e->data[i] >= 0x20 && e->data[i] < 0x7f) || e->data[i] == '\n' ||
		       e->data[i] == '\t';
	if (!e->data_len) {
		snprintf(out, size, "no data");
	} else if (text) {
		quote((const char *)e->data, n, out, size);
	} else {
		char hex[2 * 24 + 1];
		size_t k = e->data_len < 24 ? e->data_len : 24;

		hex_encode(e->data, k, hex);
		snprintf(out, size, "data %s%s", hex, e->data_len > 24 ? ".." : "");
	}
}

int explain_pcr(const struct tcg_log *log, unsigned pcr, const struct hash_alg *alg,
		const struct predicted_events *p, char *out, size_t size)
{
	size_t li = 0, pi = 0, nth = 0;
	char want[2 * DIGEST_MAX + 1], have[2 * DIGEST_MAX + 1], data[240], desc[240];
	bool predicted = false;

	for (size_t i = 0; i < p->n; i++)
		predicted |= p->ev[i].pcr == pcr;
	if (!predicted)
		return 0;
	for (;;) {
		const struct tcg_event *e = NULL;
		const struct predicted_event *pe = NULL;
		const uint8_t *got, *exp;

		while (li < log->n_events &&
		       (log->event[li].pcr != pcr || log->event[li].type == EV_NO_ACTION))
			li++;
		while (pi < p->n && p->ev[pi].pcr != pcr)
			pi++;
		e = li < log->n_events ? &log->event[li] : NULL;
		pe = pi < p->n ? &p->ev[pi] : NULL;
		if (!e && !pe)
			return 0;
		nth++;
		if (pe)
			quote(pe->description, strlen(pe->description), desc, sizeof(desc));
		if (!e) {
			snprintf(out, size,
				 "PCR %u event %zu: predicted %s, the log ends before it", pcr, nth,
				 desc);
			return 1;
		}
		got = digest_of(e->digest, e->n_digests, alg);
		data_text(e, data, sizeof(data));
		if (got)
			hex_encode(got, alg->size, have);
		if (!pe) {
			snprintf(out, size,
				 "PCR %u event %zu %s: not predicted, the log has %s (%.16s..)",
				 pcr, nth, tcg_event_type_name(e->type), data, got ? have : "?");
			return 1;
		}
		exp = digest_of(pe->digest, pe->n_digests, alg);
		if (!got || !exp || memcmp(got, exp, alg->size) != 0) {
			if (exp)
				hex_encode(exp, alg->size, want);
			snprintf(out, size,
				 "PCR %u event %zu %s: predicted %s (%.16s..), the log has %s "
				 "(%.16s..)",
				 pcr, nth, tcg_event_type_name(e->type), desc, exp ? want : "?",
				 data, got ? have : "?");
			return 1;
		}
		li++;
		pi++;
	}
}
