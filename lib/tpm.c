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
