// SPDX-License-Identifier: MIT
/*
 * The SQLite engine: one file in WAL mode (readers never wait for the
 * writer), synchronous=NORMAL (a crash may lose the last transactions, never
 * corrupt the file), and prepared statements cached by their SQL's address:
 * the SQL is always one of the program's constant strings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "err.h"
#include "fleet_db.h"

#define STMT_CACHE 64

struct sqlite_conn {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE];
	unsigned n_cache;
};

static int sq_err(struct sqlite_conn *c, const char *what)
{
	return err_set(-EIO, "sqlite: %s: %s", what, sqlite3_errmsg(c->db));
}

static void sq_close(void *conn)
{
	struct sqlite_conn *c = conn;

	for (unsigned i = 0; i < c->n_cache; i++)
		sqlite3_finalize(c->cache[i].stmt);
	sqlite3_close(c->db);
	free(c);
}

static int sq_open(const char *url, void **ret)
{
	struct sqlite_conn *c = calloc(1, sizeof(*c));
	const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;

	if (!c)
		return err_set(-ENOMEM, "out of memory");
	if (sqlite3_open_v2(path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		int rc = err_set(-EIO, "sqlite: %s: %s", path,
				 c->db ? sqlite3_errmsg(c->db) : "cannot open");

		sq_close(c);
		return rc;
	}
	sqlite3_busy_timeout(c->db, 5000);
	if (sqlite3_exec(c->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 " PRAGMA foreign_keys=ON;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		int rc = sq_err(c, path);

		sq_close(c);
		return rc;
	}
	*ret = c;
	return 0;
}

/* $1 -> ?1: SQLite's numbered parameters, the same numbers. */
static sqlite3_stmt *prepare(struct sqlite_conn *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *text;
	unsigned i;

	for (i = 0; i < c->n_cache; i++)
		if (c->cache[i].sql == sql)
			return c->cache[i].stmt;
	if (!(text = strdup(sql)))
		return NULL;
	for (char *p = text; (p = strchr(p, '$'));)
		*p++ = '?';
	if (sqlite3_prepare_v3(c->db, text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		st = NULL;
	free(text);
	if (st && c->n_cache < STMT_CACHE) {
		c->cache[c->n_cache].sql = sql;
		c->cache[c->n_cache++].stmt = st;
	}
	return st;
}

static bool cached(struct sqlite_conn *c, sqlite3_stmt *st)
{
	for (unsigned i = 0; i < c->n_cache; i++)
		if (c->cache[i].stmt == st)
			return true;
	return false;
}

static int collect(sqlite3_stmt *st, struct db_rows *ret)
{
	size_t cols = (size_t)sqlite3_column_count(st), cap = 0;

	ret->n_cols = cols;
	for (;;) {
		int s = sqlite3_step(st);

		if (s == SQLITE_DONE)
			return 0;
		if (s != SQLITE_ROW)
			return -1;
		if (ret->n_rows == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			char **cell = realloc(ret->cell, ncap * (cols ? cols : 1) * sizeof(*cell));

			if (!cell)
				return err_set(-ENOMEM, "out of memory");
			ret->cell = cell;
			cap = ncap;
		}
		for (size_t k = 0; k < cols; k++) {
			const unsigned char *t = sqlite3_column_text(st, (int)k);

			ret->cell[ret->n_rows * cols + k] = t ? strdup((const char *)t) : NULL;
		}
		ret->n_rows++;
	}
}

/* Integers bound as integers (LIMIT takes no text); a TEXT column stores either as text. */
static int bind(sqlite3_stmt *st, int i, const char *v)
{
	char *end;
	long long x;

	if (!v)
		return sqlite3_bind_null(st, i);
	errno = 0;
	x = strtoll(v, &end, 10);
	if (*v && !*end && errno == 0 && (v[0] != '0' || !v[1]) && v[0] != '+' && v[0] != ' ')
		return sqlite3_bind_int64(st, i, x);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static int sq_run(void *conn, const char *sql, const char *const *params, int n,
		  struct db_rows *ret)
{
	struct sqlite_conn *c = conn;
	struct db_rows scratch = {0};
	sqlite3_stmt *st;
	int rc = 0;

	/* several statements and nothing to bind (migrations, BEGIN, COMMIT) */
	if (n == 0 && !ret && strchr(sql, ';'))
		return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
									       : sq_err(c, "exec");
	if (!(st = prepare(c, sql)))
		return sq_err(c, "prepare");
	for (int i = 0; i < n && rc == 0; i++)
		if (bind(st, i + 1, params[i]) != SQLITE_OK)
			rc = sq_err(c, "bind");
	if (rc == 0 && (rc = collect(st, ret ? ret : &scratch)) == -1)
		rc = sq_err(c, "step");
	db_rows_free(&scratch);
	if (rc < 0 && ret)
		db_rows_free(ret);
	if (cached(c, st)) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
	return rc;
}

/* A file does not go away as a server does. */
static bool sq_gone(void *conn)
{
	(void)conn;
	return false;
}

const struct db_engine db_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.run = sq_run,
	.gone = sq_gone,
	.id_column = "INTEGER PRIMARY KEY AUTOINCREMENT",
};
