// SPDX-License-Identifier: MIT
/*
 * libFuzzer: what cmld's verify process parses for the root parent
 * (cm_verify_run, cmld/cm_verify.c).  The first byte picks the call --
 * a container config, a GuestOS config (each also as signed, with the rest
 * split into text, signature and certificate), a CA certificate, a device
 * certificate, a softtoken opened with a PIN -- the rest is its input.  Each
 * answer must then pass the parent's own check (cm_vrep_check): the honest
 * verify process never says what the parent would refuse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm_verify.h"
#include "err.h"

static struct cm_vstate *state;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LEVEL_ERR);
	state = cm_vstate_new(NULL, NULL);
	if (!state)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t ops[] = {CM_VOP_CONTAINER, CM_VOP_GUESTOS,     CM_VOP_CA,
				       CM_VOP_CERT,	 CM_VOP_TOKEN_CHECK, CM_VOP_TOKEN_REPIN};
	static struct cm_vreq req;
	const uint8_t *in[CM_VPARTS];
	struct cm_vrep rep;
	uint8_t *out = NULL;
	size_t n = size - 1;

	if (size < 1 || n > CM_VERIFY_PART_MAX)
		return 0;
	memset(&req, 0, sizeof(req));
	req.op = ops[(data[0] & 0x7f) % (sizeof(ops) / sizeof(ops[0]))];
	strcpy(req.label, "fuzz");
	strcpy(req.pin, "trustme");
	strcpy(req.newpin, "x");
	req.len[0] = (uint32_t)n;
	if (data[0] & 0x80 && (req.op == CM_VOP_CONTAINER || req.op == CM_VOP_GUESTOS)) {
		/* signed: text, signature and certificate in thirds */
		req.trust = CM_VTRUST_ANY;
		req.flags = data[0] & 0x40 ? CM_VREQ_SIG_OPTIONAL : 0;
		req.len[0] = (uint32_t)(n / 3);
		req.len[1] = (uint32_t)(n / 3);
		req.len[2] = (uint32_t)(n - 2 * (n / 3));
	}
	in[0] = data + 1;
	in[1] = in[0] + req.len[0];
	in[2] = in[1] + req.len[1];
	if (cm_verify_run(state, &req, data + 1, &rep, &out) == 0 && cm_vrep_check(&req, in, &rep))
		abort(); /* the parent would kill an honest verify process */
	free(out);
	return 0;
}
