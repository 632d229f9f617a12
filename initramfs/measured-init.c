// SPDX-License-Identifier: MIT
/*
 * measured-init: the initramfs /init.  Mounts the early filesystems, loads
 * modules, measures the root image into its PCR (every allocated bank, one
 * CEL record), loads the IMA policy, mounts the root read-only under a tmpfs
 * overlay and hands over to its init.  Any failure: one line on the
 * console, then measured.onfail (halt: power off; continue: boot anyway).
 * A measured.expect mismatch always stops the boot.
 */
#include <errno.h>
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

/* Reports a failed stage; returns only when the boot is to go on. */
static void failed(const char *stage, const struct mi_config *cfg, bool fatal)
{
	mi_say("FAILED to %s: %s", stage, err_msg());
	if (fatal || !cfg || !cfg->onfail_continue) {
		mi_say("halting (measured.onfail=halt)");
		stop();
	}
	mi_say("continuing without it (measured.onfail=continue)");
}

int main(void)
{
	struct mi_config cfg;
	uint8_t *cmdline;
	size_t len;

	if (getpid() != 1)
		return err_set(-EPERM, "not pid 1"), 2;
	if (mi_mount_early() < 0)
		failed("mount /proc, /sys, /dev, /run", NULL, true);
	if (file_read_all("/proc/cmdline", 1 << 16, &cmdline, &len) < 0 ||
	    mi_cmdline_parse((char *)cmdline, &cfg) < 0)
		failed("read the kernel command line", NULL, true);
	if (mi_load_modules(MI_MODULE_LIST) < 0)
		failed("load kernel modules", &cfg, false);
	if (mi_wait_for(cfg.root, cfg.root_wait) < 0)
		failed("find the root device", &cfg, true);
	if (mi_measure_root(&cfg) < 0)
		failed("measure the root filesystem", &cfg, cfg.expect[0] != '\0');
	if (mi_load_ima_policy(MI_IMA_POLICY) < 0)
		failed("load the IMA policy", &cfg, false);
	if (mi_mount_root(&cfg) < 0)
		failed("mount the root filesystem", &cfg, true);
	mi_switch_root(cfg.init);
	failed("start the root filesystem's init", &cfg, true);
	return 1;
}
