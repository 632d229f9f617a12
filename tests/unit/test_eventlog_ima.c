// SPDX-License-Identifier: MIT
/* IMA binary measurement lists: templates, published vector, tampering, truncation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "err.h"
#include "eventlog_ima.h"
#include "hex.h"
#include "imabuild.h"
#include "pcr_values.h"
#include "testutil.h"
#include "fileio.h"

/* measurements.md section 4: the boot_aggregate entry with a published template hash. */
static void test_published_boot_aggregate_vector(void **state)
{
	uint8_t digest[32], td[256], hash[20];
	size_t len, n;
	struct imabuf b = {0};
	struct ima_list list;
	char hex[41];

	(void)state;
	assert_int_equal(
		hex_decode("94c0ac6d0ff747d8f1ca7fac89101a141f3e8f6a2c710717b477a026422766d6",
			   digest, sizeof(digest), &len),
		0);
	n = imabuild_ng_template_data(td, "sha256", digest, 32, "boot_aggregate");
	assert_int_equal(n, 63);
	imabuild_ng(&b, "ima-ng", "sha256", digest, 32, "boot_aggregate", NULL, 0, 0);
	assert_int_equal(ima_list_parse(b.data, b.len, "vector", &list), 0);
	assert_int_equal(list.n_events, 1);
	assert_int_equal(list.event[0].template_data_len, 63);
	assert_int_equal(ima_event_template_hash(&list.event[0], hash_alg_by_name("sha1"), hash),
			 0);
	hex_encode(hash, 20, hex);
	assert_string_equal(hex, "367a111b682553da5340f977001689db8366056a");
	ima_list_free(&list);
	free(b.data);
}

static void build_sample(struct imabuf *b)
{
	uint8_t d[32], s1[20];

	memset(d, 0xab, sizeof(d));
	memset(s1, 0xcd, sizeof(s1));
	imabuild_ng(b, "ima-ng", "sha256", d, 32, "boot_aggregate", NULL, 0, 0);
	imabuild_ng(b, "ima-ng", "sha256", d, 32, "/usr/bin/busybox", NULL, 0, 0);
	imabuild_ng(b, "ima-sig", "sha256", d, 32, "/sbin/init", (const uint8_t *)"\x03\x02sig", 5,
		    1);
	imabuild_ng(b, "ima-sig", "sha256", d, 32, "/etc/unsigned", NULL, 0, 1);
	imabuild_ng(b, "ima-buf", "sha256", d, 32, "kexec-cmdline", (const uint8_t *)"ro quiet", 8,
		    1);
	imabuild_violation(b, "/tmp/tomtou");
	imabuild_ima(b, s1, "/lib/old-template");
	imabuild_ng(b, "ima-ng", "sha512", d, 32, "/usr/lib/odd\nname", NULL, 0, 0);
}

static void test_templates_decode(void **state)
{
	struct imabuf b = {0};
	struct ima_list list;

	(void)state;
	build_sample(&b);
	assert_int_equal(ima_list_parse(b.data, b.len, "sample", &list), 0);
	assert_int_equal(list.n_events, 8);
	assert_string_equal(list.event[1].template_name, "ima-ng");
	assert_string_equal(list.event[1].digest_alg, "sha256");
	assert_int_equal(list.event[1].file_digest_len, 32);
	assert_int_equal(list.event[1].path_len, strlen("/usr/bin/busybox"));
	assert_memory_equal(list.event[1].path, "/usr/bin/busybox", list.event[1].path_len);
	assert_int_equal(list.event[2].sig.len, 5);
	assert_int_equal(list.event[3].sig.len, 0);
	assert_int_equal(list.event[4].buf.len, 8);
	assert_memory_equal(list.event[4].buf.data, "ro quiet", 8);
	assert_true(list.event[5].violation);
	assert_string_equal(list.event[6].template_name, "ima");
	assert_string_equal(list.event[6].digest_alg, "sha1");
	assert_memory_equal(list.event[6].path, "/lib/old-template", list.event[6].path_len);
	ima_list_free(&list);
	free(b.data);
}

/* The SHA-1 bank must follow the logged template hashes; violations extend all-ones. */
static void test_replay_sha1_bank(void **state)
{
	struct imabuf b = {0};
	struct ima_list list;
	struct pcr_banks banks;
	uint8_t pcr[20] = {0}, cat[40];

	(void)state;
	build_sample(&b);
	assert_int_equal(ima_list_parse(b.data, b.len, "sample", &list), 0);
	pcr_banks_init(&banks);
	pcr_banks_add(&banks, hash_alg_by_name("sha1"));
	pcr_banks_add(&banks, hash_alg_by_name("sha256"));
	assert_int_equal(ima_list_replay(&list, 0, &banks, NULL), 0);
	for (size_t i = 0; i < list.n_events; i++) {
		memcpy(cat, pcr, 20);
		if (list.event[i].violation)
			memset(cat + 20, 0xff, 20);
		else
			memcpy(cat + 20, list.event[i].template_hash, 20);
		SHA1(cat, 40, pcr);
	}
	assert_memory_equal(banks.bank[0].value[10], pcr, 20);
	assert_int_equal(banks.bank[1].extended, 1u << 10);
	ima_list_free(&list);
	free(b.data);
}

static void test_incremental_replay_equals_full(void **state)
{
	struct imabuf b = {0};
	struct ima_list list;
	struct pcr_banks full, inc;

	(void)state;
	build_sample(&b);
	assert_int_equal(ima_list_parse(b.data, b.len, "sample", &list), 0);
	pcr_banks_init(&full);
	pcr_banks_add(&full, hash_alg_by_name("sha256"));
	inc = full;
	assert_int_equal(ima_list_replay(&list, 0, &full, NULL), 0);
	list.n_events = 3;
	assert_int_equal(ima_list_replay(&list, 0, &inc, NULL), 0);
	list.n_events = 8;
	assert_int_equal(ima_list_replay(&list, 3, &inc, NULL), 0);
	assert_memory_equal(full.bank[0].value[10], inc.bank[0].value[10], 32);
	ima_list_free(&list);
	free(b.data);
}

static void test_tampered_entry_detected(void **state)
{
	struct imabuf b = {0};
	struct ima_list list;
	struct pcr_banks banks;

	(void)state;
	build_sample(&b);
	assert_int_equal(ima_list_parse(b.data, b.len, "sample", &list), 0);
	/* change one byte of the second entry's file digest */
	((uint8_t *)list.event[1].file_digest)[0] ^= 1;
	pcr_banks_init(&banks);
	pcr_banks_add(&banks, hash_alg_by_name("sha256"));
	assert_int_equal(ima_list_replay(&list, 0, &banks, NULL), -EBADMSG);
	assert_non_null(strstr(err_msg(), "template hash does not match"));
	ima_list_free(&list);
	free(b.data);
}

static void test_truncated_and_corrupt(void **state)
{
	struct imabuf b = {0};
	struct ima_list full, list;
	uint8_t *copy;

	(void)state;
	build_sample(&b);
	assert_int_equal(ima_list_parse(b.data, b.len, "sample", &full), 0);
	for (size_t cut = 0; cut < b.len; cut++) {
		size_t e;
		int at_boundary = 0;

		for (e = 0; e < full.n_events; e++)
			at_boundary |= full.event[e].offset == cut;
		if (ima_list_parse(b.data, cut, "cut", &list) == 0) {
			assert_true(at_boundary || cut == 0);
			ima_list_free(&list);
		} else {
			assert_non_null(strstr(err_msg(), "offset"));
		}
	}
	copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	copy[24] = 0; /* template name length of the first entry */
	assert_int_equal(ima_list_parse(copy, b.len, "bad", &list), -EBADMSG);
	assert_non_null(strstr(err_msg(), "template name length"));
	memcpy(copy, b.data, b.len);
	copy[0] = 30; /* PCR index */
	assert_int_equal(ima_list_parse(copy, b.len, "bad", &list), -EBADMSG);
	assert_non_null(strstr(err_msg(), "PCR index"));
	srand(99);
	for (int round = 0; round < 2000; round++) {
		struct pcr_banks banks;

		memcpy(copy, b.data, b.len);
		for (int k = 0; k < 1 + round % 5; k++)
			copy[(size_t)rand() % b.len] = (uint8_t)rand();
		if (ima_list_parse(copy, b.len, "fuzz", &list) < 0)
			continue;
		pcr_banks_init(&banks);
		pcr_banks_add(&banks, hash_alg_by_name("sha256"));
		(void)ima_list_replay(&list, 0, &banks, NULL);
		ima_list_free(&list);
	}
	free(copy);
	ima_list_free(&full);
	free(b.data);
}

/* evm-sig (9 fields) and custom ima_template_fmt lists, up to the kernel's 15 fields. */
static void test_evm_sig_and_custom_templates(void **state)
{
	static const char *const evm_names[] = {
		"",	"",	"evmsig", "xattrnames", "xattrlengths", "xattrvalues",
		"iuid", "igid", "imode"};
	uint8_t dng[40] = "sha256:", td[16][8];
	const uint8_t *f[16];
	size_t len[16];
	struct imabuf b = {0};
	struct ima_list list;

	(void)state;
	memset(dng + 8, 0x5a, 32);
	f[0] = dng, len[0] = 40;
	f[1] = (const uint8_t *)"/usr/bin/evm-signed", len[1] = 20;
	for (unsigned i = 2; i < 16; i++) {
		snprintf((char *)td[i], sizeof(td[i]), "%.6s", evm_names[i < 9 ? i : 2]);
		f[i] = td[i], len[i] = 6;
	}
	imabuild_fields(&b, "evm-sig", f, len, 9);
	imabuild_fields(&b, "d-ng|n-ng|sig|iuid|igid|imode", f, len, 6);
	imabuild_fields(&b, "n-ng|d-ng", (const uint8_t *const[]){f[1], f[0]},
			(const size_t[]){len[1], len[0]}, 2);
	imabuild_fields(&b, "d-ng|n-ng|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig|sig", f, len,
			15);
	assert_int_equal(ima_list_parse(b.data, b.len, "templates", &list), 0);
	assert_int_equal(list.n_events, 4);
	for (size_t i = 0; i < list.n_events; i++) {
		assert_int_equal(list.event[i].path_len, 19);
		assert_memory_equal(list.event[i].path, "/usr/bin/evm-signed", 19);
		assert_string_equal(list.event[i].digest_alg, "sha256");
		assert_int_equal(list.event[i].file_digest_len, 32);
	}
	assert_int_equal(list.event[0].n_fields, 9);
	assert_int_equal(list.event[3].n_fields, 15);
	ima_list_free(&list);
	free(b.data);
	/* one field past the kernel's limit; evm-sig short of its nine */
	b = (struct imabuf){0};
	imabuild_fields(&b, "d-ng|n-ng", f, len, 16);
	assert_int_equal(ima_list_parse(b.data, b.len, "16", &list), -EBADMSG);
	assert_non_null(strstr(err_msg(), "more than 15 template fields"));
	free(b.data);
	b = (struct imabuf){0};
	imabuild_fields(&b, "evm-sig", f, len, 8);
	assert_int_equal(ima_list_parse(b.data, b.len, "8", &list), -EBADMSG);
	assert_non_null(strstr(err_msg(), "template evm-sig with 8 fields, expected 9"));
	free(b.data);
}

/*
 * binary_runtime_measurements_sha256: the same entries with sha256 template
 * hashes.  It replays to the same PCR 10 as the SHA-1 list; each list given
 * as the other is refused naming the form it has.
 */
static void test_per_bank_list(void **state)
{
	const struct hash_alg *sha1 = hash_alg_by_name("sha1"),
			      *sha256 = hash_alg_by_name("sha256");
	struct imabuf b = {0}, b256 = {0};
	struct ima_list list, list256;
	struct pcr_banks r1, r256;

	(void)state;
	build_sample(&b);
	imabuild_rehash(&b, "sha256", &b256);
	assert_int_equal(ima_list_parse(b.data, b.len, "sha1 list", &list), 0);
	assert_int_equal(ima_list_parse_as(b256.data, b256.len, "sha256 list", sha256, &list256),
			 0);
	assert_int_equal(list256.n_events, list.n_events);
	for (int k = 0; k < 2; k++) {
		struct pcr_banks *r = k ? &r256 : &r1;

		pcr_banks_init(r);
		pcr_banks_add(r, sha1);
		pcr_banks_add(r, sha256);
		assert_int_equal(ima_list_replay(k ? &list256 : &list, 0, r, NULL), 0);
	}
	assert_memory_equal(r1.bank[0].value[10], r256.bank[0].value[10], 20);
	assert_memory_equal(r1.bank[1].value[10], r256.bank[1].value[10], 32);
	ima_list_free(&list);
	/* an entry edited in the per-bank list: its sha256 template hash is checked */
	b256.data[b256.len - 3] ^= 1;
	assert_int_equal(ima_list_parse_as(b256.data, b256.len, "edited", sha256, &list), 0);
	assert_int_not_equal(ima_list_replay(&list, 0, &r256, NULL), 0);
	assert_non_null(strstr(err_msg(), "template hash does not match"));
	ima_list_free(&list);
	b256.data[b256.len - 3] ^= 1;
	assert_int_equal(ima_list_parse(b256.data, b256.len, "given as sha1", &list), -EBADMSG);
	assert_non_null(strstr(err_msg(), "binary_runtime_measurements_sha256, a sha256 list"));
	assert_int_equal(ima_list_parse_as(b.data, b.len, "given as sha256", sha256, &list),
			 -EBADMSG);
	assert_non_null(strstr(err_msg(), "(binary_runtime_measurements, a sha1 list)"));
	ima_list_free(&list256);
	free(b.data);
	free(b256.data);
}

static void replay_to_file_values(const uint8_t *buf, size_t len, const struct hash_alg *list_alg,
				  const char *pcr10_path)
{
	uint8_t *text;
	size_t tlen;
	struct pcr_banks want, got;
	struct ima_list list;

	assert_int_equal(file_read_all(pcr10_path, 1 << 20, &text, &tlen), 0);
	assert_int_equal(pcr_values_from_json((char *)text, pcr10_path, &want), 0);
	free(text);
	if (ima_list_parse_as(buf, len, pcr10_path, list_alg, &list) < 0)
		fail_msg("%s", err_msg());
	pcr_banks_init(&got);
	for (unsigned b = 0; b < want.count; b++)
		pcr_banks_add(&got, want.bank[b].alg);
	assert_int_equal(ima_list_replay(&list, 0, &got, NULL), 0);
	for (unsigned b = 0; b < want.count; b++)
		if (memcmp(got.bank[b].value[10], want.bank[b].value[10], want.bank[b].alg->size))
			fail_msg("%s: %s PCR 10 differs", pcr10_path, want.bank[b].alg->name);
	ima_list_free(&list);
}

/* Real kernels' lists (MEASURED_TESTDATA): each replays to its PCR 10, also as a sha256 list. */
static void test_real_lists_replay_to_pcr10(void **state)
{
	static const char *const names[] = {"ibmtss-vtpm-ima-sig", "ibmtss-template-zoo"};

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	for (size_t i = 0; i < 2; i++) {
		char bin[4200], pcr10[4300], dir[4096];
		struct imabuf b = {0}, b256 = {0};

		snprintf(dir, sizeof(dir), "%s", testdata_path("external/ima"));
		snprintf(bin, sizeof(bin), "%.4000s/%s.bin", dir, names[i]);
		snprintf(pcr10, sizeof(pcr10), "%.4000s/%s.pcr10", dir, names[i]);
		assert_int_equal(file_read_all(bin, 1 << 24, &b.data, &b.len), 0);
		replay_to_file_values(b.data, b.len, hash_alg_by_name("sha1"), pcr10);
		/* the vTPM's PCR 10 in sha1 and sha256 from the same entries with sha256 hashes */
		imabuild_rehash(&b, "sha256", &b256);
		replay_to_file_values(b256.data, b256.len, hash_alg_by_name("sha256"), pcr10);
		free(b.data);
		free(b256.data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_boot_aggregate_vector),
		cmocka_unit_test(test_templates_decode),
		cmocka_unit_test(test_replay_sha1_bank),
		cmocka_unit_test(test_incremental_replay_equals_full),
		cmocka_unit_test(test_tampered_entry_detected),
		cmocka_unit_test(test_truncated_and_corrupt),
		cmocka_unit_test(test_evm_sig_and_custom_templates),
		cmocka_unit_test(test_per_bank_list),
		cmocka_unit_test(test_real_lists_replay_to_pcr10),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
