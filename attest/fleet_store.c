// SPDX-License-Identifier: MIT
/*
 * The writer: results from the pollers go to the database in batches, one
 * transaction each, with the device's new state, and -- when the verdict
 * changed -- an event and its webhook deliveries in the same transaction,
 * so an event is never recorded without its delivery nor delivered twice
 * for one change.  When the database is away the results wait in memory, in
 * order, and are written when it is back; the pollers never wait for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "err.h"
#include "fleet.h"
#include "fleet_db.h"

#define BATCH_MAX    512
#define QUEUE_MAX    200000 /* results held while the database is away */
#define RETRY_MAX_MS 5000

static int write_event(struct fleet *f, const struct fleet_result *r, int64_t result_id)
{
	char dev[24], at[24], res[24], ev[24], next[24];
	int64_t event_id;
	int rc;

	snprintf(dev, sizeof(dev), "%" PRId64, r->device_id);
	snprintf(at, sizeof(at), "%" PRId64, r->at_ms);
	snprintf(res, sizeof(res), "%" PRId64, result_id);
	const char *p[] = {dev,
			   r->device,
			   at,
			   fleet_status_name[r->previous],
			   fleet_status_name[r->status],
			   r->reason,
			   res};
	if ((rc = db_run_i64(f->db,
			     "INSERT INTO events (device_id, device, at_ms, old_status, new_status,"
			     " reason, result_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
			     p, 7, &event_id)) < 0 ||
	    !f->cfg.webhook_url)
		return rc;
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "event", json_object_new_int64(event_id));
	json_object_object_add(body, "device", json_object_new_string(r->device));
	json_object_object_add(body, "at_ms", json_object_new_int64(r->at_ms));
	json_object_object_add(body, "from",
			       json_object_new_string(fleet_status_name[r->previous]));
	json_object_object_add(body, "to", json_object_new_string(fleet_status_name[r->status]));
	json_object_object_add(body, "reason", json_object_new_string(r->reason));
	json_object_object_add(body, "result", json_object_new_int64(result_id));
	snprintf(ev, sizeof(ev), "%" PRId64, event_id);
	snprintf(next, sizeof(next), "%" PRId64, fleet_now_ms());
	const char *q[] = {ev, f->cfg.webhook_url,
			   json_object_to_json_string_ext(
				   body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			   next};
	rc = db_run(f->db,
		    "INSERT INTO outbox (event_id, url, body, next_ms) VALUES ($1, $2, $3, $4)", q,
		    4, NULL);
	json_object_put(body);
	return rc;
}

static int write_result(struct fleet *f, const struct fleet_result *r)
{
	char dev[24], at[24], due[24], lat[16], id[24], keep[16];
	char *state = r->state_changed ? device_state_to_text(&r->state) : NULL;
	int64_t result_id;
	int rc;

	snprintf(dev, sizeof(dev), "%" PRId64, r->device_id);
	snprintf(at, sizeof(at), "%" PRId64, r->at_ms);
	snprintf(due, sizeof(due), "%" PRId64, r->due_ms);
	snprintf(lat, sizeof(lat), "%u", r->latency_us);
	const char *p[] = {dev,
			   at,
			   due,
			   fleet_status_name[r->status],
			   r->reason,
			   r->evidence_sha256,
			   r->ear,
			   lat,
			   f->cfg.instance};
	rc = db_run_i64(f->db,
			"INSERT INTO results (device_id, at_ms, due_ms, status, reason,"
			" evidence_sha256, ear, latency_us, instance) VALUES ($1, $2, $3, $4, $5,"
			" $6, $7, $8, $9) RETURNING id",
			p, 9, &result_id);
	snprintf(id, sizeof(id), "%" PRId64, result_id);
	const char *q[] = {dev, fleet_status_name[r->status], r->reason, at, id, state};
	if (rc == 0)
		rc = db_run(f->db,
			    state ? "UPDATE devices SET status = $2, reason = $3, last_ms = $4,"
				    " last_result = $5, state = $6 WHERE id = $1"
				  : "UPDATE devices SET status = $2, reason = $3, last_ms = $4,"
				    " last_result = $5 WHERE id = $1",
			    q, state ? 6 : 5, NULL);
	free(state);
	if (rc == 0 && r->status != r->previous)
		rc = write_event(f, r, result_id);
	snprintf(keep, sizeof(keep), "%u", f->cfg.keep_results);
	const char *k[] = {dev, keep};
	if (rc == 0 && r->prune && f->cfg.keep_results)
		rc = db_run(f->db,
			    "DELETE FROM results WHERE device_id = $1 AND id < (SELECT min(id) FROM"
			    " (SELECT id FROM results WHERE device_id = $1 ORDER BY id DESC LIMIT"
			    " $2) AS kept)",
			    k, 2, NULL);
	return rc;
}

static int write_batch(struct fleet *f, struct fleet_result *batch)
{
	int rc = db_begin(f->db);

	if (rc < 0)
		return rc;
	for (struct fleet_result *r = batch; rc == 0 && r; r = r->next)
		rc = write_result(f, r);
	if (rc == 0)
		return db_commit(f->db);
	db_rollback(f->db);
	return rc;
}

static void free_batch(struct fleet_result *r)
{
	while (r) {
		struct fleet_result *next = r->next;

		free(r->ear);
		free(r);
		r = next;
	}
}

/* Takes up to BATCH_MAX results off the queue; the caller holds the lock. */
static struct fleet_result *take_batch(struct fleet *f)
{
	struct fleet_result *head = f->queue_head, *r = head;

	for (unsigned n = 1; r && n < BATCH_MAX; n++)
		r = r->next;
	f->queue_head = r ? r->next : NULL;
	if (!f->queue_head)
		f->queue_tail = NULL;
	if (r)
		r->next = NULL;
	for (struct fleet_result *c = head; c; c = c->next)
		f->queued--;
	return head;
}

/* A failed batch goes back in front, in its order. */
static void put_back(struct fleet *f, struct fleet_result *batch)
{
	struct fleet_result *last = batch;
	size_t n = 1;

	while (last->next) {
		last = last->next;
		n++;
	}
	last->next = f->queue_head;
	f->queue_head = batch;
	if (!f->queue_tail)
		f->queue_tail = last;
	f->queued += n;
	/* bounded: past QUEUE_MAX the oldest results that changed nothing are let go */
	for (struct fleet_result **p = &f->queue_head; *p && f->queued > QUEUE_MAX;) {
		struct fleet_result *r = *p;

		if (r->status == r->previous && !r->state_changed && r->next) {
			*p = r->next;
			free(r->ear);
			free(r);
			f->queued--;
		} else {
			p = &r->next;
		}
	}
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

void *fleet_writer_main(void *arg)
{
	struct fleet *f = arg;
	int64_t backoff = 100;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		struct fleet_result *batch;

		while (!f->queue_head && !atomic_load(&f->stop))
			pthread_cond_wait(&f->queue_cond, &f->lock);
		if (!f->queue_head)
			break; /* stopping, and everything is written */
		batch = take_batch(f);
		atomic_store(&f->m.results_queued, f->queued);
		pthread_mutex_unlock(&f->lock);
		if (write_batch(f, batch) == 0) {
			free_batch(batch);
			backoff = 100;
			pthread_mutex_lock(&f->lock);
			continue;
		}
		atomic_fetch_add(&f->m.db_errors, 1);
		log_warn("storing results: %s (kept, trying again in %" PRId64 " ms)", err_msg(),
			 backoff);
		sleep_ms(backoff);
		if (db_gone(f->db) && db_reconnect(f->db) < 0)
			log_warn("%s", err_msg());
		backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
		pthread_mutex_lock(&f->lock);
		put_back(f, batch);
		atomic_store(&f->m.results_queued, f->queued);
		if (atomic_load(&f->stop) && backoff == RETRY_MAX_MS)
			break; /* stopping with the database away: said, not hung on */
	}
	if (f->queued)
		log_warn("stopping with %zu results not stored (the database is away)", f->queued);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}
