/* SPDX-License-Identifier: MIT */
/* pcrpredict: PCR values and policy digests from build artifacts. One file per subcommand. */
#ifndef PCRPREDICT_H
#define PCRPREDICT_H

#include <stdbool.h>

#include "digest.h"
#include "pcr.h"

/* Exit codes, documented in pcrpredict/README.md. */
enum pp_exit {
	PP_EXIT_OK = 0,
	PP_EXIT_FAIL = 1,  /* an internal failure (out of memory, a thread) */
	PP_EXIT_INPUT = 2, /* bad command line or bad input: the message says which and why */
};

struct pp_opts {
	bool json;
	unsigned n_banks;
	const struct hash_alg *banks[PCR_BANKS_MAX]; /* --banks, default sha256 */
	bool banks_given;
};

struct pp_cmd {
	const char *name;
	const char *usage;
	int (*run)(int argc, char **argv, const struct pp_opts *opts);
};

int pp_rootfs_run(int argc, char **argv, const struct pp_opts *opts);
int pp_secureboot_run(int argc, char **argv, const struct pp_opts *opts);
int pp_diff_run(int argc, char **argv, const struct pp_opts *opts);
int pp_gpt_run(int argc, char **argv, const struct pp_opts *opts);
int pp_pe_run(int argc, char **argv, const struct pp_opts *opts);
int pp_policy_run(int argc, char **argv, const struct pp_opts *opts);
int pp_tboot_run(int argc, char **argv, const struct pp_opts *opts);
int pp_txt_profile_run(int argc, char **argv, const struct pp_opts *opts);
int pp_ima_run(int argc, char **argv, const struct pp_opts *opts);
int pp_grub_run(int argc, char **argv, const struct pp_opts *opts);
int pp_build_run(int argc, char **argv, const struct pp_opts *opts);
int pp_cml_run(int argc, char **argv, const struct pp_opts *opts);
int pp_firmware_run(int argc, char **argv, const struct pp_opts *opts);
int pp_pcrlock_run(int argc, char **argv, const struct pp_opts *opts);
int pp_sign_run(int argc, char **argv, const struct pp_opts *opts);

/* Prints "pcrpredict CMD: <err_msg()>" and returns PP_EXIT_INPUT. */
int pp_fail(const char *cmd);
/* A progress line on stderr when it is a terminal: "label: 42%". */
void pp_progress(uint64_t done, uint64_t total, void *label);

#endif
