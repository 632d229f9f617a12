// SPDX-License-Identifier: MIT
/*
 * pcrpredict diff: our grub.cfg template predicts the PCR 8 of the
 * project's own OVMF boot (tests/data); one byte changed in the kernel
 * command line is named as the event that differs, with the predicted and
 * the logged command; a PCR predicted from other files names the file;
 * a firmware event (PCR 0-3, 6 from OVMF's files) that differs is named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

static char dir[64];

/* The boot's grub.cfg from boot/grub.cfg.in, with @cmdline; its prediction in DIR/NAME.json. */
static void predict(const char *name, const char *cmdline)
{
	assert_int_equal(
		sh(NULL,
		   "cd %s && mkdir -p root memdisk/boot/grub && touch root/vmlinuz root/initrd.img "
		   "&& "
		   "sed -e 's|@CMDLINE@|%s|g' -e 's|@DEFAULT@|0|g' $OLDPWD/boot/grub.cfg.in > "
		   "%s.cfg && "
		   "cp %s.cfg memdisk/boot/grub/grub.cfg && "
		   "%s grub --json --config %s.cfg --root root --memdisk memdisk > %s.json",
		   dir, cmdline, name, name, bin_path("pcrpredict"), name, name),
		0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-diff.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return sh(NULL, "rm -rf %s", dir);
}

#define BOOT_CMDLINE                                                         \
	"console=ttyS0 panic=-1 ima_template=ima-ng measured.root=/dev/vda " \
	"measured.report=/dev/vdb"

static void test_template_predicts_the_boot(void **state)
{
	char *out = NULL;

	(void)state;
	predict("same", BOOT_CMDLINE);
	assert_int_equal(sh(&out, "%s diff %s/same.json tests/data/ovmf-grub.log",
			    bin_path("pcrpredict"), dir),
			 1);
	assert_non_null(strstr(out, "sha256 PCR 8: as predicted"));
	/* PCR 9 is predicted from empty stand-ins here: the first file read is named */
	assert_non_null(strstr(out, "sha256 PCR 9 differs: PCR 9 event 1 EV_IPL: predicted "
				    "'(hd0)/vmlinuz' (e3b0c44298fc1c14..)"));
	free(out);
}

static void test_one_byte_changed_is_named(void **state)
{
	char *out = NULL;

	(void)state;
	predict("changed", "console=ttyS0 panic=-2 ima_template=ima-ng measured.root=/dev/vda "
			   "measured.report=/dev/vdb");
	assert_int_equal(sh(&out, "%s diff %s/changed.json tests/data/ovmf-grub.log",
			    bin_path("pcrpredict"), dir),
			 1);
	assert_non_null(
		strstr(out, "sha256 PCR 8 differs: PCR 8 event 4 EV_IPL: predicted "
			    "'grub_cmd: menuentry measured {\\n\\tlinuxefi /vmlinuz console=ttyS0 "
			    "panic=-2"));
	assert_non_null(strstr(out, "the log has 'grub_cmd: menuentry measured {\\n\\tlinuxefi "
				    "/vmlinuz console=ttyS0 panic=-1"));
	free(out);
	/* bad input: not JSON, not a log */
	assert_int_equal(sh(&out, "%s diff tests/data/ovmf-grub.log tests/data/ovmf-grub.log 2>&1",
			    bin_path("pcrpredict")),
			 2);
	assert_non_null(strstr(out, "is not JSON"));
	free(out);
}

/*
 * Debian's signed GRUB: its embedded config (policies/grub-debian-signed.preamble,
 * learnt from a boot) and then ours give the recorded Secure Boot boot's PCR 8.
 */
static void test_signed_grub_preamble_predicts_the_boot(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(sh(&out,
			    "cd %s && mkdir -p sb && touch sb/vmlinuz sb/initrd.img && "
			    "sed 's|@CMDLINE@|" BOOT_CMDLINE
			    "|g' $OLDPWD/boot/grub-secureboot.cfg.in > sb.cfg && "
			    "%s grub --json --config sb.cfg --root sb --config-name "
			    "'(hd0)/EFI/debian/grub.cfg' "
			    "--preamble $OLDPWD/policies/grub-debian-signed.preamble > sb.json && "
			    "cd $OLDPWD && "
			    "%s diff %s/sb.json tests/data/ovmf-secureboot.log",
			    dir, bin_path("pcrpredict"), bin_path("pcrpredict"), dir),
			 1); /* PCR 9 differs: empty stand-ins for the kernel and initramfs */
	assert_non_null(strstr(out, "sha256 PCR 8: as predicted"));
	free(out);
}

/*
 * A reference document whose PCR 0-3, 6 come from OVMF's files: the recorded
 * boot is as predicted; a profile whose BootOrder lists another option first
 * is named as PCR 1's first differing event, with where the prediction took it.
 */
static void test_firmware_event_is_named(void **state)
{
	char *out = NULL;

	(void)state;
	if (access("/usr/share/OVMF/OVMF_CODE_4M.fd", R_OK) ||
	    access("/usr/lib/ipxe/qemu/efi-e1000e.rom", R_OK)) {
		print_message("skipped: needs Debian's ovmf and ipxe-qemu\n");
		skip();
	}
	assert_int_equal(
		sh(&out,
		   "cd %s && sed 's/\"data\":\"010000000200\"/\"data\":\"020001000000\"/' "
		   "$OLDPWD/tests/data/ovmf-q35.profile.json > order.json && "
		   "for p in $OLDPWD/tests/data/ovmf-q35.profile.json order.json; do "
		   "printf 'banks = sha256\\nfirmware.code = "
		   "/usr/share/OVMF/OVMF_CODE_4M.fd\\nfirmware.profile = %%s\\n' $p > "
		   "fw.manifest && %s build --manifest fw.manifest --out $(basename $p .json).ref "
		   "|| exit 9; done; cd $OLDPWD && "
		   "%s diff %s/ovmf-q35.profile.ref tests/data/ovmf-grub.log; "
		   "%s diff %s/order.ref tests/data/ovmf-grub.log",
		   dir, bin_path("pcrpredict"), bin_path("pcrpredict"), dir, bin_path("pcrpredict"),
		   dir),
		1);
	for (int pcr = 0; pcr <= 6; pcr++) {
		char line[64];

		if (pcr == 4 || pcr == 5)
			continue;
		snprintf(line, sizeof(line), "sha256 PCR %d: as predicted", pcr);
		assert_non_null(strstr(out, line));
	}
	assert_non_null(strstr(out, "sha256 PCR 1 differs: PCR 1 event 1 EV_EFI_VARIABLE_BOOT: "
				    "predicted 'from the platform profile: BootOrder"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_predicts_the_boot),
		cmocka_unit_test(test_one_byte_changed_is_named),
		cmocka_unit_test(test_signed_grub_preamble_predicts_the_boot),
		cmocka_unit_test(test_firmware_event_is_named),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
