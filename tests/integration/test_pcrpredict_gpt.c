// SPDX-License-Identifier: MIT
/*
 * pcrpredict gpt on disks sfdisk partitioned: the EV_EFI_GPT_EVENT digest
 * equals one computed from the disk's bytes with dd and sha256sum alone
 * (header, used-entry count, used entries); a damaged GPT is refused.  The
 * real firmware's digest is checked in make e2e (e2e-uefi.sh, a GPT boot).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-gpt.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* three partitions, the middle one deleted: an unused entry between used ones */
	return sh(NULL,
		  "cd %s && truncate -s 16M disk.img && "
		  "printf 'label: gpt\\nstart=2048, size=4096, type=U\\nstart=8192, size=4096, "
		  "type=L\\nstart=16384, size=4096, type=L\\n' | sfdisk -q disk.img >/dev/null && "
		  "sfdisk -q --delete disk.img 2 >/dev/null",
		  dir);
}

static int teardown(void **state)
{
	(void)state;
	return sh(NULL, "rm -rf %s", dir);
}

static void test_event_digest_from_the_bytes(void **state)
{
	char *ours = NULL, *theirs = NULL;

	(void)state;
	assert_int_equal(sh(&ours, "%s gpt --json %s/disk.img | jq -r .gpt_event.sha256",
			    bin_path("pcrpredict"), dir),
			 0);
	/* 92 header bytes at LBA 1, u64 count of used entries, the used 128-byte entries of LBA 2.. */
	assert_int_equal(
		sh(&theirs,
		   "cd %s && dd if=disk.img bs=1 skip=512 count=92 status=none > data && "
		   "n=0; for i in $(seq 0 127); do "
		   "  dd if=disk.img bs=128 skip=$((8 + i)) count=1 status=none > e; "
		   "  if [ \"$(od -An -tx1 -N16 e | tr -d ' 0\\n')\" ]; then cat e >> used; n=$((n "
		   "+ 1)); fi; "
		   "done && printf \"$(printf '\\\\%%03o' $n)\\0\\0\\0\\0\\0\\0\\0\" >> data && "
		   "cat used >> data && sha256sum data | cut -c1-64",
		   dir),
		0);
	assert_string_equal(ours, theirs);
	free(ours);
	free(theirs);
}

/* Inverts the byte at OFF of FILE (whatever it was: the disk's GUIDs are random). */
#define FLIP(file, off)                                                                            \
	"b=$(od -An -tu1 -j" off " -N1 " file " | tr -d ' '); "                                    \
	"printf \"$(printf '\\\\%%03o' $((255 - b)))\" | dd of=" file " bs=1 seek=" off            \
	" conv=notrunc status=none && test \"$(od -An -tu1 -j" off " -N1 " file " | tr -d ' ')\" " \
	"= $((255 - b))"

static void test_damaged_gpt_refused(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(sh(NULL, "cd %s && cp disk.img bad.img && " FLIP("bad.img", "600"), dir),
			 0);
	assert_int_equal(sh(&out, "%s gpt %s/bad.img 2>&1", bin_path("pcrpredict"), dir), 2);
	assert_non_null(strstr(out, "GPT header CRC does not match"));
	free(out);
	assert_int_equal(
		sh(NULL, "cd %s && cp disk.img bad2.img && " FLIP("bad2.img", "1100"), dir), 0);
	assert_int_equal(sh(&out, "%s gpt %s/bad2.img 2>&1", bin_path("pcrpredict"), dir), 2);
	assert_non_null(strstr(out, "partition entry array CRC does not match"));
	free(out);
	assert_int_equal(sh(&out, "truncate -s 1M %s/blank.img && %s gpt %s/blank.img 2>&1", dir,
			    bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "no GPT"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_digest_from_the_bytes),
		cmocka_unit_test(test_damaged_gpt_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
