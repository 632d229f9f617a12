/* SPDX-License-Identifier: MIT */
/*
 * The fleet's database: one schema, two engines.  SQLite (a file path: the
 * embedded default, in WAL mode) and PostgreSQL ("postgresql://...", through
 * libpq).  SQL is written once with $1, $2 ... parameters; values go in and
 * come out as text, which both engines convert by the column's type.  The
 * schema's versioned migrations (fleet_db.c) are applied at open.
 *
 * One connection, used under its own lock: callers may be any thread.
 */
#ifndef ATTEST_FLEET_DB_H
#define ATTEST_FLEET_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fleet_db;

/* Rows of text, NULL for SQL NULL. */
struct db_rows {
	size_t n_rows, n_cols;
	char **cell; /* n_rows * n_cols */
};

const char *db_cell(const struct db_rows *r, size_t row, size_t col);
int64_t db_cell_i64(const struct db_rows *r, size_t row, size_t col);
void db_rows_free(struct db_rows *r);

int fleet_db_open(const char *url, struct fleet_db **ret);
void fleet_db_close(struct fleet_db *db);
bool fleet_db_is_postgres(const struct fleet_db *db);
int fleet_db_schema_version(struct fleet_db *db);

/* Runs @sql with @n text parameters; *ret (may be NULL) gets the rows it returns. */
int db_run(struct fleet_db *db, const char *sql, const char *const *params, int n,
	   struct db_rows *ret);
/* The same for a statement returning one integer (RETURNING id, count(*)). */
int db_run_i64(struct fleet_db *db, const char *sql, const char *const *params, int n,
	       int64_t *ret);

/* A transaction: db_begin takes the connection for this thread until commit or rollback. */
int db_begin(struct fleet_db *db);
int db_commit(struct fleet_db *db);
void db_rollback(struct fleet_db *db);

/* Whether the last failure was the database going away (reconnect, keep the work). */
bool db_gone(struct fleet_db *db);
int db_reconnect(struct fleet_db *db);

/* The engines (fleet_sqlite.c, fleet_pg.c) behind the calls above. */
struct db_engine {
	const char *name;
	int (*open)(const char *url, void **ret);
	void (*close)(void *conn);
	int (*run)(void *conn, const char *sql, const char *const *params, int n,
		   struct db_rows *ret);
	bool (*gone)(void *conn);
	const char *id_column; /* the autoincrementing primary key's type */
};

extern const struct db_engine db_sqlite, db_postgres;

#endif
