/* SPDX-License-Identifier: MIT */
/* measured-init: the initramfs /init that measures the root filesystem. */
#ifndef MI_H
#define MI_H

#include <stdbool.h>

#include "rootfs.h"

#define MI_MODULE_LIST "/etc/measured/modules"
#define MI_IMA_POLICY  "/etc/measured/ima-policy"
#define MI_NEWROOT     "/newroot"

struct mi_config {
	char root[256]; /* measured.root=: /dev/vda, or LABEL=... not supported */
	unsigned pcr;	/* measured.pcr= (13) */
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
/* Measures the root device, extends and logs; checks measured.expect. */
int mi_measure_root(const struct mi_config *cfg);
int mi_load_ima_policy(const char *path);
/* Mounts the root read-only under a tmpfs overlay at MI_NEWROOT. */
int mi_mount_root(const struct mi_config *cfg);
/* Moves /run, /dev, /proc, /sys over and execs init in the new root: returns only on failure. */
int mi_switch_root(const char *init);

/* One line on the console: "measured-init: ..." */
void mi_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
