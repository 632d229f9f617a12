// SPDX-License-Identifier: MIT
/* The PCR selections that cross between attestd's processes. */
#include <errno.h>
#include <string.h>

#include "attestd.h"
#include "chan.h"
#include "err.h"

void ad_sel_to_wire(const struct pcr_selection *sel, struct ad_wire_sel *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->count = sel->count;
	for (unsigned b = 0; b < sel->count && b < PCR_BANKS_MAX; b++) {
		ret->bank[b].alg = sel->bank[b].alg->tpm_alg;
		ret->bank[b].mask = sel->bank[b].mask;
	}
}

int ad_sel_from_wire(const struct ad_wire_sel *wire, struct pcr_selection *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (wire->count > PCR_BANKS_MAX)
		return err_set(-EBADMSG, "a selection of %u banks", wire->count);
	for (unsigned b = 0; b < wire->count; b++) {
		const struct hash_alg *alg = hash_alg_by_id(wire->bank[b].alg);

		if (!alg || wire->bank[b].mask >> PCR_COUNT)
			return err_set(-EBADMSG, "bank %u: algorithm 0x%04x, mask 0x%x", b,
				       wire->bank[b].alg, wire->bank[b].mask);
		if (pcr_selection_add(ret, alg, wire->bank[b].mask) < 0)
			return err_set(-EBADMSG, "bank %u: too many banks", b);
	}
	return 0;
}

int ad_msg_from_engine(const struct chan_hdr *hdr, const void *body, struct pcr_selection *sel)
{
	if (hdr->type == AD_MSG_QUOTE && hdr->len == sizeof(struct ad_msg_quote))
		return ad_sel_from_wire(&((const struct ad_msg_quote *)body)->sel, sel);
	if (hdr->type == AD_MSG_KEYS && hdr->len == 0)
		return 0;
	if (hdr->type == AD_MSG_ACTIVATE && hdr->len == sizeof(struct ad_msg_activate)) {
		const struct ad_msg_activate *m = body;

		if (m->blob_len > sizeof(m->blob) || m->secret_len > sizeof(m->secret))
			return err_set(-EBADMSG, "a credential of %u/%u bytes", m->blob_len,
				       m->secret_len);
		return 0;
	}
	return err_set(-EBADMSG, "message of type %u with %u bytes", hdr->type, hdr->len);
}
