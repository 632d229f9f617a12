// SPDX-License-Identifier: MIT
/*
 * The parent's check of the verify process's answer (cm_verify.h): every
 * field in range, consistent with what was asked, and for the bytes the
 * parent sent.  Pure, so that test_cm_msg plays a captured verify process
 * against it.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "cm_verify.h"
#include "err.h"

static bool op_digests_part0(uint32_t op)
{
	return op != CM_VOP_TOKEN_NEW;
}

static bool op_has_output(uint32_t op)
{
	return op == CM_VOP_CONTAINER || op == CM_VOP_GUESTOS || op == CM_VOP_TOKEN_NEW ||
	       op == CM_VOP_TOKEN_REPIN;
}

int cm_vrep_check(const struct cm_vreq *req, const uint8_t *const in[CM_VPARTS],
		  const struct cm_vrep *rep)
{
	bool config = req->op == CM_VOP_CONTAINER || req->op == CM_VOP_GUESTOS;
	bool signed_req = config && req->trust != CM_VTRUST_NONE;
	uint8_t md[32];
	unsigned md_len = sizeof(md);

	if (!memchr(rep->reason, '\0', sizeof(rep->reason)))
		return err_set(-EBADMSG, "reason: not terminated");
	if (rep->rc > 0 || rep->rc < -4095)
		return err_set(-EBADMSG, "rc %d", rep->rc);
	if (rep->stage > CM_VSTAGE_PARSE)
		return err_set(-EBADMSG, "stage %u", rep->stage);
	if (rep->rc < 0 && rep->stage == CM_VSTAGE_NONE)
		return err_set(-EBADMSG, "rc %d without a stage", rep->rc);
	if (rep->rc < 0 && !rep->reason[0])
		return err_set(-EBADMSG, "rc %d without a reason", rep->rc);
	if (rep->verified > 1)
		return err_set(-EBADMSG, "verified %u", rep->verified);
	if (rep->verified && (!signed_req || rep->rc < 0))
		return err_set(-EBADMSG, "verified, yet no signature was asked for or it failed");
	if (rep->rc == 0 && signed_req && !rep->verified &&
	    !(req->flags & CM_VREQ_SIG_OPTIONAL && rep->stage == CM_VSTAGE_SIG && rep->reason[0]))
		return err_set(-EBADMSG, "a required signature neither verified nor refused");
	if (rep->rc == 0 && rep->stage != CM_VSTAGE_NONE &&
	    !(signed_req && !rep->verified && rep->stage == CM_VSTAGE_SIG))
		return err_set(-EBADMSG, "stage %u of a call that succeeded", rep->stage);
	if (rep->out_len > CM_VERIFY_OUT_MAX)
		return err_set(-EBADMSG, "out_len %u: at most %u", rep->out_len, CM_VERIFY_OUT_MAX);
	if (rep->out_len && (rep->rc < 0 || !op_has_output(req->op)))
		return err_set(-EBADMSG, "out_len %u where there is no output", rep->out_len);
	if (rep->rc == 0 && !rep->out_len && req->op != CM_VOP_CONTAINER &&
	    req->op != CM_VOP_GUESTOS && op_has_output(req->op))
		return err_set(-EBADMSG, "no output");
	if (op_digests_part0(req->op)) {
		if (EVP_Digest(in[0], req->len[0], md, &md_len, EVP_sha256(), NULL) != 1)
			return err_set(-EIO, "SHA-256 failed");
		if (memcmp(md, rep->digest, sizeof(md)))
			return err_set(-EBADMSG,
				       "digest: the answer is not for the %u bytes sent (%s)",
				       req->len[0], req->label);
	}
	return 0;
}
