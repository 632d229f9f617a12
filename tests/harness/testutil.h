/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit and integration tests. */
#ifndef MEASURED_TESTUTIL_H
#define MEASURED_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pcr.h"

/*
 * Real data the project cannot ship (firmware logs of real machines, the
 * trust|me seeds): the folder $MEASURED_TESTDATA names, NULL when it is not
 * set or not there.
 */
const char *testdata_dir(void);
/* Joins testdata_dir() and @rel into a static buffer; NULL without test data. */
const char *testdata_path(const char *rel);
/* In a cmocka test: without test data, says why and marks the test skipped. */
#define SKIP_WITHOUT_TESTDATA()                                                                \
	do {                                                                                   \
		if (!testdata_dir()) {                                                         \
			print_message(                                                         \
				"skipped: %s needs MEASURED_TESTDATA (real logs and seeds)\n", \
				__func__);                                                     \
			skip();                                                                \
		}                                                                              \
	} while (0)

/*
 * Reads the "pcrs:" block that tpm2_eventlog prints (and that the shared
 * test data carries) from @text: every listed PCR is marked extended.
 */
int yaml_pcrs_parse(const char *text, struct pcr_banks *ret);

/*
 * PCR values as the e2e guest reports them ("N HEX" per line, e.g.
 * tests/data/ovmf-grub.pcrs-sha256): every listed PCR is marked extended.
 */
int guest_pcrs_load(const char *path, const struct hash_alg *alg, struct pcr_bank *ret);

/*
 * From attest verify's EAR JSON in @out: the status of the attester, of one
 * of our checks (ear.measured.checks.COMPONENT), one trustworthiness claim,
 * and a top-level claim as text.  "" / -1000 when absent or not JSON.
 */
const char *ear_status(const char *out);
const char *ear_check_status(const char *out, const char *component);
int ear_tv_claim(const char *out, const char *category);
const char *ear_top(const char *out, const char *claim);

/* Runs @cmd with /bin/sh, returns its exit status and its stdout (malloc'd). */
int run_capture(const char *cmd, char **ret_out);
/* run_capture() of a printf-formatted command line; @ret_out may be NULL. */
int sh(char **ret_out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Absolute path of one of our programs: $MEASURED_BIN/NAME (default build/NAME). */
const char *bin_path(const char *name);

/* Lists the files in @dir whose names end in @suffix (sorted, malloc'd, NULL-terminated). */
char **list_files(const char *dir, const char *suffix);
void free_list(char **list);
/* The CPU time (user + system) process @pid has used, in ms; -1 when it cannot be read. */
long proc_cpu_ms(pid_t pid);

#endif
