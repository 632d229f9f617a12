// SPDX-License-Identifier: MIT
/*
 * pcrpredict pe against pesign -h on Debian's signed boot chain: shim,
 * GRUB (shim-signed, grub-efi-amd64-signed, downloaded, not installed) and
 * the kernel's EFI stub; the same digest with the signature stripped (the
 * Authenticode hash leaves the certificate table out); broken images
 * refused naming what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authenticode.h"
#include "fileio.h"
#include "hex.h"
#include "testutil.h"

static char root[4096], kernel[4096], dir[64];

static int setup(void **state)
{
	char *out = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-pe.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* the packages come from Debian's registry; without it the tests say so */
	if (sh(&out, "tests/harness/fetch-efi.sh build/cache") == 0)
		snprintf(root, sizeof(root), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	out = NULL;
	if (sh(&out, "boot/fetch-kernel.sh build/cache") == 0) {
		char *k = NULL;

		out[strcspn(out, "\n")] = '\0';
		if (sh(&k, "ls %s/boot/vmlinuz-* | head -1", out) == 0)
			snprintf(kernel, sizeof(kernel), "%.*s", (int)strcspn(k, "\n"), k);
		free(k);
	}
	free(out);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return sh(NULL, "rm -rf %s", dir);
}

/* Ours (sha256 and sha1) equals pesign -h's for @path. */
static void same_as_pesign(const char *path)
{
	char *ours = NULL, *theirs = NULL;

	assert_int_equal(sh(&ours,
			    "%s pe --banks sha256,sha1 --json '%s' | jq -r '.[] | "
			    ".sha256, .sha1'",
			    bin_path("pcrpredict"), path),
			 0);
	assert_int_equal(sh(&theirs,
			    "pesign -h -i '%s' | sed 's/^hash: //'; "
			    "pesign -h -d sha1 -i '%s' | sed 's/^hash: //'",
			    path, path),
			 0);
	if (strlen(theirs) != 64 + 1 + 40 + 1 || strcmp(ours, theirs) != 0)
		fail_msg("%s: ours\n%s, pesign's\n%s", path, ours, theirs);
	free(ours);
	free(theirs);
}

static void test_debian_signed_chain_equals_pesign(void **state)
{
	static const char *const apps[] = {"usr/lib/shim/shimx64.efi.signed",
					   "usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",
					   "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
					   "usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed"};

	(void)state;
	if (!root[0] || !kernel[0]) {
		print_message("skipped: Debian's shim-signed, grub-efi-amd64-signed or kernel "
			      "could not be downloaded\n");
		skip();
	}
	for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
		char path[4300];

		snprintf(path, sizeof(path), "%s/%s", root, apps[i]);
		same_as_pesign(path);
	}
	same_as_pesign(kernel);
}

/* The signature is outside the hash: the image with it stripped has the same digest. */
static void test_stripped_signature_same_digest(void **state)
{
	char *signed_d = NULL, *bare_d = NULL;

	(void)state;
	if (!root[0])
		skip();
	assert_int_equal(sh(NULL,
			    "pesign -r -u 0 -i %s/usr/lib/shim/shimx64.efi.signed -o %s/bare.efi",
			    root, dir),
			 0);
	assert_int_not_equal(
		sh(NULL, "cmp -s %s/usr/lib/shim/shimx64.efi.signed %s/bare.efi", root, dir), 0);
	assert_int_equal(sh(&signed_d, "%s pe %s/usr/lib/shim/shimx64.efi.signed | cut -c1-71",
			    bin_path("pcrpredict"), root),
			 0);
	assert_int_equal(sh(&bare_d, "%s pe %s/bare.efi | cut -c1-71", bin_path("pcrpredict"), dir),
			 0);
	assert_string_equal(signed_d, bare_d);
	same_as_pesign(strcat(dir, "/bare.efi"));
	dir[strlen(dir) - strlen("/bare.efi")] = '\0';
	free(signed_d);
	free(bare_d);
}

/* Broken images: refused naming what is wrong, nothing printed. */
static void test_broken_images_refused(void **state)
{
	static const struct {
		const char *edit, *says;
	} cases[] = {
		{"printf 'XX' | dd of=$F bs=1 seek=0 conv=notrunc", "no MZ header"},
		{"truncate -s 700000 $F", "runs past the end"},
		{"truncate -s 200 $F", "truncated"},
	};
	char *out = NULL;

	(void)state;
	if (!root[0])
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sh(NULL,
				    "cp %s/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed "
				    "%s/broken.efi && cd %s && F=broken.efi && %s",
				    root, dir, dir, cases[i].edit),
				 0);
		/* "F" stands for the file in the edit */
		assert_int_equal(
			sh(&out, "cd %s && %s pe broken.efi 2>&1", dir, bin_path("pcrpredict")), 2);
		if (!strstr(out, cases[i].says) || !strstr(out, "broken.efi"))
			fail_msg("case %zu: %s", i, out);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_signed_chain_equals_pesign),
		cmocka_unit_test(test_stripped_signature_same_digest),
		cmocka_unit_test(test_broken_images_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
