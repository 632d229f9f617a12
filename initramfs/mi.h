/* SPDX-License-Identifier: MIT */
/* measured-init: the initramfs /init that measures the root filesystem. */
#ifndef MI_H
#define MI_H

#include <stdbool.h>

#include "rootfs.h"

#define MI_MODULE_LIST "/etc/measured/modules"
#define MI_IMA_POLICY  "/etc/measured/ima-policy"
#define MI_NEWROOT     "/newroot"
/* the dm-verity mapping of the root: /dev/mapper/measured-root */
#define MI_VERITY_NAME "measured-root"

/*
 * What a failure that the boot goes on after (measured.onfail=continue)
 * extends into the rootfs PCR first, in every bank: H_bank of this text. No
 * prediction starts with it, so the PCR cannot reach a predicted value later.
 */
#define MI_FAILURE_EVENT "measured-init: measurement failed"
#define MI_FAILURE_TYPE	 "failure"

struct mi_config {
	char root[256]; /* measured.root=: /dev/vda, or LABEL=... not supported */
	unsigned pcr;	/* measured.pcr= (13; only 8, 9, 12-15: rootfs_pcr_check) */
	enum rootfs_mode mode;
	struct verity_params vp;	 /* measured.salt= */
	char expect[2 * DIGEST_MAX + 1]; /* measured.expect=HEX: the sha256 digest to insist on */
	bool onfail_continue;		 /* measured.onfail=continue */
	char init[256];			 /* measured.init= (/sbin/init) */
	unsigned root_wait;		 /* measured.rootwait= seconds (30) */
};

/* Parses the kernel command line; unknown words are the kernel's business. */
int mi_cmdline_parse(const char *cmdline, struct mi_config *ret);

int mi_mount_early(void);
int mi_load_modules(const char *list);
int mi_wait_for(const char *dev, unsigned seconds);
/*
 * Measures the root device, extends and logs; checks measured.expect.
 * Verity mode: *ret_tree gets the hash tree (free with verity_tree_free).
 */
int mi_measure_root(const struct mi_config *cfg, struct rootfs_measurement *ret,
		    struct verity_tree *ret_tree);
/* Extends MI_FAILURE_EVENT into cfg->pcr with a CEL record naming @stage and @cause. */
int mi_record_failure(const struct mi_config *cfg, const char *stage, const char *cause);
/*
 * Maps the measured root through a read-only dm-verity target whose hash
 * device holds @tree; *ret_dev gets /dev/mapper/MI_VERITY_NAME.
 */
int mi_verity_map(const struct mi_config *cfg, const struct rootfs_measurement *m,
		  const struct verity_tree *tree, char *ret_dev, size_t len);
int mi_load_ima_policy(const char *path);
/* Mounts @dev (ext4) read-only under a tmpfs overlay at MI_NEWROOT. */
int mi_mount_root(const char *dev);
/* Moves /run, /dev, /proc, /sys over and execs init in the new root: returns only on failure. */
int mi_switch_root(const char *init);

/* One line on the console: "measured-init: ..." */
void mi_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
