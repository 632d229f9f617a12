// SPDX-License-Identifier: MIT
/* libFuzzer: attestd's request decoder and the verifier's response (evidence) decoder. */
#include <stddef.h>
#include <stdint.h>

#include "attest_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_request req;
	struct attest_response resp;

	(void)attest_request_decode(data, size, &req);
	if (attest_response_decode(data, size, &resp) == 0)
		attest_response_free(&resp);
	return 0;
}
