// SPDX-License-Identifier: MIT
/* libFuzzer: the key = value parser of build manifests and sealing profiles. */
#include <stddef.h>
#include <stdint.h>

#include "kvconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = {"rootfs", "grub.*", "banks", NULL};
	struct kvconf conf;

	if (kvconf_parse((const char *)data, size, "fuzz", &conf) < 0)
		return 0;
	(void)kvconf_get(&conf, "rootfs");
	(void)kvconf_check_keys(&conf, known);
	kvconf_free(&conf);
	return 0;
}
