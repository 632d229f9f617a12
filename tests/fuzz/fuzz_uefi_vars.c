// SPDX-License-Identifier: MIT
/* libFuzzer: OVMF varstores (pcrpredict secureboot --vars) and the signature lists in them. */
#include <stddef.h>
#include <stdint.h>

#include "uefi_var.h"

static int count(const uint8_t *entry, size_t len, void *arg)
{
	(void)entry;
	*(size_t *)arg += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uefi_varstore vs;
	size_t total = 0;

	if (uefi_varstore_read(data, size, "fuzz", &vs) == 0) {
		for (size_t i = 0; i < vs.n; i++)
			(void)uefi_esl_foreach(vs.var[i].data, vs.var[i].len, EFI_CERT_X509_GUID,
					       count, &total);
		uefi_varstore_free(&vs);
	}
	/* the bytes as a signature list too */
	(void)uefi_esl_foreach(data, size, EFI_CERT_X509_GUID, count, &total);
	return 0;
}
