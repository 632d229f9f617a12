// SPDX-License-Identifier: MIT
/*
 * libFuzzer: what attestd's privileged process accepts from its engine.  An
 * engine taken over can send any bytes; each input is one channel message
 * (header and body) as chan_recv() hands it over, checked by
 * ad_msg_from_engine().  A message it accepts must then be safe to use: the
 * selection within bounds, the credential lengths within their buffers.
 */
#include <stdint.h>
#include <string.h>

#include "../../attestd/attestd.h"
#include "chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union {
		struct ad_msg_quote quote;
		struct ad_msg_activate activate;
		uint8_t bytes[CHAN_MSG_MAX];
	} body;
	struct chan_hdr hdr;
	struct pcr_selection sel;

	if (size < sizeof(hdr) || size - sizeof(hdr) > sizeof(body))
		return 0;
	memcpy(&hdr, data, sizeof(hdr));
	hdr.len = (uint32_t)(size - sizeof(hdr)); /* chan_recv() makes them agree */
	memcpy(body.bytes, data + sizeof(hdr), hdr.len);
	if (ad_msg_from_engine(&hdr, &body, &sel) < 0)
		return 0;
	if (hdr.type == AD_MSG_QUOTE) {
		if (sel.count > PCR_BANKS_MAX)
			__builtin_trap();
		for (unsigned b = 0; b < sel.count; b++)
			if (!sel.bank[b].alg || sel.bank[b].mask >> PCR_COUNT)
				__builtin_trap();
	}
	if (hdr.type == AD_MSG_ACTIVATE && (body.activate.blob_len > ATTEST_CRED_MAX ||
					    body.activate.secret_len > ATTEST_CRED_MAX))
		__builtin_trap();
	return 0;
}
