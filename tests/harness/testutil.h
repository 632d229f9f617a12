/* SPDX-License-Identifier: MIT */
/* Helpers shared by the unit and integration tests. */
#ifndef MEASURED_TESTUTIL_H
#define MEASURED_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "pcr.h"

/* The shared test data folder: $MEASURED_TESTDATA, else ../shared/testdata. */
const char *testdata_dir(void);
/* Joins testdata_dir() and @rel into a static buffer. */
const char *testdata_path(const char *rel);

/*
 * Reads the "pcrs:" block that tpm2_eventlog prints (and that the shared
 * test data carries) from @text: every listed PCR is marked extended.
 */
int yaml_pcrs_parse(const char *text, struct pcr_banks *ret);

/* Runs @cmd with /bin/sh, returns its exit status and its stdout (malloc'd). */
int run_capture(const char *cmd, char **ret_out);
/* run_capture() of a printf-formatted command line; @ret_out may be NULL. */
int sh(char **ret_out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Absolute path of one of our programs: $MEASURED_BIN/NAME (default build/NAME). */
const char *bin_path(const char *name);

/* Lists the files in @dir whose names end in @suffix (sorted, malloc'd, NULL-terminated). */
char **list_files(const char *dir, const char *suffix);
void free_list(char **list);

#endif
