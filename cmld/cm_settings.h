/* SPDX-License-Identifier: MIT */
/*
 * cmld's own settings: defaults, /etc/measured/cmld.conf ("key = value",
 * the long options' names; flags take yes/no) and the command line, in that
 * order, through one setter; -n checks them and prints what cmld would do.
 */
#ifndef CM_SETTINGS_H
#define CM_SETTINGS_H

#include <stdbool.h>
#include <stdio.h>

#include "cmld.h"

#define CM_SETTINGS_DEFAULT "/etc/measured/cmld.conf"
/* policies/seal-boot.profile: firmware and its configuration, GRUB, the rootfs */
#define CM_SEAL_DEFAULT_PCRS "sha256:0,1,2,3,4,5,6,7,8,9,13"
/* on the measured rootfs, not the data partition: see docs/sealing.md */
#define CM_TRUST_ANCHORS_DEFAULT "/etc/measured/cml/trusted-ca"
/* the control process's user: no files, no capabilities, nothing of root's */
#define CM_CONTROL_USER_DEFAULT "nobody"

struct cm_settings {
	const char *config_path; /* the file read, or NULL */
	const char *seal_profile;
	bool verbose;
};

void cm_settings_defaults(struct cmld *d, struct cm_settings *s);
/* Applies one setting by its long option's name; @value NULL for a flag on the command line. */
int cm_settings_set(struct cmld *d, struct cm_settings *s, const char *key, const char *value);
/* Reads @path into @d; the parsed file lives until cm_settings_free(). */
int cm_settings_load(struct cmld *d, struct cm_settings *s, const char *path);
/* What follows from the settings once all are read: the seal PCRs, the signed-policies folder. */
int cm_settings_finish(struct cmld *d, struct cm_settings *s);
/* -n: checks what can be checked without serving, prints the settings; 0 if they are good. */
int cm_settings_test(const struct cmld *d, const struct cm_settings *s, FILE *out);
void cm_settings_free(void);

#endif
