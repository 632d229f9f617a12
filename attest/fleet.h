/* SPDX-License-Identifier: MIT */
/*
 * attest serve: the fleet verifier.  A registry of devices, each polled on
 * its interval through the one verification path (verify.h), its results
 * kept as EARs in a database (fleet_db.h), verdict changes raised as events
 * and delivered to webhooks, all behind an HTTP/JSON API (fleet_api.c).
 *
 * Threads: the API's (libmicrohttpd), the scheduler, a pool of pollers that
 * fetch and verify, one writer that stores results in batches, one webhook
 * sender.  The device table is the one shared structure; its lock is held
 * only to copy in or out, never across a network call or a verification.
 */
#ifndef ATTEST_FLEET_H
#define ATTEST_FLEET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "ear.h"
#include "verify.h"

struct fleet_db;

/* A policy as uploaded: the documents, and their parsed form shared by its devices. */
struct fleet_policy {
	char name[64];
	char *reference, *runtime; /* the uploaded texts (either may be NULL) */
	char pcrs[160];		   /* required selection, "" for none */
	bool strict;
	struct verify_policy parsed;
	atomic_int refs;
};

enum fleet_status {
	FLEET_UNKNOWN = 0, /* enrolled, not attested yet */
	FLEET_AFFIRMING,
	FLEET_WARNING,
	FLEET_CONTRAINDICATED,
	FLEET_UNREACHABLE, /* no evidence: the device did not answer */
	FLEET_STATUS_COUNT,
};

extern const char *const fleet_status_name[FLEET_STATUS_COUNT];
enum fleet_status fleet_status_from_tier(enum ear_tier t);
int fleet_status_parse(const char *s, enum fleet_status *ret);

struct fleet_device {
	int64_t id;
	char name[64];
	char address[256];
	char policy[64]; /* "" for none */
	uint32_t interval_ms;
	char *ak_pem, *ek_pem;
	EVP_PKEY *ak;
	struct device_state state;
	enum fleet_status status;
	int64_t last_at_ms;    /* when the last result was taken */
	int64_t last_result;   /* its id, 0 before the first */
	char last_reason[300]; /* the first contraindicated or warning check */
	/* the scheduler's */
	int64_t due_ms;
	size_t heap_idx; /* in fleet.heap, or SIZE_MAX while a poller has it */
	bool removed;	 /* freed by the poller that has it, else at once */
	unsigned since_prune;
};

/* A finished poll on its way to the writer. */
struct fleet_result {
	int64_t device_id;
	char device[64];
	int64_t at_ms, due_ms;
	uint32_t latency_us;
	enum fleet_status status, previous;
	char reason[300];
	char evidence_sha256[65];
	char *ear; /* JSON text */
	struct device_state state;
	bool state_changed;
	bool prune; /* the writer trims this device's history */
	struct fleet_result *next;
};

struct fleet_metrics {
	atomic_uint_fast64_t attestations[FLEET_STATUS_COUNT];
	atomic_uint_fast64_t
		latency_bucket[12]; /* le 1,2,5,10,20,50,100,200,500,1000,5000,+Inf ms */
	atomic_uint_fast64_t latency_sum_us;
	atomic_uint_fast64_t lag_bucket[8]; /* le 0.1,0.5,1,2,5,10,30,+Inf s */
	atomic_uint_fast64_t lag_sum_ms;
	atomic_uint_fast64_t db_errors;
	atomic_uint_fast64_t webhooks_delivered, webhooks_failed;
	atomic_uint_fast64_t results_queued;
};

struct fleet_config {
	const char *db_url; /* "state.sqlite" or "postgresql://..." */
	const char *listen; /* HOST:PORT of the API */
	const char *tls_cert, *tls_key;
	const char *tokens_path; /* "TOKEN ROLE" lines: ROLE is read or admin */
	const char *ek_ca;
	const char *webhook_url, *webhook_secret_path;
	const char *instance; /* lease owner name, default host:pid */
	uint32_t interval_ms; /* default per device */
	uint32_t jitter_pct;
	uint32_t timeout_ms; /* one exchange with a device */
	unsigned pollers;
	unsigned keep_results; /* per device */
	bool config_test;
};

struct fleet {
	struct fleet_config cfg;
	struct fleet_db *db;
	pthread_mutex_t lock; /* devices, policies, the result queue */
	pthread_cond_t work;  /* a device became due, or stop */
	struct fleet_device **dev;
	size_t n_dev, cap_dev;
	struct fleet_device **heap; /* by due_ms: the next device to poll on top */
	size_t n_heap, heap_cap;
	struct fleet_policy **pol;
	size_t n_pol, cap_pol;
	struct fleet_result *queue_head, *queue_tail;
	size_t queued;
	pthread_cond_t queue_cond;
	struct fleet_metrics m;
	uint8_t *webhook_secret; /* secret_alloc'd: locked, wiped when freed */
	size_t webhook_secret_len;
	atomic_bool stop;
	int64_t started_ms;
};

int64_t fleet_now_ms(void);

/* Registry (fleet_registry.c): the device and policy tables, kept in memory and in the db. */
int fleet_load(struct fleet *f);
struct fleet_device *fleet_device_find(struct fleet *f, const char *name);
struct fleet_policy *fleet_policy_get(struct fleet *f, const char *name); /* a reference */
void fleet_policy_put(struct fleet_policy *p);
int fleet_policy_put_text(struct fleet *f, const char *name, const char *reference,
			  const char *runtime, const char *pcrs, bool strict);
int fleet_device_add(struct fleet *f, const char *name, const char *address, const char *policy,
		     uint32_t interval_ms, bool tofu);
int fleet_device_remove(struct fleet *f, const char *name);
int fleet_device_set_policy(struct fleet *f, const char *name, const char *policy);

/* Polling (fleet_poll.c); the schedule calls are made with f->lock held. */
void *fleet_poller_main(void *arg);
void fleet_schedule(struct fleet *f, struct fleet_device *d, int64_t due_ms);
void fleet_unschedule(struct fleet *f, struct fleet_device *d);
void fleet_device_free(struct fleet_device *d);

/* The writer (fleet_store.c) and the webhook sender (fleet_hook.c). */
void *fleet_writer_main(void *arg);
void *fleet_hook_main(void *arg);

/* The API (fleet_api.c). */
struct fleet_api;
int fleet_api_start(struct fleet *f, const char *ear_key_path, struct fleet_api **ret);
void fleet_api_stop(struct fleet_api *api);

#endif
