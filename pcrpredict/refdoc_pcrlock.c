// SPDX-License-Identifier: MIT
/* A reference document as systemd .pcrlock files (refdoc_pcrlock.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "digest.h"
#include "err.h"
#include "eventlog_tcg.h"
#include "hex.h"
#include "pcr.h"
#include "pcrlock.h"
#include "refdoc_pcrlock.h"

#define RECORDS_MAX 512

struct record {
	const char *part;
	struct pcrlock_record r;
};

struct collect {
	const struct hash_alg *bank[PCR_BANKS_MAX];
	unsigned n_banks;
	struct record *rec;
	size_t n;
	bool after_sep[PCR_COUNT];
	const char *last[PCR_COUNT]; /* the component of each PCR's last record */
};

static int digests_of(struct collect *c, struct json_object *d, struct pcrlock_record *r,
		      const char *where)
{
	r->n = 0;
	for (unsigned b = 0; b < c->n_banks; b++) {
		struct json_object *v;
		size_t len;

		if (!json_object_object_get_ex(d, c->bank[b]->name, &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    hex_decode(json_object_get_string(v), r->digest[b].value, DIGEST_MAX, &len) <
			    0 ||
		    len != c->bank[b]->size)
			return err_set(-EINVAL, "%s: no %s digest of %zu bytes", where,
				       c->bank[b]->name, c->bank[b]->size);
		r->digest[b].alg = c->bank[b];
		r->n++;
	}
	return 0;
}

static int add(struct collect *c, const char *comp, size_t idx, unsigned pcr, uint32_t type,
	       struct json_object *digests)
{
	char where[128];
	const char *part;
	struct record *r;
	int rc;

	snprintf(where, sizeof(where), "components.%s event %zu (PCR %u)", comp, idx + 1, pcr);
	if (pcr >= PCR_COUNT)
		return err_set(-EINVAL, "%s: PCR out of range", where);
	if (!(part = pcrlock_component(pcr, type, c->after_sep[pcr])))
		return 0; /* a PCR systemd-pcrlock does not lock (tboot's 17, 18) */
	if (c->last[pcr] && strcmp(part, c->last[pcr]) < 0)
		return err_set(-EINVAL,
			       "%s: belongs in %s.pcrlock, which systemd-pcrlock sorts before "
			       "%s.pcrlock holding the PCR's earlier events",
			       where, part, c->last[pcr]);
	if (c->n == RECORDS_MAX)
		return err_set(-E2BIG, "more than %d events", RECORDS_MAX);
	r = &c->rec[c->n];
	r->part = part;
	r->r.pcr = pcr;
	if ((rc = digests_of(c, digests, &r->r, where)) < 0)
		return rc;
	c->n++;
	c->last[pcr] = part;
	c->after_sep[pcr] |= type == EV_SEPARATOR;
	return 0;
}

static int collect_component(struct collect *c, const char *name, struct json_object *comp)
{
	struct json_object *events, *e, *v, *d;
	int rc;

	if (strcmp(name, "rootfs") == 0) {
		/* one measurement from zero: measured-init's */
		if (!json_object_object_get_ex(comp, "pcr", &v) ||
		    !json_object_object_get_ex(comp, "digests", &d))
			return err_set(-EINVAL, "components.rootfs: needs \"pcr\" and \"digests\"");
		return add(c, name, 0, (unsigned)json_object_get_int(v), EV_IPL, d);
	}
	if (!json_object_object_get_ex(comp, "events", &events) ||
	    !json_object_is_type(events, json_type_array))
		return 0; /* firmware.log's count of events: nothing to write */
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		uint32_t type = EV_IPL;

		e = json_object_array_get_idx(events, i);
		if (!json_object_object_get_ex(e, "pcr", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    !json_object_object_get_ex(e, "digests", &d))
			return err_set(-EINVAL,
				       "components.%s event %zu: needs \"pcr\" and "
				       "\"digests\"",
				       name, i + 1);
		if (json_object_object_get_ex(e, "type", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    tcg_event_type_by_name(json_object_get_string(v), &type) < 0)
			return err_set(-EINVAL, "components.%s event %zu: unknown type \"%s\"",
				       name, i + 1, json_object_get_string(v));
		if (json_object_object_get_ex(e, "type", &v) &&
		    json_object_is_type(v, json_type_int))
			type = (uint32_t)json_object_get_int64(v);
		if ((rc = add(c, name, i,
			      (unsigned)json_object_get_int(json_object_object_get(e, "pcr")), type,
			      d)) < 0)
			return rc;
	}
	return 0;
}

static int cmp_part(const void *a, const void *b)
{
	const struct record *x = a, *y = b;
	int c = strcmp(x->part, y->part);

	/* stable within a component: the records' order is the events' */
	return c ? c : (x < y ? -1 : x > y);
}

int refdoc_pcrlock(struct json_object *doc, const char *dir, FILE *out, uint32_t *ret_pcrs)
{
	struct collect c = {0};
	struct pcrlock_record *r = NULL;
	struct json_object *banks, *comps, *pcrs, *first;
	uint32_t have = 0, written = 0;
	int rc = 0;

	if (!json_object_object_get_ex(doc, "banks", &banks) ||
	    !json_object_is_type(banks, json_type_array) ||
	    !json_object_object_get_ex(doc, "pcrs", &pcrs) ||
	    !json_object_object_get_ex(doc, "components", &comps))
		return err_set(-EINVAL, "not a reference document (no \"banks\", \"pcrs\", "
					"\"components\")");
	for (size_t i = 0; i < json_object_array_length(banks) && c.n_banks < PCR_BANKS_MAX; i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(banks, i));

		if (!name || !(c.bank[c.n_banks++] = hash_alg_by_name(name)))
			return err_set(-EINVAL, "\"banks\": unknown bank \"%s\"", name ?: "?");
	}
	if (!(c.rec = calloc(RECORDS_MAX, sizeof(*c.rec))))
		return err_set(-ENOMEM, "out of memory");
	json_object_object_foreach(comps, name, comp)
	{
		if (rc == 0)
			rc = collect_component(&c, name, comp);
	}
	if (rc < 0)
		goto out;
	/* the order systemd-pcrlock reads them in; then each PCR folded from zero */
	qsort(c.rec, c.n, sizeof(*c.rec), cmp_part);
	for (size_t i = 0; i < c.n; i++)
		have |= 1u << c.rec[i].r.pcr;
	for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
		bool same = true;

		if (!(have >> pcr & 1))
			continue;
		for (unsigned b = 0; b < c.n_banks && same; b++) {
			struct pcr_bank bank;
			struct json_object *pb, *pv;
			char key[4], hex[2 * DIGEST_MAX + 1];

			pcr_bank_init(&bank, c.bank[b]);
			for (size_t i = 0; i < c.n; i++)
				if (c.rec[i].r.pcr == pcr)
					pcr_bank_extend(&bank, pcr, c.rec[i].r.digest[b].value);
			hex_encode(bank.value[pcr], c.bank[b]->size, hex);
			snprintf(key, sizeof(key), "%u", pcr);
			same = json_object_object_get_ex(pcrs, c.bank[b]->name, &pb) &&
			       json_object_object_get_ex(pb, key, &pv) &&
			       strcmp(json_object_get_string(pv), hex) == 0;
		}
		if (same)
			written |= 1u << pcr;
		else if (out)
			fprintf(out,
				"PCR %u: not written: the events listed do not give its predicted "
				"value\n",
				pcr);
	}
	/* predicted without events (from firmware.log, a reference boot): said, not written */
	if (out && c.n_banks && json_object_object_get_ex(pcrs, c.bank[0]->name, &first)) {
		json_object_object_foreach(first, key, value)
		{
			unsigned pcr = (unsigned)atoi(key);

			(void)value;
			if (pcr < PCR_COUNT && !(have >> pcr & 1))
				fprintf(out, "PCR %u: not written: predicted without events%s\n",
					pcr, pcr < 8 ? " (firmware.log, a reference boot)" : "");
		}
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		rc = err_set(-errno, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!(r = calloc(RECORDS_MAX, sizeof(*r)))) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < c.n && rc == 0;) {
		char path[4200];
		size_t n = 0, end = k;

		for (; end < c.n && strcmp(c.rec[end].part, c.rec[k].part) == 0; end++)
			if (written >> c.rec[end].r.pcr & 1)
				r[n++] = c.rec[end].r;
		if (n) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s.pcrlock", dir,
					     c.rec[k].part) >= sizeof(path))
				rc = err_set(-ENAMETOOLONG, "%s: path too long", dir);
			else if ((rc = pcrlock_write(path, r, n)) == 0 && out)
				fprintf(out, "%s: %zu records\n", path, n);
		}
		k = end;
	}
	if (rc == 0 && ret_pcrs)
		*ret_pcrs = written;
out:
	free(r);
	free(c.rec);
	return rc;
}
