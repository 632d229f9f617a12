// SPDX-License-Identifier: MIT
/*
 * pcrpredict secureboot against the PCRs of the project's own boots
 * (tests/data): OVMF without keys (PCR 7 from OVMF_VARS_4M.fd), and
 * Debian's Secure Boot chain (PCR 7 and 14 from OVMF_VARS_4M.ms.fd, the
 * signed shim, GRUB and kernel) when the downloaded artifacts are the ones
 * that boot loaded (their PCR 4 digests); refusals.  make e2e boots the chain
 * anew (e2e-secureboot.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static char efi[4096], kernel[4096], dir[64];

static int setup(void **state)
{
	char *out = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-sb.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (sh(&out, "tests/harness/fetch-efi.sh build/cache") == 0)
		snprintf(efi, sizeof(efi), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	out = NULL;
	if (sh(&out, "k=$(boot/fetch-kernel.sh build/cache) && ls $k/boot/vmlinuz-* | head -1") ==
	    0)
		snprintf(kernel, sizeof(kernel), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return sh(NULL, "rm -rf %s", dir);
}

/* PCR @pcr of @bank from a pcrs file of tests/data, lowercase. */
static char *recorded(const char *file, const char *bank, unsigned pcr)
{
	char *out = NULL;

	assert_int_equal(sh(&out, "awk '$1 == %u { print tolower($2) }' tests/data/%s.pcrs-%s", pcr,
			    file, bank),
			 0);
	return out;
}

static void test_no_keys_pcr7_equals_the_boot(void **state)
{
	static const char *const banks[] = {"sha256", "sha1"};

	(void)state;
	for (int b = 0; b < 2; b++) {
		char *ours = NULL, *want = recorded("ovmf-grub", banks[b], 7);

		assert_int_equal(sh(&ours,
				    "%s secureboot --banks %s --json --vars "
				    "/usr/share/OVMF/OVMF_VARS_4M.fd | jq -r '.pcrs.%s[\"7\"]'",
				    bin_path("pcrpredict"), banks[b], banks[b]),
				 0);
		assert_string_equal(ours, want);
		free(ours);
		free(want);
	}
}

static void test_secure_boot_chain_equals_the_boot(void **state)
{
	static const char *const banks[] = {"sha256", "sha1"};
	char *apps = NULL, *ours = NULL;

	(void)state;
	if (!efi[0] || !kernel[0]) {
		print_message(
			"skipped: Debian's signed shim, GRUB or kernel could not be downloaded\n");
		skip();
	}
	/* the recorded boot loaded these very images, or the comparison says nothing */
	assert_int_equal(sh(&apps,
			    "%s log --json tests/data/ovmf-secureboot.log | jq -r '[.events[] "
			    "| select(.type_name == \"EV_EFI_BOOT_SERVICES_APPLICATION\") | "
			    ".digests.sha256][0:2] | join(\" \")'",
			    bin_path("attest")),
			 0);
	assert_int_equal(sh(&ours,
			    "%s pe --json %s/usr/lib/shim/shimx64.efi.signed "
			    "%s/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed | jq -r "
			    "'[.[].sha256] | join(\" \")'",
			    bin_path("pcrpredict"), efi, efi),
			 0);
	if (strcmp(apps, ours) != 0) {
		print_message(
			"skipped: Debian's shim or GRUB is not the one tests/data's boot loaded "
			"(e2e-secureboot.sh boots the new one)\n");
		free(apps);
		free(ours);
		skip();
	}
	free(apps);
	free(ours);
	for (int b = 0; b < 2; b++)
		for (unsigned pcr = 7; pcr <= 14; pcr += 7) {
			char *want = recorded("ovmf-secureboot", banks[b], pcr);

			assert_int_equal(sh(&ours,
					    "%s secureboot --banks %s --json --vars "
					    "/usr/share/OVMF/OVMF_VARS_4M.ms.fd --shim "
					    "%s/usr/lib/shim/shimx64.efi.signed --grub "
					    "%s/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed "
					    "--kernel %s "
					    "| jq -r '.pcrs.%s[\"%u\"]'",
					    bin_path("pcrpredict"), banks[b], efi, efi, kernel,
					    banks[b], pcr),
					 0);
			if (strcmp(ours, want) != 0)
				fail_msg("%s PCR %u: ours %s, the boot's %s", banks[b], pcr, ours,
					 want);
			free(ours);
			/* the .pcrlock files of the same prediction, folded with openssl alone */
			assert_int_equal(sh(&ours,
					    "rm -rf %s/pl && mkdir %s/pl && %s secureboot --banks "
					    "sha256,sha1 --vars "
					    "/usr/share/OVMF/OVMF_VARS_4M.ms.fd --shim "
					    "%s/usr/lib/shim/shimx64.efi.signed --grub "
					    "%s/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed "
					    "--kernel %s "
					    "--pcrlock %s/pl >/dev/null && "
					    "tests/harness/pcrlock-fold.sh %u %s %s/pl/*",
					    dir, dir, bin_path("pcrpredict"), efi, efi, kernel, dir,
					    pcr, banks[b], dir),
					 0);
			assert_string_equal(ours, want);
			free(ours);
			free(want);
		}
}

/*
 * Keylime's measured-boot reference state of the same chain, checked against
 * the recorded boot by a checker of Keylime's rules over tpm2_eventlog's
 * reading of the log (tests/harness/keylime-refstate-check.py): accepted;
 * refused with one db key or the SecureBoot state wrong.
 */
static void test_keylime_refstate(void **state)
{
	char *out = NULL, cmd[20000];

	(void)state;
	if (!efi[0] || !kernel[0]) {
		print_message(
			"skipped: Debian's signed shim, GRUB or kernel could not be downloaded\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd),
		 "%s secureboot --vars /usr/share/OVMF/OVMF_VARS_4M%%s.fd --shim "
		 "%s/usr/lib/shim/shimx64.efi.signed --grub "
		 "%s/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed --kernel %s "
		 "--initrd %s --cmdline '/vmlinuz console=ttyS0' "
		 "--platform-log tests/data/ovmf-secureboot.log --keylime %s/%%s >/dev/null",
		 bin_path("pcrpredict"), efi, efi, kernel, kernel, dir);
	/* the initrd and command line are not the recorded boot's: the rest is checked */
	{
		char run[20100];

		snprintf(run, sizeof(run), cmd, ".ms", "kl.json");
		assert_int_equal(sh(NULL, "%s", run), 0);
		snprintf(run, sizeof(run), cmd, "", "kl-nokeys.json");
		assert_int_equal(sh(NULL, "%s", run), 0);
	}
	if (sh(&out,
	       "/usr/bin/python3 tests/harness/keylime-refstate-check.py %s/kl.json "
	       "tests/data/ovmf-secureboot.log --no-initrd-cmdline",
	       dir) != 0) {
		if (strstr(out, "kernels:")) { /* a newer shim or GRUB than the recorded boot's */
			print_message(
				"skipped: the downloaded shim/GRUB are not the recorded boot's\n");
			free(out);
			skip();
		}
		fail_msg("%s", out);
	}
	assert_non_null(strstr(out, "refstate accepts the log"));
	free(out);
	/* one byte of the first db key changed: that db key is no longer allowed */
	assert_int_equal(
		sh(&out,
		   "jq '.db[0].SignatureData |= (.[0:10] + (if .[10:11] == \"0\" then "
		   "\"1\" else \"0\" end) + .[11:])' %s/kl.json > %s/kl-db.json && "
		   "/usr/bin/python3 tests/harness/keylime-refstate-check.py %s/kl-db.json "
		   "tests/data/ovmf-secureboot.log --no-initrd-cmdline",
		   dir, dir, dir),
		1);
	assert_non_null(strstr(out, "db: a key the refstate does not allow"));
	free(out);
	/* from the varstore without keys: Secure Boot off, refused for a Secure Boot boot */
	assert_int_equal(sh(&out,
			    "/usr/bin/python3 tests/harness/keylime-refstate-check.py "
			    "%s/kl-nokeys.json tests/data/ovmf-secureboot.log --no-initrd-cmdline",
			    dir),
			 1);
	assert_non_null(strstr(out, "SecureBoot is True, the refstate says False"));
	free(out);
	/* without the platform's log PCR 0 cannot be stated: refused, naming what is missing */
	assert_int_equal(sh(&out,
			    "%s secureboot --vars /usr/share/OVMF/OVMF_VARS_4M.ms.fd --shim "
			    "%s/usr/lib/shim/shimx64.efi.signed --grub "
			    "%s/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed --kernel %s "
			    "--keylime %s/none.json 2>&1",
			    bin_path("pcrpredict"), efi, efi, kernel, dir),
			 2);
	assert_non_null(strstr(out, "--platform-log"));
	assert_int_not_equal(sh(NULL, "test -e %s/none.json", dir), 0);
	free(out);
}

/* A chain the firmware would refuse is refused, not predicted. */
static void test_refusals(void **state)
{
	char *out = NULL;

	(void)state;
	if (!efi[0])
		skip();
	/* shim with its signature stripped: no db entry verifies it */
	assert_int_equal(sh(NULL,
			    "pesign -r -u 0 -i %s/usr/lib/shim/shimx64.efi.signed -o %s/bare.efi",
			    efi, dir),
			 0);
	assert_int_equal(sh(&out,
			    "%s secureboot --vars /usr/share/OVMF/OVMF_VARS_4M.ms.fd --shim "
			    "%s/bare.efi 2>&1",
			    bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "bare.efi"));
	assert_true(strstr(out, "no db entry verifies it") || strstr(out, "not signed"));
	free(out);
	/* under Secure Boot GRUB given as shim is refused by db; without, it has no vendor cert */
	assert_int_equal(sh(&out,
			    "%s secureboot --vars /usr/share/OVMF/OVMF_VARS_4M.ms.fd --shim "
			    "%s/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed 2>&1",
			    bin_path("pcrpredict"), efi),
			 2);
	assert_non_null(strstr(out, "no db entry verifies it"));
	free(out);
	assert_int_equal(sh(&out,
			    "%s secureboot --vars /usr/share/OVMF/OVMF_VARS_4M.fd --shim "
			    "%s/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed 2>&1",
			    bin_path("pcrpredict"), efi),
			 2);
	assert_non_null(strstr(out, "no .vendor_cert section"));
	free(out);
	/* not a varstore */
	assert_int_equal(sh(&out,
			    "head -c 4096 /dev/zero > %s/vars.fd && %s secureboot --vars "
			    "%s/vars.fd 2>&1",
			    dir, bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "not an EDK2 NV variable firmware volume"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_keys_pcr7_equals_the_boot),
		cmocka_unit_test(test_secure_boot_chain_equals_the_boot),
		cmocka_unit_test(test_keylime_refstate),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
