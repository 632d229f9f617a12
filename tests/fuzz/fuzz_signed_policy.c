// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the signed PCR policy parser (JSON from an update server or a
 * folder an attacker may write to).  What it accepts must write and parse
 * back to the same approval.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authorize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct signed_policy sp, again;
	char *json;

	if (signed_policy_from_json((const char *)data, size, &sp) < 0)
		return 0;
	if (signed_policy_to_json(&sp, &json) < 0)
		abort();
	if (signed_policy_from_json(json, strlen(json), &again) < 0 ||
	    memcmp(sp.approved, again.approved, 32) || memcmp(sp.sig_r, again.sig_r, 32) ||
	    memcmp(sp.sig_s, again.sig_s, 32) || memcmp(&sp.pcrs, &again.pcrs, sizeof(sp.pcrs)))
		abort();
	free(json);
	return 0;
}
