// SPDX-License-Identifier: MIT
/*
 * attest serve on SQLite with real devices (attestd + swtpm, EK
 * certificates from swtpm's local CA): enrolled through `attest fleet`,
 * polled with incremental IMA, turned bad by a file that is not in the
 * policy and by a forged log, each seen within two intervals, the webhook
 * fired once per change with a signature we check with OpenSSL, the reason
 * per component on the page in headless Chromium, bad API input refused
 * with its reason, and the state kept across a SIGKILL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "eventlog_ima.h"
#include "fileio.h"
#include "hex.h"
#include "imabuild.h"
#include "measure.h"
#include "swtpm.h"
#include "testutil.h"
#include "tpm.h"
#include "tpm_attest.h"

#define N_DEV	    3
#define INTERVAL_MS 1500
#define SECRET	    "fleet-webhook-secret-0123456789"

struct device {
	struct swtpm sw;
	char dir[128], where[64], name[16];
	pid_t attestd;
	int port;
	size_t ima_len;
};

static struct device dev[N_DEV];
static char dir[64];
static pid_t serve_pid = -1;
static int api_port;
static char admin[40], reader[40];

/* The webhook receiver: every POST kept, answered 200. */
struct delivery {
	char id[32], sig[80], body[2048];
};
static struct {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t lock;
	struct delivery got[64];
	unsigned n;
} hook = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void header(const char *req, const char *name, char *out, size_t size)
{
	const char *p = strcasestr(req, name);

	out[0] = '\0';
	if (p) {
		p += strlen(name);
		while (*p == ' ')
			p++;
		snprintf(out, size, "%.*s", (int)strcspn(p, "\r\n"), p);
	}
}

static void *hook_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(hook.fd, NULL, NULL);
		char req[8192];
		size_t n = 0;
		ssize_t k;
		const char *body;
		char len[16];

		if (c < 0)
			return NULL;
		while (n < sizeof(req) - 1 && (k = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
			n += (size_t)k;
			req[n] = '\0';
			header(req, "Content-Length:", len, sizeof(len));
			if ((body = strstr(req, "\r\n\r\n")) && len[0] &&
			    strlen(body + 4) >= (size_t)atoi(len))
				break;
		}
		req[n] = '\0';
		pthread_mutex_lock(&hook.lock);
		if (hook.n < 64 && (body = strstr(req, "\r\n\r\n"))) {
			struct delivery *d = &hook.got[hook.n++];

			header(req, "X-Measured-Delivery:", d->id, sizeof(d->id));
			header(req, "X-Measured-Signature:", d->sig, sizeof(d->sig));
			snprintf(d->body, sizeof(d->body), "%s", body + 4);
		}
		pthread_mutex_unlock(&hook.lock);
		dprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
		close(c);
	}
}

static void extend_sha256(struct tpm *tpm, unsigned pcr, const uint8_t *d)
{
	struct alg_digest ad = {.alg = hash_alg_by_id(TPM_ALG_SHA256)};

	memcpy(ad.value, d, 32);
	assert_int_equal(tpm_pcr_extend(tpm, pcr, &ad, 1), 0);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void firmware_log(struct device *d, struct tpm *tpm)
{
	uint8_t log[1024] = {0}, v[32];
	size_t off = 65;
	char path[192];

	put_le32(log + 4, 3);
	put_le32(log + 28, 33);
	memcpy(log + 32, "Spec ID Event03", 16);
	log[32 + 21] = 2;
	log[32 + 24] = 1;
	log[32 + 28] = 0x0b;
	log[32 + 30] = 32;
	for (unsigned pcr = 0; pcr < 8; pcr++) {
		memset(v, 0x10 + pcr, sizeof(v));
		put_le32(log + off, pcr);
		put_le32(log + off + 4, 4);
		put_le32(log + off + 8, 1);
		log[off + 12] = 0x0b;
		memcpy(log + off + 14, v, 32);
		off += 14 + 32 + 4;
		extend_sha256(tpm, pcr, v);
	}
	snprintf(path, sizeof(path), "%s/firmware.log", d->dir);
	assert_int_equal(file_write_atomic(path, log, off, 0644), 0);
}

/* File @i's digest: what the runtime policy lists for /usr/bin/fN. */
static void file_digest(unsigned i, uint8_t out[32])
{
	for (int k = 0; k < 32; k++)
		out[k] = (uint8_t)(i * 7 + k);
}

/*
 * Appends entries to the device's IMA list; with @extend each goes into
 * PCR 10 as IMA would, without it the log lies.
 */
static void ima_append(struct device *d, struct tpm *tpm, const char *const *paths,
		       const unsigned *which, unsigned n, bool extend)
{
	struct imabuf b = {0};
	struct ima_list list;
	uint8_t dg[32];
	char path[192];
	FILE *f;

	for (unsigned i = 0; i < n; i++) {
		file_digest(which[i], dg);
		imabuild_ng(&b, "ima-ng", "sha256", dg, 32, paths[i], NULL, 0, 0);
	}
	assert_int_equal(ima_list_parse(b.data, b.len, "ima", &list), 0);
	for (size_t i = 0; extend && i < list.n_events; i++) {
		uint8_t th[32];

		assert_int_equal(
			ima_event_template_hash(&list.event[i], hash_alg_by_id(TPM_ALG_SHA256), th),
			0);
		extend_sha256(tpm, 10, th);
	}
	ima_list_free(&list);
	snprintf(path, sizeof(path), "%s/ima.bin", d->dir);
	assert_non_null(f = fopen(path, "a"));
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	d->ima_len += b.len;
	free(b.data);
}

static void wait_port(int port)
{
	for (int i = 0; i < 300; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		usleep(20000);
	}
	fail_msg("nothing listens on port %d", port);
}

static void attestd_start(struct device *d)
{
	char listen[64], fw[192], ima[192], cel[192];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", d->port);
	snprintf(fw, sizeof(fw), "%s/firmware.log", d->dir);
	snprintf(ima, sizeof(ima), "%s/ima.bin", d->dir);
	snprintf(cel, sizeof(cel), "%s/measurements.cel", d->dir);
	d->attestd = fork();
	if (d->attestd == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(bin_path("attestd"), "attestd", "--tcti", d->sw.tcti, "--listen", listen,
		      "--firmware-log", fw, "--ima-log", ima, "--cel-log", cel, "--batch-ms", "2",
		      (char *)NULL);
		_exit(127);
	}
	wait_port(d->port);
}

static void attestd_stop(struct device *d)
{
	if (d->attestd > 0) {
		kill(d->attestd, SIGTERM);
		waitpid(d->attestd, NULL, 0);
		d->attestd = -1;
	}
}

/* The TPM is attestd's while it runs: stopped, changed, started again (a new file ran). */
static void device_runs(struct device *d, const char *const *paths, const unsigned *which,
			unsigned n, bool extend)
{
	struct tpm *tpm;

	attestd_stop(d);
	assert_int_equal(tpm_open(d->sw.tcti, 0, &tpm), 0);
	ima_append(d, tpm, paths, which, n, extend);
	tpm_close(tpm);
	attestd_start(d);
}

static int device_setup(struct device *d, unsigned i)
{
	static const char *const boot[] = {"boot_aggregate", "/usr/bin/f1"};
	static const unsigned which[] = {0, 1};
	struct alg_digest cel = {.alg = hash_alg_by_id(TPM_ALG_SHA256)};
	struct ak_info info;
	struct tpm *tpm;
	char path[192];

	snprintf(d->dir, sizeof(d->dir), "%s/dev%u", dir, i);
	snprintf(d->name, sizeof(d->name), "dev%u", i);
	if (sh(NULL, "mkdir -p %s", d->dir) != 0 || swtpm_start_manufactured(&d->sw, d->dir) < 0 ||
	    tpm_open(d->sw.tcti, 0, &tpm) < 0 || tpm_keys_ensure(tpm, true, &info) < 0)
		return -1;
	firmware_log(d, tpm);
	ima_append(d, tpm, boot, which, 2, true);
	memset(cel.value, 0x42, 32);
	snprintf(path, sizeof(path), "%s/measurements.cel", d->dir);
	if (measure_extend(tpm, 13, &cel, 1, "rootfs", "/dev/vda", NULL, 0, path) < 0)
		return -1;
	tpm_close(tpm);
	d->port = d->sw.port + 7;
	snprintf(d->where, sizeof(d->where), "127.0.0.1:%d", d->port);
	attestd_start(d);
	return 0;
}

/* The reference (PCR 13 as measured) and a Keylime runtime policy of /usr/bin/f1 ... f120. */
static void write_policy_files(void)
{
	struct pcr_bank p13;
	uint8_t m[32], dg[32];
	char path[128], hex[65];
	FILE *f;

	memset(m, 0x42, sizeof(m));
	pcr_bank_init(&p13, hash_alg_by_id(TPM_ALG_SHA256));
	assert_int_equal(pcr_bank_extend(&p13, 13, m), 0);
	hex_encode(p13.value[13], 32, hex);
	snprintf(path, sizeof(path), "%s/ref.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"pcrs\":{\"sha256\":{\"13\":\"%s\"}}}\n", hex);
	fclose(f);
	snprintf(path, sizeof(path), "%s/runtime.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"meta\":{\"version\":1},\"release\":0,\"digests\":{");
	for (unsigned i = 1; i <= 120; i++) {
		file_digest(i, dg);
		hex_encode(dg, 32, hex);
		fprintf(f, "%s\"/usr/bin/f%u\":[\"%s\"]", i > 1 ? "," : "", i, hex);
	}
	fprintf(f, "},\"excludes\":[],\"keyrings\":{},\"ima\":{\"ignored_keyrings\":[],"
		   "\"log_hash_alg\":\"sha1\",\"dm_policy\":null},\"ima-buf\":{},"
		   "\"verification-keys\":\"\"}\n");
	fclose(f);
}

static void serve_start(void)
{
	char db[128], listen[64], tokens[128], url[64], secret[128], interval[16];

	snprintf(db, sizeof(db), "%s/fleet.sqlite", dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", api_port);
	snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", hook.port);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(interval, sizeof(interval), "%.1f", INTERVAL_MS / 1000.0);
	serve_pid = fork();
	if (serve_pid == 0) {
		char ca[128];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(ca, sizeof(ca), "%s/ek-ca.pem", dir);
		execl(bin_path("attest"), "attest", "--ek-ca", ca, "serve", "--db", db, "--listen",
		      listen, "--tokens", tokens, "--interval", "2", "--webhook", url,
		      "--webhook-secret", secret, "--pollers", "4", (char *)NULL);
		_exit(127);
	}
	wait_port(api_port);
}

static void serve_kill(int sig)
{
	if (serve_pid > 0) {
		kill(serve_pid, sig);
		waitpid(serve_pid, NULL, 0);
		serve_pid = -1;
	}
}

static int setup(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char path[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-fleet.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	for (unsigned i = 0; i < N_DEV; i++)
		if (device_setup(&dev[i], i) < 0)
			return -1;
	/* one EK CA file: each swtpm was manufactured by its own local CA */
	if (sh(NULL, "cat %s/dev*/ca-bundle.pem > %s/ek-ca.pem", dir, dir) != 0)
		return -1;
	snprintf(admin, sizeof(admin), "admin-token-%08x%08x", (unsigned)random(),
		 (unsigned)getpid());
	snprintf(reader, sizeof(reader), "read-token-%08x%08x", (unsigned)random(),
		 (unsigned)getpid());
	snprintf(path, sizeof(path), "%s/tokens", dir);
	if (sh(NULL, "printf '%s admin\\n%s read\\n' > %s && chmod 600 %s", admin, reader, path,
	       path) != 0 ||
	    sh(NULL, "printf '%s\\n' > %s/secret && printf '%s\\n' > %s/admin.token", SECRET, dir,
	       admin, dir) != 0)
		return -1;
	write_policy_files();
	hook.fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(hook.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(hook.fd, 16) < 0 ||
	    getsockname(hook.fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	hook.port = ntohs(sa.sin_port);
	pthread_create(&hook.thread, NULL, hook_main, NULL);
	api_port = dev[N_DEV - 1].sw.port + 11;
	serve_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	serve_kill(SIGTERM);
	for (unsigned i = 0; i < N_DEV; i++) {
		attestd_stop(&dev[i]);
		swtpm_stop(&dev[i].sw);
	}
	shutdown(hook.fd, SHUT_RDWR);
	close(hook.fd);
	pthread_join(hook.thread, NULL);
	return sh(NULL, "rm -rf %s", dir);
}

static int fleet(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fleet(char **out, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh(out, "%s fleet --url http://127.0.0.1:%d --token-file %s/admin.token %s 2>&1",
		  bin_path("attest"), api_port, dir, args);
}

/* curl, for what the CLI does not send: the status code is the last line. */
static int http(char **out, const char *token, const char *method, const char *path,
		const char *body)
{
	return sh(
		out,
		"curl -s -w '\\n%%{http_code}\\n' -X %s %s%s%s -H 'Content-Type: application/json' "
		"%s%s%s http://127.0.0.1:%d%s",
		method, token ? "-H 'Authorization: Bearer " : "", token ? token : "",
		token ? "'" : "", body ? "--data-binary '" : "", body ? body : "", body ? "'" : "",
		api_port, path);
}

static int http_status(const char *out)
{
	const char *p = out + strlen(out);

	while (p > out && p[-1] == '\n')
		p--;
	while (p > out && p[-1] != '\n')
		p--;
	return atoi(p);
}

/* The device's status as the API says it. */
static char *status_of(const char *name, char *reason, size_t size)
{
	static char st[32];
	char *out = NULL, path[96];
	struct json_object *o, *v;

	snprintf(path, sizeof(path), "/api/v1/devices/%s", name);
	st[0] = '\0';
	if (http(&out, reader, "GET", path, NULL) == 0 && (o = json_tokener_parse(out))) {
		if (json_object_object_get_ex(o, "status", &v))
			snprintf(st, sizeof(st), "%s", json_object_get_string(v));
		if (reason && json_object_object_get_ex(o, "reason", &v))
			snprintf(reason, size, "%s", json_object_get_string(v));
		json_object_put(o);
	}
	free(out);
	return st;
}

/* Waits up to @ms for @name to reach @want; returns how long it took, or -1. */
static long wait_status(const char *name, const char *want, long ms)
{
	for (long t = 0; t <= ms; t += 100) {
		if (strcmp(status_of(name, NULL, 0), want) == 0)
			return t;
		usleep(100 * 1000);
	}
	return -1;
}

static void test_enrol_and_affirming(void **state)
{
	char *out = NULL;
	long t;

	(void)state;
	assert_int_equal(fleet(&out,
			       "policy base --reference %s/ref.json --runtime-policy "
			       "%s/runtime.json",
			       dir, dir),
			 0);
	assert_non_null(strstr(out, "urn:measured:policy:sha256:"));
	free(out);
	for (unsigned i = 0; i < N_DEV; i++) {
		assert_int_equal(fleet(&out, "add %s %s --policy base --interval 1.5", dev[i].name,
				       dev[i].where),
				 0);
		assert_non_null(strstr(out, "\"identity\":\"certified\""));
		free(out);
	}
	for (unsigned i = 0; i < N_DEV; i++) {
		char reason[400] = "";

		t = wait_status(dev[i].name, "affirming", 3 * INTERVAL_MS);
		status_of(dev[i].name, reason, sizeof(reason));
		print_message("%s: affirming after %ld ms (%s)\n", dev[i].name, t, reason);
		assert_true(t >= 0);
	}
	/* the same device twice, and a device whose EK has no certificate: refused, not added */
	assert_int_not_equal(fleet(&out, "add %s %s", dev[0].name, dev[0].where), 0);
	assert_non_null(strstr(out, "HTTP 409"));
	free(out);
}

/* 100 new files, all in the policy: the device sends only them, and stays affirming. */
static void test_incremental_ima(void **state)
{
	const char *paths[100];
	unsigned which[100];
	char names[100][24], *out = NULL;
	struct json_object *o, *v;
	long t;

	(void)state;
	for (unsigned i = 0; i < 100; i++) {
		snprintf(names[i], sizeof(names[i]), "/usr/bin/f%u", i + 2);
		paths[i] = names[i];
		which[i] = i + 2;
	}
	device_runs(&dev[0], paths, which, 100, true);
	usleep(3 * INTERVAL_MS * 1000);
	t = wait_status(dev[0].name, "affirming", 2 * INTERVAL_MS);
	assert_true(t >= 0);
	/* where the verified list ends is what the device's next answer starts from */
	assert_int_equal(sh(&out,
			    "sqlite3 %s/fleet.sqlite \"SELECT state FROM devices WHERE "
			    "name = 'dev0'\"",
			    dir),
			 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "ima", &v));
	assert_true(json_object_object_get_ex(v, "offset", &v));
	print_message("dev0: IMA verified up to byte %lld of %zu\n",
		      (long long)json_object_get_int64(v), dev[0].ima_len);
	assert_int_equal((size_t)json_object_get_int64(v), dev[0].ima_len);
	json_object_put(o);
	free(out);
}

static bool signature_ok(const struct delivery *d)
{
	uint8_t mac[32];
	unsigned len = 0;
	char hex[65];

	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)d->body, strlen(d->body),
	     mac, &len);
	hex_encode(mac, 32, hex);
	return strncmp(d->sig, "sha256=", 7) == 0 && strcmp(d->sig + 7, hex) == 0;
}

/* Deliveries for @name going to @to; each must be signed and numbered once. */
static unsigned deliveries(const char *name, const char *to)
{
	char want_dev[64], want_to[64];
	unsigned n = 0;

	snprintf(want_dev, sizeof(want_dev), "\"device\":\"%s\"", name);
	snprintf(want_to, sizeof(want_to), "\"to\":\"%s\"", to);
	pthread_mutex_lock(&hook.lock);
	for (unsigned i = 0; i < hook.n; i++) {
		assert_true(signature_ok(&hook.got[i]));
		for (unsigned k = 0; k < i; k++)
			assert_string_not_equal(hook.got[i].id, hook.got[k].id);
		if (strstr(hook.got[i].body, want_dev) && strstr(hook.got[i].body, want_to))
			n++;
	}
	pthread_mutex_unlock(&hook.lock);
	return n;
}

/* Waits up to @ms for deliveries to come in: the sender takes the outbox every 250 ms. */
static unsigned deliveries_after(const char *name, const char *to, long ms)
{
	unsigned n = 0;

	for (long t = 0; t <= ms && (n = deliveries(name, to)) == 0; t += 100)
		usleep(100 * 1000);
	usleep(500 * 1000); /* and a moment more: a second delivery would show now */
	return deliveries(name, to);
}

/* A file that is not in the policy runs: contraindicated within two intervals, one webhook. */
static void test_unknown_file_contraindicated(void **state)
{
	static const char *const evil[] = {"/usr/bin/evil"};
	static const unsigned which[] = {666};
	char reason[400] = "", *out = NULL;
	long t;

	(void)state;
	device_runs(&dev[1], evil, which, 1, true);
	t = wait_status(dev[1].name, "contraindicated", 2 * INTERVAL_MS + 1000);
	status_of(dev[1].name, reason, sizeof(reason));
	print_message("dev1: contraindicated %ld ms after the file ran: %s\n", t, reason);
	assert_true(t >= 0);
	assert_non_null(strstr(reason, "ima-files"));
	assert_non_null(strstr(reason, "/usr/bin/evil"));
	/* it stays so: the verified state did not move past the bad entry */
	usleep(2 * INTERVAL_MS * 1000);
	assert_string_equal(status_of(dev[1].name, NULL, 0), "contraindicated");
	assert_int_equal(deliveries_after(dev[1].name, "contraindicated", 3000), 1);
	/* the event stream has it too */
	assert_int_equal(sh(&out,
			    "timeout 3 %s fleet --url http://127.0.0.1:%d --token-file "
			    "%s/admin.token watch; true",
			    bin_path("attest"), api_port, dir),
			 0);
	assert_non_null(strstr(out, "\"device\":\"dev1\",\"at_ms\""));
	assert_non_null(strstr(out, "\"to\":\"contraindicated\""));
	free(out);
}

/* A log entry the TPM never saw: PCR 10's replay gives it away. */
static void test_forged_log_contraindicated(void **state)
{
	static const char *const forged[] = {"/usr/bin/f7"};
	static const unsigned which[] = {7};
	char reason[400] = "";
	long t;

	(void)state;
	device_runs(&dev[2], forged, which, 1, false);
	t = wait_status(dev[2].name, "contraindicated", 2 * INTERVAL_MS + 1000);
	status_of(dev[2].name, reason, sizeof(reason));
	print_message("dev2: contraindicated %ld ms after the forged entry: %s\n", t, reason);
	assert_true(t >= 0);
	assert_non_null(strstr(reason, "PCR 10"));
	assert_int_equal(deliveries_after(dev[2].name, "contraindicated", 3000), 1);
}

static void expect(const char *token, const char *method, const char *path, const char *body,
		   int status, const char *reason)
{
	char *out = NULL;

	assert_int_equal(http(&out, token, method, path, body), 0);
	const char *e = strstr(out, "\"error\":");

	print_message("%s %s -> %d %.*s\n", method, path, http_status(out),
		      e ? (int)strcspn(e, "\n") : 0, e ? e : "");
	assert_int_equal(http_status(out), status);
	if (reason)
		assert_non_null(strstr(out, reason));
	free(out);
}

static void test_bad_api_input(void **state)
{
	(void)state;
	expect(NULL, "GET", "/api/v1/devices", NULL, 401, "Bearer");
	expect("not-a-token-at-all", "GET", "/api/v1/devices", NULL, 401, "Bearer");
	expect(reader, "POST", "/api/v1/devices", "{\"name\":\"x\",\"address\":\"127.0.0.1:1\"}",
	       403, "admin");
	expect(admin, "POST", "/api/v1/devices", "{\"name\": ", 400, "not a JSON object");
	expect(admin, "POST", "/api/v1/devices", "{\"name\":\"x\"}", 400, "address");
	expect(admin, "POST", "/api/v1/devices", "{\"name\":\"a/b\",\"address\":\"127.0.0.1:1\"}",
	       400, "only letters");
	expect(admin, "POST", "/api/v1/devices",
	       "{\"name\":\"ghost\",\"address\":\"127.0.0.1:1\",\"trust_on_first_use\":true}", 502,
	       "enrolling ghost");
	expect(admin, "GET", "/api/v1/devices/nosuch", NULL, 404, "no device");
	expect(admin, "GET", "/api/v1/devices/nosuch/results", NULL, 404, "no device");
	expect(admin, "PUT", "/api/v1/policies/broken", "{\"reference\":\"{not json\"}", 400,
	       "not JSON");
	expect(admin, "PUT", "/api/v1/policies/broken",
	       "{\"runtime_policy\":{\"digests\":{\"/bin/sh\":\"aa\"}}}", 400,
	       "a list of hex strings");
	expect(admin, "PUT", "/api/v1/devices/dev0/policy", "{\"policy\":\"nosuch\"}", 404,
	       "no policy");
	expect(admin, "DELETE", "/api/v1/nothing", NULL, 404, "no DELETE");
	/* nothing of that was kept, and the service still serves */
	expect(reader, "GET", "/api/v1/policies/broken", NULL, 404, "no policy");
	expect(reader, "GET", "/api/v1/devices/ghost", NULL, 404, "no device");
	expect(reader, "GET", "/api/v1/devices/dev0", NULL, 200, "affirming");
}

static void test_history_and_metrics(void **state)
{
	char *out = NULL;
	struct json_object *o, *list, *next;

	(void)state;
	assert_int_equal(http(&out, reader, "GET", "/api/v1/devices/dev0/results?limit=2", NULL),
			 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "results", &list));
	assert_int_equal(json_object_array_length(list), 2);
	assert_true(json_object_object_get_ex(o, "next_before", &next));
	json_object_put(o);
	free(out);
	assert_int_equal(http(&out, reader, "GET", "/metrics", NULL), 0);
	assert_non_null(strstr(out, "measured_devices{status=\"contraindicated\"} 2"));
	assert_non_null(strstr(out, "measured_attestation_seconds_bucket{le=\"+Inf\"}"));
	assert_non_null(strstr(out, "measured_poll_lag_seconds_count"));
	assert_non_null(strstr(out, "measured_webhooks_total{outcome=\"delivered\"}"));
	assert_null(strstr(out, "measured_attestations_total{result=\"affirming\"} 0\n"));
	free(out);
}

/* The page, rendered by a real browser: the failing device's reason per component. */
static void test_page_in_chromium(void **state)
{
	char *out = NULL;

	(void)state;
	if (access("/usr/bin/chromium", X_OK) != 0) {
		print_message("skipped: %s needs /usr/bin/chromium\n", __func__);
		skip();
	}
	assert_int_equal(sh(&out,
			    "cd %s && HOME=%s timeout 60 chromium --headless --no-sandbox "
			    "--disable-gpu --user-data-dir=%s/chromium --virtual-time-budget=8000 "
			    "--dump-dom 'http://127.0.0.1:%d/#token=%s&device=dev1' 2>/dev/null",
			    dir, dir, dir, api_port, reader),
			 0);
	assert_non_null(strstr(out, "data-loaded=\"1\""));
	assert_non_null(strstr(out, "<h2>3 devices</h2>"));
	assert_non_null(strstr(out, "contraindicated: 2"));
	assert_non_null(strstr(out, "id=\"device-status\">contraindicated"));
	assert_non_null(strstr(out, "<tr data-component=\"ima-files\"><td>ima-files</td>"
				    "<td class=\"contraindicated\">contraindicated</td>"));
	assert_non_null(strstr(out, "/usr/bin/evil"));
	free(out);
}

/* SIGKILL: devices, verdicts and the delivered webhooks survive; nothing is delivered again. */
static void test_sigkill_keeps_state(void **state)
{
	unsigned before = hook.n;
	char *out = NULL;

	(void)state;
	serve_kill(SIGKILL);
	serve_start();
	assert_int_equal(fleet(&out, "devices"), 0);
	assert_non_null(strstr(out, "\"contraindicated\":2"));
	free(out);
	usleep(2 * INTERVAL_MS * 1000);
	assert_string_equal(status_of(dev[0].name, NULL, 0), "affirming");
	assert_string_equal(status_of(dev[1].name, NULL, 0), "contraindicated");
	assert_int_equal(hook.n, before);
	/* removed: gone from the fleet and its history with it */
	assert_int_equal(fleet(&out, "remove dev2"), 0);
	free(out);
	expect(reader, "GET", "/api/v1/devices/dev2", NULL, 404, "no device");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enrol_and_affirming),
		cmocka_unit_test(test_incremental_ima),
		cmocka_unit_test(test_unknown_file_contraindicated),
		cmocka_unit_test(test_forged_log_contraindicated),
		cmocka_unit_test(test_bad_api_input),
		cmocka_unit_test(test_history_and_metrics),
		cmocka_unit_test(test_page_in_chromium),
		cmocka_unit_test(test_sigkill_keeps_state),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
