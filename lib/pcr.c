// SPDX-License-Identifier: MIT
/* PCR selections and software PCR banks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonw.h"
#include "pcr.h"

static int pcr_list_parse(const char *list, const char *bank, uint32_t *ret_mask)
{
	uint32_t mask = 0;
	const char *p = list;

	if (strcmp(list, "all") == 0) {
		*ret_mask = (1u << PCR_COUNT) - 1;
		return 0;
	}
	if (*p == '\0')
		return err_set(-EINVAL, "PCR selection: bank %s has an empty PCR list", bank);
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p || lo >= PCR_COUNT)
			return err_set(-EINVAL,
				       "PCR selection: bad PCR number in \"%s\" for bank %s", list,
				       bank);
		if (*end == '-') {
			const char *q = end + 1;

			hi = strtoul(q, &end, 10);
			if (end == q || hi >= PCR_COUNT || hi < lo)
				return err_set(-EINVAL,
					       "PCR selection: bad range in \"%s\" for bank %s",
					       list, bank);
		}
		for (unsigned long i = lo; i <= hi; i++)
			mask |= 1u << i;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return err_set(-EINVAL, "PCR selection: unexpected '%c' in \"%s\"", *end,
				       list);
		p = end;
	}
	*ret_mask = mask;
	return 0;
}

int pcr_selection_add(struct pcr_selection *sel, const struct hash_alg *alg, uint32_t mask)
{
	unsigned i;

	for (i = 0; i < sel->count && sel->bank[i].alg != alg; i++)
		;
	if (i == sel->count) {
		if (sel->count == PCR_BANKS_MAX)
			return err_set(-EINVAL, "PCR selection: too many banks");
		sel->bank[sel->count].alg = alg;
		sel->bank[sel->count++].mask = 0;
	}
	sel->bank[i].mask |= mask;
	return 0;
}

int pcr_selection_parse(const char *text, struct pcr_selection *ret)
{
	struct pcr_selection sel = {0};
	char *copy = strdup(text), *save = NULL, *part;
	int rc = 0;

	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	if (text[0] == '+' || strstr(text, "++") || (text[0] && text[strlen(text) - 1] == '+')) {
		rc = err_set(-EINVAL, "PCR selection: empty bank entry in \"%s\"", text);
		goto out;
	}
	for (part = strtok_r(copy, "+", &save); part; part = strtok_r(NULL, "+", &save)) {
		char *colon = strchr(part, ':');
		const struct hash_alg *alg;
		uint32_t mask = 0;

		if (!colon) {
			rc = err_set(-EINVAL,
				     "PCR selection: \"%s\" lacks BANK: before the PCR list", part);
			goto out;
		}
		*colon = '\0';
		alg = hash_alg_by_name(part);
		if (!alg) {
			rc = err_set(-EINVAL, "PCR selection: unknown bank \"%s\"", part);
			goto out;
		}
		rc = pcr_list_parse(colon + 1, alg->name, &mask);
		if (rc < 0)
			goto out;
		if ((rc = pcr_selection_add(&sel, alg, mask)) < 0)
			goto out;
	}
	if (sel.count == 0) {
		rc = err_set(-EINVAL, "PCR selection: empty");
		goto out;
	}
	*ret = sel;
out:
	free(copy);
	return rc;
}

int pcr_selection_format(const struct pcr_selection *sel, char *buf, size_t size)
{
	size_t used = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned b = 0; b < sel->count; b++) {
		bool first = true;
		int n = snprintf(buf + used, size - used, "%s%s:", b ? "+" : "",
				 sel->bank[b].alg->name);

		if (n < 0 || (size_t)n >= size - used)
			return err_set(-ENOSPC, "PCR selection text too long");
		used += (size_t)n;
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			if (!(sel->bank[b].mask & (1u << i)))
				continue;
			n = snprintf(buf + used, size - used, "%s%u", first ? "" : ",", i);
			if (n < 0 || (size_t)n >= size - used)
				return err_set(-ENOSPC, "PCR selection text too long");
			used += (size_t)n;
			first = false;
		}
	}
	return 0;
}

uint32_t pcr_selection_mask(const struct pcr_selection *sel, const struct hash_alg *alg)
{
	for (unsigned b = 0; b < sel->count; b++)
		if (sel->bank[b].alg == alg)
			return sel->bank[b].mask;
	return 0;
}

void pcr_bank_init(struct pcr_bank *bank, const struct hash_alg *alg)
{
	memset(bank, 0, sizeof(*bank));
	bank->alg = alg;
}

int pcr_bank_extend(struct pcr_bank *bank, unsigned pcr, const uint8_t *digest)
{
	uint8_t buf[2 * DIGEST_MAX];
	size_t n = bank->alg->size;
	int rc;

	if (pcr >= PCR_COUNT)
		return err_set(-ERANGE, "PCR %u out of range (0-%d)", pcr, PCR_COUNT - 1);
	memcpy(buf, bank->value[pcr], n);
	memcpy(buf + n, digest, n);
	rc = digest_buf(bank->alg, buf, 2 * n, bank->value[pcr]);
	if (rc == 0)
		bank->extended |= 1u << pcr;
	return rc;
}

void pcr_banks_init(struct pcr_banks *banks)
{
	banks->count = 0;
}

const struct pcr_bank *pcr_banks_get(const struct pcr_banks *banks, const struct hash_alg *alg)
{
	for (unsigned i = 0; i < banks->count; i++)
		if (banks->bank[i].alg == alg)
			return &banks->bank[i];
	return NULL;
}

struct pcr_bank *pcr_banks_find(struct pcr_banks *banks, const struct hash_alg *alg)
{
	return (struct pcr_bank *)pcr_banks_get(banks, alg);
}

struct pcr_bank *pcr_banks_add(struct pcr_banks *banks, const struct hash_alg *alg)
{
	struct pcr_bank *bank = pcr_banks_find(banks, alg);

	if (bank)
		return bank;
	if (banks->count == PCR_BANKS_MAX)
		return NULL;
	bank = &banks->bank[banks->count++];
	pcr_bank_init(bank, alg);
	return bank;
}

void pcr_banks_json(struct jw *j, const struct pcr_banks *banks, uint32_t mask, bool only_extended)
{
	jw_object_begin(j);
	for (unsigned b = 0; b < banks->count; b++) {
		const struct pcr_bank *bank = &banks->bank[b];

		jw_key(j, bank->alg->name);
		jw_object_begin(j);
		for (unsigned i = 0; i < PCR_COUNT; i++) {
			char key[4];

			if (!(mask & (1u << i)) || (only_extended && !(bank->extended & (1u << i))))
				continue;
			snprintf(key, sizeof(key), "%u", i);
			jw_key(j, key);
			jw_hex(j, bank->value[i], bank->alg->size);
		}
		jw_object_end(j);
	}
	jw_object_end(j);
}

int pcr_values_digest(const struct hash_alg *alg, const struct pcr_selection *sel,
		      const struct pcr_banks *values, uint8_t *ret)
{
	struct digest_ctx ctx;
	int rc = digest_init(&ctx, alg);

	if (rc < 0)
		return rc;
	for (unsigned b = 0; b < sel->count && rc == 0; b++) {
		const struct pcr_bank *bank =
			pcr_banks_find((struct pcr_banks *)values, sel->bank[b].alg);

		if (!bank) {
			rc = err_set(-ENOENT, "no %s PCR values", sel->bank[b].alg->name);
			break;
		}
		for (unsigned i = 0; i < PCR_COUNT && rc == 0; i++)
			if (sel->bank[b].mask & (1u << i))
				rc = digest_update(&ctx, bank->value[i], bank->alg->size);
	}
	if (rc < 0) {
		digest_free(&ctx);
		return rc;
	}
	return digest_final(&ctx, ret);
}
