// SPDX-License-Identifier: MIT
/*
 * The registry: devices and policies, in memory for the pollers and in the
 * database for restarts and for the API.  A change is written to the
 * database first; memory follows only when that worked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "enrol.h"
#include "err.h"
#include "fleet.h"
#include "fleet_db.h"
#include "mem.h"
#include "quote.h"

const char *const fleet_status_name[FLEET_STATUS_COUNT] = {
	"unknown", "affirming", "warning", "contraindicated", "unreachable",
};

enum fleet_status fleet_status_from_tier(enum ear_tier t)
{
	return t == EAR_AFFIRMING ? FLEET_AFFIRMING
	       : t == EAR_WARNING ? FLEET_WARNING
				  : FLEET_CONTRAINDICATED;
}

int fleet_status_parse(const char *s, enum fleet_status *ret)
{
	for (int i = 0; i < FLEET_STATUS_COUNT; i++)
		if (strcmp(s, fleet_status_name[i]) == 0) {
			*ret = (enum fleet_status)i;
			return 0;
		}
	return err_set(-EINVAL, "unknown status \"%s\"", s);
}

/* Names are path segments of the API and labels on the page: kept plain. */
static int name_check(const char *what, const char *name, size_t max)
{
	size_t n = strlen(name);

	if (n == 0 || n >= max)
		return err_set(-EINVAL, "%s name must be 1 to %zu characters", what, max - 1);
	for (size_t i = 0; i < n; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') && !(name[i] >= 'A' && name[i] <= 'Z') &&
		    !(name[i] >= '0' && name[i] <= '9') && !strchr("-_.:", name[i]))
			return err_set(-EINVAL,
				       "%s name \"%s\": only letters, digits and -_.: ", what,
				       name);
	return 0;
}

void fleet_policy_put(struct fleet_policy *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	verify_policy_free(&p->parsed);
	free(p->reference);
	free(p->runtime);
	free(p);
}

static struct fleet_policy **policy_slot(struct fleet *f, const char *name)
{
	for (size_t i = 0; i < f->n_pol; i++)
		if (strcmp(f->pol[i]->name, name) == 0)
			return &f->pol[i];
	return NULL;
}

struct fleet_policy *fleet_policy_get(struct fleet *f, const char *name)
{
	struct fleet_policy **s;
	struct fleet_policy *p = NULL;

	pthread_mutex_lock(&f->lock);
	if (name[0] && (s = policy_slot(f, name))) {
		p = *s;
		atomic_fetch_add(&p->refs, 1);
	}
	pthread_mutex_unlock(&f->lock);
	return p;
}

/* Parses the documents into a new policy; nothing is kept when they do not parse. */
static int policy_new(const char *name, const char *reference, const char *runtime,
		      const char *pcrs, bool strict, struct fleet_policy **ret)
{
	struct fleet_policy *p = calloc(1, sizeof(*p));
	char what[96];
	int rc;

	if (!p)
		return err_set(-ENOMEM, "out of memory");
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->pcrs, sizeof(p->pcrs), "%s", pcrs ? pcrs : "");
	p->strict = p->parsed.strict = strict;
	atomic_init(&p->refs, 1);
	if (p->pcrs[0] && (rc = pcr_selection_parse(p->pcrs, &p->parsed.pcrs)) < 0) {
		free(p);
		return err_set(rc, "policy %s: pcrs: %s", name, err_msg());
	}
	p->parsed.has_pcrs = p->pcrs[0] != '\0';
	snprintf(what, sizeof(what), "policy %s's reference", name);
	rc = verify_policy_load(&p->parsed, what, reference, reference ? strlen(reference) : 0,
				"its runtime policy", runtime, runtime ? strlen(runtime) : 0);
	if (rc == 0 && ((reference && !(p->reference = strdup(reference))) ||
			(runtime && !(p->runtime = strdup(runtime)))))
		rc = err_set(-ENOMEM, "out of memory");
	if (rc < 0) {
		verify_policy_free(&p->parsed);
		free(p->reference);
		free(p);
		return rc;
	}
	*ret = p;
	return 0;
}

/* Appends @item to the pointer array @*arr of @*n, growing @*cap. */
static int append(void ***arr, size_t *n, size_t *cap, void *item)
{
	if (array_grow((void **)arr, cap, *n, sizeof(**arr), 16) < 0)
		return err_set(-ENOMEM, "out of memory");
	(*arr)[(*n)++] = item;
	return 0;
}

static int policy_install(struct fleet *f, struct fleet_policy *p)
{
	struct fleet_policy **s, *old = NULL;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	if ((s = policy_slot(f, p->name))) {
		old = *s;
		*s = p;
	} else {
		rc = append((void ***)&f->pol, &f->n_pol, &f->cap_pol, p);
	}
	pthread_mutex_unlock(&f->lock);
	fleet_policy_put(old); /* pollers holding it finish with it */
	return rc;
}

int fleet_policy_put_text(struct fleet *f, const char *name, const char *reference,
			  const char *runtime, const char *pcrs, bool strict)
{
	struct fleet_policy *p;
	char now[24], st[2] = {strict ? '1' : '0', 0};
	int rc;

	if ((rc = name_check("a policy", name, sizeof(p->name))) < 0 ||
	    (rc = policy_new(name, reference, runtime, pcrs, strict, &p)) < 0)
		return rc;
	snprintf(now, sizeof(now), "%" PRId64, fleet_now_ms());
	const char *params[] = {name, reference, runtime, p->pcrs, st, p->parsed.id, now};
	rc = db_run(f->db,
		    "INSERT INTO policies (name, reference, runtime, pcrs, strict, policy_id,"
		    " updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE"
		    " SET reference = $2, runtime = $3, pcrs = $4, strict = $5, policy_id = $6,"
		    " updated_ms = $7",
		    params, 7, NULL);
	if (rc == 0)
		rc = policy_install(f, p);
	if (rc < 0)
		fleet_policy_put(p);
	return rc;
}

struct fleet_device *fleet_device_find(struct fleet *f, const char *name)
{
	for (size_t i = 0; i < f->n_dev; i++)
		if (strcmp(f->dev[i]->name, name) == 0)
			return f->dev[i];
	return NULL;
}

void fleet_device_free(struct fleet_device *d)
{
	if (!d)
		return;
	EVP_PKEY_free(d->ak);
	free(d->ak_pem);
	free(d->ek_pem);
	free(d);
}

/* The first poll of a device: somewhere in its first interval, so a fleet loaded at once spreads. */
static int64_t first_due(const struct fleet_device *d, int64_t now)
{
	uint32_t r = 0;

	if (d->last_at_ms && d->last_at_ms + d->interval_ms > now)
		return d->last_at_ms + d->interval_ms; /* not twice in one interval */
	(void)RAND_bytes((unsigned char *)&r, sizeof(r));
	return now + (d->interval_ms ? r % d->interval_ms : 0);
}

static int device_insert(struct fleet *f, struct fleet_device *d)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = append((void ***)&f->dev, &f->n_dev, &f->cap_dev, d);
	if (rc == 0)
		fleet_schedule(f, d, first_due(d, fleet_now_ms()));
	pthread_cond_broadcast(&f->work);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int fleet_device_add(struct fleet *f, const char *name, const char *address, const char *policy,
		     uint32_t interval_ms, bool tofu)
{
	struct enrolment e = {0};
	struct fleet_device *d;
	struct fleet_policy *pol = NULL;
	char ival[16], id[8], now[24];
	int64_t row;
	int rc;

	if ((rc = name_check("a device", name, sizeof(d->name))) < 0)
		return rc;
	if (!address[0] || strlen(address) >= sizeof(d->address))
		return err_set(-EINVAL, "a device's address must be 1 to %zu characters",
			       sizeof(d->address) - 1);
	if (policy && policy[0] && !(pol = fleet_policy_get(f, policy)))
		return err_set(-ENOENT, "no policy \"%s\"", policy);
	fleet_policy_put(pol);
	pthread_mutex_lock(&f->lock);
	d = fleet_device_find(f, name);
	pthread_mutex_unlock(&f->lock);
	if (d)
		return err_set(-EEXIST, "device \"%s\" exists", name);
	if (!tofu && !f->cfg.ek_ca)
		return err_set(-EPERM, "this verifier has no EK CA (--ek-ca): a device can only "
				       "be enrolled on trust-on-first-use, which was not asked");
	/* the same checks as attest enroll: EK certificate, credential activation */
	if ((rc = enrol_device(address, tofu ? NULL : f->cfg.ek_ca, (int)f->cfg.timeout_ms, &e)) <
	    0)
		return err_set(rc, "enrolling %s at %s: %s", name, address, err_msg());
	if (!(d = calloc(1, sizeof(*d)))) {
		enrolment_free(&e);
		return err_set(-ENOMEM, "out of memory");
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->address, sizeof(d->address), "%s", address);
	snprintf(d->policy, sizeof(d->policy), "%s", policy ? policy : "");
	d->interval_ms = interval_ms ? interval_ms : f->cfg.interval_ms;
	d->ak_pem = e.ak_pem;
	d->ek_pem = e.ek_pem;
	d->state.identity = e.identity;
	snprintf(d->state.ek_issuer, sizeof(d->state.ek_issuer), "%s", e.issuer);
	rc = pkey_from_pem(d->ak_pem, strlen(d->ak_pem), &d->ak);
	snprintf(ival, sizeof(ival), "%u", d->interval_ms);
	snprintf(id, sizeof(id), "%d", (int)e.identity);
	snprintf(now, sizeof(now), "%" PRId64, fleet_now_ms());
	const char *params[] = {name,	   address, d->policy, ival, d->ak_pem,
				d->ek_pem, id,	    e.issuer,  now};
	if (rc == 0)
		rc = db_run_i64(f->db,
				"INSERT INTO devices (name, address, policy, interval_ms, ak_pem,"
				" ek_pem, identity, ek_issuer, created_ms) VALUES ($1, $2, $3, $4,"
				" $5, $6, $7, $8, $9) RETURNING id",
				params, 9, &row);
	if (rc == 0) {
		d->id = row;
		rc = device_insert(f, d);
	}
	if (rc < 0)
		fleet_device_free(d);
	return rc;
}

int fleet_device_remove(struct fleet *f, const char *name)
{
	struct fleet_device *d;
	int rc;

	pthread_mutex_lock(&f->lock);
	d = fleet_device_find(f, name);
	pthread_mutex_unlock(&f->lock);
	if (!d)
		return err_set(-ENOENT, "no device \"%s\"", name);
	const char *params[] = {name};
	if ((rc = db_begin(f->db)) < 0)
		return rc;
	rc = db_run(
		f->db,
		"DELETE FROM results WHERE device_id IN (SELECT id FROM devices WHERE name = $1)",
		params, 1, NULL);
	if (rc == 0)
		rc = db_run(f->db, "DELETE FROM devices WHERE name = $1", params, 1, NULL);
	if (rc == 0)
		rc = db_commit(f->db);
	else
		db_rollback(f->db);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&f->lock);
	d = NULL;
	for (size_t i = 0; i < f->n_dev; i++)
		if (strcmp(f->dev[i]->name, name) == 0) {
			d = f->dev[i];
			f->dev[i] = f->dev[--f->n_dev];
			break;
		}
	if (!d) {
		pthread_mutex_unlock(&f->lock);
		return 0; /* removed meanwhile by another request */
	}
	d->removed = true;
	if (d->heap_idx != SIZE_MAX) {
		fleet_unschedule(f, d);
		fleet_device_free(d);
	} /* else the poller that has it frees it */
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int fleet_device_set_policy(struct fleet *f, const char *name, const char *policy)
{
	struct fleet_policy *pol = NULL;
	struct fleet_device *d;
	int rc;

	if (policy[0] && !(pol = fleet_policy_get(f, policy)))
		return err_set(-ENOENT, "no policy \"%s\"", policy);
	fleet_policy_put(pol);
	const char *params[] = {name, policy};
	if ((rc = db_run(f->db, "UPDATE devices SET policy = $2 WHERE name = $1", params, 2,
			 NULL)) < 0)
		return rc;
	pthread_mutex_lock(&f->lock);
	if ((d = fleet_device_find(f, name)))
		snprintf(d->policy, sizeof(d->policy), "%s", policy);
	pthread_mutex_unlock(&f->lock);
	return d ? 0 : err_set(-ENOENT, "no device \"%s\"", name);
}

static int load_policies(struct fleet *f)
{
	struct db_rows r;
	int rc = db_run(f->db, "SELECT name, reference, runtime, pcrs, strict FROM policies", NULL,
			0, &r);

	for (size_t i = 0; rc == 0 && i < r.n_rows; i++) {
		struct fleet_policy *p = NULL;

		rc = policy_new(db_cell(&r, i, 0), db_cell(&r, i, 1), db_cell(&r, i, 2),
				db_cell(&r, i, 3), db_cell_i64(&r, i, 4) != 0, &p);
		if (rc == 0 && (rc = policy_install(f, p)) < 0)
			fleet_policy_put(p);
	}
	db_rows_free(&r);
	return rc;
}

static int device_from_row(const struct db_rows *r, size_t i, struct fleet_device **ret)
{
	struct fleet_device *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return err_set(-ENOMEM, "out of memory");
	d->id = db_cell_i64(r, i, 0);
	snprintf(d->name, sizeof(d->name), "%s", db_cell(r, i, 1));
	snprintf(d->address, sizeof(d->address), "%s", db_cell(r, i, 2));
	snprintf(d->policy, sizeof(d->policy), "%s", db_cell(r, i, 3) ? db_cell(r, i, 3) : "");
	d->interval_ms = (uint32_t)db_cell_i64(r, i, 4);
	d->ak_pem = strdup(db_cell(r, i, 5));
	d->ek_pem = strdup(db_cell(r, i, 6));
	d->state.identity = (enum device_identity)db_cell_i64(r, i, 7);
	snprintf(d->state.ek_issuer, sizeof(d->state.ek_issuer), "%s", db_cell(r, i, 8));
	if (fleet_status_parse(db_cell(r, i, 10), &d->status) < 0)
		d->status = FLEET_UNKNOWN;
	snprintf(d->last_reason, sizeof(d->last_reason), "%s", db_cell(r, i, 11));
	d->last_at_ms = db_cell_i64(r, i, 12);
	d->last_result = db_cell_i64(r, i, 13);
	rc = device_state_from_text(db_cell(r, i, 9), &d->state);
	if (rc == 0 && (!d->ak_pem || !d->ek_pem))
		rc = err_set(-ENOMEM, "out of memory");
	if (rc == 0)
		rc = pkey_from_pem(d->ak_pem, strlen(d->ak_pem), &d->ak);
	if (rc < 0) {
		rc = err_set(rc, "device %s in the database: %s", d->name, err_msg());
		fleet_device_free(d);
		return rc;
	}
	*ret = d;
	return 0;
}

int fleet_load(struct fleet *f)
{
	struct db_rows r;
	int rc = load_policies(f);

	if (rc == 0)
		rc = db_run(f->db,
			    "SELECT id, name, address, policy, interval_ms, ak_pem, ek_pem,"
			    " identity, ek_issuer, state, status, reason, last_ms, last_result"
			    " FROM devices ORDER BY id",
			    NULL, 0, &r);
	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < r.n_rows; i++) {
		struct fleet_device *d = NULL;

		if ((rc = device_from_row(&r, i, &d)) == 0 && (rc = device_insert(f, d)) < 0)
			fleet_device_free(d);
	}
	db_rows_free(&r);
	return rc;
}
