/* SPDX-License-Identifier: MIT */
/* attest: the verifier's command line. One file per subcommand. */
#ifndef ATTEST_H
#define ATTEST_H

#include <stdbool.h>

/* Exit codes, documented in attestd/README.md. */
enum attest_exit {
	ATTEST_EXIT_OK = 0,
	ATTEST_EXIT_FAIL = 1,  /* the input or the check failed */
	ATTEST_EXIT_USAGE = 2, /* bad command line */
};

struct attest_opts {
	const char *tcti;
	bool json;
	const char *state; /* --state DIR: enrolled keys, last accepted evidence */
	const char *ek_ca; /* --ek-ca FILE: CA certificates the EK certificate must chain to */
	const char *tls_ca, *tls_cert, *tls_key; /* TLS to attestd over TCP */
};

struct attest_cmd {
	const char *name;
	const char *usage;
	int (*run)(int argc, char **argv, const struct attest_opts *opts);
};

int attest_log_run(int argc, char **argv, const struct attest_opts *opts);
int attest_quote_run(int argc, char **argv, const struct attest_opts *opts);
int attest_enroll_run(int argc, char **argv, const struct attest_opts *opts);
int attest_export_run(int argc, char **argv, const struct attest_opts *opts);
int attest_verify_run(int argc, char **argv, const struct attest_opts *opts);
int attest_check_run(int argc, char **argv, const struct attest_opts *opts);

#endif
