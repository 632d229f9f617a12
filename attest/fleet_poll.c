// SPDX-License-Identifier: MIT
/*
 * The schedule and the pollers.  Devices wait in a min-heap by when they are
 * due; a poller takes the top one when its time has come, fetches a quote
 * (only the IMA entries after the verified state), verifies it through
 * verify_evidence, and hands the result to the writer.  The next poll is
 * planned from when this one was due, not from when it finished, with a
 * jitter, so a fleet keeps its spread and lag is measured, not hidden.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "attest.h"
#include "err.h"
#include "fleet.h"
#include "hex.h"

int64_t fleet_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void heap_set(struct fleet *f, size_t i, struct fleet_device *d)
{
	f->heap[i] = d;
	d->heap_idx = i;
}

static void sift_up(struct fleet *f, size_t i)
{
	struct fleet_device *d = f->heap[i];

	while (i > 0 && f->heap[(i - 1) / 2]->due_ms > d->due_ms) {
		heap_set(f, i, f->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(f, i, d);
}

static void sift_down(struct fleet *f, size_t i)
{
	struct fleet_device *d = f->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= f->n_heap)
			break;
		if (c + 1 < f->n_heap && f->heap[c + 1]->due_ms < f->heap[c]->due_ms)
			c++;
		if (f->heap[c]->due_ms >= d->due_ms)
			break;
		heap_set(f, i, f->heap[c]);
		i = c;
	}
	heap_set(f, i, d);
}

/* The heap has room for every device: fleet.cap_dev slots, grown with the table. */
void fleet_schedule(struct fleet *f, struct fleet_device *d, int64_t due_ms)
{
	if (f->heap_cap < f->cap_dev) {
		struct fleet_device **h = realloc(f->heap, f->cap_dev * sizeof(*h));

		if (!h) {
			log_warn("out of memory: %s is not scheduled", d->name);
			d->heap_idx = SIZE_MAX;
			return;
		}
		f->heap = h;
		f->heap_cap = f->cap_dev;
	}
	d->due_ms = due_ms;
	f->heap[f->n_heap] = d;
	d->heap_idx = f->n_heap++;
	sift_up(f, d->heap_idx);
}

void fleet_unschedule(struct fleet *f, struct fleet_device *d)
{
	size_t i = d->heap_idx;

	if (i == SIZE_MAX)
		return;
	d->heap_idx = SIZE_MAX;
	if (i == --f->n_heap)
		return;
	heap_set(f, i, f->heap[f->n_heap]);
	sift_down(f, i);
	sift_up(f, i);
}

static struct fleet_device *heap_pop(struct fleet *f)
{
	struct fleet_device *d = f->heap[0];

	fleet_unschedule(f, d);
	return d;
}

/* Due + interval, moved by up to ±jitter/2 percent; never before now, so a late fleet does not pile up. */
static int64_t next_due(const struct fleet *f, const struct fleet_device *d, int64_t now)
{
	int64_t span = (int64_t)d->interval_ms * f->cfg.jitter_pct / 100, next;
	uint32_t r = 0;

	(void)RAND_bytes((unsigned char *)&r, sizeof(r));
	next = d->due_ms + d->interval_ms + (span ? (int64_t)(r % (uint64_t)span) - span / 2 : 0);
	return next < now ? now : next;
}

/* What a poll needs, copied out under the lock. */
struct poll_job {
	char name[64], address[256], policy[64];
	int64_t id, due_ms;
	EVP_PKEY *ak;
	struct fleet_policy *pol;
	struct device_state state;
	enum fleet_status previous;
	bool prune;
};

static void record_metrics(struct fleet *f, const struct fleet_result *r)
{
	static const uint32_t lat_le_ms[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000};
	static const int64_t lag_le_ms[] = {100, 500, 1000, 2000, 5000, 10000, 30000};
	int64_t lag = r->at_ms - r->due_ms;
	unsigned i;

	atomic_fetch_add(&f->m.attestations[r->status], 1);
	for (i = 0; i < 11 && r->latency_us > lat_le_ms[i] * 1000; i++)
		;
	atomic_fetch_add(&f->m.latency_bucket[i], 1);
	atomic_fetch_add(&f->m.latency_sum_us, r->latency_us);
	for (i = 0; i < 7 && lag > lag_le_ms[i]; i++)
		;
	atomic_fetch_add(&f->m.lag_bucket[i], 1);
	atomic_fetch_add(&f->m.lag_sum_ms, (uint64_t)(lag > 0 ? lag : 0));
}

static void evidence_digest(const struct evidence *ev, char hex[65])
{
	uint8_t d[32];
	unsigned len = 0;

	if (EVP_Digest(ev->body, ev->body_len, d, &len, EVP_sha256(), NULL) != 1)
		memset(d, 0, sizeof(d));
	hex_encode(d, sizeof(d), hex);
}

/* One poll, without the lock: the network and the verification. */
static void poll_device(struct fleet *f, struct poll_job *j, struct fleet_result *r)
{
	static const struct verify_policy none = {.name = "no reference"};
	const struct verify_policy *pol = j->pol ? &j->pol->parsed : &none;
	struct pcr_selection ask;
	struct evidence ev = {0};
	struct verify_result vr = {0};
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r->at_ms = fleet_now_ms();
	r->state = j->state;
	rc = verify_policy_selection(pol, ATTEST_DEFAULT_PCRS, &ask);
	if (rc == 0)
		rc = attest_quote_fetch(j->address, &ask, &j->state, false, (int)f->cfg.timeout_ms,
					&ev);
	if (rc < 0) {
		r->status = FLEET_UNREACHABLE;
		snprintf(r->reason, sizeof(r->reason), "device: %s", err_msg());
		r->ear = strdup("null");
		memset(r->evidence_sha256, '0', 64);
	} else if (verify_evidence(&ev, j->ak, pol, true, &r->state, &vr) < 0) {
		r->status = FLEET_CONTRAINDICATED;
		snprintf(r->reason, sizeof(r->reason), "verifier: %s", err_msg());
		r->ear = strdup("null");
		evidence_digest(&ev, r->evidence_sha256);
	} else {
		r->status = fleet_status_from_tier(vr.overall);
		r->state_changed = vr.state_changed;
		snprintf(r->reason, sizeof(r->reason), "%s", vr.reason);
		r->ear = strdup(json_object_to_json_string_ext(
			vr.ear, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		evidence_digest(&ev, r->evidence_sha256);
	}
	verify_result_free(&vr);
	evidence_free(&ev);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->latency_us =
		(uint32_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
}

static void take_job(struct fleet *f, struct fleet_device *d, struct poll_job *j)
{
	snprintf(j->name, sizeof(j->name), "%s", d->name);
	snprintf(j->address, sizeof(j->address), "%s", d->address);
	snprintf(j->policy, sizeof(j->policy), "%s", d->policy);
	j->id = d->id;
	j->due_ms = d->due_ms;
	j->ak = d->ak;
	EVP_PKEY_up_ref(d->ak);
	j->state = d->state;
	j->previous = d->status;
	j->prune = ++d->since_prune >= (f->cfg.keep_results / 10 ? f->cfg.keep_results / 10 : 1);
	if (j->prune)
		d->since_prune = 0;
}

/* Back under the lock: the device takes the result, the writer gets it, the device is rescheduled. */
static void finish_job(struct fleet *f, struct fleet_device *d, struct fleet_result *r)
{
	int64_t now = fleet_now_ms();

	if (d->removed) {
		fleet_device_free(d);
		free(r->ear);
		free(r);
		return;
	}
	if (r->state_changed)
		d->state = r->state;
	d->status = r->status;
	d->last_at_ms = r->at_ms;
	snprintf(d->last_reason, sizeof(d->last_reason), "%s", r->reason);
	if (f->queue_tail)
		f->queue_tail->next = r;
	else
		f->queue_head = r;
	f->queue_tail = r;
	f->queued++;
	atomic_store(&f->m.results_queued, f->queued);
	pthread_cond_signal(&f->queue_cond);
	fleet_schedule(f, d, next_due(f, d, now));
}

void *fleet_poller_main(void *arg)
{
	struct fleet *f = arg;

	pthread_mutex_lock(&f->lock);
	while (!atomic_load(&f->stop)) {
		int64_t now = fleet_now_ms();
		struct fleet_device *d;
		struct fleet_result *r;
		struct poll_job j = {0};

		if (f->n_heap == 0 || f->heap[0]->due_ms > now) {
			struct timespec until;
			int64_t at = f->n_heap ? f->heap[0]->due_ms : now + 1000;

			until.tv_sec = (time_t)(at / 1000);
			until.tv_nsec = (long)(at % 1000) * 1000000;
			pthread_cond_timedwait(&f->work, &f->lock, &until);
			continue;
		}
		d = heap_pop(f);
		take_job(f, d, &j);
		pthread_mutex_unlock(&f->lock);
		j.pol = fleet_policy_get(f, j.policy);
		r = calloc(1, sizeof(*r));
		if (r) {
			r->device_id = j.id;
			snprintf(r->device, sizeof(r->device), "%s", j.name);
			r->due_ms = j.due_ms;
			r->previous = j.previous;
			r->prune = j.prune;
			poll_device(f, &j, r);
			record_metrics(f, r);
		}
		fleet_policy_put(j.pol);
		EVP_PKEY_free(j.ak);
		pthread_mutex_lock(&f->lock);
		if (r)
			finish_job(f, d, r);
		else
			fleet_schedule(f, d, next_due(f, d, fleet_now_ms()));
	}
	pthread_cond_broadcast(&f->work);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}
