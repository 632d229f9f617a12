// SPDX-License-Identifier: MIT
/*
 * measured-init: the initramfs /init.  Mounts the early filesystems, loads
 * modules, measures the root image into its PCR (every allocated bank, one
 * CEL record), loads the IMA policy, mounts the root read-only under a tmpfs
 * overlay -- in verity mode through a dm-verity mapping with the measured
 * root hash -- and hands over to its init.  Any failure: one line on the
 * console, then measured.onfail (halt: power off; continue: boot anyway, but
 * only once the failure event is in the PCR, so it never shows the predicted
 * value).  A measured.expect mismatch, and any failure to map or mount the
 * root, always stops the boot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "mi.h"

static void __attribute__((noreturn)) stop(void)
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/*
 * Reports a failed stage; returns only when the boot is to go on, and then
 * only after the PCR holds the failure event: were it left as it was, code
 * after us could extend the predicted value into it.
 */
static void failed(const char *stage, const struct mi_config *cfg, bool fatal)
{
	char cause[512];

	snprintf(cause, sizeof(cause), "%s", err_msg());
	mi_say("FAILED to %s: %s", stage, cause);
	if (fatal || !cfg || !cfg->onfail_continue) {
		mi_say("halting (measured.onfail=halt)");
		stop();
	}
	if (mi_record_failure(cfg, stage, cause) < 0) {
		mi_say("FAILED to record the failure, so halting after all: %s", err_msg());
		stop();
	}
	mi_say("extended \"%s\" into PCR %u; continuing (measured.onfail=continue)",
	       MI_FAILURE_EVENT, cfg->pcr);
}

int main(void)
{
	struct mi_config cfg;
	struct rootfs_measurement m;
	struct verity_tree tree = {0};
	char root[300];
	uint8_t *cmdline;
	size_t len;
	bool measured;

	if (getpid() != 1)
		return err_set(-EPERM, "not pid 1"), 2;
	if (mi_mount_early() < 0)
		failed("mount /proc, /sys, /dev, /run", NULL, true);
	if (file_read_all("/proc/cmdline", 1 << 16, &cmdline, &len) < 0 ||
	    mi_cmdline_parse((char *)cmdline, &cfg) < 0)
		failed("parse the kernel command line", NULL, true);
	if (mi_load_modules(MI_MODULE_LIST) < 0)
		failed("load kernel modules", &cfg, false);
	if (mi_wait_for(cfg.root, cfg.root_wait) < 0)
		failed("find the root device", &cfg, true);
	measured = mi_measure_root(&cfg, &m, &tree) == 0;
	if (!measured)
		failed("measure the root filesystem", &cfg, cfg.expect[0] != '\0');
	if (mi_load_ima_policy(MI_IMA_POLICY) < 0)
		failed("load the IMA policy", &cfg, false);
	snprintf(root, sizeof(root), "%s", cfg.root);
	/* unmeasured (onfail=continue), there is no root hash to enforce: the PCR
	 * says so already */
	if (measured && cfg.mode == ROOTFS_VERITY) {
		if (mi_verity_map(&cfg, &m, &tree, root, sizeof(root)) < 0)
			failed("map the root filesystem through dm-verity", &cfg, true);
		mi_say("%s mapped through dm-verity as %s (read-only)", cfg.root, root);
	}
	verity_tree_free(&tree);
	if (mi_mount_root(root) < 0)
		failed("mount the root filesystem", &cfg, true);
	mi_switch_root(cfg.init);
	failed("start the root filesystem's init", &cfg, true);
	return 1;
}
