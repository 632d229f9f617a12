// SPDX-License-Identifier: MIT
/*
 * pcrpredict firmware against two recorded OVMF boots (tests/data): the
 * plain build (OVMF_CODE_4M.fd, q35) and the Secure Boot build
 * (OVMF_CODE_4M.secboot.fd, q35 with SMM).  Every PCR 0-3 and 6 predicted
 * from Debian's firmware files and the profile equals the PCR the guest read
 * from its TPM, in sha256 and sha1; a profile made from each log alone gives
 * them back too; the events taken from the profile are only the ones no file
 * holds; a broken firmware image or profile is refused naming file and offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "digest.h"
#include "hex.h"
#include "pcr.h"
#include "testutil.h"

#define CODE	"/usr/share/OVMF/OVMF_CODE_4M.fd"
#define CODE_SB "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"

static char dir[64];

static const struct boot {
	const char *name, *code, *profile;
} boots[] = {
	{"ovmf-grub", CODE, "tests/data/ovmf-q35.profile.json"},
	{"ovmf-secureboot", CODE_SB, "tests/data/ovmf-q35-smm.profile.json"},
};

static const unsigned fw_pcrs[] = {0, 1, 2, 3, 6};

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-fw.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return sh(NULL, "rm -rf %s", dir);
}

#define SKIP_WITHOUT_OVMF()                                                            \
	do {                                                                           \
		if (access(CODE, R_OK) || access(CODE_SB, R_OK) ||                     \
		    access("/usr/lib/ipxe/qemu/efi-e1000e.rom", R_OK)) {               \
			print_message("skipped: needs Debian's ovmf and ipxe-qemu\n"); \
			skip();                                                        \
		}                                                                      \
	} while (0)

/* Each PCR 0-3, 6 of `pcrpredict firmware ARGS` in @bank equals the guest's. */
static void same_as_guest(const struct boot *b, const char *bank, const char *args)
{
	const struct hash_alg *alg = hash_alg_by_name(bank);
	struct pcr_bank guest;
	char path[128];

	snprintf(path, sizeof(path), "tests/data/%s.pcrs-%s", b->name, bank);
	assert_int_equal(guest_pcrs_load(path, alg, &guest), 0);
	for (size_t i = 0; i < sizeof(fw_pcrs) / sizeof(fw_pcrs[0]); i++) {
		char *out = NULL, hex[2 * DIGEST_MAX + 1];

		hex_encode(guest.value[fw_pcrs[i]], alg->size, hex);
		assert_int_equal(sh(&out,
				    "%s --banks %s --json firmware --code %s %s | jq -r "
				    ".pcrs.%s.\\\"%u\\\"",
				    bin_path("pcrpredict"), bank, b->code, args, bank, fw_pcrs[i]),
				 0);
		out[strcspn(out, "\n")] = '\0';
		if (strcmp(out, hex) != 0)
			fail_msg("%s: PCR %u %s: predicted %s, the guest read %s", b->name,
				 fw_pcrs[i], bank, out, hex);
		free(out);
	}
}

static void test_profile_gives_the_guests_pcrs(void **state)
{
	char args[256];

	(void)state;
	SKIP_WITHOUT_OVMF();
	for (size_t i = 0; i < 2; i++) {
		snprintf(args, sizeof(args), "--platform %s", boots[i].profile);
		same_as_guest(&boots[i], "sha256", args);
		same_as_guest(&boots[i], "sha1", args);
	}
}

/* From the log alone (no RAM dump): PEIFV's digest is then the profile's. */
static void test_profile_made_from_the_log(void **state)
{
	char args[256], *out = NULL;

	(void)state;
	SKIP_WITHOUT_OVMF();
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(sh(NULL,
				    "%s firmware --make-profile tests/data/%s.log --code %s --out "
				    "%s/%s.json",
				    bin_path("pcrpredict"), boots[i].name, boots[i].code, dir,
				    boots[i].name),
				 0);
		snprintf(args, sizeof(args), "--platform %s/%s.json", dir, boots[i].name);
		same_as_guest(&boots[i], "sha256", args);
		same_as_guest(&boots[i], "sha1", args);
	}
	/* what it keeps: PEIFV, BootOrder, the disk's Boot0001; OVMF's apps as references */
	assert_int_equal(sh(&out,
			    "jq -r '.events[] | [.pcr, (.replaces // .variable), (if .fv_app then "
			    "\"fv_app\" elif .digests then \"digests\" else \"data\" end)] | "
			    "join(\" \")' %s/ovmf-grub.json",
			    dir),
			 0);
	assert_string_equal(out, "0 PEIFV digests\n1 BootOrder data\n1 Boot0001 data\n"
				 "1 Boot0000 fv_app\n1 Boot0002 fv_app\n");
	free(out);
}

/* Events from the files equal the log's, byte for byte in both banks: DXEFV, the ROM driver. */
static void test_file_events_equal_the_logs(void **state)
{
	char *ours = NULL, *theirs = NULL;

	(void)state;
	SKIP_WITHOUT_OVMF();
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(
			sh(&ours,
			   "%s --banks sha256,sha1 --json firmware --code %s --platform %s | jq -r "
			   "'.events[] | select(.pcr == 0 or .pcr == 2) | select(.type != "
			   "\"EV_SEPARATOR\") | .digests.sha256 + \" \" + .digests.sha1'",
			   bin_path("pcrpredict"), boots[i].code, boots[i].profile),
			0);
		assert_int_equal(sh(&theirs,
				    "tpm2_eventlog tests/data/%s.log | awk '/PCRIndex: [02]$/{p=1} "
				    "/PCRIndex: [13-9]/{p=0} p && /EventType:/{t=$2} p && "
				    "t!=\"EV_SEPARATOR\" && /AlgorithmId: sha1/{getline; s1=$2} p "
				    "&& t!=\"EV_SEPARATOR\" && /AlgorithmId: sha256/{getline; "
				    "print $2 \" \" s1}' | tr -d '\"'",
				    boots[i].name),
				 0);
		/* the log lists PCR 0's then PCR 2's events, as we do */
		assert_string_equal(ours, theirs);
		free(ours);
		free(theirs);
	}
}

static void test_bad_firmware_refused(void **state)
{
	char *out = NULL;

	(void)state;
	SKIP_WITHOUT_OVMF();
	/* cut inside the LZMA data */
	assert_int_equal(sh(&out,
			    "head -c 65536 %s > %s/cut.fd && %s firmware --code %s/cut.fd 2>&1",
			    CODE, dir, bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "cut.fd: offset 0x"));
	free(out);
	/* one byte of the compressed volumes changed */
	assert_int_equal(sh(&out,
			    "cp %s %s/bad.fd && printf '\\377\\377\\377\\377' | dd of=%s/bad.fd "
			    "bs=1 seek=4096 conv=notrunc status=none && %s firmware --code "
			    "%s/bad.fd 2>&1",
			    CODE, dir, dir, bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "bad.fd"));
	assert_non_null(strstr(out, "LZMA"));
	free(out);
	/* an FV length past the end of the file */
	assert_int_equal(sh(&out,
			    "cp %s %s/len.fd && printf '\\377\\377\\377' | dd of=%s/len.fd bs=1 "
			    "seek=34 conv=notrunc status=none && %s firmware --code %s/len.fd 2>&1",
			    CODE, dir, dir, bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "len.fd: offset 0x0: firmware volume length"));
	free(out);
	/* not a firmware image */
	assert_int_equal(sh(&out, "%s firmware --code tests/data/ovmf-grub.log 2>&1",
			    bin_path("pcrpredict")),
			 2);
	assert_non_null(strstr(out, "ovmf-grub.log: offset 0x0: not an OVMF image"));
	free(out);
	/* a profile that is not one, and one for another build */
	assert_int_equal(sh(&out,
			    "echo '{\"format\":\"x\"}' > %s/p.json && %s firmware --code %s "
			    "--platform %s/p.json 2>&1",
			    dir, bin_path("pcrpredict"), CODE, dir),
			 2);
	assert_non_null(strstr(out, "p.json: \"format\" is not"));
	free(out);
	assert_int_equal(
		sh(&out,
		   "sed 's/222c386d-5abc/222c386d-5abd/' tests/data/ovmf-q35.profile.json "
		   "> %s/other.json && %s firmware --code %s --platform %s/other.json 2>&1",
		   dir, bin_path("pcrpredict"), CODE, dir),
		2);
	assert_non_null(strstr(out, "has no file 222c386d-5abd"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_gives_the_guests_pcrs),
		cmocka_unit_test(test_profile_made_from_the_log),
		cmocka_unit_test(test_file_events_equal_the_logs),
		cmocka_unit_test(test_bad_firmware_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
