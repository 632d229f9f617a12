// SPDX-License-Identifier: MIT
/*
 * attest fleet: the command-line client of attest serve's API.  The token
 * is read from a file (--token-file, or $MEASURED_FLEET_TOKEN_FILE), never
 * taken on the command line where ps would show it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "attest.h"
#include "err.h"
#include "fileio.h"
#include "mem.h"

struct client {
	const char *url, *cacert;
	char auth[600];
	CURL *curl;
};

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *grown = realloc(b->p, b->n + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + b->n, p, size * n);
	b->p = grown;
	b->n += size * n;
	b->p[b->n] = '\0';
	return size * n;
}

/* One request; *ret gets the body.  An HTTP error is a failure naming the server's reason. */
static int call(struct client *c, const char *method, const char *path, const char *body,
		long timeout_s, char **ret)
{
	char url[2048], cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	struct buf b = {0};
	long code = 0;
	CURLcode res;

	snprintf(url, sizeof(url), "%s%s", c->url, path);
	h = curl_slist_append(h, c->auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->cacert)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->cacert);
	if (body)
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	res = curl_easy_perform(c->curl);
	curl_slist_free_all(h);
	if (res != CURLE_OK) {
		free(b.p);
		return err_set(-EIO, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(res));
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 300) {
		struct json_object *o = b.p ? json_tokener_parse(b.p) : NULL, *e;
		int rc = err_set(-EIO, "%s %s: HTTP %ld: %s", method, path, code,
				 o && json_object_object_get_ex(o, "error", &e)
					 ? json_object_get_string(e)
					 : "(no reason given)");

		json_object_put(o);
		free(b.p);
		return rc;
	}
	*ret = b.p ? b.p : strdup("");
	return 0;
}

static int print_call(struct client *c, const char *method, const char *path, const char *body)
{
	char *out = NULL;
	int rc = call(c, method, path, body, 120, &out);

	if (rc == 0 && out[0])
		printf("%s%s", out, out[strlen(out) - 1] == '\n' ? "" : "\n");
	free(out);
	return rc;
}

static int file_text(const char *path, char **ret)
{
	uint8_t *buf;
	size_t len;
	int rc = file_read_all(path, 256u << 20, &buf, &len);

	if (rc == 0)
		*ret = (char *)buf;
	return rc;
}

/* add NAME ADDRESS [--policy P] [--interval S] [--trust-on-first-use] */
static int cmd_add(struct client *c, int argc, char **argv)
{
	static const struct option o[] = {{"policy", required_argument, NULL, 'p'},
					  {"interval", required_argument, NULL, 'i'},
					  {"trust-on-first-use", no_argument, NULL, 't'},
					  {NULL, 0, NULL, 0}};
	struct json_object *body = json_object_new_object();
	int k, rc;

	while ((k = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (k == 'p')
			json_object_object_add(body, "policy", json_object_new_string(optarg));
		else if (k == 'i')
			json_object_object_add(body, "interval_s",
					       json_object_new_double(strtod(optarg, NULL)));
		else if (k == 't')
			json_object_object_add(body, "trust_on_first_use",
					       json_object_new_boolean(1));
		else
			return json_object_put(body), -EINVAL;
	}
	if (optind != argc - 2) {
		json_object_put(body);
		return err_set(-EINVAL, "add needs NAME ADDRESS");
	}
	json_object_object_add(body, "name", json_object_new_string(argv[optind]));
	json_object_object_add(body, "address", json_object_new_string(argv[optind + 1]));
	rc = print_call(c, "POST", "/api/v1/devices", json_object_to_json_string(body));
	json_object_put(body);
	return rc;
}

/* policy NAME [--reference F] [--runtime-policy F] [--pcrs SEL] [--strict] */
static int cmd_policy(struct client *c, int argc, char **argv)
{
	static const struct option o[] = {{"reference", required_argument, NULL, 'r'},
					  {"runtime-policy", required_argument, NULL, 'p'},
					  {"pcrs", required_argument, NULL, 'l'},
					  {"strict", no_argument, NULL, 's'},
					  {NULL, 0, NULL, 0}};
	struct json_object *body = json_object_new_object();
	char path[200], *text;
	int k, rc = 0;

	while (rc == 0 && (k = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if ((k == 'r' || k == 'p') && (rc = file_text(optarg, &text)) == 0) {
			json_object_object_add(body, k == 'r' ? "reference" : "runtime_policy",
					       json_object_new_string(text));
			free(text);
		} else if (k == 'l')
			json_object_object_add(body, "pcrs", json_object_new_string(optarg));
		else if (k == 's')
			json_object_object_add(body, "strict", json_object_new_boolean(1));
		else if (k != 'r' && k != 'p')
			rc = err_set(-EINVAL, "unknown option");
	}
	if (rc == 0 && optind != argc - 1)
		rc = err_set(-EINVAL, "policy needs NAME");
	if (rc == 0) {
		snprintf(path, sizeof(path), "/api/v1/policies/%.100s", argv[optind]);
		rc = print_call(c, "PUT", path, json_object_to_json_string(body));
	}
	json_object_put(body);
	return rc;
}

/* watch: every verdict change as a line, as it happens; --after ID resumes. */
static int cmd_watch(struct client *c, int argc, char **argv)
{
	long long after = argc > 2 && strcmp(argv[1], "--after") == 0 ? atoll(argv[2]) : 0;

	for (;;) {
		char path[96], *out = NULL;
		struct json_object *o, *list;
		int rc;

		snprintf(path, sizeof(path), "/api/v1/events?after=%lld&wait=30", after);
		if ((rc = call(c, "GET", path, NULL, 45, &out)) < 0)
			return rc;
		o = json_tokener_parse(out);
		free(out);
		if (!o || !json_object_object_get_ex(o, "events", &list))
			return json_object_put(o), err_set(-EBADMSG, "the server sent no events");
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *e = json_object_array_get_idx(list, i), *id;

			printf("%s\n",
			       json_object_to_json_string_ext(
				       e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			if (json_object_object_get_ex(e, "id", &id))
				after = json_object_get_int64(id);
		}
		fflush(stdout);
		json_object_put(o);
	}
}

static int dispatch(struct client *c, int argc, char **argv)
{
	const char *cmd = argv[0];
	char path[300];

	if (strcmp(cmd, "devices") == 0)
		return print_call(c, "GET", "/api/v1/devices", NULL);
	if (strcmp(cmd, "policies") == 0)
		return print_call(c, "GET", "/api/v1/policies", NULL);
	if (strcmp(cmd, "add") == 0)
		return cmd_add(c, argc, argv);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(c, argc, argv);
	if (strcmp(cmd, "watch") == 0)
		return cmd_watch(c, argc, argv);
	if (argc == 2 && strcmp(cmd, "show") == 0)
		snprintf(path, sizeof(path), "/api/v1/devices/%.100s", argv[1]);
	else if (argc == 2 && strcmp(cmd, "remove") == 0) {
		snprintf(path, sizeof(path), "/api/v1/devices/%.100s", argv[1]);
		return print_call(c, "DELETE", path, NULL);
	} else if (argc == 2 && strcmp(cmd, "ear") == 0)
		snprintf(path, sizeof(path), "/api/v1/devices/%.100s/ear", argv[1]);
	else if ((argc == 2 || argc == 3) && strcmp(cmd, "history") == 0)
		snprintf(path, sizeof(path), "/api/v1/devices/%.100s/results%s%.20s", argv[1],
			 argc == 3 ? "?before=" : "", argc == 3 ? argv[2] : "");
	else if (argc == 3 && strcmp(cmd, "set-policy") == 0) {
		struct json_object *b = json_object_new_object();
		int rc;

		json_object_object_add(b, "policy", json_object_new_string(argv[2]));
		snprintf(path, sizeof(path), "/api/v1/devices/%.100s/policy", argv[1]);
		rc = print_call(c, "PUT", path, json_object_to_json_string(b));
		json_object_put(b);
		return rc;
	} else
		return err_set(-EINVAL, "unknown fleet command \"%s\" or its arguments", cmd);
	return print_call(c, "GET", path, NULL);
}

static int token_load(struct client *c, const char *path)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int rc;

	if (!path)
		return err_set(-EINVAL, "needs --token-file FILE (or MEASURED_FLEET_TOKEN_FILE)");
	if ((rc = file_read_all(path, 512, &text, &len)) < 0)
		return rc;
	len = strcspn((char *)text, " \t\r\n");
	snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %.*s", (int)len, (char *)text);
	OPENSSL_cleanse(text, strlen((char *)text));
	return 0;
}

int attest_fleet_run(int argc, char **argv, const struct attest_opts *opts)
{
	static const struct option o[] = {{"url", required_argument, NULL, 'u'},
					  {"token-file", required_argument, NULL, 't'},
					  {"cacert", required_argument, NULL, 'c'},
					  {NULL, 0, NULL, 0}};
	struct client c = {.url = getenv("MEASURED_FLEET_URL"), .cacert = opts->tls_ca};
	const char *token = getenv("MEASURED_FLEET_TOKEN_FILE");
	int k, rc;

	while ((k = getopt_long(argc, argv, "+", o, NULL)) != -1) {
		if (k == 'u')
			c.url = optarg;
		else if (k == 't')
			token = optarg;
		else if (k == 'c')
			c.cacert = optarg;
		else
			return ATTEST_EXIT_USAGE;
	}
	if (!c.url)
		c.url = "http://127.0.0.1:8442";
	if (optind >= argc) {
		fprintf(stderr, "attest fleet: needs a command: devices, add, remove, show, "
				"history, ear, policy, policies, set-policy, watch\n");
		return ATTEST_EXIT_USAGE;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = token_load(&c, token);
	if (rc == 0 && !(c.curl = curl_easy_init()))
		rc = err_set(-ENOMEM, "out of memory");
	if (rc == 0) {
		argc -= optind;
		argv += optind;
		optind = 0;
		rc = dispatch(&c, argc, argv);
	}
	if (c.curl)
		curl_easy_cleanup(c.curl);
	OPENSSL_cleanse(c.auth, sizeof(c.auth));
	curl_global_cleanup();
	if (rc < 0) {
		fprintf(stderr, "attest fleet: %s\n", err_msg());
		return rc == -EINVAL ? ATTEST_EXIT_USAGE : ATTEST_EXIT_FAIL;
	}
	return ATTEST_EXIT_OK;
}
