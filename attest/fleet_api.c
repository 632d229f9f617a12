// SPDX-License-Identifier: MIT
/*
 * attest serve's HTTP/JSON API (docs/FLEET.md), /metrics and the page.
 * libmicrohttpd, a thread per connection (enrolment and the events long
 * poll block), TLS when a certificate is given.  Every /api and /metrics
 * request carries "Authorization: Bearer TOKEN"; the tokens file gives each
 * token a role, read or admin.  Errors are {"error": REASON} with a status
 * that says whose fault it was.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "attest.h"
#include "ear.h"
#include "err.h"
#include "fileio.h"
#include "fleet.h"
#include "fleet_db.h"
#include "mem.h"

#define BODY_MAX   (64u << 20) /* a reference document with every file's digest */
#define TOKENS_MAX 64
#define WAIT_MAX_S 60

extern const unsigned char fleet_page_html[];
extern const unsigned int fleet_page_html_len;

enum role { ROLE_NONE = 0, ROLE_READ, ROLE_ADMIN };

struct fleet_api {
	struct fleet *f;
	struct MHD_Daemon *mhd;
	char *cert, *key;
	struct {
		uint8_t digest[32]; /* of the token: the tokens themselves are not kept */
		enum role role;
	} token[TOKENS_MAX];
	unsigned n_tokens;
	EVP_PKEY *ear_key;
};

struct request {
	char *body;
	size_t len;
	bool too_big;
};

struct reply {
	unsigned status;
	struct json_object *json; /* or */
	char *text;
	const char *type;
};

static void reply_error(struct reply *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct reply *r, unsigned status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_put(r->json);
	r->status = status;
	r->json = json_object_new_object();
	json_object_object_add(r->json, "error", json_object_new_string(msg));
}

/* An error from the registry as a status: what the caller got wrong, or ours. */
static void reply_errno(struct reply *r, int rc)
{
	unsigned s = rc == -ENOENT	   ? MHD_HTTP_NOT_FOUND
		     : rc == -EEXIST	   ? MHD_HTTP_CONFLICT
		     : rc == -EINVAL	   ? MHD_HTTP_BAD_REQUEST
		     : rc == -EPERM	   ? MHD_HTTP_UNPROCESSABLE_CONTENT
		     : rc == -ECONNREFUSED ? MHD_HTTP_BAD_GATEWAY
		     : rc == -ETIMEDOUT	   ? MHD_HTTP_GATEWAY_TIMEOUT
		     : rc == -EBADMSG	   ? MHD_HTTP_BAD_GATEWAY
		     : rc == -ENOTCONN	   ? MHD_HTTP_SERVICE_UNAVAILABLE
					   : MHD_HTTP_INTERNAL_SERVER_ERROR;

	reply_error(r, s, "%s", err_msg());
}

static void token_digest(const char *token, size_t len, uint8_t out[32])
{
	unsigned n = 0;

	if (EVP_Digest(token, len, out, &n, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

static enum role role_of(struct fleet_api *api, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	enum role role = ROLE_NONE;
	uint8_t d[32];

	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return ROLE_NONE;
	token_digest(h + 7, strlen(h + 7), d);
	for (unsigned i = 0; i < api->n_tokens; i++)
		if (CRYPTO_memcmp(d, api->token[i].digest, 32) == 0)
			role = api->token[i].role;
	return role;
}

/* "TOKEN ROLE" lines; # comments.  The file should be 0600: it is refused when others can read it. */
static int tokens_load(struct fleet_api *api, const char *path)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	char *save = NULL;
	int rc;

	if ((rc = file_read_all(path, 1 << 20, &text, &len)) < 0)
		return rc;
	for (char *line = strtok_r((char *)text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tok = strtok(line, " \t"), *role = tok ? strtok(NULL, " \t\r") : NULL;

		if (!tok || tok[0] == '#')
			continue;
		if (!role || (strcmp(role, "read") && strcmp(role, "admin")))
			rc = err_set(-EINVAL, "%s: each line is TOKEN read|admin", path);
		else if (strlen(tok) < 16)
			rc = err_set(-EINVAL, "%s: a token of under 16 characters", path);
		else if (api->n_tokens == TOKENS_MAX)
			rc = err_set(-EINVAL, "%s: more than %d tokens", path, TOKENS_MAX);
		if (rc < 0)
			break;
		token_digest(tok, strlen(tok), api->token[api->n_tokens].digest);
		api->token[api->n_tokens++].role =
			strcmp(role, "admin") == 0 ? ROLE_ADMIN : ROLE_READ;
	}
	OPENSSL_cleanse(text, len);
	return rc;
}

static struct json_object *device_json(const struct fleet_device *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "address", json_object_new_string(d->address));
	json_object_object_add(o, "policy", json_object_new_string(d->policy));
	json_object_object_add(o, "interval_s", json_object_new_double(d->interval_ms / 1000.0));
	json_object_object_add(o, "status", json_object_new_string(fleet_status_name[d->status]));
	json_object_object_add(o, "reason", json_object_new_string(d->last_reason));
	json_object_object_add(o, "last_ms", json_object_new_int64(d->last_at_ms));
	json_object_object_add(
		o, "identity",
		json_object_new_string(d->state.identity == IDENTITY_CERTIFIED ? "certified"
				       : d->state.identity == IDENTITY_TOFU ? "trust-on-first-use"
									    : "unrecorded"));
	return o;
}

static void get_devices(struct fleet *f, struct reply *r)
{
	struct json_object *list = json_object_new_array(), *counts = json_object_new_object();
	unsigned n[FLEET_STATUS_COUNT] = {0};

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_dev; i++) {
		json_object_array_add(list, device_json(f->dev[i]));
		n[f->dev[i]->status]++;
	}
	pthread_mutex_unlock(&f->lock);
	for (int s = 0; s < FLEET_STATUS_COUNT; s++)
		json_object_object_add(counts, fleet_status_name[s], json_object_new_int(n[s]));
	r->json = json_object_new_object();
	json_object_object_add(r->json, "devices", list);
	json_object_object_add(r->json, "counts", counts);
}

static void get_device(struct fleet *f, const char *name, struct reply *r)
{
	struct fleet_device *d;

	pthread_mutex_lock(&f->lock);
	if ((d = fleet_device_find(f, name)))
		r->json = device_json(d);
	pthread_mutex_unlock(&f->lock);
	if (!d)
		reply_error(r, MHD_HTTP_NOT_FOUND, "no device \"%s\"", name);
}

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

/* A document field may be given as JSON (an object) or as its text. */
static const char *doc_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static struct json_object *parse_body(const struct request *q, struct reply *r)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o =
		tok ? json_tokener_parse_ex(tok, q->body ? q->body : "", (int)q->len) : NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		reply_error(r, MHD_HTTP_BAD_REQUEST, "the body is not a JSON object%s%s",
			    o ? "" : ": ",
			    o ? "" : json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static void post_device(struct fleet *f, const struct request *q, struct reply *r)
{
	struct json_object *o = parse_body(q, r), *v;
	const char *name, *address;
	double interval = 0;
	bool tofu = false;
	int rc;

	if (!o)
		return;
	name = str_field(o, "name");
	address = str_field(o, "address");
	if (json_object_object_get_ex(o, "interval_s", &v))
		interval = json_object_get_double(v);
	if (json_object_object_get_ex(o, "trust_on_first_use", &v))
		tofu = json_object_get_boolean(v);
	if (!name || !address)
		reply_error(r, MHD_HTTP_BAD_REQUEST, "needs \"name\" and \"address\" strings");
	else if (interval < 0 || interval > 86400)
		reply_error(r, MHD_HTTP_BAD_REQUEST, "interval_s must be 0 (default) to 86400");
	else if ((rc = fleet_device_add(f, name, address, str_field(o, "policy"),
					(uint32_t)(interval * 1000), tofu)) < 0)
		reply_errno(r, rc);
	else {
		r->status = MHD_HTTP_CREATED;
		get_device(f, name, r);
	}
	json_object_put(o);
}

static void put_device_policy(struct fleet *f, const char *name, const struct request *q,
			      struct reply *r)
{
	struct json_object *o = parse_body(q, r);
	const char *pol;
	int rc;

	if (!o)
		return;
	if (!(pol = str_field(o, "policy")))
		reply_error(r, MHD_HTTP_BAD_REQUEST, "needs \"policy\": a policy's name, or \"\"");
	else if ((rc = fleet_device_set_policy(f, name, pol)) < 0)
		reply_errno(r, rc);
	else
		get_device(f, name, r);
	json_object_put(o);
}

static int64_t device_id(struct fleet *f, const char *name)
{
	struct fleet_device *d;
	int64_t id = 0;

	pthread_mutex_lock(&f->lock);
	if ((d = fleet_device_find(f, name)))
		id = d->id;
	pthread_mutex_unlock(&f->lock);
	return id;
}

static int64_t query_i64(struct MHD_Connection *c, const char *key, int64_t def, int64_t max)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	char *end;
	long long x;

	if (!v)
		return def;
	x = strtoll(v, &end, 10);
	return *end || x < 0 ? -1 : x > max ? max : x;
}

/* History, newest first, a page at a time: ?before=ID&limit=N; next_before continues. */
static void get_results(struct fleet *f, struct MHD_Connection *c, const char *name,
			struct reply *r)
{
	int64_t id = device_id(f, name), before = query_i64(c, "before", INT64_MAX, INT64_MAX),
		limit = query_i64(c, "limit", 50, 500);
	char dev[24], b[24], l[24];
	struct db_rows rows;
	struct json_object *list;
	int rc;

	if (!id) {
		reply_error(r, MHD_HTTP_NOT_FOUND, "no device \"%s\"", name);
		return;
	}
	if (before < 0 || limit < 0) {
		reply_error(r, MHD_HTTP_BAD_REQUEST, "before and limit are whole numbers");
		return;
	}
	snprintf(dev, sizeof(dev), "%" PRId64, id);
	snprintf(b, sizeof(b), "%" PRId64, before);
	snprintf(l, sizeof(l), "%" PRId64, limit);
	const char *p[] = {dev, b, l};
	if ((rc = db_run(
		     f->db,
		     "SELECT id, at_ms, status, reason, evidence_sha256, latency_us FROM results"
		     " WHERE device_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
		     p, 3, &rows)) < 0) {
		reply_errno(r, rc);
		return;
	}
	list = json_object_new_array();
	for (size_t i = 0; i < rows.n_rows; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(db_cell_i64(&rows, i, 0)));
		json_object_object_add(o, "at_ms", json_object_new_int64(db_cell_i64(&rows, i, 1)));
		json_object_object_add(o, "status", json_object_new_string(db_cell(&rows, i, 2)));
		json_object_object_add(o, "reason", json_object_new_string(db_cell(&rows, i, 3)));
		json_object_object_add(o, "evidence_sha256",
				       json_object_new_string(db_cell(&rows, i, 4)));
		json_object_object_add(o, "latency_us",
				       json_object_new_int64(db_cell_i64(&rows, i, 5)));
		json_object_array_add(list, o);
	}
	r->json = json_object_new_object();
	json_object_object_add(r->json, "results", list);
	if (rows.n_rows == (size_t)limit && rows.n_rows)
		json_object_object_add(
			r->json, "next_before",
			json_object_new_int64(db_cell_i64(&rows, rows.n_rows - 1, 0)));
	db_rows_free(&rows);
}

/* The latest EAR: JSON, or with --ear-key an ES256 JWT (application/jwt). */
static void get_ear(struct fleet_api *api, const char *name, struct reply *r)
{
	struct fleet *f = api->f;
	int64_t id = device_id(f, name);
	char dev[24];
	struct db_rows rows;
	int rc;

	if (!id) {
		reply_error(r, MHD_HTTP_NOT_FOUND, "no device \"%s\"", name);
		return;
	}
	snprintf(dev, sizeof(dev), "%" PRId64, id);
	const char *p[] = {dev};
	if ((rc = db_run(f->db,
			 "SELECT ear FROM results WHERE device_id = $1 AND ear <> 'null' ORDER BY"
			 " id DESC LIMIT 1",
			 p, 1, &rows)) < 0) {
		reply_errno(r, rc);
		return;
	}
	if (rows.n_rows == 0)
		reply_error(r, MHD_HTTP_NOT_FOUND, "no result for \"%s\" yet", name);
	else if (api->ear_key) {
		if (ear_jwt_sign(db_cell(&rows, 0, 0), api->ear_key, &r->text) < 0)
			reply_errno(r, -EIO);
		r->type = "application/jwt";
	} else {
		r->text = strdup(db_cell(&rows, 0, 0));
		r->type = "application/json";
	}
	db_rows_free(&rows);
}

static void get_policies(struct fleet *f, const char *only, struct reply *r)
{
	struct json_object *list = json_object_new_array();

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_pol; i++) {
		const struct fleet_policy *p = f->pol[i];
		struct json_object *o, *users;

		if (only && strcmp(p->name, only) != 0)
			continue;
		o = json_object_new_object();
		users = json_object_new_array();
		json_object_object_add(o, "name", json_object_new_string(p->name));
		json_object_object_add(o, "policy_id", json_object_new_string(p->parsed.id));
		json_object_object_add(o, "pcrs", json_object_new_string(p->pcrs));
		json_object_object_add(o, "strict", json_object_new_boolean(p->strict));
		json_object_object_add(o, "has_reference", json_object_new_boolean(!!p->reference));
		json_object_object_add(o, "has_runtime_policy",
				       json_object_new_boolean(!!p->runtime));
		for (size_t k = 0; k < f->n_dev; k++)
			if (strcmp(f->dev[k]->policy, p->name) == 0)
				json_object_array_add(users,
						      json_object_new_string(f->dev[k]->name));
		json_object_object_add(o, "devices", users);
		json_object_array_add(list, o);
	}
	pthread_mutex_unlock(&f->lock);
	if (only && json_object_array_length(list) == 0) {
		json_object_put(list);
		reply_error(r, MHD_HTTP_NOT_FOUND, "no policy \"%s\"", only);
	} else if (only) {
		r->json = json_object_get(json_object_array_get_idx(list, 0));
		json_object_put(list);
	} else {
		r->json = json_object_new_object();
		json_object_object_add(r->json, "policies", list);
	}
}

static void put_policy(struct fleet *f, const char *name, const struct request *q, struct reply *r)
{
	struct json_object *o = parse_body(q, r), *v;
	bool strict = false;
	int rc;

	if (!o)
		return;
	if (json_object_object_get_ex(o, "strict", &v))
		strict = json_object_get_boolean(v);
	/* doc_field's texts live in @o: used before it is put */
	rc = fleet_policy_put_text(f, name, doc_field(o, "reference"),
				   doc_field(o, "runtime_policy"), str_field(o, "pcrs"), strict);
	if (rc < 0)
		reply_errno(r, rc);
	else
		get_policies(f, name, r);
	json_object_put(o);
}

/* Events after ?after=ID; with ?wait=S it waits up to S seconds for the first (the watch stream). */
static void get_events(struct fleet *f, struct MHD_Connection *c, struct reply *r)
{
	int64_t after = query_i64(c, "after", 0, INT64_MAX),
		wait = query_i64(c, "wait", 0, WAIT_MAX_S);
	int64_t until = fleet_now_ms() + wait * 1000;
	char a[24];
	struct db_rows rows = {0};
	int rc;

	if (after < 0 || wait < 0) {
		reply_error(r, MHD_HTTP_BAD_REQUEST, "after and wait are whole numbers");
		return;
	}
	snprintf(a, sizeof(a), "%" PRId64, after);
	const char *p[] = {a};
	for (;;) {
		rc = db_run(f->db,
			    "SELECT id, device, at_ms, old_status, new_status, reason, result_id"
			    " FROM events WHERE id > $1 ORDER BY id LIMIT 500",
			    p, 1, &rows);
		if (rc < 0) {
			reply_errno(r, rc);
			return;
		}
		if (rows.n_rows || fleet_now_ms() >= until || atomic_load(&f->stop))
			break;
		db_rows_free(&rows);
		usleep(200 * 1000);
	}
	struct json_object *list = json_object_new_array();
	for (size_t i = 0; i < rows.n_rows; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(db_cell_i64(&rows, i, 0)));
		json_object_object_add(o, "device", json_object_new_string(db_cell(&rows, i, 1)));
		json_object_object_add(o, "at_ms", json_object_new_int64(db_cell_i64(&rows, i, 2)));
		json_object_object_add(o, "from", json_object_new_string(db_cell(&rows, i, 3)));
		json_object_object_add(o, "to", json_object_new_string(db_cell(&rows, i, 4)));
		json_object_object_add(o, "reason", json_object_new_string(db_cell(&rows, i, 5)));
		json_object_object_add(o, "result",
				       json_object_new_int64(db_cell_i64(&rows, i, 6)));
		json_object_array_add(list, o);
	}
	db_rows_free(&rows);
	r->json = json_object_new_object();
	json_object_object_add(r->json, "events", list);
}

/* Prometheus text format 0.0.4. */
static void get_metrics(struct fleet *f, struct reply *r)
{
	static const char *const lat_le[] = {"0.001", "0.002", "0.005", "0.01", "0.02", "0.05",
					     "0.1",   "0.2",   "0.5",	"1",	"5",	"+Inf"};
	static const char *const lag_le[] = {"0.1", "0.5", "1", "2", "5", "10", "30", "+Inf"};
	unsigned n[FLEET_STATUS_COUNT] = {0};
	int64_t now = fleet_now_ms(), worst = 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	uint64_t cum = 0, total = 0;

	if (!out) {
		reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		return;
	}
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_dev; i++)
		n[f->dev[i]->status]++;
	/* how late the most overdue device is now */
	if (f->n_heap && f->heap[0]->due_ms < now)
		worst = now - f->heap[0]->due_ms;
	pthread_mutex_unlock(&f->lock);
	fprintf(out, "# HELP measured_attestations_total Polls by result.\n"
		     "# TYPE measured_attestations_total counter\n");
	for (int s = 1; s < FLEET_STATUS_COUNT; s++)
		fprintf(out, "measured_attestations_total{result=\"%s\"} %" PRIu64 "\n",
			fleet_status_name[s], (uint64_t)atomic_load(&f->m.attestations[s]));
	fprintf(out, "# HELP measured_devices Devices by current status.\n"
		     "# TYPE measured_devices gauge\n");
	for (int s = 0; s < FLEET_STATUS_COUNT; s++)
		fprintf(out, "measured_devices{status=\"%s\"} %u\n", fleet_status_name[s], n[s]);
	fprintf(out,
		"# HELP measured_attestation_seconds Time of one poll: quote and verification.\n"
		"# TYPE measured_attestation_seconds histogram\n");
	for (int i = 0; i < 12; i++) {
		cum += atomic_load(&f->m.latency_bucket[i]);
		fprintf(out, "measured_attestation_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
			lat_le[i], cum);
	}
	fprintf(out,
		"measured_attestation_seconds_sum %.6f\nmeasured_attestation_seconds_count %" PRIu64
		"\n",
		atomic_load(&f->m.latency_sum_us) / 1e6, cum);
	fprintf(out,
		"# HELP measured_poll_lag_seconds How late each poll started after it was due.\n"
		"# TYPE measured_poll_lag_seconds histogram\n");
	for (int i = 0; i < 8; i++) {
		total += atomic_load(&f->m.lag_bucket[i]);
		fprintf(out, "measured_poll_lag_seconds_bucket{le=\"%s\"} %" PRIu64 "\n", lag_le[i],
			total);
	}
	fprintf(out,
		"measured_poll_lag_seconds_sum %.3f\nmeasured_poll_lag_seconds_count %" PRIu64 "\n",
		atomic_load(&f->m.lag_sum_ms) / 1e3, total);
	fprintf(out,
		"# HELP measured_poll_overdue_seconds How late the most overdue device is now.\n"
		"# TYPE measured_poll_overdue_seconds gauge\nmeasured_poll_overdue_seconds %.3f\n",
		worst / 1e3);
	fprintf(out,
		"# HELP measured_db_errors_total Failed database writes (results kept and "
		"retried).\n"
		"# TYPE measured_db_errors_total counter\nmeasured_db_errors_total %" PRIu64 "\n",
		(uint64_t)atomic_load(&f->m.db_errors));
	fprintf(out,
		"# HELP measured_results_queued Results waiting for the database.\n"
		"# TYPE measured_results_queued gauge\nmeasured_results_queued %" PRIu64 "\n",
		(uint64_t)atomic_load(&f->m.results_queued));
	fprintf(out,
		"# HELP measured_webhooks_total Webhook delivery attempts by outcome.\n"
		"# TYPE measured_webhooks_total counter\n"
		"measured_webhooks_total{outcome=\"delivered\"} %" PRIu64 "\n"
		"measured_webhooks_total{outcome=\"failed\"} %" PRIu64 "\n",
		(uint64_t)atomic_load(&f->m.webhooks_delivered),
		(uint64_t)atomic_load(&f->m.webhooks_failed));
	fclose(out);
	r->text = buf;
	r->type = "text/plain; version=0.0.4";
}

/* Splits "/api/v1/devices/NAME/results" into its segments after /api/v1/. */
static unsigned segments(const char *url, char seg[4][96])
{
	unsigned n = 0;

	if (strncmp(url, "/api/v1/", 8) != 0)
		return 0;
	for (const char *p = url + 8; *p && n < 4;) {
		size_t len = strcspn(p, "/");

		if (len >= 96)
			return 0;
		memcpy(seg[n], p, len);
		seg[n++][len] = '\0';
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
}

static void route(struct fleet_api *api, struct MHD_Connection *c, const char *url,
		  const char *method, const struct request *q, struct reply *r)
{
	struct fleet *f = api->f;
	bool get = strcmp(method, "GET") == 0;
	enum role role = role_of(api, c);
	char s[4][96];
	unsigned n = segments(url, s);
	int rc;

	if (get && (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)) {
		r->text = strndup((const char *)fleet_page_html, fleet_page_html_len);
		r->type = "text/html; charset=utf-8";
		return;
	}
	if (role == ROLE_NONE) {
		reply_error(r, MHD_HTTP_UNAUTHORIZED, "needs Authorization: Bearer TOKEN");
		return;
	}
	if (!get && role != ROLE_ADMIN) {
		reply_error(r, MHD_HTTP_FORBIDDEN, "%s needs an admin token", method);
		return;
	}
	if (get && strcmp(url, "/metrics") == 0)
		get_metrics(f, r);
	else if (n == 1 && strcmp(s[0], "devices") == 0 && get)
		get_devices(f, r);
	else if (n == 1 && strcmp(s[0], "devices") == 0 && strcmp(method, "POST") == 0)
		post_device(f, q, r);
	else if (n == 2 && strcmp(s[0], "devices") == 0 && get)
		get_device(f, s[1], r);
	else if (n == 2 && strcmp(s[0], "devices") == 0 && strcmp(method, "DELETE") == 0) {
		if ((rc = fleet_device_remove(f, s[1])) < 0)
			reply_errno(r, rc);
		else
			r->status = MHD_HTTP_NO_CONTENT;
	} else if (n == 3 && strcmp(s[0], "devices") == 0 && strcmp(s[2], "results") == 0 && get)
		get_results(f, c, s[1], r);
	else if (n == 3 && strcmp(s[0], "devices") == 0 && strcmp(s[2], "ear") == 0 && get)
		get_ear(api, s[1], r);
	else if (n == 3 && strcmp(s[0], "devices") == 0 && strcmp(s[2], "policy") == 0 &&
		 strcmp(method, "PUT") == 0)
		put_device_policy(f, s[1], q, r);
	else if (n == 1 && strcmp(s[0], "policies") == 0 && get)
		get_policies(f, NULL, r);
	else if (n == 2 && strcmp(s[0], "policies") == 0 && get)
		get_policies(f, s[1], r);
	else if (n == 2 && strcmp(s[0], "policies") == 0 && strcmp(method, "PUT") == 0)
		put_policy(f, s[1], q, r);
	else if (n == 1 && strcmp(s[0], "events") == 0 && get)
		get_events(f, c, r);
	else
		reply_error(r, MHD_HTTP_NOT_FOUND, "no %s %s", method, url);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *text = NULL;

	if (r->json)
		text = json_object_to_json_string_ext(
			r->json, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	else if (r->text)
		text = r->text;
	resp = MHD_create_response_from_buffer(text ? strlen(text) : 0, (void *)(text ? text : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
				r->type ? r->type : "application/json; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; script-src 'unsafe-inline' 'self'; "
				"style-src 'unsafe-inline'");
	ret = MHD_queue_response(c, r->status ? r->status : MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **ctx)
{
	struct fleet_api *api = cls;
	struct request *q = *ctx;
	struct reply r = {0};
	enum MHD_Result ret;

	(void)version;
	if (!q) {
		if (!(q = calloc(1, sizeof(*q))))
			return MHD_NO;
		*ctx = q;
		return MHD_YES;
	}
	if (*upload_len) {
		if (q->len + *upload_len > BODY_MAX) {
			q->too_big = true;
		} else if (!q->too_big) {
			char *b = realloc(q->body, q->len + *upload_len + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + q->len, upload, *upload_len);
			q->body = b;
			q->len += *upload_len;
			q->body[q->len] = '\0';
		}
		*upload_len = 0;
		return MHD_YES;
	}
	if (q->too_big)
		reply_error(&r, 413, "a body over %u MiB", BODY_MAX >> 20);
	else
		route(api, c, url, method, q, &r);
	ret = send_reply(c, &r);
	json_object_put(r.json);
	free(r.text);
	return ret;
}

static void request_done(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode why)
{
	struct request *q = *ctx;

	(void)cls;
	(void)c;
	(void)why;
	if (q) {
		free(q->body);
		free(q);
	}
	*ctx = NULL;
}

/* Binds HOST:PORT ourselves: an address, not just a port, and errors that name it. */
static int api_listen(const char *where, int *ret_fd)
{
	char host[256];
	const char *colon = strrchr(where, ':');
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int fd, one = 1;
	long port;

	if (!colon || (size_t)(colon - where) >= sizeof(host))
		return err_set(-EINVAL, "--listen %s: needs HOST:PORT", where);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - where), where);
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return err_set(-EINVAL, "--listen %s: bad port", where);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		host[strlen(host) - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return err_set(-EINVAL, "--listen %s: bad address", where);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return err_set(-EINVAL, "--listen %s: bad address", where);
		sl = sizeof(*a);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(-errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
		int rc = err_set(-errno, "--listen %s: %s", where, strerror(errno));

		close(fd);
		return rc;
	}
	*ret_fd = fd;
	return 0;
}

static int read_text(const char *path, char **ret)
{
	uint8_t *buf;
	size_t len;
	int rc = file_read_all(path, 1 << 20, &buf, &len);

	if (rc == 0)
		*ret = (char *)buf; /* file_read_all ends it with a NUL */
	return rc;
}

int fleet_api_start(struct fleet *f, const char *ear_key_path, struct fleet_api **ret)
{
	struct fleet_api *api = calloc(1, sizeof(*api));
	unsigned flags =
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int fd = -1, rc;

	if (!api)
		return err_set(-ENOMEM, "out of memory");
	api->f = f;
	rc = f->cfg.tokens_path ? tokens_load(api, f->cfg.tokens_path)
				: err_set(-EINVAL, "needs --tokens FILE (TOKEN read|admin lines)");
	if (rc == 0 && ear_key_path)
		rc = ear_key_load(ear_key_path, &api->ear_key);
	if (rc == 0 && f->cfg.tls_cert) {
		rc = read_text(f->cfg.tls_cert, &api->cert);
		if (rc == 0)
			rc = read_text(f->cfg.tls_key ? f->cfg.tls_key : f->cfg.tls_cert,
				       &api->key);
		flags |= MHD_USE_TLS;
	}
	if (rc == 0)
		rc = api_listen(f->cfg.listen, &fd);
	if (rc < 0) {
		fleet_api_stop(api);
		return rc;
	}
	api->mhd = api->cert
			   ? MHD_start_daemon(
				     flags, 0, NULL, NULL, handle, api, MHD_OPTION_LISTEN_SOCKET,
				     fd, MHD_OPTION_NOTIFY_COMPLETED, request_done, api,
				     MHD_OPTION_CONNECTION_LIMIT, 256u,
				     MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_HTTPS_MEM_CERT,
				     api->cert, MHD_OPTION_HTTPS_MEM_KEY, api->key, MHD_OPTION_END)
			   : MHD_start_daemon(flags, 0, NULL, NULL, handle, api,
					      MHD_OPTION_LISTEN_SOCKET, fd,
					      MHD_OPTION_NOTIFY_COMPLETED, request_done, api,
					      MHD_OPTION_CONNECTION_LIMIT, 256u,
					      MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
	if (!api->mhd) {
		close(fd);
		fleet_api_stop(api);
		return err_set(-EIO, "the HTTP server did not start on %s", f->cfg.listen);
	}
	*ret = api;
	return 0;
}

void fleet_api_stop(struct fleet_api *api)
{
	if (!api)
		return;
	if (api->mhd)
		MHD_stop_daemon(api->mhd);
	if (api->key)
		OPENSSL_cleanse(api->key, strlen(api->key));
	free(api->key);
	free(api->cert);
	EVP_PKEY_free(api->ear_key);
	OPENSSL_cleanse(api->token, sizeof(api->token));
	free(api);
}
