// SPDX-License-Identifier: MIT
/* IMA binary measurement lists: templates, published vector, tampering, truncation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "err.h"
#include "eventlog_ima.h"
#include "hex.h"
#include "imabuild.h"

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
	copy[24] = 200; /* template name length of the first entry */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_boot_aggregate_vector),
		cmocka_unit_test(test_templates_decode),
		cmocka_unit_test(test_replay_sha1_bank),
		cmocka_unit_test(test_incremental_replay_equals_full),
		cmocka_unit_test(test_tampered_entry_detected),
		cmocka_unit_test(test_truncated_and_corrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
