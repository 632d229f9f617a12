// SPDX-License-Identifier: MIT
/*
 * attest serve: start the fleet verifier (fleet.h) and run until SIGTERM or
 * SIGINT.  Stopping lets each poller finish its poll and the writer store
 * what is queued.  -n checks the settings and the database, says what it
 * would do, and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "attest.h"
#include "err.h"
#include "fileio.h"
#include "fleet.h"
#include "fleet_db.h"
#include "kvconf.h"
#include "mem.h"

#define POLLERS_MAX 256

static const char usage_text[] =
	"serve [-n] [--db FILE|postgresql://...] --listen HOST:PORT --tokens FILE\n"
	"             [--tls-cert C --tls-key K] [--interval S] [--jitter PCT] [--timeout-ms MS]\n"
	"             [--pollers N] [--keep-results N] [--webhook URL --webhook-secret FILE]\n"
	"             [--ear-key KEY.pem] [--instance NAME]";

static int number(const char *opt, const char *text, unsigned min, unsigned max, unsigned *ret)
{
	if (kvconf_uint(opt, text, min, max, ret) < 0) {
		fprintf(stderr, "attest serve: %s\n", err_msg());
		return -1;
	}
	return 0;
}

static int parse(int argc, char **argv, struct fleet_config *c, const char **ear_key)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"tokens", required_argument, NULL, 't'},
		{"tls-cert", required_argument, NULL, 'C'},
		{"tls-key", required_argument, NULL, 'K'},
		{"interval", required_argument, NULL, 'i'},
		{"jitter", required_argument, NULL, 'j'},
		{"timeout-ms", required_argument, NULL, 'T'},
		{"pollers", required_argument, NULL, 'p'},
		{"keep-results", required_argument, NULL, 'k'},
		{"webhook", required_argument, NULL, 'w'},
		{"webhook-secret", required_argument, NULL, 's'},
		{"ear-key", required_argument, NULL, 'e'},
		{"instance", required_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	unsigned v;
	int o;

	while ((o = getopt_long(argc, argv, "n", longopts, NULL)) != -1) {
		switch (o) {
		case 'n':
			c->config_test = true;
			break;
		case 'd':
			c->db_url = optarg;
			break;
		case 'l':
			c->listen = optarg;
			break;
		case 't':
			c->tokens_path = optarg;
			break;
		case 'C':
			c->tls_cert = optarg;
			break;
		case 'K':
			c->tls_key = optarg;
			break;
		case 'w':
			c->webhook_url = optarg;
			break;
		case 's':
			c->webhook_secret_path = optarg;
			break;
		case 'e':
			*ear_key = optarg;
			break;
		case 'I':
			c->instance = optarg;
			break;
		case 'i':
			if (number("--interval", optarg, 1, 86400, &v) < 0)
				return -1;
			c->interval_ms = v * 1000;
			break;
		case 'j':
			if (number("--jitter", optarg, 0, 100, &c->jitter_pct) < 0)
				return -1;
			break;
		case 'T':
			if (number("--timeout-ms", optarg, 100, 600000, &c->timeout_ms) < 0)
				return -1;
			break;
		case 'p':
			if (number("--pollers", optarg, 1, POLLERS_MAX, &c->pollers) < 0)
				return -1;
			break;
		case 'k':
			if (number("--keep-results", optarg, 0, 10000000, &c->keep_results) < 0)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || !c->listen) {
		fprintf(stderr, "attest serve: needs --listen HOST:PORT\nusage: attest %s\n",
			usage_text);
		return -1;
	}
	if (!!c->webhook_url != !!c->webhook_secret_path) {
		fprintf(stderr, "attest serve: --webhook and --webhook-secret go together\n");
		return -1;
	}
	return 0;
}

static int load_secret(struct fleet *f)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int rc;

	if (!f->cfg.webhook_secret_path)
		return 0;
	if ((rc = file_read_all(f->cfg.webhook_secret_path, 4096, &text, &len)) < 0)
		return rc;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len < 16 || len > 64)
		rc = err_set(-EINVAL, "%s: a webhook secret of 16 to 64 bytes",
			     f->cfg.webhook_secret_path);
	else if (!(f->webhook_secret = secret_alloc(64)))
		rc = -ENOMEM;
	if (rc == 0) {
		memcpy(f->webhook_secret, text, len);
		f->webhook_secret_len = len;
	}
	OPENSSL_cleanse(text, len);
	return rc;
}

static void config_test(struct fleet *f)
{
	printf("attest serve: settings are good\n"
	       "  database    %s (%s, schema version %d)\n"
	       "  listen      %s%s\n"
	       "  devices     %zu, default interval %u s, jitter %u%%, timeout %u ms\n"
	       "  policies    %zu\n"
	       "  pollers     %u, keeping %u results per device\n"
	       "  webhook     %s\n",
	       f->cfg.db_url, fleet_db_is_postgres(f->db) ? "PostgreSQL" : "SQLite",
	       fleet_db_schema_version(f->db), f->cfg.listen, f->cfg.tls_cert ? " (TLS)" : "",
	       f->n_dev, f->cfg.interval_ms / 1000, f->cfg.jitter_pct, f->cfg.timeout_ms, f->n_pol,
	       f->cfg.pollers, f->cfg.keep_results,
	       f->cfg.webhook_url ? f->cfg.webhook_url : "none");
}

static int wait_for_stop(void)
{
	sigset_t set;
	struct signalfd_siginfo si;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		return err_set(-errno, "signalfd: %s", strerror(errno));
	while (read(fd, &si, sizeof(si)) < 0 && errno == EINTR)
		;
	log_info("signal %u: stopping", si.ssi_signo);
	close(fd);
	return 0;
}

static void fleet_free(struct fleet *f)
{
	for (size_t i = 0; i < f->n_dev; i++)
		fleet_device_free(f->dev[i]);
	for (size_t i = 0; i < f->n_pol; i++)
		fleet_policy_put(f->pol[i]);
	free(f->dev);
	free(f->pol);
	free(f->heap);
	if (f->webhook_secret)
		secret_free(f->webhook_secret, 64);
	fleet_db_close(f->db);
}

/* The threads, started in an order that lets each find what it needs; stopped in reverse. */
static int run(struct fleet *f, const char *ear_key)
{
	pthread_t poller[POLLERS_MAX], writer, hook;
	struct fleet_api *api = NULL;
	unsigned n = 0;
	int rc;

	if ((rc = pthread_create(&writer, NULL, fleet_writer_main, f)) != 0)
		return err_set(-rc, "a thread: %s", strerror(rc));
	if (f->cfg.webhook_url && (rc = pthread_create(&hook, NULL, fleet_hook_main, f)) != 0)
		f->cfg.webhook_url = NULL;
	for (; n < f->cfg.pollers; n++)
		if (pthread_create(&poller[n], NULL, fleet_poller_main, f) != 0)
			break;
	rc = fleet_api_start(f, ear_key, &api);
	if (rc == 0) {
		log_info("serving %zu devices on %s with %u pollers", f->n_dev, f->cfg.listen, n);
		rc = wait_for_stop();
	}
	atomic_store(&f->stop, true);
	fleet_api_stop(api);
	pthread_mutex_lock(&f->lock);
	pthread_cond_broadcast(&f->work);
	pthread_cond_broadcast(&f->queue_cond);
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(poller[i], NULL);
	pthread_mutex_lock(&f->lock);
	pthread_cond_broadcast(&f->queue_cond);
	pthread_mutex_unlock(&f->lock);
	pthread_join(writer, NULL);
	if (f->cfg.webhook_url)
		pthread_join(hook, NULL);
	return rc;
}

int attest_serve_run(int argc, char **argv, const struct attest_opts *opts)
{
	static char instance[300];
	struct fleet f = {
		.cfg = {.db_url = "attest-fleet.sqlite",
			.ek_ca = opts->ek_ca,
			.interval_ms = 10000,
			.jitter_pct = 10,
			.timeout_ms = 10000,
			.pollers = 16,
			.keep_results = 10000},
	};
	const char *ear_key = NULL;
	sigset_t set;
	int rc;

	if (parse(argc, argv, &f.cfg, &ear_key) < 0)
		return ATTEST_EXIT_USAGE;
	if (!f.cfg.ek_ca && access(ATTEST_DEFAULT_EK_CA, F_OK) == 0)
		f.cfg.ek_ca = ATTEST_DEFAULT_EK_CA;
	if (!f.cfg.instance) {
		char host[256] = "";

		gethostname(host, sizeof(host) - 1);
		snprintf(instance, sizeof(instance), "%s:%d", host, (int)getpid());
		f.cfg.instance = instance;
	}
	/* the threads inherit a mask that leaves the stopping signals to wait_for_stop */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.work, NULL);
	pthread_cond_init(&f.queue_cond, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	f.started_ms = fleet_now_ms();
	rc = load_secret(&f);
	if (rc == 0)
		rc = fleet_db_open(f.cfg.db_url, &f.db);
	if (rc == 0)
		rc = fleet_load(&f);
	if (rc == 0 && f.cfg.config_test)
		config_test(&f);
	else if (rc == 0)
		rc = run(&f, ear_key);
	if (rc < 0)
		fprintf(stderr, "attest serve: %s\n", err_msg());
	fleet_free(&f);
	curl_global_cleanup();
	return rc < 0 ? ATTEST_EXIT_FAIL : ATTEST_EXIT_OK;
}
