// SPDX-License-Identifier: MIT
/* TXT launch events from a DRTM log, a heap image, txt-stat's text or a SecL manifest. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "eventlog_tcg.h"
#include "hex.h"
#include "reader.h"
#include "txt_events.h"
#include "txt_heap.h"

uint32_t txt_event_type_by_name(const char *name)
{
	char full[80];
	uint32_t t;

	if (strncmp(name, "EVTYPE_", 7) == 0)
		snprintf(full, sizeof(full), "%s", name);
	else
		snprintf(full, sizeof(full), "EVTYPE_TXT_%s", name);
	return tcg_event_type_by_name(full, &t) == 0 ? t : 0;
}

static struct txt_ev *add(struct txt_events *e, const char *what)
{
	if (e->n == TXT_EVENTS_MAX) {
		err_set(-E2BIG, "%s: more than %d events", what, TXT_EVENTS_MAX);
		return NULL;
	}
	memset(&e->ev[e->n], 0, sizeof(e->ev[0]));
	return &e->ev[e->n++];
}

static void name_event(struct txt_ev *ev)
{
	const char *n = tcg_event_type_name(ev->type);

	if (n && strncmp(n, "EVTYPE_TXT_", 11) == 0)
		n += 11;
	else if (n && strncmp(n, "EVTYPE_", 7) == 0)
		n += 7;
	snprintf(ev->label, sizeof(ev->label), "%s", n ? n : "");
	if (!n)
		snprintf(ev->label, sizeof(ev->label), "0x%x", ev->type);
}

int txt_events_from_log(const uint8_t *buf, size_t len, const char *what, struct txt_events *ret)
{
	struct txt_events *e = calloc(1, sizeof(*e));
	const uint8_t *log = buf;
	size_t log_len = len;
	struct tcg_log tl;
	int rc;

	if (!e)
		return err_set(-ENOMEM, "out of memory");
	e->source = TXT_SRC_LOG;
	/* a TCG log opens with PCR 0 and EV_NO_ACTION; a heap image with its base */
	if (len >= 8 && (le32_at(buf) != 0 || le32_at(buf + 4) != EV_NO_ACTION)) {
		if ((rc = txt_heap_image_log(buf, len, what, &log, &log_len)) < 0)
			goto out;
		e->source = TXT_SRC_HEAP;
	}
	if ((rc = tcg_log_parse(log, log_len, what, &tl)) < 0)
		goto out;
	for (size_t i = 0; i < tl.n_events && rc == 0; i++) {
		const struct tcg_event *te = &tl.event[i];
		struct txt_ev *ev;

		if (te->type == EV_NO_ACTION)
			continue;
		if (!(ev = add(e, what))) {
			rc = -E2BIG;
			break;
		}
		ev->pcr = te->pcr;
		ev->type = te->type;
		name_event(ev);
		for (unsigned d = 0; d < te->n_digests && d < PCR_BANKS_MAX; d++)
			ev->digest[ev->n_digests++] = te->digest[d];
	}
	tcg_log_free(&tl);
out:
	if (rc == 0)
		*ret = *e;
	free(e);
	return rc;
}

/* One line of @text from *@off, without its newline and a "TBOOT:" prefix, trimmed left. */
static bool next_line(const char *text, size_t len, size_t *off, char *out, size_t size)
{
	size_t start = *off, n;
	const char *p;

	if (start >= len)
		return false;
	p = memchr(text + start, '\n', len - start);
	n = p ? (size_t)(p - (text + start)) : len - start;
	*off = start + n + (p ? 1 : 0);
	p = text + start;
	if (n >= 6 && memcmp(p, "TBOOT:", 6) == 0)
		p += 6, n -= 6;
	while (n && isspace((unsigned char)*p))
		p++, n--;
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	if (n >= size)
		n = size - 1; /* the fields we read are short; a long line is data */
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* "ec d8 60 ..." -> bytes; the count of them, or -1 on a token that is not one hex byte. */
static int hex_bytes(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*s) {
		unsigned v;
		int used;

		if (sscanf(s, " %2x%n", &v, &used) != 1 || (s[used] && s[used] != ' '))
			return -1;
		if (n == max)
			return -1;
		out[n++] = (uint8_t)v;
		s += used;
		while (*s == ' ')
			s++;
	}
	return (int)n;
}

static const char *after(const char *line, const char *key)
{
	size_t k = strlen(key);

	if (strncmp(line, key, k) != 0)
		return NULL;
	for (line += k; *line == ' ' || *line == '\t'; line++)
		;
	return line;
}

int txt_events_from_txt_stat(const char *text, size_t len, const char *what, struct txt_events *ret)
{
	struct txt_events *e = calloc(1, sizeof(*e));
	struct txt_ev *cur = NULL;
	const struct hash_alg *want = NULL;
	bool in_log = false, has_pcr = false, has_type = false;
	unsigned line = 0, ev_line = 0;
	char l[512];
	size_t off = 0;
	int rc = 0;

	if (!e)
		return err_set(-ENOMEM, "out of memory");
	e->source = TXT_SRC_TXT_STAT;
	while (rc == 0 && next_line(text, len, &off, l, sizeof(l))) {
		const char *v;
		char *end;

		line++;
		if (strcmp(l, "TCG Event Log Header:") == 0) {
			if (in_log) /* txt-stat printed the log again: the first is the one */
				break;
			in_log = true;
			continue;
		}
		if (!in_log)
			continue;
		if (want) {
			int n = hex_bytes(l, cur->digest[cur->n_digests].value, DIGEST_MAX);

			if (n != (int)want->size) {
				rc = err_set(-EBADMSG,
					     "%s: line %u: %s digest is not %zu hex bytes", what,
					     line, want->name, want->size);
				break;
			}
			cur->digest[cur->n_digests++].alg = want;
			want = NULL;
			continue;
		}
		if (strcmp(l, "TCG Event:") == 0) {
			if (cur && (!has_pcr || !has_type)) {
				rc = err_set(-EBADMSG, "%s: line %u: event without %s", what,
					     ev_line, has_pcr ? "event_type" : "pcr_index");
				break;
			}
			if (!(cur = add(e, what))) {
				rc = -E2BIG;
				break;
			}
			has_pcr = has_type = false;
			ev_line = line;
			continue;
		}
		if (!cur)
			continue;
		if ((v = after(l, "pcr_index:"))) {
			unsigned long n = strtoul(v, &end, 10);

			if (end == v || *end || n > TXT_PCR_INFO)
				rc = err_set(-EBADMSG, "%s: line %u: pcr_index \"%s\"", what, line,
					     v);
			cur->pcr = (unsigned)n;
			has_pcr = true;
		} else if ((v = after(l, "event_type:"))) {
			unsigned long long n = strtoull(v, &end, 0);

			if (end == v || *end || n > UINT32_MAX)
				rc = err_set(-EBADMSG, "%s: line %u: event_type \"%s\"", what, line,
					     v);
			cur->type = (uint32_t)n;
			name_event(cur);
			has_type = true;
		} else if (l[0] && l[strlen(l) - 1] == ':' && strlen(l) < 16) {
			char alg[16];
			size_t n = strlen(l) - 1;

			for (size_t i = 0; i < n; i++)
				alg[i] = (char)tolower((unsigned char)l[i]);
			alg[n] = '\0';
			if (!(want = hash_alg_by_name(alg)))
				continue; /* "digest:", "sinit_mdrs:": not a bank */
			if (cur->n_digests == PCR_BANKS_MAX)
				rc = err_set(-EBADMSG, "%s: line %u: more than %d digests", what,
					     line, PCR_BANKS_MAX);
		}
	}
	if (rc == 0 && want)
		rc = err_set(-EBADMSG, "%s: line %u: %s digest missing at the end", what, line,
			     want->name);
	if (rc == 0 && cur && (!has_pcr || !has_type))
		rc = err_set(-EBADMSG, "%s: line %u: event without %s", what, ev_line,
			     has_pcr ? "event_type" : "pcr_index");
	if (rc == 0 && !in_log)
		rc = err_set(-EINVAL,
			     "%s: no \"TCG Event Log Header:\" (not txt-stat output with a "
			     "TCG-format log)",
			     what);
	if (rc == 0)
		*ret = *e;
	free(e);
	return rc;
}

/* --- Intel SecL host manifests --- */

#define SECL_DEPTH 6

static struct json_object *find_key(struct json_object *o, const char *key, int depth)
{
	struct json_object *v;

	if (depth > SECL_DEPTH || !json_object_is_type(o, json_type_object))
		return NULL;
	if (json_object_object_get_ex(o, key, &v))
		return v;
	json_object_object_foreach(o, k, child)
	{
		(void)k;
		if ((v = find_key(child, key, depth + 1)))
			return v;
	}
	return NULL;
}

struct secl_list {
	const struct hash_alg *alg;
	unsigned pcr;
	size_t n, at;
	struct txt_ev ev[TXT_EVENTS_MAX];
};

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

/* One pcr_event_log_map entry of @alg's bank into @l; -ENOENT for a PCR that is not TXT's. */
static int secl_entry(struct json_object *entry, const struct hash_alg *alg, const char *what,
		      size_t idx, struct secl_list *l)
{
	struct json_object *pcr, *list = NULL;
	const char *pi = str_of(entry, "pcr_index");
	bool schema_b = false;
	long n = -1;

	if (pi) {
		char *end;

		n = strtol(strncmp(pi, "pcr_", 4) == 0 ? pi + 4 : pi, &end, 10);
		if (*end)
			n = -1;
		json_object_object_get_ex(entry, "event_log", &list);
	} else if (json_object_object_get_ex(entry, "pcr", &pcr)) {
		struct json_object *i;

		if (json_object_object_get_ex(pcr, "index", &i) &&
		    json_object_is_type(i, json_type_int))
			n = json_object_get_int(i);
		json_object_object_get_ex(entry, "tpm_events", &list);
		schema_b = true;
	}
	if (n < 0 || n > 23)
		return err_set(-EINVAL, "%s: %s entry %zu: no PCR index", what, alg->name, idx);
	if (n < 17 || n > 22)
		return -ENOENT;
	if (!list || !json_object_is_type(list, json_type_array))
		return err_set(-EINVAL, "%s: %s PCR %ld: no event list", what, alg->name, n);
	l->alg = alg;
	l->pcr = (unsigned)n;
	l->n = l->at = 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *je = json_object_array_get_idx(list, i), *info;
		const char *digest = str_of(je, schema_b ? "measurement" : "value");
		const char *label = str_of(je, schema_b ? "type_name" : "label");
		struct txt_ev *ev;
		size_t len;

		if (!label && json_object_object_get_ex(je, "info", &info))
			label = str_of(info, "ComponentName");
		if (!digest || !label)
			return err_set(-EINVAL, "%s: %s PCR %ld event %zu: no digest or name", what,
				       alg->name, n, i);
		if (l->n == TXT_EVENTS_MAX)
			return err_set(-E2BIG, "%s: more than %d events", what, TXT_EVENTS_MAX);
		ev = &l->ev[l->n++];
		memset(ev, 0, sizeof(*ev));
		ev->pcr = (unsigned)n;
		snprintf(ev->label, sizeof(ev->label), "%s", label);
		if (schema_b && str_of(je, "type_id"))
			ev->type = (uint32_t)strtoul(str_of(je, "type_id"), NULL, 0);
		else
			ev->type = txt_event_type_by_name(label);
		if (!ev->type) /* tb_policy, vmlinuz, initrd: tboot's own */
			ev->type = EV_TBOOT_MEASUREMENT;
		if (hex_decode(digest, ev->digest[0].value, DIGEST_MAX, &len) < 0 ||
		    len != alg->size)
			return err_set(-EINVAL, "%s: %s PCR %ld event %zu (%s): not a %s digest",
				       what, alg->name, n, i, label, alg->name);
		ev->digest[0].alg = alg;
		ev->n_digests = 1;
	}
	return 0;
}

static bool label_ahead(const struct secl_list *l, const char *label)
{
	for (size_t i = l->at; i < l->n; i++)
		if (strcmp(l->ev[i].label, label) == 0)
			return true;
	return false;
}

/* Joins the banks' lists of one PCR event by event. */
static int secl_join(struct secl_list *lists, unsigned n, const char *what, struct txt_events *e)
{
	for (;;) {
		int pick = -1;

		for (unsigned b = 0; b < n && pick < 0; b++) {
			bool everywhere = true;

			if (lists[b].at == lists[b].n)
				continue;
			for (unsigned o = 0; o < n; o++)
				if (o != b &&
				    !label_ahead(&lists[o], lists[b].ev[lists[b].at].label))
					everywhere = false;
			/* the event every bank has next, or one a bank lacks */
			pick = (int)b;
			if (everywhere)
				for (unsigned o = 0; o < n; o++)
					if (lists[o].at < lists[o].n &&
					    strcmp(lists[o].ev[lists[o].at].label,
						   lists[b].ev[lists[b].at].label) != 0)
						pick = -2; /* another bank has an event before it */
			if (pick == -2)
				pick = -1;
		}
		if (pick < 0) {
			for (unsigned b = 0; b < n; b++)
				if (lists[b].at < lists[b].n)
					return err_set(-EINVAL,
						       "%s: PCR %u: the banks list the events in "
						       "different orders (%s: %s)",
						       what, lists[b].pcr, lists[b].alg->name,
						       lists[b].ev[lists[b].at].label);
			return 0;
		}
		struct txt_ev *ev = add(e, what), *first = &lists[pick].ev[lists[pick].at];

		if (!ev)
			return -E2BIG;
		*ev = *first;
		lists[pick].at++;
		for (unsigned o = 0; o < n; o++)
			if (o != (unsigned)pick && lists[o].at < lists[o].n &&
			    strcmp(lists[o].ev[lists[o].at].label, ev->label) == 0 &&
			    ev->n_digests < PCR_BANKS_MAX)
				ev->digest[ev->n_digests++] = lists[o].ev[lists[o].at++].digest[0];
	}
}

int txt_events_from_secl(const char *text, size_t len, const char *what, struct txt_events *ret)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc = NULL, *map;
	struct txt_events *e = calloc(1, sizeof(*e));
	struct secl_list *lists = calloc(PCR_BANKS_MAX, sizeof(*lists));
	int rc = 0;

	if (!tok || !e || !lists) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	doc = json_tokener_parse_ex(tok, text, (int)(len > INT32_MAX ? INT32_MAX : len));
	if (!doc) {
		rc = err_set(-EINVAL, "%s: not JSON (%s)", what,
			     json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	e->source = TXT_SRC_SECL;
	map = find_key(doc, "pcr_event_log_map", 0);
	if (!map || !json_object_is_type(map, json_type_object)) {
		rc = err_set(-EINVAL, "%s: no pcr_event_log_map (not an Intel SecL host manifest)",
			     what);
		goto out;
	}
	for (unsigned pcr = 17; pcr <= 22 && rc == 0; pcr++) {
		unsigned n = 0;

		json_object_object_foreach(map, bank, entries)
		{
			char lower[16];
			const struct hash_alg *alg;
			size_t k;

			for (k = 0; bank[k] && k + 1 < sizeof(lower); k++)
				lower[k] = (char)tolower((unsigned char)bank[k]);
			lower[k] = '\0';
			if (!(alg = hash_alg_by_name(lower)) ||
			    !json_object_is_type(entries, json_type_array)) {
				rc = err_set(-EINVAL,
					     "%s: pcr_event_log_map.%s is not a bank's list", what,
					     bank);
				break;
			}
			for (size_t i = 0; i < json_object_array_length(entries) && rc == 0; i++) {
				int r;

				if (n == PCR_BANKS_MAX)
					break;
				r = secl_entry(json_object_array_get_idx(entries, i), alg, what, i,
					       &lists[n]);
				if (r == 0 && lists[n].pcr == pcr)
					n++;
				else if (r < 0 && r != -ENOENT)
					rc = r;
			}
			if (rc < 0)
				break;
		}
		if (rc == 0)
			rc = secl_join(lists, n, what, e);
	}
out:
	if (rc == 0)
		*ret = *e;
	json_object_put(doc);
	json_tokener_free(tok);
	free(lists);
	free(e);
	return rc;
}

int txt_events_read(const uint8_t *buf, size_t len, const char *what, struct txt_events *ret)
{
	size_t i = 0;

	while (i < len && isspace(buf[i]))
		i++;
	if (i < len && (buf[i] == '{' || buf[i] == '['))
		return txt_events_from_secl((const char *)buf, len, what, ret);
	if (memmem(buf, len, "TCG Event Log Header:", 21))
		return txt_events_from_txt_stat((const char *)buf, len, what, ret);
	return txt_events_from_log(buf, len, what, ret);
}
