// SPDX-License-Identifier: MIT
/*
 * libFuzzer: OVMF firmware images (pcrpredict firmware, lib/ovmf): volume
 * headers, FFS files, sections, the LZMA stream, the volumes inside it, the
 * boot options made from DXEFV's files; and PCI option ROMs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ovmf.h"

/* UiApp, as OVMF's boot manager menu names it */
static const uint8_t ui_app[16] = {0x21, 0xaa, 0x2c, 0x46, 0x14, 0x76, 0x03, 0x45,
				   0x83, 0x6e, 0x8a, 0xb6, 0xf4, 0x66, 0x23, 0x31};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovmf_option_rom rom;
	struct ovmf_code c;

	if (ovmf_code_read(data, size, "fuzz", &c) == 0) {
		uint8_t *opt, guid[16];
		size_t len, off, flen;

		if (ovmf_fv_boot_option(&c, "fuzz", ui_app, 0x109, NULL, &opt, &len) == 0)
			free(opt);
		(void)ovmf_fv_file_at(&c.pei, "fuzz", c.pei.len / 2, guid, &off, &flen);
		ovmf_code_free(&c);
	}
	(void)ovmf_option_rom_efi(data, size, "fuzz", &rom);
	return 0;
}
