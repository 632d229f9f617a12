// SPDX-License-Identifier: MIT
/*
 * measured-init's kernel command line: the PCR it may be pointed at, and the
 * defaults (verity, PCR 13, halt) that a command line without options gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../initramfs/mi.h"
#include "err.h"

static void test_defaults(void **state)
{
	struct mi_config c;

	(void)state;
	assert_int_equal(mi_cmdline_parse("console=ttyS0 measured.root=/dev/vda quiet", &c), 0);
	assert_string_equal(c.root, "/dev/vda");
	assert_int_equal(c.pcr, 13);
	assert_int_equal(c.mode, ROOTFS_VERITY);
	assert_false(c.onfail_continue);
	assert_string_equal(c.init, "/sbin/init");
	assert_int_equal(c.vp.salt_len, 0);
}

static void test_allowed_pcrs(void **state)
{
	static const unsigned ok[] = {8, 9, 12, 13, 14, 15};
	struct mi_config c;
	char line[128];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), "measured.root=/dev/vda measured.pcr=%u", ok[i]);
		assert_int_equal(mi_cmdline_parse(line, &c), 0);
		assert_int_equal(c.pcr, ok[i]);
	}
}

/* Resettable (16, 23), other owners' (10 IMA, 11 cmld, 0-7 firmware, 17-22 TXT), none. */
static void test_refused_pcrs(void **state)
{
	static const struct {
		const char *pcr, *why;
	} bad[] = {
		{"16", "can be reset"},
		{"23", "can be reset"},
		{"10", "IMA"},
		{"11", "cmld"},
		{"0", "firmware"},
		{"7", "firmware"},
		{"17", "TXT"},
		{"22", "TXT"},
		{"24", "does not exist"},
		{"4294967309", "does not exist"},
		{"-3", "not a number"},
		{"13x", "not a number"},
		{"", "not a number"},
	};
	struct mi_config c = {.pcr = 99};
	char line[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "measured.root=/dev/vda measured.pcr=%s", bad[i].pcr);
		assert_int_equal(mi_cmdline_parse(line, &c), -22);
		if (!strstr(err_msg(), bad[i].why) || !strstr(err_msg(), "measured.pcr="))
			fail_msg("measured.pcr=%s: \"%s\" does not say \"%s\"", bad[i].pcr,
				 err_msg(), bad[i].why);
		assert_int_equal(c.pcr, 99); /* nothing returned */
	}
}

static void test_options(void **state)
{
	struct mi_config c;

	(void)state;
	assert_int_equal(mi_cmdline_parse("measured.root=/dev/vdb measured.mode=flat "
					  "measured.onfail=continue measured.salt=00c0ffee",
					  &c),
			 0);
	assert_int_equal(c.mode, ROOTFS_FLAT);
	assert_true(c.onfail_continue);
	assert_int_equal(c.vp.salt_len, 4);
	assert_int_equal(mi_cmdline_parse("measured.root=/dev/vda measured.mode=squash", &c), -22);
	assert_int_equal(mi_cmdline_parse("measured.root=/dev/vda measured.onfail=maybe", &c), -22);
	assert_int_equal(mi_cmdline_parse("measured.pcr=13", &c), -22);
	assert_non_null(strstr(err_msg(), "measured.root= is missing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_allowed_pcrs),
		cmocka_unit_test(test_refused_pcrs),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
