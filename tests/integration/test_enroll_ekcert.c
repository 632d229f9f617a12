// SPDX-License-Identifier: MIT
/*
 * Enrolment on a TPM manufactured by swtpm_setup --create-ek-cert (with a
 * private local CA): attestd provisions the TCG default RSA EK, which is the
 * key the certificate in NV certifies; attest enroll --ek-ca accepts the
 * chain to that CA and refuses one to another CA.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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
	char statedir[128], listen[64];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-ekcert.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (sh(NULL,
	       "cd %s && mkdir -p ca state && "
	       "printf 'statedir = %s/ca\\nsigningkey = %s/ca/signkey.pem\\nissuercert = "
	       "%s/ca/issuercert.pem\\n"
	       "certserial = %s/ca/certserial\\n' > localca.conf && touch localca.options && "
	       "printf 'create_certs_tool = /usr/bin/swtpm_localca\\ncreate_certs_tool_config = "
	       "%s/localca.conf\\n"
	       "create_certs_tool_options = %s/localca.options\\n' > setup.conf && "
	       "swtpm_setup --tpm2 --tpmstate %s/state --create-ek-cert --config %s/setup.conf "
	       "--pcr-banks sha256 >/dev/null 2>&1 && "
	       "cat ca/issuercert.pem ca/swtpm-localca-rootca-cert.pem > ca-bundle.pem && "
	       "openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj /CN=other "
	       "-out other-ca.pem 2>/dev/null",
	       dir, dir, dir, dir, dir, dir, dir, dir, dir) != 0)
		return -1;
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	if (swtpm_start_in(&sw, statedir, true) < 0)
		return -1;
	if (sh(NULL, "%s --tcti '%s' --provision >/dev/null", bin_path("attestd"), sw.tcti) != 0)
		return -1;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", sw.port + 5);
	snprintf(where, sizeof(where), "%s", listen);
	attestd_pid = fork();
	if (attestd_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(bin_path("attestd"), "attestd", "--tcti", sw.tcti, "--listen", listen,
		      (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000);
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

static void test_ek_certificate_chains(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(sh(&out, "cd %s && %s --state ok --ek-ca ca-bundle.pem enroll %s 2>&1",
			    dir, bin_path("attest"), where),
			 0);
	assert_non_null(strstr(out, "certificate chains to the CA"));
	free(out);
	assert_int_equal(sh(&out, "cd %s && %s --state bad --ek-ca other-ca.pem enroll %s 2>&1",
			    dir, bin_path("attest"), where),
			 1);
	assert_non_null(strstr(out, "does not chain"));
	assert_int_not_equal(sh(NULL, "test -e %s/bad/ak.pem", dir), 0); /* nothing enrolled */
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ek_certificate_chains),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
