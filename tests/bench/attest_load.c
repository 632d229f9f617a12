// SPDX-License-Identifier: MIT
/*
 * Load for attestd: N verifiers, each asking for quotes back to back for a
 * number of seconds over its own connection; prints attestations per second
 * and p50/p99 latency.  usage: attest_load HOST:PORT CLIENTS SECONDS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "attest_client.h"

struct client {
	const char *where;
	double seconds;
	unsigned done, failed;
	double *lat;
	size_t n_lat, cap;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct client *c = arg;
	struct attest_request req = {.type = ATTEST_QUOTE, .nonce_len = 32, .logs = 0};
	double end = now() + c->seconds;

	pcr_selection_parse("sha256:0,7,10,13", &req.sel);
	while (now() < end) {
		uint8_t *body;
		size_t len;
		double t0 = now();

		RAND_bytes(req.nonce, 32);
		if (attest_call(c->where, &req, 30000, &body, &len) < 0) {
			c->failed++;
			continue;
		}
		free(body);
		c->done++;
		if (c->n_lat == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 256;
			c->lat = realloc(c->lat, c->cap * sizeof(double));
		}
		c->lat[c->n_lat++] = now() - t0;
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned n = argc == 4 ? (unsigned)atoi(argv[2]) : 0;
	double secs = argc == 4 ? atof(argv[3]) : 0;
	struct client *c = calloc(n ? n : 1, sizeof(*c));
	pthread_t *t = calloc(n ? n : 1, sizeof(*t));
	unsigned done = 0, failed = 0;
	size_t total = 0, k = 0;
	double *all;

	if (!n || secs <= 0) {
		fprintf(stderr, "usage: attest_load HOST:PORT CLIENTS SECONDS\n");
		return 2;
	}
	for (unsigned i = 0; i < n; i++) {
		c[i] = (struct client){.where = argv[1], .seconds = secs};
		pthread_create(&t[i], NULL, run, &c[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		done += c[i].done;
		failed += c[i].failed;
		total += c[i].n_lat;
	}
	all = malloc((total ? total : 1) * sizeof(double));
	for (unsigned i = 0; i < n; i++)
		for (size_t j = 0; j < c[i].n_lat; j++)
			all[k++] = c[i].lat[j];
	qsort(all, total, sizeof(double), cmp);
	printf("%.1f %u %.1f %.1f\n", done / secs, failed, total ? 1000 * all[total / 2] : 0,
	       total ? 1000 * all[total * 99 / 100] : 0);
	return 0;
}
