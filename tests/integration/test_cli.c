// SPDX-License-Identifier: MIT
/*
 * Help where people look: every program and subcommand answers --help (exit
 * 0, its usage on stdout) and --version; the man pages build and render; the
 * bash completion offers the subcommands and their options.
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

static void test_help_on_every_subcommand(void **state)
{
	static const char *const cmds[] = {
		"attest log",	    "attest enroll",	 "attest quote",
		"attest export",    "attest verify",	 "attest check",
		"attest ear",	    "pcrpredict rootfs", "pcrpredict grub",
		"pcrpredict tboot", "pcrpredict ima",	 "pcrpredict policy",
		"pcrpredict sign",  "pcrpredict cml",	 "pcrpredict build",
		"pcrpredict pe",    "pcrpredict gpt",	 "pcrpredict secureboot",
		"pcrpredict diff",  "attestd",		 "cmld",
		"control",
	};
	char *out = NULL, prog[64], *sub;

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(prog, sizeof(prog), "%s", cmds[i]);
		sub = strchr(prog, ' ');
		if (sub)
			*sub++ = '\0';
		if (sh(&out, "%s %s --help", bin_path(prog), sub ? sub : "") != 0)
			fail_msg("%s --help: not 0:\n%s", cmds[i], out);
		if (!strstr(out, "usage") || (sub && !strstr(out, sub)))
			fail_msg("%s --help says:\n%s", cmds[i], out);
		free(out);
		if (!sub) {
			assert_int_equal(sh(&out, "%s --version", bin_path(prog)), 0);
			assert_non_null(strstr(out, "(measured) "));
			free(out);
		}
	}
	assert_int_equal(sh(&out, "%s --version", bin_path("attest")), 0);
	assert_non_null(strstr(out, "attest (measured) "));
	free(out);
	assert_int_equal(sh(&out, "%s --version", bin_path("pcrpredict")), 0);
	assert_non_null(strstr(out, "pcrpredict (measured) "));
	free(out);
}

/* The man pages scdoc built render with groff's man macros, naming their program. */
static void test_man_pages(void **state)
{
	static const char *const pages[] = {"attest.1", "attestd.8", "pcrpredict.1",
					    "cmld.8",	"control.1", "measured-init.8"};
	char *out = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "%s", pages[i]);
		*strrchr(name, '.') = '\0';
		assert_int_equal(
			sh(&out, "test -s %s/man/%s && grep -c '^\\.SH' %s/man/%s",
			   getenv("MEASURED_BIN") ? getenv("MEASURED_BIN") : "build", pages[i],
			   getenv("MEASURED_BIN") ? getenv("MEASURED_BIN") : "build", pages[i]),
			0);
		assert_true(atoi(out) >= 3); /* NAME, SYNOPSIS, DESCRIPTION at least */
		free(out);
	}
}

static void test_bash_completion(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(sh(&out, "bash -c '. completion/measured.bash; COMP_WORDS=(attest ve); "
				  "COMP_CWORD=1; _attest; echo \"${COMPREPLY[*]}\"'"),
			 0);
	assert_string_equal(out, "verify\n");
	free(out);
	assert_int_equal(sh(&out, "bash -c '. completion/measured.bash; COMP_WORDS=(attest verify "
				  "--ear); COMP_CWORD=2; _attest; echo \"${COMPREPLY[*]}\"'"),
			 0);
	assert_string_equal(out, "--ear-key\n");
	free(out);
	assert_int_equal(sh(&out, "bash -c '. completion/measured.bash; COMP_WORDS=(pcrpredict ima "
				  "--boot); COMP_CWORD=2; _pcrpredict; echo \"${COMPREPLY[*]}\"'"),
			 0);
	assert_string_equal(out, "--boot-aggregate\n");
	free(out);
}

/*
 * cmld -n: the settings from a config file ("key = value", the long
 * options' names) checked and shown, the command line over the file, and a
 * bad line named by file and line number; nothing is started.
 */
static void test_cmld_config_test_mode(void **state)
{
	char dir[] = "/tmp/measured-cli.XXXXXX", *out = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sh(NULL,
			    "printf 'data-dir = %s/data\\ncontainer-pids-max = 77\\n"
			    "allow-reboot = yes\\ntrust-anchors = /dev/null\\n' > %s/cmld.conf",
			    dir, dir),
			 0);
	assert_int_equal(sh(&out, "%s -n --config %s/cmld.conf", bin_path("cmld"), dir), 0);
	assert_non_null(strstr(out, "pids.max 77"));
	{
		/* documented: every CPU but one, half of the only one */
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		char want[32];

		snprintf(want, sizeof(want), "CPU %ld%%\n", cpus > 1 ? (cpus - 1) * 100 : 50);
		assert_non_null(strstr(out, want));
	}
	assert_non_null(strstr(out, "reboot allowed"));
	assert_non_null(strstr(out, "(made at the first start)"));
	assert_non_null(strstr(out, "configuration OK"));
	free(out);
	assert_int_not_equal(sh(NULL, "test -e %s/data", dir), 0); /* nothing made */
	assert_int_equal(sh(&out,
			    "%s -n --config %s/cmld.conf --container-pids-max 88 "
			    "--container-cpu-max 250",
			    bin_path("cmld"), dir),
			 0);
	assert_non_null(strstr(out, "pids.max 88"));
	assert_non_null(strstr(out, "CPU 250%\n"));
	free(out);
	assert_int_equal(sh(NULL, "printf 'stop-timeout-ms = soon\\n' > %s/cmld.conf", dir), 0);
	assert_int_equal(sh(&out, "%s -n --config %s/cmld.conf 2>&1", bin_path("cmld"), dir), 1);
	assert_non_null(strstr(out, "cmld.conf:1"));
	assert_non_null(strstr(out, "stop-timeout-ms"));
	free(out);
	assert_int_equal(sh(NULL, "printf 'sockets = /x\\n' > %s/cmld.conf", dir), 0);
	assert_int_equal(sh(&out, "%s -n --config %s/cmld.conf 2>&1", bin_path("cmld"), dir), 1);
	assert_non_null(strstr(out, "unknown setting \"sockets\""));
	free(out);
	assert_int_equal(sh(NULL, "rm -rf %s", dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_on_every_subcommand),
		cmocka_unit_test(test_man_pages),
		cmocka_unit_test(test_bash_completion),
		cmocka_unit_test(test_cmld_config_test_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
