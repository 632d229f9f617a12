// SPDX-License-Identifier: MIT
/*
 * Enrolment checks the EK certificate by default.  A TPM manufactured by
 * swtpm_setup --create-ek-cert (a private local CA) enrols with --ek-ca (a
 * file or a folder); a CA that did not sign it, a TPM with no certificate,
 * and a certificate outside the TCG EK profile are refused and nothing is
 * enrolled.  Trust on first use only when asked for, and every later
 * verdict says so.
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

static struct swtpm sw, bare; /* with an EK certificate; without one */
static char dir[64], where[64], bare_where[64];
static pid_t attestd_pid, bare_pid;

static pid_t start_attestd(const struct swtpm *t, const char *listen)
{
	pid_t pid;

	if (sh(NULL, "%s --tcti '%s' --provision >/dev/null", bin_path("attestd"), t->tcti) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(bin_path("attestd"), "attestd", "--tcti", t->tcti, "--listen", listen,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-ekcert.XXXXXX");
	if (!mkdtemp(dir) || swtpm_start_manufactured(&sw, dir) < 0 || swtpm_start(&bare, true) < 0)
		return -1;
	if (sh(NULL,
	       "cd %s && mkdir -p ca-dir && cp ca/issuercert.pem ca-dir/intermediate.pem && "
	       "openssl x509 -in ca/swtpm-localca-rootca-cert.pem -outform der -out "
	       "ca-dir/root.cer "
	       "&& openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -subj /CN=other "
	       "-out other-ca.pem 2>/dev/null",
	       dir) != 0)
		return -1;
	snprintf(where, sizeof(where), "127.0.0.1:%d", sw.port + 5);
	snprintf(bare_where, sizeof(bare_where), "127.0.0.1:%d", bare.port + 5);
	if ((attestd_pid = start_attestd(&sw, where)) < 0 ||
	    (bare_pid = start_attestd(&bare, bare_where)) < 0)
		return -1;
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
	if (bare_pid > 0) {
		kill(bare_pid, SIGTERM);
		waitpid(bare_pid, NULL, 0);
	}
	swtpm_stop(&sw);
	swtpm_stop(&bare);
	return sh(NULL, "rm -rf %s", dir);
}

static int attest(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int attest(char **out, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return sh(out, "cd %s && %s %s 2>&1", dir, bin_path("attest"), args);
}

static void test_ek_certificate_chains(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(attest(&out, "--state ok --ek-ca ca-bundle.pem enroll %s", where), 0);
	assert_non_null(strstr(out, "certificate chains to the CA"));
	free(out);
	/* a folder of CA certificates, the root in DER as vendors publish it */
	assert_int_equal(attest(&out, "--state ok-dir --ek-ca ca-dir enroll %s", where), 0);
	free(out);
	assert_int_equal(attest(&out, "--state ok quote %s --pcrs sha256:0 --out ev.cbor", where),
			 0);
	free(out);
	/* no logs served here: a warning, but the identity is affirmed */
	assert_int_equal(attest(&out, "--state ok verify ev.cbor"), 3);
	assert_string_equal(ear_check_status(out, "identity"), "affirming");
	assert_int_equal(ear_tv_claim(out, "instance-identity"), 2);
	assert_null(strstr(out, "contraindicated"));
	free(out);
	assert_int_equal(attest(&out, "--state bad --ek-ca other-ca.pem enroll %s", where), 1);
	assert_non_null(strstr(out, "does not chain"));
	assert_int_not_equal(sh(NULL, "test -e %s/bad/ak.pem", dir), 0); /* nothing enrolled */
	free(out);
}

/* Whoever answers first does not become the device: no EK CA, no enrolment. */
static void test_no_trust_on_first_use_by_default(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(attest(&out, "--state none enroll %s", bare_where), 2);
	assert_non_null(strstr(out, "no EK CA"));
	free(out);
	/* a TPM with no certificate (an emulator on the path) cannot show it is genuine */
	assert_int_equal(attest(&out, "--state none --ek-ca ca-bundle.pem enroll %s", bare_where),
			 1);
	assert_non_null(strstr(out, "has no EK certificate"));
	free(out);
	assert_int_not_equal(sh(NULL, "test -e %s/none/ak.pem", dir), 0);
	/* asked for explicitly: enrolled, and every verdict carries the warning */
	assert_int_equal(attest(&out, "--state tofu enroll %s --trust-on-first-use", bare_where),
			 0);
	assert_non_null(strstr(out, "trusted on first use"));
	free(out);
	assert_int_equal(
		attest(&out, "--state tofu quote %s --pcrs sha256:0 --out ev.cbor", bare_where), 0);
	free(out);
	assert_int_equal(attest(&out, "--state tofu verify ev.cbor"), 3);
	assert_string_equal(ear_status(out), "warning");
	assert_string_equal(ear_check_status(out, "identity"), "warning");
	assert_int_equal(ear_tv_claim(out, "instance-identity"), 32);
	assert_non_null(strstr(out, "trusted on first use (--trust-on-first-use)"));
	free(out);
}

/*
 * A certificate from the trusted CA for the device's EK, but outside the
 * TCG EK profile (@ext: issued for TLS servers), written to the RSA EK
 * certificate's NV slot with platform authority as a manufacturer would.
 */
static void write_ek_slot(const char *ext)
{
	assert_int_equal(
		sh(NULL,
		   "cd %s && export TPM2TOOLS_TCTI='%s' && "
		   "tpm2_readpublic -c 0x81010001 -f pem -o ek.pem >/dev/null && "
		   "printf '%s\\n' > tls.ext && "
		   "openssl req -new -newkey rsa:2048 -nodes -keyout /dev/null -subj /CN=tls "
		   "-out tls.csr 2>/dev/null && "
		   "openssl x509 -req -in tls.csr -force_pubkey ek.pem -CA ca/issuercert.pem "
		   "-CAkey ca/signkey.pem -CAcreateserial -days 30 -extfile tls.ext -outform der "
		   "-out tls.der 2>/dev/null && "
		   "tpm2_nvundefine -C p 0x01c00002 >/dev/null 2>&1 && "
		   "tpm2_nvdefine -C p -s $(stat -c %%s tls.der) "
		   "-a 'ppwrite|ppread|ownerread|authread|no_da|platformcreate' 0x01c00002 "
		   ">/dev/null 2>&1 && tpm2_nvwrite -C p -i tls.der 0x01c00002 >/dev/null 2>&1",
		   dir, sw.tcti, ext),
		0);
	usleep(1100 * 1000); /* attestd answers keys from a cache for a second */
}

static void test_certificate_outside_ek_profile_refused(void **state)
{
	char *out = NULL;

	(void)state;
	write_ek_slot("keyUsage=critical,digitalSignature\\nextendedKeyUsage=serverAuth");
	assert_int_equal(attest(&out, "--state eku --ek-ca ca-bundle.pem enroll %s", where), 1);
	assert_non_null(strstr(out, "key usage lacks keyEncipherment"));
	assert_int_not_equal(sh(NULL, "test -e %s/eku/ak.pem", dir), 0);
	free(out);
	write_ek_slot("keyUsage=critical,keyEncipherment\\nextendedKeyUsage=serverAuth");
	assert_int_equal(attest(&out, "--state eku --ek-ca ca-bundle.pem enroll %s", where), 1);
	assert_non_null(strstr(out, "extended key usage lacks tcg-kp-EKCertificate"));
	assert_int_not_equal(sh(NULL, "test -e %s/eku/ak.pem", dir), 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ek_certificate_chains),
		cmocka_unit_test(test_no_trust_on_first_use_by_default),
		cmocka_unit_test(test_certificate_outside_ek_profile_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
