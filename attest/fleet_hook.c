// SPDX-License-Identifier: MIT
/*
 * Webhooks: each verdict change is in the outbox table until its target
 * answered 2xx.  The body is signed with HMAC-SHA256 under the configured
 * secret (X-Measured-Signature: sha256=HEX) and numbered
 * (X-Measured-Delivery: outbox id, for the receiver to drop a repeat after
 * a crash between delivery and its record).  A failure is tried again after
 * 1, 2, 4 ... s, at most 10 min apart; a target that hangs costs one
 * timeout, never the service.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/hmac.h>

#include "err.h"
#include "fleet.h"
#include "fleet_db.h"
#include "hex.h"

#define HOOK_TIMEOUT_MS 5000
#define BACKOFF_MAX_MS	600000

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* 0 when the target took it, else the reason in err_msg. */
static int deliver(struct fleet *f, CURL *c, const char *id, const char *url, const char *body)
{
	uint8_t mac[32];
	unsigned mac_len = 0;
	char hex[65], sig[96], del[64], cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	long code = 0;
	CURLcode res;

	if (!HMAC(EVP_sha256(), f->webhook_secret, (int)f->webhook_secret_len,
		  (const uint8_t *)body, strlen(body), mac, &mac_len))
		return err_set(-EIO, "HMAC failed");
	hex_encode(mac, sizeof(mac), hex);
	snprintf(sig, sizeof(sig), "X-Measured-Signature: sha256=%s", hex);
	snprintf(del, sizeof(del), "X-Measured-Delivery: %s", id);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, sig);
	h = curl_slist_append(h, del);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HOOK_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	res = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (res != CURLE_OK)
		return err_set(-EIO, "%s", cerr[0] ? cerr : curl_easy_strerror(res));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		return err_set(-EIO, "the target answered HTTP %ld", code);
	return 0;
}

static void record(struct fleet *f, const char *id, int attempts, int rc)
{
	char now[24], next[24], att[16];
	int64_t wait = 1000;

	for (int i = 1; i < attempts && wait < BACKOFF_MAX_MS; i++)
		wait *= 2;
	if (wait > BACKOFF_MAX_MS)
		wait = BACKOFF_MAX_MS;
	snprintf(now, sizeof(now), "%" PRId64, fleet_now_ms());
	snprintf(next, sizeof(next), "%" PRId64, fleet_now_ms() + wait);
	snprintf(att, sizeof(att), "%d", attempts);
	const char *ok[] = {id, now, att};
	const char *bad[] = {id, next, att, err_msg()};
	if (rc == 0) {
		atomic_fetch_add(&f->m.webhooks_delivered, 1);
		(void)db_run(f->db,
			     "UPDATE outbox SET delivered_ms = $2, attempts = $3 WHERE id = $1", ok,
			     3, NULL);
	} else {
		atomic_fetch_add(&f->m.webhooks_failed, 1);
		log_warn("webhook delivery %s, attempt %d: %s", id, attempts, err_msg());
		(void)db_run(f->db,
			     "UPDATE outbox SET next_ms = $2, attempts = $3, last_error = $4 WHERE"
			     " id = $1",
			     bad, 4, NULL);
	}
}

void *fleet_hook_main(void *arg)
{
	struct fleet *f = arg;
	CURL *c = curl_easy_init();

	while (c && !atomic_load(&f->stop)) {
		struct db_rows r;
		char now[24];
		struct timespec pause = {0, 250 * 1000000};

		snprintf(now, sizeof(now), "%" PRId64, fleet_now_ms());
		const char *p[] = {now};
		if (db_run(f->db,
			   "SELECT id, url, body, attempts FROM outbox WHERE delivered_ms = 0 AND"
			   " next_ms <= $1 ORDER BY id LIMIT 32",
			   p, 1, &r) < 0) {
			nanosleep(&pause, NULL);
			continue;
		}
		for (size_t i = 0; i < r.n_rows && !atomic_load(&f->stop); i++) {
			int rc = deliver(f, c, db_cell(&r, i, 0), db_cell(&r, i, 1),
					 db_cell(&r, i, 2));

			record(f, db_cell(&r, i, 0), (int)db_cell_i64(&r, i, 3) + 1, rc);
		}
		if (r.n_rows == 0)
			nanosleep(&pause, NULL);
		db_rows_free(&r);
	}
	curl_easy_cleanup(c);
	return NULL;
}
