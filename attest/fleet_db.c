// SPDX-License-Identifier: MIT
/* The fleet database: engine dispatch, one lock, and the schema's migrations. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fleet_db.h"

struct fleet_db {
	const struct db_engine *engine;
	void *conn;
	char *url;
	pthread_mutex_t lock; /* recursive: a transaction holds it across its statements */
};

/*
 * Migrations, in order; never edited once released, only appended to.  {ID}
 * is the engine's autoincrementing primary key.  schema_version holds how
 * many have been applied.
 */
static const char *const migrations[] = {
	/* 1: the registry, results, events and the webhook outbox */
	"CREATE TABLE policies (name TEXT PRIMARY KEY, reference TEXT, runtime TEXT,"
	" pcrs TEXT NOT NULL DEFAULT '', strict INTEGER NOT NULL DEFAULT 0,"
	" policy_id TEXT NOT NULL, updated_ms BIGINT NOT NULL);"
	"CREATE TABLE devices (id {ID}, name TEXT UNIQUE NOT NULL, address TEXT NOT NULL,"
	" policy TEXT NOT NULL DEFAULT '', interval_ms INTEGER NOT NULL,"
	" ak_pem TEXT NOT NULL, ek_pem TEXT NOT NULL, identity INTEGER NOT NULL,"
	" ek_issuer TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '{}',"
	" status TEXT NOT NULL DEFAULT 'unknown', reason TEXT NOT NULL DEFAULT '',"
	" last_ms BIGINT NOT NULL DEFAULT 0, last_result BIGINT NOT NULL DEFAULT 0,"
	" created_ms BIGINT NOT NULL, lease_owner TEXT NOT NULL DEFAULT '',"
	" lease_until_ms BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE results (id {ID}, device_id BIGINT NOT NULL, at_ms BIGINT NOT NULL,"
	" due_ms BIGINT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,"
	" evidence_sha256 TEXT NOT NULL, ear TEXT NOT NULL, latency_us INTEGER NOT NULL,"
	" instance TEXT NOT NULL);"
	"CREATE INDEX results_by_device ON results (device_id, id);"
	"CREATE TABLE events (id {ID}, device_id BIGINT NOT NULL, device TEXT NOT NULL,"
	" at_ms BIGINT NOT NULL, old_status TEXT NOT NULL, new_status TEXT NOT NULL,"
	" reason TEXT NOT NULL, result_id BIGINT NOT NULL);"
	"CREATE TABLE outbox (id {ID}, event_id BIGINT NOT NULL, url TEXT NOT NULL,"
	" body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_ms BIGINT NOT NULL,"
	" delivered_ms BIGINT NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX outbox_pending ON outbox (delivered_ms, next_ms);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

const char *db_cell(const struct db_rows *r, size_t row, size_t col)
{
	return row < r->n_rows && col < r->n_cols ? r->cell[row * r->n_cols + col] : NULL;
}

int64_t db_cell_i64(const struct db_rows *r, size_t row, size_t col)
{
	const char *s = db_cell(r, row, col);

	return s ? strtoll(s, NULL, 10) : 0;
}

void db_rows_free(struct db_rows *r)
{
	for (size_t i = 0; r->cell && i < r->n_rows * r->n_cols; i++)
		free(r->cell[i]);
	free(r->cell);
	*r = (struct db_rows){0};
}

bool fleet_db_is_postgres(const struct fleet_db *db)
{
	return db->engine == &db_postgres;
}

int db_run(struct fleet_db *db, const char *sql, const char *const *params, int n,
	   struct db_rows *ret)
{
	int rc;

	if (ret)
		*ret = (struct db_rows){0};
	pthread_mutex_lock(&db->lock);
	rc = db->conn ? db->engine->run(db->conn, sql, params, n, ret)
		      : err_set(-ENOTCONN, "%s: not connected", db->engine->name);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_run_i64(struct fleet_db *db, const char *sql, const char *const *params, int n, int64_t *ret)
{
	struct db_rows r;
	int rc = db_run(db, sql, params, n, &r);

	if (rc == 0 && (r.n_rows < 1 || r.n_cols < 1 || !db_cell(&r, 0, 0)))
		rc = err_set(-ENODATA, "the database returned no value");
	if (rc == 0)
		*ret = db_cell_i64(&r, 0, 0);
	db_rows_free(&r);
	return rc;
}

int db_begin(struct fleet_db *db)
{
	int rc;

	pthread_mutex_lock(&db->lock);
	rc = db_run(db, "BEGIN", NULL, 0, NULL);
	if (rc < 0)
		pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_commit(struct fleet_db *db)
{
	int rc = db_run(db, "COMMIT", NULL, 0, NULL);

	if (rc < 0)
		(void)db_run(db, "ROLLBACK", NULL, 0, NULL);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

void db_rollback(struct fleet_db *db)
{
	(void)db_run(db, "ROLLBACK", NULL, 0, NULL);
	pthread_mutex_unlock(&db->lock);
}

bool db_gone(struct fleet_db *db)
{
	bool gone;

	pthread_mutex_lock(&db->lock);
	gone = !db->conn || db->engine->gone(db->conn);
	pthread_mutex_unlock(&db->lock);
	return gone;
}

int db_reconnect(struct fleet_db *db)
{
	void *conn = NULL;
	int rc = db->engine->open(db->url, &conn);

	pthread_mutex_lock(&db->lock);
	if (rc == 0) {
		if (db->conn)
			db->engine->close(db->conn);
		db->conn = conn;
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Replaces each {ID} in @sql with the engine's primary key type. */
static char *dialect(const struct db_engine *e, const char *sql)
{
	size_t n = 0, idl = strlen(e->id_column);
	const char *p;
	char *out, *o;

	for (p = sql; (p = strstr(p, "{ID}")); p += 4)
		n++;
	if (!(out = malloc(strlen(sql) + n * idl + 1)))
		return NULL;
	for (o = out, p = sql; *p;) {
		if (strncmp(p, "{ID}", 4) == 0) {
			memcpy(o, e->id_column, idl);
			o += idl;
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

int fleet_db_schema_version(struct fleet_db *db)
{
	int64_t v = 0;

	if (db_run_i64(db, "SELECT version FROM schema_version", NULL, 0, &v) < 0)
		return -1;
	return (int)v;
}

/*
 * Applies what is missing, each migration in its own transaction with the
 * version bump; a newer schema than this program knows is refused.  On
 * PostgreSQL an advisory lock keeps two starting instances from racing.
 */
static int migrate(struct fleet_db *db)
{
	int have, rc = 0;

	if (fleet_db_is_postgres(db) &&
	    (rc = db_run(db, "SELECT pg_advisory_lock(7275)", NULL, 0, NULL)) < 0)
		return rc;
	if ((rc = db_run(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
			 NULL, 0, NULL)) < 0)
		goto out;
	if ((have = fleet_db_schema_version(db)) < 0) {
		if ((rc = db_run(db, "INSERT INTO schema_version (version) VALUES (0)", NULL, 0,
				 NULL)) < 0)
			goto out;
		have = 0;
	}
	if (have > N_MIGRATIONS) {
		rc = err_set(-EPROTO, "the database's schema is version %d; this attest knows %d",
			     have, N_MIGRATIONS);
		goto out;
	}
	for (int v = have; v < N_MIGRATIONS && rc == 0; v++) {
		char *sql = dialect(db->engine, migrations[v]), ver[16];
		const char *p[] = {ver};

		snprintf(ver, sizeof(ver), "%d", v + 1);
		if (!sql) {
			rc = err_set(-ENOMEM, "out of memory");
			break;
		}
		if ((rc = db_begin(db)) == 0) {
			rc = db_run(db, sql, NULL, 0, NULL);
			if (rc == 0)
				rc = db_run(db, "UPDATE schema_version SET version = $1", p, 1,
					    NULL);
			if (rc == 0)
				rc = db_commit(db);
			else
				db_rollback(db);
		}
		free(sql);
		if (rc < 0)
			rc = err_set(rc, "migration %d: %s", v + 1, err_msg());
	}
out:
	if (fleet_db_is_postgres(db))
		(void)db_run(db, "SELECT pg_advisory_unlock(7275)", NULL, 0, NULL);
	return rc;
}

int fleet_db_open(const char *url, struct fleet_db **ret)
{
	struct fleet_db *db = calloc(1, sizeof(*db));
	pthread_mutexattr_t a;
	int rc;

	if (!db || !(db->url = strdup(url))) {
		free(db);
		return err_set(-ENOMEM, "out of memory");
	}
	db->engine = strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0
			     ? &db_postgres
			     : &db_sqlite;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->lock, &a);
	pthread_mutexattr_destroy(&a);
	rc = db->engine->open(url, &db->conn);
	if (rc == 0)
		rc = migrate(db);
	if (rc < 0) {
		fleet_db_close(db);
		return rc;
	}
	*ret = db;
	return 0;
}

void fleet_db_close(struct fleet_db *db)
{
	if (!db)
		return;
	if (db->conn)
		db->engine->close(db->conn);
	pthread_mutex_destroy(&db->lock);
	free(db->url);
	free(db);
}
