// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL engine, through libpq: text parameters and results
 * (PQexecParams infers each parameter's type from where it is used).  A
 * connection that broke is reported as gone; the caller keeps its work and
 * reconnects (fleet_store.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "fleet_db.h"

static void pg_close(void *conn)
{
	PQfinish(conn);
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs (CREATE ... IF NOT EXISTS) are not errors */
}

static int pg_open(const char *url, void **ret)
{
	PGconn *c = PQconnectdb(url);

	if (!c)
		return err_set(-ENOMEM, "out of memory");
	if (PQstatus(c) != CONNECTION_OK) {
		/* the message may hold the URL: say only libpq's first line */
		char msg[256];
		const char *m = PQerrorMessage(c);
		size_t n = strcspn(m, "\n");

		snprintf(msg, sizeof(msg), "%.*s", (int)(n < 200 ? n : 200), m);
		PQfinish(c);
		return err_set(-ECONNREFUSED, "postgresql: %s", msg);
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	*ret = c;
	return 0;
}

static int collect(PGresult *r, struct db_rows *ret)
{
	size_t rows = (size_t)PQntuples(r), cols = (size_t)PQnfields(r);

	ret->n_cols = cols;
	if (!rows)
		return 0;
	if (!(ret->cell = calloc(rows * cols, sizeof(*ret->cell))))
		return err_set(-ENOMEM, "out of memory");
	ret->n_rows = rows;
	for (size_t i = 0; i < rows; i++)
		for (size_t k = 0; k < cols; k++)
			if (!PQgetisnull(r, (int)i, (int)k) &&
			    !(ret->cell[i * cols + k] = strdup(PQgetvalue(r, (int)i, (int)k))))
				return err_set(-ENOMEM, "out of memory");
	return 0;
}

static int pg_run(void *conn, const char *sql, const char *const *params, int n,
		  struct db_rows *ret)
{
	PGresult *r = n == 0 && !ret ? PQexec(conn, sql)
				     : PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);
	int rc = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorMessage(r);

		rc = err_set(PQstatus(conn) == CONNECTION_OK ? -EIO : -ENOTCONN, "postgresql: %.*s",
			     (int)strcspn(m, "\n"), m);
	} else if (ret) {
		rc = collect(r, ret);
		if (rc < 0)
			db_rows_free(ret);
	}
	PQclear(r);
	return rc;
}

static bool pg_gone(void *conn)
{
	return PQstatus(conn) != CONNECTION_OK;
}

const struct db_engine db_postgres = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.run = pg_run,
	.gone = pg_gone,
	.id_column = "BIGSERIAL PRIMARY KEY",
};
