/* SPDX-License-Identifier: MIT */
/*
 * OVMF's firmware image as its PEI phase measures it into PCR 0: the code
 * flash (OVMF_CODE.fd, or the whole OVMF.fd) holds FVMAIN_COMPACT, whose one
 * file is an LZMA section holding two firmware volumes, PEIFV and DXEFV; SEC
 * decompresses them into RAM and Tcg2Pei hashes each whole volume as it
 * lies there (EV_EFI_PLATFORM_FIRMWARE_BLOB).  Also: FFS files and sections
 * inside a volume (the boot options OVMF's BDS makes for its own
 * applications), and the EFI driver image in a PCI option ROM (PCR 2).
 *
 * Every byte read is untrusted: each size is checked against what holds it,
 * and an error names the file, the offset and what is wrong there.
 */
#ifndef MEASURED_OVMF_H
#define MEASURED_OVMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One firmware volume, inside ovmf_code's decompressed buffer. */
struct ovmf_fv {
	const uint8_t *data;
	size_t len;	  /* FvLength: what Tcg2Pei hashes */
	size_t offset;	  /* in the decompressed FVMAIN section stream */
	uint64_t base;	  /* where OVMF places it in RAM (the event's BlobBase) */
	uint8_t name[16]; /* the extended header's FvName (zero when none) */
	bool has_name;
};

struct ovmf_code {
	uint8_t *fvmain; /* the decompressed section stream (owned) */
	size_t fvmain_len;
	size_t section_off; /* of the LZMA GUID-defined section in the file */
	struct ovmf_fv pei, dxe;
};

/*
 * Reads @buf (an OVMF_CODE or OVMF image, @what names it): finds
 * FVMAIN_COMPACT, decompresses its LZMA section and locates PEIFV and DXEFV.
 * -EBADMSG with the cause (file, offset) for anything that is not so.
 */
int ovmf_code_read(const uint8_t *buf, size_t len, const char *what, struct ovmf_code *ret);
void ovmf_code_free(struct ovmf_code *c);

/*
 * The FFS file named @guid in @fv: its offset and size (header included) in
 * the volume.  -ENOENT when there is none; -EBADMSG for a broken volume.
 */
int ovmf_fv_file(const struct ovmf_fv *fv, const char *what, const uint8_t guid[16],
		 size_t *ret_off, size_t *ret_len);
/* The FFS file holding byte @at of @fv: its name, offset and size.  -ENOENT when none. */
int ovmf_fv_file_at(const struct ovmf_fv *fv, const char *what, size_t at, uint8_t ret_guid[16],
		    size_t *ret_off, size_t *ret_len);
/*
 * The body of the first section of @type (EFI_SECTION_USER_INTERFACE 0x15,
 * PE32 0x10, ...) of the FFS file at @file_off in @fv.  -ENOENT when none.
 */
int ovmf_fv_file_section(const struct ovmf_fv *fv, const char *what, size_t file_off, uint8_t type,
			 const uint8_t **ret, size_t *ret_len);

/*
 * The EFI_LOAD_OPTION OVMF's BDS writes to a Boot#### variable for an
 * application in DXEFV: @attributes, the description (@description, or when
 * NULL the file's user-interface name, as the boot manager menu takes it),
 * the path Fv(DXEFV's name)/FvFile(@file_guid), no optional data.  -ENOENT
 * when DXEFV has no such file (BDS would drop the option as stale).
 */
int ovmf_fv_boot_option(const struct ovmf_code *c, const char *what, const uint8_t file_guid[16],
			uint32_t attributes, const char *description, uint8_t **ret,
			size_t *ret_len);

/* Where the EFI image of a PCI option ROM lies. */
struct ovmf_option_rom {
	size_t image_off;  /* the EFI ROM image's header in the ROM file */
	size_t image_size; /* that image's length (PCIR ImageLength) */
	size_t pe_off;	   /* the PE/COFF driver inside the ROM file */
	size_t pe_len;
	uint16_t vendor, device;
};

/*
 * Finds the first uncompressed EFI image (PCIR code type 3) in the PCI
 * expansion ROM @buf: the driver EDK2's PCI bus driver loads and measures
 * into PCR 2 (EV_EFI_BOOT_SERVICES_DRIVER, its Authenticode digest).
 */
int ovmf_option_rom_efi(const uint8_t *buf, size_t len, const char *what,
			struct ovmf_option_rom *ret);

/* GUID text ("8be4df61-93ca-11d2-aa0d-00e098032b8c") <-> EFI_GUID bytes (mixed-endian). */
int ovmf_guid_parse(const char *text, uint8_t ret[16]);
void ovmf_guid_format(const uint8_t guid[16], char out[37]);

#endif
