// SPDX-License-Identifier: MIT
/*
 * attestd + attest against swtpm: enrol, quote, export + tpm2_checkquote,
 * verify affirming on a clean state, contraindicated on each tampering
 * (replayed evidence, another key, an edited PCR value, an edited log
 * entry), and a daemon that keeps serving through bad frames, slow clients
 * and a TPM that goes away.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest_client.h"
#include "attest_proto.h"
#include "err.h"
#include "eventlog_ima.h"
#include "fileio.h"
#include "frame.h"
#include "imabuild.h"
#include "cel.h"
#include "measure.h"
#include "swtpm.h"
#include "testutil.h"
#include "tpm.h"
#include "tpm_attest.h"

static struct swtpm sw;
static char dir[64], where[64], repo[4096]; /* repo: the checkout, tests run from it */
static pid_t attestd_pid;
static int port;

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

/* A firmware log (sha256 only) whose events are extended into the TPM as they are written. */
static void make_firmware_log(struct tpm *tpm)
{
	uint8_t log[1024] = {0}, d[32];
	size_t off = 65;
	char path[128];

	put_le32(log + 4, 3); /* EV_NO_ACTION header with the Spec ID event */
	put_le32(log + 28, 33);
	memcpy(log + 32, "Spec ID Event03", 16);
	log[32 + 21] = 2;
	log[32 + 24] = 1;
	log[32 + 28] = 0x0b;
	log[32 + 30] = 32;
	for (unsigned pcr = 0; pcr < 8; pcr++) {
		memset(d, 0x10 + pcr, sizeof(d));
		put_le32(log + off, pcr);
		put_le32(log + off + 4, 4); /* EV_SEPARATOR */
		put_le32(log + off + 8, 1);
		log[off + 12] = 0x0b;
		memcpy(log + off + 14, d, 32);
		off += 14 + 32 + 4;
		extend_sha256(tpm, pcr, d);
	}
	snprintf(path, sizeof(path), "%s/firmware.log", dir);
	assert_int_equal(file_write_atomic(path, log, off, 0644), 0);
}

/* An IMA list, and PCR 10 extended with each entry's sha256 template hash. */
static void make_ima_list(struct tpm *tpm)
{
	struct imabuf b = {0};
	struct ima_list list;
	uint8_t d[32];
	char path[128];
	FILE *ref;

	memset(d, 0xab, sizeof(d));
	imabuild_ng(&b, "ima-ng", "sha256", d, 32, "boot_aggregate", NULL, 0, 0);
	memset(d, 0xcd, sizeof(d));
	imabuild_ng(&b, "ima-ng", "sha256", d, 32, "/usr/bin/tool", NULL, 0, 0);
	assert_int_equal(ima_list_parse(b.data, b.len, "ima", &list), 0);
	for (size_t i = 0; i < list.n_events; i++) {
		uint8_t th[32];

		assert_int_equal(
			ima_event_template_hash(&list.event[i], hash_alg_by_id(TPM_ALG_SHA256), th),
			0);
		extend_sha256(tpm, 10, th);
	}
	ima_list_free(&list);
	snprintf(path, sizeof(path), "%s/ima.bin", dir);
	assert_int_equal(file_write_atomic(path, b.data, b.len, 0644), 0);
	free(b.data);
	/* the reference: PCR 13 as measured below, and /usr/bin/tool with its digest */
	struct pcr_bank p13;
	uint8_t m[32];
	char hex[65];

	memset(m, 0x42, sizeof(m));
	pcr_bank_init(&p13, hash_alg_by_id(TPM_ALG_SHA256));
	assert_int_equal(pcr_bank_extend(&p13, 13, m), 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", p13.value[13][i]);
	snprintf(path, sizeof(path), "%s/ref.json", dir);
	ref = fopen(path, "w");
	fprintf(ref,
		"{\"pcrs\":{\"sha256\":{\"13\":\"%s\"}},\"ima\":{\"files\":{\"/usr/bin/tool\":\"",
		hex);
	for (int i = 0; i < 32; i++)
		fprintf(ref, "cd");
	fprintf(ref, "\"}}}\n");
	fclose(ref);
}

static void start_attestd(void)
{
	char listen[64], fw[128], ima[128], cel[128], sock[128];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(fw, sizeof(fw), "%s/firmware.log", dir);
	snprintf(ima, sizeof(ima), "%s/ima.bin", dir);
	snprintf(cel, sizeof(cel), "%s/measurements.cel", dir);
	snprintf(sock, sizeof(sock), "%s/attestd.sock", dir);
	attestd_pid = fork();
	if (attestd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(bin_path("attestd"), "attestd", "--tcti", sw.tcti, "--listen", listen,
		      "--firmware-log", fw, "--ima-log", ima, "--cel-log", cel, "--batch-ms", "20",
		      "--read-timeout-ms", "500", "--socket", sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
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
	fail_msg("attestd did not start");
}

static int setup(void **state)
{
	struct tpm *tpm;
	struct ak_info info;
	struct alg_digest cel_digest = {.alg = hash_alg_by_id(TPM_ALG_SHA256)};
	char cel[128];

	(void)state;
	if (!getcwd(repo, sizeof(repo)))
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/measured-attest.XXXXXX");
	if (!mkdtemp(dir) || swtpm_start_manufactured(&sw, dir) < 0 ||
	    tpm_open(sw.tcti, 0, &tpm) < 0)
		return -1;
	if (tpm_keys_ensure(tpm, true, &info) < 0)
		return -1;
	make_firmware_log(tpm);
	make_ima_list(tpm);
	memset(cel_digest.value, 0x42, 32);
	snprintf(cel, sizeof(cel), "%s/measurements.cel", dir);
	if (measure_extend(tpm, 13, &cel_digest, 1, "rootfs", "/dev/vda", NULL, 0, cel) < 0)
		return -1;
	tpm_close(tpm);
	port = sw.port + 7;
	snprintf(where, sizeof(where), "127.0.0.1:%d", port);
	start_attestd();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (attestd_pid > 0) { /* never kill(0): that is our own process group */
		kill(attestd_pid, SIGTERM);
		waitpid(attestd_pid, NULL, 0);
	}
	swtpm_stop(&sw);
	return sh(NULL, "rm -rf %s", dir);
}

static int attest(char **out, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh(out, "cd %s && %s --state state %s", dir, bin_path("attest"), args);
}

static void test_enrol_quote_verify_affirming(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(attest(&out, "--ek-ca ca-bundle.pem enroll %s", where), 0);
	assert_non_null(strstr(out, "credential activated"));
	free(out);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0-7,10,13 --out ev1.cbor", where), 0);
	if (attest(&out, "verify ev1.cbor --reference ref.json") != 0)
		fail_msg("not affirming:\n%s", out);
	assert_string_equal(ear_status(out), "affirming");
	assert_string_equal(ear_check_status(out, "firmware"), "affirming");
	assert_non_null(strstr(out, "all 2 new measured files"));
	assert_non_null(strstr(out, "1 quoted PCRs compared"));
	/* the nonce came back from the file: the result says so */
	assert_string_equal(ear_top(out, "ear.measured.nonce-source"), "evidence-file");
	free(out);
	/* the same evidence against a reference predicting another PCR 13 */
	{
		char path[128], *p;
		uint8_t *text;
		size_t len;

		snprintf(path, sizeof(path), "%s/ref.json", dir);
		assert_int_equal(file_read_all(path, 1 << 16, &text, &len), 0);
		p = strstr((char *)text, "\"13\":\"") + 6;
		*p = *p == 'f' ? '0' : 'f';
		snprintf(path, sizeof(path), "%s/ref-other.json", dir);
		assert_int_equal(file_write_atomic(path, text, len, 0644), 0);
		free(text);
	}
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0-7,10,13 --out ev1b.cbor", where),
			 0);
	assert_int_equal(attest(&out, "verify ev1b.cbor --reference ref-other.json"), 1);
	assert_non_null(strstr(out, "sha256 PCR 13 is not the predicted value"));
	free(out);
}

static size_t ima_bytes_in(const char *evidence)
{
	char path[128];
	struct evidence ev;
	struct attest_response r;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, evidence);
	assert_int_equal(evidence_read(path, &ev), 0);
	assert_int_equal(attest_response_decode(ev.body, ev.body_len, &r), 0);
	n = r.log_len[ATTEST_LOG_IMA];
	attest_response_free(&r);
	evidence_free(&ev);
	return n;
}

static size_t ima_list_bytes(void)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/ima.bin", dir);
	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* The device measures /usr/bin/tool once more: PCR 10 extended, the entry appended. */
static size_t ima_append_tool(void)
{
	struct imabuf b = {0};
	struct ima_list list;
	struct tpm *tpm;
	uint8_t d[32], th[32];
	char path[128];
	size_t len;
	FILE *f;

	memset(d, 0xcd, sizeof(d));
	imabuild_ng(&b, "ima-ng", "sha256", d, 32, "/usr/bin/tool", NULL, 0, 0);
	assert_int_equal(ima_list_parse(b.data, b.len, "new", &list), 0);
	assert_int_equal(
		ima_event_template_hash(&list.event[0], hash_alg_by_id(TPM_ALG_SHA256), th), 0);
	ima_list_free(&list);
	assert_int_equal(tpm_open(sw.tcti, 0, &tpm), 0);
	extend_sha256(tpm, 10, th);
	tpm_close(tpm);
	snprintf(path, sizeof(path), "%s/ima.bin", dir);
	f = fopen(path, "ab");
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	len = b.len;
	free(b.data);
	return len;
}

/* After an accepted evidence, only new IMA entries travel, and PCR 10 replays from the state. */
static void test_incremental_ima(void **state)
{
	char *out = NULL;
	size_t added;

	(void)state;
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0-7,10,13 --out inc1.cbor", where),
			 0);
	assert_int_equal(ima_bytes_in("inc1.cbor"), 0);
	if (attest(&out, "verify inc1.cbor --reference ref.json") != 0)
		fail_msg("not affirming:\n%s", out);
	free(out);
	added = ima_append_tool();
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0-7,10,13 --out inc2.cbor", where),
			 0);
	assert_int_equal(ima_bytes_in("inc2.cbor"), added);
	if (attest(&out, "verify inc2.cbor --reference ref.json") != 0)
		fail_msg("not affirming:\n%s", out);
	assert_non_null(strstr(out, "all 1 new measured files"));
	free(out);
}

/* After opening the TPM and its sockets, attestd runs as an unprivileged user and still serves. */
static void test_runs_unprivileged(void **state)
{
	char sock[128], *out = NULL;
	pid_t pid;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/nobody.sock", dir);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(bin_path("attestd"), "attestd", "--tcti", sw.tcti, "--socket", sock, "--user",
		      "nobody", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++)
		usleep(20000);
	usleep(100000);
	assert_int_equal(sh(&out, "ps -o user= -p %d", (int)pid), 0);
	assert_non_null(strstr(out, "nobody"));
	free(out);
	assert_int_equal(attest(NULL, "quote unix:%s --pcrs sha256:0 --out evu.cbor", sock), 0);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* The one-shot operator command, over the Unix socket. */
static void test_check_over_unix_socket(void **state)
{
	char *out = NULL;

	(void)state;
	if (attest(&out, "check unix:%s/attestd.sock --pcrs sha256:0-7,10,13 --reference ref.json",
		   dir) != 0)
		fail_msg("not affirming:\n%s", out);
	assert_string_equal(ear_status(out), "affirming");
	free(out);
}

static void test_export_tpm2_checkquote(void **state)
{
	(void)state;
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0,10,13 --out ev2.cbor", where), 0);
	assert_int_equal(attest(NULL, "export ev2.cbor exp"), 0);
	assert_int_equal(
		sh(NULL,
		   "cd %s/exp && tpm2_checkquote -u ../state/ak.pem -m quote.msg -s quote.sig "
		   "-f quote.pcrs -q $(cat nonce.hex) >/dev/null 2>&1",
		   dir),
		0);
}

static void test_replayed_evidence_refused(void **state)
{
	char *out = NULL;

	(void)state;
	/* ev1 was accepted before ev2 and the next ones: the TPM clock says it is old */
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0-7,10,13 --out ev3.cbor", where), 0);
	assert_int_equal(attest(NULL, "verify ev3.cbor >/dev/null"), 0);
	assert_int_equal(attest(&out, "verify ev1.cbor"), 1);
	assert_non_null(strstr(out, "replayed evidence"));
	free(out);
}

static void test_other_key_refused(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(
		sh(NULL,
		   "cd %s && openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | "
		   "openssl ec -pubout -out other.pem 2>/dev/null",
		   dir),
		0);
	assert_int_equal(attest(NULL, "quote %s --out ev4.cbor", where), 0);
	assert_int_equal(attest(&out, "verify ev4.cbor --ak other.pem"), 1);
	assert_non_null(strstr(out, "does not verify with this AK"));
	free(out);
}

/* Rewrites evidence after changing its response with @edit. */
static void tamper(const char *in, const char *outname, void (*edit)(struct attest_response *))
{
	char path[128];
	struct evidence ev;
	struct attest_response r;
	uint8_t *nbody;
	size_t nlen;

	snprintf(path, sizeof(path), "%s/%s", dir, in);
	assert_int_equal(evidence_read(path, &ev), 0);
	assert_int_equal(attest_response_decode(ev.body, ev.body_len, &r), 0);
	edit(&r);
	assert_int_equal(attest_response_encode(&r, &nbody, &nlen), 0);
	free(ev.body);
	ev.body = nbody;
	ev.body_len = nlen;
	snprintf(path, sizeof(path), "%s/%s", dir, outname);
	assert_int_equal(evidence_write(path, &ev), 0);
	attest_response_free(&r);
	evidence_free(&ev);
}

static void edit_pcr(struct attest_response *r)
{
	r->pcrs.bank[0].value[13][5] ^= 1;
}

static void edit_ima(struct attest_response *r)
{
	r->log[ATTEST_LOG_IMA][r->log_len[ATTEST_LOG_IMA] - 20] ^=
		1; /* inside /usr/bin/tool's digest */
}

static void test_edited_pcr_and_log_refused(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(
		attest(NULL, "quote %s --full --pcrs sha256:0-7,10,13 --out ev5.cbor", where), 0);
	tamper("ev5.cbor", "ev5-pcr.cbor", edit_pcr);
	assert_int_equal(attest(&out, "verify ev5-pcr.cbor"), 1);
	assert_non_null(strstr(out, "pcrDigest does not match"));
	free(out);
	tamper("ev5.cbor", "ev5-ima.cbor", edit_ima);
	assert_int_equal(attest(&out, "verify ev5-ima.cbor --reference ref.json"), 1);
	assert_non_null(strstr(out, "template hash does not match"));
	free(out);
}

static int raw_connect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_bad_frames_and_slow_clients(void **state)
{
	uint8_t huge[4] = {0x40, 0, 0, 0}, reply[4096], trunc[54] = {0, 0, 0, 100};
	int fd, slow;
	ssize_t n;
	struct attest_response r;

	(void)state;
	/* a 1 GiB length prefix: an error reply naming the size, then the connection closes */
	fd = raw_connect();
	assert_int_equal(write(fd, huge, 4), 4);
	n = read(fd, reply, sizeof(reply));
	assert_true(n > 4);
	assert_int_equal(attest_response_decode(reply + 4, (size_t)n - 4, &r), 0);
	assert_int_equal(r.status, EMSGSIZE);
	assert_non_null(strstr(r.error, "1073741824"));
	attest_response_free(&r);
	assert_int_equal(read(fd, reply, sizeof(reply)), 0);
	close(fd);
	/* a truncated frame, then gone; a slow client holding its connection */
	fd = raw_connect();
	assert_int_equal(write(fd, trunc, sizeof(trunc)), (ssize_t)sizeof(trunc));
	close(fd);
	slow = raw_connect();
	/* a garbage CBOR body: an error reply */
	fd = raw_connect();
	assert_int_equal(write(fd, "\0\0\0\4\xbf\x01\x02\x03", 8), 8);
	n = read(fd, reply, sizeof(reply));
	assert_true(n > 4);
	assert_int_equal(attest_response_decode(reply + 4, (size_t)n - 4, &r), 0);
	assert_int_equal(r.status, EBADMSG);
	attest_response_free(&r);
	close(fd);
	/* the others are still served while the slow one waits */
	assert_int_equal(attest(NULL, "quote %s --out ev6.cbor", where), 0);
	usleep(800 * 1000); /* past the read timeout: the slow one is dropped */
	n = read(slow, reply, sizeof(reply));
	assert_true(n >= 0); /* an error reply (ETIMEDOUT) or EOF, not a hang */
	close(slow);
}

struct worker {
	char out[64];
	int rc;
	unsigned path_len;
};

static void *quote_worker(void *arg)
{
	struct worker *w = arg;
	struct attest_request req = {.type = ATTEST_QUOTE, .nonce_len = 32, .logs = 0};
	struct attest_response r;
	uint8_t *body;
	size_t len;

	memset(req.nonce, (int)(uintptr_t)arg, sizeof(req.nonce));
	pcr_selection_parse("sha256:0,10", &req.sel);
	w->rc = attest_call(where, &req, 20000, &body, &len);
	if (w->rc == 0 && (w->rc = attest_response_decode(body, len, &r)) == 0) {
		w->rc = (int)r.status;
		w->path_len = r.path.len;
		attest_response_free(&r);
	}
	if (w->rc == 0)
		free(body);
	return NULL;
}

static void test_concurrent_verifiers_share_quotes(void **state)
{
	struct worker w[24];
	pthread_t t[24];
	unsigned batched = 0;

	(void)state;
	for (int i = 0; i < 24; i++)
		pthread_create(&t[i], NULL, quote_worker, &w[i]);
	for (int i = 0; i < 24; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].rc, 0);
		batched += w[i].path_len > 0;
	}
	assert_true(batched > 0); /* some shared a quote (their nonces sit in a tree) */
}

/*
 * The result as an EAR JWT: its signature verifies with openssl alone, its
 * claims-set validates against the draft's schema (tests/data), and attest
 * ear verify accepts it and refuses it edited.
 */
static void test_ear_jwt(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(
		sh(NULL,
		   "cd %s && openssl ecparam -name prime256v1 -genkey -noout -out ear.pem "
		   "2>/dev/null && openssl ec -in ear.pem -pubout -out ear.pub 2>/dev/null",
		   dir),
		0);
	assert_int_equal(attest(NULL,
				"check %s --pcrs sha256:0-7,10,13 --reference ref.json "
				"--ear-key ear.pem > ear.jwt",
				where),
			 0);
	assert_int_equal(sh(&out,
			    "cd %s && %s/tests/harness/jwt-verify-openssl.sh ear.jwt ear.pub "
			    "> ear.json && /usr/bin/python3 %s/tests/harness/json-schema-check.py "
			    "%s/tests/data/ear-claims.schema.json ear.json",
			    dir, repo, repo, repo),
			 0);
	free(out);
	assert_int_equal(sh(&out, "cat %s/ear.json", dir), 0);
	assert_string_equal(ear_top(out, "eat_profile"), "tag:github.com,2023:veraison/ear");
	assert_string_equal(ear_status(out), "affirming");
	assert_int_equal(ear_tv_claim(out, "instance-identity"), 2);
	assert_int_equal(ear_tv_claim(out, "hardware"),
			 -1000);			       /* PCR 0-7 not predicted: no claim */
	assert_int_equal(ear_tv_claim(out, "file-system"), 2); /* PCR 13 as predicted */
	assert_int_equal(ear_tv_claim(out, "executables"), 2); /* every IMA file known */
	free(out);
	/* the schema is not a rubber stamp: a status outside the tiers fails it */
	assert_int_not_equal(
		sh(NULL,
		   "cd %s && sed 's/\"ear.status\":\"affirming\"/\"ear.status\":\"ok\"/' "
		   "ear.json > bad.json && /usr/bin/python3 "
		   "%s/tests/harness/json-schema-check.py "
		   "%s/tests/data/ear-claims.schema.json bad.json >/dev/null",
		   dir, repo, repo),
		0);
	assert_int_equal(attest(&out, "ear verify ear.jwt --key ear.pub"), 0);
	assert_string_equal(ear_status(out), "affirming");
	free(out);
	/* verify signs too, a contraindicated result as well: the same evidence again is replayed */
	assert_int_equal(attest(NULL, "verify state/last-evidence.cbor --ear-key ear.pem > v.jwt"),
			 1);
	assert_int_equal(attest(&out, "ear verify v.jwt --key ear.pub"), 0);
	assert_string_equal(ear_status(out), "contraindicated");
	assert_string_equal(ear_check_status(out, "clock"), "contraindicated");
	free(out);
	/* one character of the payload changed: refused, by us and by openssl */
	assert_int_equal(
		sh(NULL,
		   "cd %s && awk -F. '{ p = $2; c = substr(p, 10, 1); "
		   "sub(/./, c == \"A\" ? \"B\" : \"A\", p); print $1 \".\" substr($2, 1, 9) "
		   "(c == \"A\" ? \"B\" : \"A\") substr($2, 11) \".\" $3 }' ear.jwt > "
		   "edited.jwt",
		   dir),
		0);
	assert_int_equal(sh(&out,
			    "cd %s && %s --state state ear verify edited.jwt --key ear.pub "
			    "2>&1",
			    dir, bin_path("attest")),
			 1);
	assert_non_null(strstr(out, "does not verify"));
	free(out);
	assert_int_not_equal(sh(NULL,
				"cd %s && %s/tests/harness/jwt-verify-openssl.sh "
				"edited.jwt ear.pub >/dev/null 2>&1",
				dir, repo),
			     0);
}

/*
 * A man in the middle (or the device itself) that answers a request for
 * sha256:0-7,10,13 with a genuine quote over sha256:0,10,13 only, hiding
 * what PCRs 1-7 hold.  It serves one connection.
 */
struct narrowing_proxy {
	int listen_fd, port;
	pthread_t thread;
};

static void *narrowing_proxy_run(void *arg)
{
	struct narrowing_proxy *p = arg;
	struct attest_request req;
	uint8_t hdr[4], buf[ATTEST_REQUEST_MAX], *body = NULL;
	size_t len;
	int fd = accept(p->listen_fd, NULL, NULL);

	if (fd < 0 || read(fd, hdr, 4) != 4 || (len = frame_hdr_get(hdr)) > sizeof(buf) ||
	    read(fd, buf, len) != (ssize_t)len || attest_request_decode(buf, len, &req) < 0 ||
	    pcr_selection_parse("sha256:0,10,13", &req.sel) < 0 ||
	    attest_call(where, &req, 20000, &body, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	frame_hdr_put(len, hdr);
	if (write(fd, hdr, 4) == 4 && write(fd, body, len) == (ssize_t)len)
		shutdown(fd, SHUT_WR);
	free(body);
	close(fd);
	return NULL;
}

static void narrowing_proxy_start(struct narrowing_proxy *p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->listen_fd, 4), 0);
	assert_int_equal(getsockname(p->listen_fd, (struct sockaddr *)&sa, &sl), 0);
	p->port = ntohs(sa.sin_port);
	pthread_create(&p->thread, NULL, narrowing_proxy_run, p);
}

static void narrowing_proxy_stop(struct narrowing_proxy *p)
{
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
}

static void test_device_cannot_choose_the_pcrs(void **state)
{
	struct narrowing_proxy proxy;
	char *out = NULL, path[128];
	FILE *f;

	(void)state;
	/* the request is narrowed on the way: the quote is genuine, but not of what we asked */
	narrowing_proxy_start(&proxy);
	assert_int_equal(attest(&out,
				"check 127.0.0.1:%d --pcrs sha256:0-7,10,13 --reference "
				"ref.json 2>&1",
				proxy.port),
			 1);
	narrowing_proxy_stop(&proxy);
	assert_string_equal(ear_check_status(out, "quote"), "affirming");
	assert_string_equal(ear_check_status(out, "selection"), "contraindicated");
	/* PCR 1-7 hidden: the hardware appraisal is contraindicated */
	assert_int_equal(ear_tv_claim(out, "hardware"), 96);
	assert_non_null(strstr(out, "7 required PCRs were not quoted, first sha256 PCR 1 (asked "
				    "for)"));
	free(out);
	/* a verifier that asked for too little: the reference and --pcrs still decide */
	snprintf(path, sizeof(path), "%s/ref-pcr4.json", dir);
	f = fopen(path, "w");
	fprintf(f, "{\"pcrs\":{\"sha256\":{\"4\":\"%064x\"}}}\n", 4);
	fclose(f);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0,10,13 --out narrow.cbor", where),
			 0);
	assert_int_equal(attest(&out, "verify narrow.cbor --reference ref-pcr4.json"), 1);
	assert_non_null(strstr(out, "first sha256 PCR 4 (predicted by the reference)"));
	free(out);
	assert_int_equal(attest(&out, "verify narrow.cbor --pcrs sha256:0-9,13"), 1);
	assert_non_null(strstr(out, "first sha256 PCR 1 (required by --pcrs)"));
	free(out);
}

/* Evidence checked against the verifier's own nonce, not the one stored beside it. */
static void test_nonce_from_the_verifier(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0-7,10,13 --out n.cbor", where), 0);
	assert_int_equal(attest(&out, "verify n.cbor --nonce %064x", 7), 1);
	assert_string_equal(ear_check_status(out, "freshness"), "contraindicated");
	assert_int_equal(ear_tv_claim(out, "instance-identity"), 99); /* crypto validation failed */
	assert_string_equal(ear_top(out, "ear.measured.nonce-source"), "verifier");
	free(out);
}

/* References with nulls or non-strings are refused naming the field, never crash. */
static void test_null_reference_values_refused(void **state)
{
	static const struct {
		const char *json, *says;
	} bad[] = {
		{"{\"pcrs\":{\"sha256\":{\"13\":null}}}", "pcrs.sha256.13 is not a 32-byte hex"},
		{"{\"pcrs\":{},\"ima\":{\"files\":{\"/usr/bin/tool\":null}}}",
		 "ima.files./usr/bin/tool is not a hex string"},
	};
	char *out = NULL, path[128];

	(void)state;
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0-7,10,13 --out r.cbor", where), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/ref-null.json", dir);
		assert_int_equal(file_write_atomic(path, bad[i].json, strlen(bad[i].json), 0644),
				 0);
		assert_int_equal(attest(&out, "verify r.cbor --reference ref-null.json 2>&1"), 1);
		assert_non_null(strstr(out, bad[i].says));
		free(out);
	}
	snprintf(path, sizeof(path), "%s/policy-null.json", dir);
	assert_int_equal(file_write_atomic(path, "{\"digests\":{\"/x\":[null]}}", 25, 0644), 0);
	assert_int_equal(attest(&out, "verify r.cbor --runtime-policy policy-null.json 2>&1"), 1);
	assert_non_null(strstr(out, "digests./x is not a list of hex strings"));
	free(out);
}

/* A PCR that is not the predicted value is explained by the first event that differs. */
static void test_mismatch_explained(void **state)
{
	char *out = NULL, path[128], ref[600];

	(void)state;
	snprintf(
		ref, sizeof(ref),
		"{\"pcrs\":{\"sha256\":{\"3\":\"%064x\"}},\"components\":{\"firmware\":{\"events\":"
		"[{\"pcr\":3,\"description\":\"separator\",\"digests\":{\"sha256\":\"%s\"}}]}}}",
		3, "9999999999999999999999999999999999999999999999999999999999999999");
	snprintf(path, sizeof(path), "%s/ref-explain.json", dir);
	assert_int_equal(file_write_atomic(path, ref, strlen(ref), 0644), 0);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0-7,10,13 --out x.cbor", where), 0);
	assert_int_equal(attest(&out, "verify x.cbor --reference ref-explain.json"), 1);
	assert_string_equal(ear_check_status(out, "pcr3"), "contraindicated");
	/* the log's separator for PCR 3 has the digest 0x13.. (make_firmware_log) */
	assert_non_null(strstr(out, "sha256 PCR 3 is not the predicted value: PCR 3 event 1 "
				    "EV_SEPARATOR: predicted 'separator' (9999999999999999..), the "
				    "log has no data (1313131313131313..)"));
	free(out);
}

/*
 * IMA records a violation (all-zero entry, PCR 10 extended with all ones)
 * when a file is measured while open for write: what was read may not be
 * what was measured.  A warning, contraindicated under --strict, for the
 * rest of the boot.
 */
static void test_ima_violation_reported(void **state)
{
	struct imabuf b = {0};
	struct tpm *tpm;
	uint8_t ones[32];
	char path[128], *out = NULL;
	FILE *f;

	(void)state;
	imabuild_violation(&b, "/var/lib/app/open-for-write");
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(tpm_open(sw.tcti, 0, &tpm), 0);
	extend_sha256(tpm, 10, ones);
	tpm_close(tpm);
	snprintf(path, sizeof(path), "%s/ima.bin", dir);
	f = fopen(path, "ab");
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	free(b.data);
	assert_int_equal(
		attest(&out, "check %s --pcrs sha256:0-7,10,13 --reference ref.json", where), 3);
	assert_string_equal(ear_status(out), "warning");
	assert_int_equal(ear_tv_claim(out, "executables"), 32);
	assert_non_null(strstr(out, "1 IMA violations this boot"));
	assert_non_null(strstr(out, "first /var/lib/app/open-for-write"));
	assert_null(strstr(out, "contraindicated"));
	free(out);
	/* the next check fetches nothing new, and the violation is still this boot's */
	assert_int_equal(attest(&out,
				"check %s --pcrs sha256:0-7,10,13 --reference ref.json "
				"--strict",
				where),
			 1);
	assert_string_equal(ear_check_status(out, "ima-violations"), "contraindicated");
	assert_non_null(strstr(out, "open-for-write (--strict)"));
	free(out);
}

/*
 * The device booted again and measured the same chain: a new resetCount,
 * PCRs from zero, a new IMA list.  The saved IMA offset belongs to the last
 * boot's list, so attest check fetches this one from the start, once.
 */
static void rebooted_device_verifies(void)
{
	struct alg_digest cel_digest = {.alg = hash_alg_by_id(TPM_ALG_SHA256)};
	struct tpm *tpm;
	char cel[128], *out = NULL;

	snprintf(cel, sizeof(cel), "%s/measurements.cel", dir);
	unlink(cel);
	assert_int_equal(tpm_open(sw.tcti, 0, &tpm), 0);
	make_firmware_log(tpm);
	make_ima_list(tpm);
	memset(cel_digest.value, 0x42, 32);
	assert_int_equal(
		measure_extend(tpm, 13, &cel_digest, 1, "rootfs", "/dev/vda", NULL, 0, cel), 0);
	tpm_close(tpm);
	/* a reboot starts attestd anew: it opens this boot's logs (it keeps them open) */
	kill(attestd_pid, SIGTERM);
	waitpid(attestd_pid, NULL, 0);
	start_attestd();
	/* this boot's list grows past where the last boot's verified one ended */
	for (int i = 0; i < 4; i++)
		ima_append_tool();
	if (attest(&out, "check %s --pcrs sha256:0-7,10,13 --reference ref.json", where) != 0)
		fail_msg("not affirming after a reboot:\n%s", out);
	assert_non_null(strstr(out, "all 6 new measured files"));
	free(out);
	assert_int_equal(ima_bytes_in("state/last-evidence.cbor"), ima_list_bytes());
}

static void test_tpm_gone_and_back(void **state)
{
	char *out = NULL;

	(void)state;
	kill(sw.pid, SIGSTOP); /* the TPM stops answering ... */
	kill(sw.pid, SIGKILL); /* ... and is gone */
	waitpid(sw.pid, NULL, 0);
	sw.pid = 0;
	assert_int_equal(attest(&out,
				"quote %s --out ev7.cbor 2>&1 && cd . && %s --state state "
				"verify ev7.cbor",
				where, bin_path("attest")),
			 1);
	assert_non_null(strstr(out, "TPM unavailable"));
	free(out);
	/* an error reply is the device's refusal, not evidence */
	assert_int_not_equal(sh(NULL, "test -e %s/ev7.cbor", dir), 0);
	/* the same TPM state comes back on the same port: serving resumes */
	assert_int_equal(swtpm_restart(&sw), 0);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:0 --out ev8.cbor", where), 0);
	assert_int_equal(attest(&out, "verify ev8.cbor"), 1); /* new boot: logs no longer match */
	assert_non_null(strstr(out, "\"quote\""));
	assert_null(strstr(out, "TPM unavailable"));
	free(out);
	rebooted_device_verifies();
}

/*
 * The CEL log as a writer killed inside measure_extend leaves it
 * (docs/FORMATS.md, "Pending records"): a pending last record whose extend
 * did not happen, then did (the quote decides), and a record cut short, each
 * verifies with the record reported; an extend with no record at all does
 * not.
 */
/* attest verify's measured-log check on @ev: its status, and its reason containing @why. */
static void cel_verdict(const char *ev, const char *status, const char *why)
{
	char *out = NULL;
	const char *st;

	attest(&out, "verify %s", ev);
	st = out ? ear_check_status(out, "measured-log") : NULL;
	if (!st || strcmp(st, status) || !strstr(out, why))
		fail_msg("%s: wanted measured-log %s (%s), got: %s", ev, status, why,
			 out && strstr(out, "measured-log") ? strstr(out, "measured-log") : out);
	free(out);
}

static void test_cel_pending_and_torn(void **state)
{
	struct cel_record rec = {.pcr = 11, .n_digests = 1, .content_type = CEL_CONTENT_MEASURED};
	struct cel_writer w;
	struct tpm *tpm;
	char cel[128];
	uint8_t *enc;
	size_t enc_len;

	(void)state;
	snprintf(cel, sizeof(cel), "%s/measurements.cel", dir);
	rec.digest[0].alg = hash_alg_by_id(TPM_ALG_SHA256);
	memset(rec.digest[0].value, 0x43, 32);
	strcpy(rec.type, "container-config");
	rec.name = "pending";
	assert_int_equal(tpm_open(sw.tcti, 0, &tpm), 0);
	/* PCR 11 extended once, with its record: the log replays to it */
	assert_int_equal(
		measure_extend(tpm, 11, rec.digest, 1, "container-config", "first", NULL, 0, cel),
		0);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:11,13 --out ev9.cbor", where), 0);
	cel_verdict("ev9.cbor", "affirming", "log replays to the 2 quoted PCR values");

	/* killed after writing the record, before the extend */
	assert_int_equal(cel_writer_open(cel, &w), 0);
	assert_int_equal(cel_writer_append(&w, &rec, true), 0);
	cel_writer_close(&w);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:11,13 --out ev10.cbor", where), 0);
	cel_verdict("ev10.cbor", "warning", "is pending: its extend is not in the quote");

	/* killed after the extend, before the record was made final */
	assert_int_equal(tpm_pcr_extend(tpm, 11, rec.digest, 1), 0);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:11,13 --out ev11.cbor", where), 0);
	cel_verdict("ev11.cbor", "warning", "is pending: its extend happened");
	/* the next writer settles it, then a record cut short follows */
	assert_int_equal(
		measure_extend(tpm, 11, rec.digest, 1, "container-config", "third", NULL, 0, cel),
		0);
	assert_int_equal(cel_writer_open(cel, &w), 0);
	rec.recnum = w.log.n_records;
	assert_false(w.log.record[w.log.n_records - 2].pending);
	cel_writer_close(&w);
	assert_int_equal(cel_record_encode(&rec, &enc, &enc_len), 0);
	FILE *f = fopen(cel, "a");
	fwrite(enc, 1, enc_len - 7, f);
	fclose(f);
	free(enc);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:11,13 --out ev12.cbor", where), 0);
	cel_verdict("ev12.cbor", "warning", "are a record cut short");

	/* an extend without its record: the replay differs */
	assert_int_equal(tpm_pcr_extend(tpm, 11, rec.digest, 1), 0);
	tpm_close(tpm);
	assert_int_equal(attest(NULL, "quote %s --pcrs sha256:11,13 --out ev13.cbor", where), 0);
	cel_verdict("ev13.cbor", "contraindicated",
		    "PCR 11: the log's replay differs from the quoted value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enrol_quote_verify_affirming),
		cmocka_unit_test(test_incremental_ima),
		cmocka_unit_test(test_check_over_unix_socket),
		cmocka_unit_test(test_runs_unprivileged),
		cmocka_unit_test(test_export_tpm2_checkquote),
		cmocka_unit_test(test_replayed_evidence_refused),
		cmocka_unit_test(test_other_key_refused),
		cmocka_unit_test(test_edited_pcr_and_log_refused),
		cmocka_unit_test(test_bad_frames_and_slow_clients),
		cmocka_unit_test(test_concurrent_verifiers_share_quotes),
		cmocka_unit_test(test_ear_jwt),
		cmocka_unit_test(test_device_cannot_choose_the_pcrs),
		cmocka_unit_test(test_nonce_from_the_verifier),
		cmocka_unit_test(test_null_reference_values_refused),
		cmocka_unit_test(test_mismatch_explained),
		cmocka_unit_test(test_ima_violation_reported),
		cmocka_unit_test(test_tpm_gone_and_back),
		cmocka_unit_test(test_cel_pending_and_torn),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
