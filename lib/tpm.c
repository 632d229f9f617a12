// SPDX-License-Identifier: MIT
/* TPM context, startup, PCR banks, PCR read and extend over ESAPI. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "err.h"
#include "tpm.h"

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
};

static __thread TSS2_RC last_rc;

const char *tpm_tcti_resolve(const char *cli)
{
	const char *env;

	if (cli && *cli)
		return cli;
	env = getenv("TPM2TOOLS_TCTI");
	if (env && *env)
		return env;
	return NULL;
}

TSS2_RC tpm_last_rc(void)
{
	return last_rc;
}

int tpm_fail(TSS2_RC rc, const char *cmd)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	last_rc = rc;
	if (layer == TSS2_TCTI_RC_LAYER)
		return err_set(-ECONNREFUSED, "%s: TPM unreachable: %s", cmd, Tss2_RC_Decode(rc));
	return err_set(-EIO, "%s: %s", cmd, Tss2_RC_Decode(rc));
}

int tpm_open(const char *tcti, unsigned flags, struct tpm **ret)
{
	struct tpm *tpm = calloc(1, sizeof(*tpm));
	TSS2_RC rc;
	int r;

	if (!tpm)
		return err_set(-ENOMEM, "out of memory");
	/* tpm2-tss logs its own errors to stderr; we report the decoded cause once */
	setenv("TSS2_LOG", "all+NONE", 0);
	rc = Tss2_TctiLdr_Initialize(tcti, &tpm->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		free(tpm);
		last_rc = rc;
		return err_set(-ECONNREFUSED, "cannot open TPM via TCTI \"%s\": %s",
			       tcti ? tcti : "(default)", Tss2_RC_Decode(rc));
	}
	rc = Esys_Initialize(&tpm->esys, tpm->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_fail(rc, "Esys_Initialize");
		tpm_close(tpm);
		return r;
	}
	if (flags & TPM_OPEN_STARTUP) {
		r = tpm_startup(tpm);
		if (r < 0) {
			tpm_close(tpm);
			return r;
		}
	}
	*ret = tpm;
	return 0;
}

void tpm_close(struct tpm *tpm)
{
	if (!tpm)
		return;
	if (tpm->esys)
		Esys_Finalize(&tpm->esys);
	if (tpm->tcti)
		Tss2_TctiLdr_Finalize(&tpm->tcti);
	free(tpm);
}

ESYS_CONTEXT *tpm_esys(struct tpm *tpm)
{
	return tpm->esys;
}

int tpm_startup(struct tpm *tpm)
{
	TSS2_RC rc = Esys_Startup(tpm->esys, TPM2_SU_CLEAR);

	if (rc == TSS2_RC_SUCCESS || rc == TPM2_RC_INITIALIZE)
		return 0;
	return tpm_fail(rc, "TPM2_Startup");
}

int tpm_pcr_banks(struct tpm *tpm, struct pcr_selection *ret)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	struct pcr_selection sel = {0};
	TPMI_YES_NO more;
	TSS2_RC rc;

	rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS,
				0, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_GetCapability(PCRS)");
	for (UINT32 i = 0; i < cap->data.assignedPCR.count && sel.count < PCR_BANKS_MAX; i++) {
		const TPMS_PCR_SELECTION *s = &cap->data.assignedPCR.pcrSelections[i];
		const struct hash_alg *alg = hash_alg_by_id(s->hash);
		uint32_t mask = 0;

		for (unsigned b = 0; b < s->sizeofSelect && b < 4; b++)
			mask |= (uint32_t)s->pcrSelect[b] << (8 * b);
		mask &= (1u << PCR_COUNT) - 1;
		if (!alg || !mask)
			continue; /* a bank we cannot hash, or one not allocated */
		sel.bank[sel.count].alg = alg;
		sel.bank[sel.count].mask = mask;
		sel.count++;
	}
	Esys_Free(cap);
	*ret = sel;
	return 0;
}

void tpm_pcr_selection_to_tpml(const struct pcr_selection *sel, TPML_PCR_SELECTION *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (unsigned b = 0; b < sel->count && b < TPM2_NUM_PCR_BANKS; b++) {
		TPMS_PCR_SELECTION *s = &ret->pcrSelections[ret->count++];

		s->hash = sel->bank[b].alg->tpm_alg;
		s->sizeofSelect = 3;
		for (unsigned i = 0; i < 3; i++)
			s->pcrSelect[i] = (uint8_t)(sel->bank[b].mask >> (8 * i));
	}
}

/* Copies what one TPM2_PCR_Read returned and clears it from @todo. */
static int take_read_values(const TPML_PCR_SELECTION *out, const TPML_DIGEST *values,
			    struct pcr_banks *banks, struct pcr_selection *todo)
{
	UINT32 v = 0;

	for (UINT32 i = 0; i < out->count; i++) {
		const TPMS_PCR_SELECTION *s = &out->pcrSelections[i];
		const struct hash_alg *alg = hash_alg_by_id(s->hash);
		struct pcr_bank *bank = alg ? pcr_banks_find(banks, alg) : NULL;

		for (unsigned pcr = 0; pcr < 8u * s->sizeofSelect && pcr < PCR_COUNT; pcr++) {
			if (!(s->pcrSelect[pcr / 8] & (1u << (pcr % 8))))
				continue;
			if (v >= values->count || !bank || values->digests[v].size != alg->size)
				return err_set(-EPROTO,
					       "TPM2_PCR_Read returned an inconsistent answer");
			memcpy(bank->value[pcr], values->digests[v].buffer, alg->size);
			v++;
			for (unsigned b = 0; b < todo->count; b++)
				if (todo->bank[b].alg == alg)
					todo->bank[b].mask &= ~(1u << pcr);
		}
	}
	return 0;
}

int tpm_pcr_read(struct tpm *tpm, const struct pcr_selection *sel, struct pcr_banks *ret,
		 uint32_t *ret_update_counter)
{
	struct pcr_selection todo = *sel;
	struct pcr_banks banks;
	uint32_t counter = 0;

	pcr_banks_init(&banks);
	for (unsigned b = 0; b < sel->count; b++)
		if (!pcr_banks_add(&banks, sel->bank[b].alg))
			return err_set(-ENOSPC, "too many PCR banks");
	/* the TPM answers at most 8 digests per call: ask again for what is left */
	for (int round = 0; round < 32; round++) {
		TPML_PCR_SELECTION in, *out = NULL;
		TPML_DIGEST *values = NULL;
		bool left = false;
		TSS2_RC rc;
		int r;

		for (unsigned b = 0; b < todo.count; b++)
			left |= todo.bank[b].mask != 0;
		if (!left) {
			*ret = banks;
			if (ret_update_counter)
				*ret_update_counter = counter;
			return 0;
		}
		tpm_pcr_selection_to_tpml(&todo, &in);
		rc = Esys_PCR_Read(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in,
				   &counter, &out, &values);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail(rc, "TPM2_PCR_Read");
		r = values->count
			    ? take_read_values(out, values, &banks, &todo)
			    : err_set(-EPROTO,
				      "TPM2_PCR_Read returned no values; bank not allocated?");
		Esys_Free(out);
		Esys_Free(values);
		if (r < 0)
			return r;
	}
	return err_set(-EPROTO, "TPM2_PCR_Read did not return every selected PCR");
}

int tpm_pcr_extend(struct tpm *tpm, unsigned pcr, const struct alg_digest *digests, unsigned n)
{
	TPML_DIGEST_VALUES values = {0};
	TSS2_RC rc;

	if (pcr >= PCR_COUNT)
		return err_set(-ERANGE, "PCR %u out of range", pcr);
	if (n == 0 || n > TPM2_NUM_PCR_BANKS)
		return err_set(-EINVAL, "%u digests for one extend", n);
	for (unsigned i = 0; i < n; i++) {
		values.digests[i].hashAlg = digests[i].alg->tpm_alg;
		memcpy(&values.digests[i].digest, digests[i].value, digests[i].alg->size);
	}
	values.count = n;
	rc = Esys_PCR_Extend(tpm->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			     ESYS_TR_NONE, &values);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_PCR_Extend");
	return 0;
}

int tpm_session_start(struct tpm *tpm, ESYS_TR salt_key, TPM2_SE type, TPMA_SESSION attrs,
		      ESYS_TR *ret)
{
	TPMT_SYM_DEF sym = {
		.algorithm = TPM2_ALG_AES, .keyBits = {.aes = 128}, .mode = {.aes = TPM2_ALG_CFB}};
	TSS2_RC rc;

	rc = Esys_StartAuthSession(tpm->esys, salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, type, &sym, TPM2_ALG_SHA256, ret);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_StartAuthSession (salted)");
	rc = Esys_TRSess_SetAttributes(tpm->esys, *ret, attrs, 0xff);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_FlushContext(tpm->esys, *ret);
		*ret = ESYS_TR_NONE;
		return tpm_fail(rc, "session attributes");
	}
	return 0;
}

/* TPM_RC_HANDLE (format 1, any handle number): no such object or index. */
static bool rc_is_handle(TSS2_RC rc)
{
	TSS2_RC base = rc & 0xffff;

	return (base & TPM2_RC_FMT1) && (base & 0x3f) == (TPM2_RC_HANDLE & 0x3f);
}

int tpm_nv_handle(struct tpm *tpm, uint32_t index, ESYS_TR *ret)
{
	TSS2_RC rc = Esys_TR_FromTPMPublic(tpm->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, ret);

	if (rc == TSS2_RC_SUCCESS)
		return 0;
	if (rc_is_handle(rc)) {
		last_rc = rc;
		return err_set(-ENOENT, "no NV index 0x%08x", index);
	}
	return tpm_fail(rc, "TPM2_NV_ReadPublic");
}

static int nv_read_u64(struct tpm *tpm, uint32_t index, ESYS_TR nv, uint64_t *ret)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;
	uint64_t v = 0;
	TSS2_RC rc;

	rc = Esys_NV_Read(tpm->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0,
			  &data);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_NV_Read (counter)");
	if (data->size != 8) {
		Esys_Free(data);
		return err_set(-EPROTO, "NV index 0x%08x: %u bytes, not a counter", index,
			       data->size);
	}
	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | data->buffer[i];
	Esys_Free(data);
	*ret = v;
	return 0;
}

int tpm_nv_counter_read(struct tpm *tpm, uint32_t index, uint64_t *ret)
{
	ESYS_TR nv;
	int r = tpm_nv_handle(tpm, index, &nv);

	if (r < 0)
		return r;
	r = nv_read_u64(tpm, index, nv, ret);
	Esys_TR_Close(tpm->esys, &nv);
	return r;
}

static int nv_increment(struct tpm *tpm, uint32_t index, ESYS_TR nv, uint64_t *ret_value)
{
	TSS2_RC rc = Esys_NV_Increment(tpm->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
				       ESYS_TR_NONE, ESYS_TR_NONE);

	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_NV_Increment");
	return ret_value ? nv_read_u64(tpm, index, nv, ret_value) : 0;
}

int tpm_nv_counter_increment(struct tpm *tpm, uint32_t index, uint64_t *ret_value)
{
	ESYS_TR nv;
	int r = tpm_nv_handle(tpm, index, &nv);

	if (r < 0)
		return r;
	r = nv_increment(tpm, index, nv, ret_value);
	Esys_TR_Close(tpm->esys, &nv);
	return r;
}

/* The first index of [first, last] that the TPM does not list as defined. */
static int nv_free_index(struct tpm *tpm, uint32_t first, uint32_t last, uint32_t *ret)
{
	uint32_t want = first;
	bool done = false;

	while (!done && want <= last) {
		TPMS_CAPABILITY_DATA *cap = NULL;
		TPMI_YES_NO more = TPM2_NO;
		UINT32 i = 0;
		TSS2_RC rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
						TPM2_CAP_HANDLES, want, TPM2_MAX_CAP_HANDLES, &more,
						&cap);

		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail(rc, "TPM2_GetCapability(HANDLES)");
		while (i < cap->data.handles.count && cap->data.handles.handle[i] == want) {
			i++;
			want++;
		}
		/* a gap before the next listed index, or none listed after @want */
		done = i < cap->data.handles.count || !more;
		Esys_Free(cap);
	}
	if (want > last)
		return err_set(-ENOSPC, "no free NV index in 0x%08x..0x%08x", first, last);
	*ret = want;
	return 0;
}

int tpm_nv_counter_define(struct tpm *tpm, uint32_t first, uint32_t last, TPMA_NV attrs,
			  uint32_t *ret_index, uint64_t *ret_value)
{
	TPM2B_NV_PUBLIC pub = {
		.nvPublic = {.nameAlg = TPM2_ALG_SHA256, .attributes = attrs, .dataSize = 8}};
	TPM2B_AUTH auth = {0};
	ESYS_TR nv = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	/* a free index can be taken between look and define: try the next one then */
	for (int tries = 0; tries < 8; tries++) {
		if ((r = nv_free_index(tpm, first, last, &pub.nvPublic.nvIndex)) < 0)
			return r;
		rc = Esys_NV_DefineSpace(tpm->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
					 ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &nv);
		if (rc == TSS2_RC_SUCCESS)
			break;
		if ((rc & 0xfff) != TPM2_RC_NV_DEFINED)
			return tpm_fail(rc, "TPM2_NV_DefineSpace");
		first = pub.nvPublic.nvIndex + 1;
	}
	if (nv == ESYS_TR_NONE)
		return err_set(-EBUSY, "NV indexes kept being taken while defining a counter");
	if ((r = nv_increment(tpm, pub.nvPublic.nvIndex, nv, ret_value)) < 0) {
		Esys_NV_UndefineSpace(tpm->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD,
				      ESYS_TR_NONE, ESYS_TR_NONE);
		return r;
	}
	Esys_TR_Close(tpm->esys, &nv);
	*ret_index = pub.nvPublic.nvIndex;
	return 0;
}

int tpm_nv_undefine(struct tpm *tpm, uint32_t index)
{
	ESYS_TR nv;
	int r = tpm_nv_handle(tpm, index, &nv);
	TSS2_RC rc;

	if (r < 0)
		return r;
	rc = Esys_NV_UndefineSpace(tpm->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				   ESYS_TR_NONE);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_TR_Close(tpm->esys, &nv);
		return tpm_fail(rc, "TPM2_NV_UndefineSpace");
	}
	return 0;
}

/* tss2's TPM2_HR_* shift a uint8_t (an int) by 24: 0x80 << 24 overflows (UBSan) */
#define HR_TRANSIENT	  0x80000000u
#define HR_HMAC_SESSION	  0x02000000u
#define HR_POLICY_SESSION 0x03000000u
#define HR_MASK		  0xff000000u

/* Flushes every handle from @first of one type; how many, or < 0. */
static int flush_range(struct tpm *tpm, TPM2_HANDLE first)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_NO;
	int n = 0;
	TSS2_RC rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES, &more, &cap);

	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(rc, "TPM2_GetCapability(HANDLES)");
	for (UINT32 i = 0; i < cap->data.handles.count; i++) {
		TPM2_HANDLE h = cap->data.handles.handle[i];
		ESYS_TR tr = ESYS_TR_NONE;

		/* loaded sessions are listed as HMAC (0x02) and policy (0x03) handles */
		TPM2_HANDLE type = h & HR_MASK;
		if (type != (first & HR_MASK) &&
		    !(first == HR_HMAC_SESSION && type == HR_POLICY_SESSION))
			break;
		if (Esys_TR_FromTPMPublic(tpm->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					  &tr) == TSS2_RC_SUCCESS &&
		    Esys_FlushContext(tpm->esys, tr) == TSS2_RC_SUCCESS)
			n++;
		else if (tr != ESYS_TR_NONE)
			Esys_TR_Close(tpm->esys, &tr);
	}
	Esys_Free(cap);
	return n;
}

int tpm_flush_stale(struct tpm *tpm, unsigned *ret_objects, unsigned *ret_sessions)
{
	int o = flush_range(tpm, HR_TRANSIENT), s;

	if (o < 0)
		return o;
	s = flush_range(tpm, HR_HMAC_SESSION); /* the loaded sessions */
	if (s < 0)
		return s;
	*ret_objects = (unsigned)o;
	*ret_sessions = (unsigned)s;
	return 0;
}
