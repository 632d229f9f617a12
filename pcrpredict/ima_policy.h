/* SPDX-License-Identifier: MIT */
/*
 * A static reading of an IMA policy: which files of a root filesystem tree
 * would the kernel measure?  Rules are evaluated in order, first match wins,
 * for each way a file can be reached (executed, mmapped executable, read by
 * root, loaded as a module or firmware, or as a policy).
 */
#ifndef PCRPREDICT_IMA_POLICY_H
#define PCRPREDICT_IMA_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum ima_func {
	IMA_FUNC_BPRM = 1 << 0,	    /* BPRM_CHECK: executed */
	IMA_FUNC_MMAP = 1 << 1,	    /* MMAP_CHECK / FILE_MMAP: mapped executable */
	IMA_FUNC_FILE = 1 << 2,	    /* FILE_CHECK: opened */
	IMA_FUNC_MODULE = 1 << 3,   /* MODULE_CHECK */
	IMA_FUNC_FIRMWARE = 1 << 4, /* FIRMWARE_CHECK */
	IMA_FUNC_POLICY = 1 << 5,   /* POLICY_CHECK */
};

#define IMA_RULES_MAX 256

struct ima_rule {
	bool measure;  /* measure / dont_measure */
	unsigned func; /* 0: any */
	unsigned mask; /* MAY_EXEC 1, MAY_WRITE 2, MAY_READ 4, MAY_APPEND 8; 0: any */
	bool has_fsmagic;
	uint32_t fsmagic;
	bool has_fowner;
	uid_t fowner;
	bool has_uid; /* uid=N: the accessing user; we take root */
	uid_t uid;
	unsigned line;
};

struct ima_policy {
	unsigned n;
	struct ima_rule rule[IMA_RULES_MAX];
};

/* The built-in default: policies/ima-tcb.policy, as ima_policy=tcb. */
extern const char ima_tcb_policy[];

/* Parses policy text; errors name the line. Actions other than (dont_)measure are skipped. */
int ima_policy_parse(const char *text, const char *what, struct ima_policy *ret);

/* Would a file with @mode, @owner and @relpath on a filesystem of @fsmagic be measured? */
bool ima_policy_measures(const struct ima_policy *pol, const char *relpath, mode_t mode,
			 uid_t owner, uint32_t fsmagic);

#endif
