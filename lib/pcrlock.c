// SPDX-License-Identifier: MIT
/* systemd .pcrlock (CEL-JSON) writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "pcrlock.h"

const char *pcrlock_component(unsigned pcr, uint32_t type, bool after_separator)
{
	/* systemd.pcrlock(5)'s names where it has one (the firmware, separators, GPT,
	 * Secure Boot, boot loader); ours placed by when they are measured */
	if (type == EV_SEPARATOR && pcr <= 6)
		return "500-separator";
	switch (pcr) {
	case 0:
	case 2:
		return after_separator ? "550-firmware-code-late" : "250-firmware-code-early";
	case 1:
	case 3:
	case 6:
		return after_separator ? "550-firmware-config-late" : "250-firmware-config-early";
	case 4:
		if (type == EV_EFI_ACTION)
			return "350-action-efi-application";
		return type == EV_EFI_BOOT_SERVICES_APPLICATION ? "610-boot-loader-code" : NULL;
	case 5:
		if (type == EV_EFI_GPT_EVENT)
			return "600-gpt";
		return type == EV_EFI_ACTION ? "700-action-efi-exit-boot-services" : NULL;
	case 7:
		switch (type) {
		case EV_EFI_VARIABLE_DRIVER_CONFIG:
			return "240-secureboot-policy";
		case EV_SEPARATOR:
			return "400-secureboot-separator";
		case EV_EFI_VARIABLE_AUTHORITY:
			return "620-secureboot-authority";
		default:
			return NULL;
		}
	case 8:
		return "660-grub-commands"; /* GRUB runs after the boot loader code */
	case 9:
		return "660-grub-files";
	case 13:
		return "760-measured-rootfs"; /* measured-init, in the initrd */
	case 14:
		return "630-shim-moklist";
	default:
		return NULL;
	}
}

int pcrlock_write(const char *path, const struct pcrlock_record *rec, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return err_set(-ENOMEM, "out of memory");
	fputs("{\"records\":[", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s{\"pcr\":%u,\"digests\":[", i ? "," : "", rec[i].pcr);
		for (unsigned d = 0; d < rec[i].n; d++) {
			char hex[2 * DIGEST_MAX + 1];

			hex_encode(rec[i].digest[d].value, rec[i].digest[d].alg->size, hex);
			fprintf(f, "%s{\"hashAlg\":\"%s\",\"digest\":\"%s\"}", d ? "," : "",
				rec[i].digest[d].alg->name, hex);
		}
		fputs("]}", f);
	}
	fputs("]}\n", f);
	if (fclose(f) != 0) {
		free(text);
		return err_set(-ENOMEM, "out of memory");
	}
	rc = file_write_atomic(path, text, len, 0644);
	free(text);
	return rc < 0 ? err_wrap(rc, "%s", path) : 0;
}
