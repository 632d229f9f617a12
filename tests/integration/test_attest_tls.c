// SPDX-License-Identifier: MIT
/*
 * attestd over TLS with client certificates: a verifier with a certificate
 * from the configured CA gets evidence (that verifies); one without a
 * certificate, a plain-TCP one, and one that does not trust the daemon's CA
 * are refused, and the daemon keeps serving.  A client that connects and
 * never starts the handshake costs the engine no CPU while it waits.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
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

#include "swtpm.h"
#include "testutil.h"

static struct swtpm sw;
static char dir[64], where[64];
static pid_t attestd_pid;

static int setup(void **state)
{
	char listen[64], cert[128], key[128], ca[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-tls.XXXXXX");
	if (!mkdtemp(dir) || swtpm_start(&sw, true) < 0)
		return -1;
	/* a CA, a server certificate for 127.0.0.1, a client certificate, and another CA */
	if (sh(NULL,
	       "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	       "-keyout ca.key -subj /CN=test-ca -out ca.pem -days 2 2>/dev/null && "
	       "for n in server client; do openssl req -newkey ec -pkeyopt "
	       "ec_paramgen_curve:prime256v1 -nodes -keyout $n.key -subj /CN=$n -out $n.csr "
	       "2>/dev/null && printf 'subjectAltName=IP:127.0.0.1\\n' > $n.ext && openssl x509 "
	       "-req "
	       "-in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $n.ext "
	       "-out $n.pem 2>/dev/null || exit 1; done && openssl req -x509 -newkey rsa:2048 "
	       "-nodes "
	       "-keyout /dev/null -subj /CN=other -out other.pem 2>/dev/null",
	       dir) != 0)
		return -1;
	if (sh(NULL, "%s --tcti '%s' --provision >/dev/null", bin_path("attestd"), sw.tcti) != 0)
		return -1;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", sw.port + 9);
	snprintf(where, sizeof(where), "%s", listen);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	attestd_pid = fork();
	if (attestd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(bin_path("attestd"), "attestd", "--tcti", sw.tcti, "--listen", listen,
		      "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ca, "--firmware-log",
		      "/dev/null", "--ima-log", "/dev/null", "--cel-log", "/dev/null",
		      (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (attestd_pid > 0) {
		kill(attestd_pid, SIGTERM);
		waitpid(attestd_pid, NULL, 0);
	}
	swtpm_stop(&sw);
	return sh(NULL, "rm -rf %s", dir);
}

#define MTLS "--tls-ca ca.pem --tls-cert client.pem --tls-key client.key"

static void test_mutual_tls(void **state)
{
	char *out = NULL;
	const char *attest = bin_path("attest");

	(void)state;
	assert_int_equal(sh(NULL,
			    "cd %s && %s --state st " MTLS
			    " enroll --trust-on-first-use %s >/dev/null",
			    dir, attest, where),
			 0);
	assert_int_equal(
		sh(NULL, "cd %s && %s --state st " MTLS " quote %s --pcrs sha256:0 --out ev.cbor",
		   dir, attest, where),
		0);
	assert_int_equal(sh(&out, "cd %s && %s --state st verify ev.cbor", dir, attest), 1);
	assert_string_equal(ear_check_status(out, "quote"), "affirming");
	free(out);
	/* no client certificate; plain TCP; a CA that did not sign the daemon's certificate */
	assert_int_equal(sh(&out,
			    "cd %s && %s --state st --tls-ca ca.pem quote %s --out x.cbor 2>&1",
			    dir, attest, where),
			 1);
	free(out);
	assert_int_equal(sh(NULL, "cd %s && %s --state st quote %s --out y.cbor 2>/dev/null", dir,
			    attest, where),
			 1);
	assert_int_equal(sh(&out,
			    "cd %s && %s --state st --tls-ca other.pem --tls-cert client.pem "
			    "--tls-key client.key quote %s --out z.cbor 2>&1",
			    dir, attest, where),
			 1);
	assert_non_null(strstr(out, "TLS handshake"));
	free(out);
	/* and it still serves those it should */
	assert_int_equal(sh(NULL, "cd %s && %s --state st " MTLS " quote %s --out ev2.cbor", dir,
			    attest, where),
			 0);
}

/*
 * A client that connects and sends nothing, not even a ClientHello: the
 * engine waits for its bytes and is not woken meanwhile.  (It used to wait
 * for read and write at once during every handshake, and a socket is always
 * writable: one silent client kept a core busy until the read deadline.)
 */
static void test_silent_client_costs_nothing(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)(sw.port + 9)),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char *out = NULL;
	pid_t engine = 0;
	long cpu0, cpu1;
	int fd;

	(void)state;
	if (sh(&out, "pgrep -P %d", (int)attestd_pid) == 0)
		engine = (pid_t)atoi(out);
	free(out);
	assert_true(engine > 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	usleep(200000);
	cpu0 = proc_cpu_ms(engine);
	usleep(1000000); /* within the read deadline (5 s) */
	cpu1 = proc_cpu_ms(engine);
	close(fd);
	print_message("silent TLS client: engine CPU %ld ms in the next second\n", cpu1 - cpu0);
	assert_true(cpu0 >= 0);
	assert_true(cpu1 - cpu0 < 200); /* a spinning loop takes about 1000 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutual_tls),
		cmocka_unit_test(test_silent_client_costs_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
