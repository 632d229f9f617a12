// SPDX-License-Identifier: MIT
/*
 * pcrpredict ima: the reference list has exactly the files the policy names
 * (checked with find), each with the digest sha256sum computes, from a tree
 * and from an ext4 image of it; boot_aggregate equals evmctl's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "testutil.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-ima.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* a small root: executables, libraries, data, a module, symlinks, and pseudo-fs dirs */
	return sh(
		NULL,
		"cd %s && mkdir -p root/usr/bin root/usr/lib/x86_64 root/etc/ssl root/proc/1 "
		"root/sys/kernel root/dev root/run root/tmp root/lib/modules/6.1/kernel && "
		"for i in $(seq 1 120); do echo \"bin $i\" > root/usr/bin/tool$i; "
		"chmod 755 root/usr/bin/tool$i; done && "
		"for i in $(seq 1 60); do head -c $((i * 997)) /dev/urandom > "
		"root/usr/lib/x86_64/lib$i.so.1; done && "
		"for i in $(seq 1 40); do echo \"conf $i\" > root/etc/ssl/c$i.conf; done && "
		"echo ko > root/lib/modules/6.1/kernel/e1000.ko && echo x > root/proc/1/status && "
		"echo y > root/tmp/scratch && echo z > root/run/pid && ln -s usr/bin root/bin && "
		"ln -s tool1 root/usr/bin/alias && "
		"mke2fs -q -t ext4 -E root_owner=0:0 -d root root.img 16M",
		dir);
}

static int teardown(void **state)
{
	(void)state;
	return sh(NULL, "rm -rf %s", dir);
}

/* Compares our JSON "files" with "sha256sum" over the files that @find_expr selects. */
static void compare_with_sha256sum(const char *ours_json, const char *find_expr)
{
	char *theirs = NULL, *line, *save = NULL;
	struct json_object *doc = json_tokener_parse(ours_json), *files;
	int n = 0;

	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "files", &files));
	assert_int_equal(
		sh(&theirs,
		   "cd %s/root && find . \\( -path ./proc -o -path ./sys -o -path ./dev -o "
		   "-path ./run -o -path ./tmp \\) -prune -o -type f %s -print0 | "
		   "xargs -0 sha256sum",
		   dir, find_expr),
		0);
	for (line = strtok_r(theirs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char hex[65], path[1024], key[1100];
		struct json_object *v;

		assert_int_equal(sscanf(line, "%64s  ./%1023s", hex, path), 2);
		snprintf(key, sizeof(key), "/%s", path);
		if (!json_object_object_get_ex(files, key, &v))
			fail_msg("%s missing from the reference", key);
		assert_string_equal(json_object_get_string(v), hex);
		n++;
	}
	if (json_object_object_length(files) != n)
		fail_msg("reference lists %d files, find selects %d",
			 json_object_object_length(files), n);
	free(theirs);
	json_object_put(doc);
}

static void test_tcb_tree_equals_sha256sum(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(sh(&out, "%s ima --json --rootfs %s/root", bin_path("pcrpredict"), dir),
			 0);
	compare_with_sha256sum(out, "");
	free(out);
}

static void test_image_equals_tree(void **state)
{
	char *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(sh(&a, "%s ima --json --rootfs %s/root", bin_path("pcrpredict"), dir), 0);
	assert_int_equal(sh(&b, "%s ima --json --rootfs %s/root.img", bin_path("pcrpredict"), dir),
			 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_exec_only_policy(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(sh(NULL,
			    "printf 'dont_measure fsmagic=0x9fa0\\nmeasure func=BPRM_CHECK "
			    "mask=MAY_EXEC\\n' > %s/exec.policy",
			    dir),
			 0);
	assert_int_equal(sh(&out, "%s ima --json --policy %s/exec.policy --rootfs %s/root",
			    bin_path("pcrpredict"), dir, dir),
			 0);
	compare_with_sha256sum(out, "-perm /111");
	free(out);
}

static void test_keylime_output(void **state)
{
	char *out = NULL;
	struct json_object *doc, *digests, *v, *ima;

	(void)state;
	assert_int_equal(
		sh(&out, "%s ima --output keylime --rootfs %s/root", bin_path("pcrpredict"), dir),
		0);
	doc = json_tokener_parse(out);
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "digests", &digests));
	assert_true(json_object_object_get_ex(digests, "/usr/bin/tool7", &v));
	assert_true(json_object_is_type(v, json_type_array));
	assert_int_equal(json_object_array_length(v), 1);
	assert_true(json_object_object_get_ex(doc, "ima", &ima));
	assert_true(json_object_object_get_ex(doc, "excludes", &v));
	json_object_put(doc);
	free(out);
}

/* Keylime's verifier validates a runtime policy against RUNTIME_POLICY_SCHEMA first. */
static void test_keylime_output_validates_against_keylimes_schema(void **state)
{
	char *out = NULL;

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	assert_int_equal(sh(NULL, "%s ima --output keylime --rootfs %s/root > %s/keylime.json",
			    bin_path("pcrpredict"), dir, dir),
			 0);
	if (sh(&out, "/usr/bin/python3 tests/harness/json-schema-check.py %s %s/keylime.json",
	       testdata_path("external/keylime-runtime-policy.schema.json"), dir) != 0)
		fail_msg("Keylime's schema refuses the policy: %s", out);
	free(out);
	/* and the check can fail: meta.generator as text, as we once wrote it */
	assert_int_not_equal(
		sh(NULL,
		   "sed 's/\"generator\":0/\"generator\":\"pcrpredict\"/' %s/keylime.json > "
		   "%s/bad.json && /usr/bin/python3 tests/harness/json-schema-check.py %s "
		   "%s/bad.json >/dev/null",
		   dir, dir, testdata_path("external/keylime-runtime-policy.schema.json"), dir),
		0);
}

static void test_boot_aggregate_equals_evmctl(void **state)
{
	static const char *const banks[] = {"sha256", "sha1"};

	(void)state;
	for (int k = 0; k < 4; k++) {
		int b = k % 2, last = k < 2 ? 9 : 7; /* last: PCR 8, 9 never extended -> zeros */
		size_t len = b ? 20 : 32;
		char *theirs = NULL, *ours = NULL, *agg;

		/* PCR i holds i+1; a JSON document for us, evmctl's PCR-NN file for evmctl */
		assert_int_equal(
			sh(NULL,
			   "cd %s && { for i in $(seq 0 23); do v=$((i+1)); "
			   "[ $i -gt %d ] && [ $i -lt 10 ] && v=0; printf 'PCR-%%02d: %%0%zux\\n' "
			   "$i $v; done; } > %s.pcrs && { printf '{\"pcrs\":{\"%s\":{'; "
			   "for i in $(seq 0 %d); do printf '\"%%d\":\"%%0%zux\"' $i $((i+1)); "
			   "[ $i -lt %d ] && printf ,; done; printf '}}}'; } > %s.json",
			   dir, last, 2 * len, banks[b], banks[b], last, 2 * len, last, banks[b]),
			0);
		assert_int_equal(sh(&theirs, "cd %s && evmctl ima_boot_aggregate --pcrs %s,%s.pcrs",
				    dir, banks[b], banks[b]),
				 0);
		assert_int_equal(sh(&ours,
				    "cd %s && %s ima --boot-aggregate --banks %s --values %s.json",
				    dir, bin_path("pcrpredict"), banks[b], banks[b]),
				 0);
		agg = strtok(theirs, "\n");
		assert_non_null(strstr(ours, agg));
		free(theirs);
		free(ours);
	}
}

static void test_bad_input(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(sh(&out, "%s ima --rootfs /nonexistent 2>&1", bin_path("pcrpredict")), 2);
	assert_non_null(strstr(out, "/nonexistent"));
	free(out);
	assert_int_equal(
		sh(NULL, "echo 'measure func=BPRM_CHECK mask=MAY_FLY' > %s/bad.policy", dir), 0);
	assert_int_equal(sh(&out, "%s ima --policy %s/bad.policy --rootfs %s/root 2>&1",
			    bin_path("pcrpredict"), dir, dir),
			 2);
	assert_non_null(strstr(out, "bad.policy:1"));
	free(out);
	assert_int_equal(
		sh(&out, "%s ima --rootfs %s/exec.policy 2>&1", bin_path("pcrpredict"), dir), 2);
	assert_non_null(strstr(out, "neither a directory nor an ext2/3/4 image"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcb_tree_equals_sha256sum),
		cmocka_unit_test(test_image_equals_tree),
		cmocka_unit_test(test_exec_only_policy),
		cmocka_unit_test(test_keylime_output),
		cmocka_unit_test(test_keylime_output_validates_against_keylimes_schema),
		cmocka_unit_test(test_boot_aggregate_equals_evmctl),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
