/* SPDX-License-Identifier: MIT */
/* attest: the verifier's command line. One file per subcommand. */
#ifndef ATTEST_H
#define ATTEST_H

#include <stdbool.h>

#include <openssl/evp.h>

#include "attest_client.h"
#include "enrol.h"
#include "verify.h"

/* Exit codes, documented in attestd/README.md. */
enum attest_exit {
	ATTEST_EXIT_OK = 0,
	ATTEST_EXIT_FAIL = 1,	 /* the input or the check failed */
	ATTEST_EXIT_USAGE = 2,	 /* bad command line */
	ATTEST_EXIT_WARNING = 3, /* verify: nothing contraindicated, but not affirming */
};

#define ATTEST_DEFAULT_PCRS  "sha256:0,1,2,3,4,5,6,7,8,9,10,11,13"
#define ATTEST_DEFAULT_EK_CA "/etc/measured/ek-ca"

struct attest_opts {
	const char *tcti;
	bool json;
	const char *state; /* --state DIR: enrolled keys, last accepted evidence */
	const char *ek_ca; /* --ek-ca FILE|DIR: CA certificates the EK certificate must chain to */
	const char *tls_ca, *tls_cert, *tls_key; /* TLS to attestd over TCP */
};

/* What attest verify checks evidence against. */
struct verify_args {
	const char *ak_path, *ref_path, *policy_path;
	struct pcr_selection pcrs; /* --pcrs: must be quoted, whatever was asked */
	bool has_pcrs;
	bool strict;	   /* IMA violations contraindicate */
	bool nonce_ours;   /* the nonce was checked against the verifier's own, not the file's */
	EVP_PKEY *ear_key; /* --ear-key: print the EAR as a JWT signed with it (ES256) */
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
int attest_ear_run(int argc, char **argv, const struct attest_opts *opts);
int attest_serve_run(int argc, char **argv, const struct attest_opts *opts);
int attest_fleet_run(int argc, char **argv, const struct attest_opts *opts);

/* A PEM private key (--ear-key). */
int ear_key_load(const char *path, EVP_PKEY **ret);

/* Verifies @ev, prints the result; returns the exit code (affirming 0, warning 3, else 1). */
int attest_verify_evidence(const struct evidence *ev, const struct verify_args *args,
			   const struct attest_opts *opts);

/*
 * A quote of @sel from @where with every log (only the IMA entries past the
 * verified state @st unless @full; from the start again when the TPM
 * was reset since).  An error reply fails, naming the device's reason.
 */
int attest_quote_fetch(const char *where, const struct pcr_selection *sel,
		       const struct device_state *st, bool full, int timeout_ms,
		       struct evidence *ret);

/* Writes an enrolment into the state folder @dir (attest_state.c). */
int enrolment_save(const char *dir, const char *ek_ca, const struct enrolment *e);

#endif
