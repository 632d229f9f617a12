/* SPDX-License-Identifier: MIT */
/*
 * The GPT of a disk image as UEFI firmware measures it into PCR 5
 * (EV_EFI_GPT_EVENT, UEFI_GPT_DATA): the primary header, the number of used
 * partition entries (UINT64) and those entries, in table order.  The disk
 * is untrusted input: header and entry array CRCs and every size checked.
 */
#ifndef MEASURED_GPT_H
#define MEASURED_GPT_H

#include <stddef.h>
#include <stdint.h>

#define GPT_SECTOR 512

/* The UEFI_GPT_DATA of the disk image at @path (malloc'd). */
int gpt_event_data(const char *path, uint8_t **ret, size_t *ret_len);

#endif
