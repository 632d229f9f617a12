// SPDX-License-Identifier: MIT
/* PCR values from tpm2_pcrread -o files or JSON documents (json-c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "pcr_values.h"

#define VALUES_FILE_MAX (64u << 20)

static int bank_from_json(struct json_object *obj, const char *what, const struct hash_alg *alg,
			  struct pcr_banks *banks)
{
	struct pcr_bank *bank = pcr_banks_add(banks, alg);

	if (!bank)
		return err_set(-EINVAL, "%s: too many banks", what);
	json_object_object_foreach(obj, key, val)
	{
		char *end;
		unsigned long idx = strtoul(key, &end, 10);
		size_t len;

		if (*end || end == key || idx >= PCR_COUNT)
			return err_set(-EINVAL, "%s: pcrs.%s: \"%s\" is not a PCR index", what,
				       alg->name, key);
		if (!json_object_is_type(val, json_type_string) ||
		    hex_decode(json_object_get_string(val), bank->value[idx], DIGEST_MAX, &len) <
			    0 ||
		    len != alg->size)
			return err_set(-EINVAL, "%s: pcrs.%s.%s is not a %zu-byte hex value", what,
				       alg->name, key, alg->size);
		bank->extended |= 1u << idx;
	}
	return 0;
}

int pcr_values_from_json_object(const struct json_object *doc, const char *what,
				struct pcr_banks *ret)
{
	struct json_object *pcrs;
	struct pcr_banks banks;
	int rc = 0;

	if (!json_object_object_get_ex(doc, "pcrs", &pcrs) ||
	    !json_object_is_type(pcrs, json_type_object))
		return err_set(-EINVAL, "%s: no \"pcrs\" object", what);
	pcr_banks_init(&banks);
	json_object_object_foreach(pcrs, name, obj)
	{
		const struct hash_alg *alg = hash_alg_by_name(name);

		if (!alg || !json_object_is_type(obj, json_type_object))
			return err_set(-EINVAL, "%s: pcrs.%s is not a known bank", what, name);
		if ((rc = bank_from_json(obj, what, alg, &banks)) < 0)
			return rc;
	}
	*ret = banks;
	return 0;
}

int pcr_values_from_json(const char *text, const char *what, struct pcr_banks *ret)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc;
	int rc;

	if (!tok)
		return err_set(-ENOMEM, "out of memory");
	doc = json_tokener_parse_ex(tok, text, (int)strlen(text));
	if (!doc) {
		rc = err_set(-EINVAL, "%s: not JSON: %s at byte %zu", what,
			     json_tokener_error_desc(json_tokener_get_error(tok)),
			     json_tokener_get_parse_end(tok));
		json_tokener_free(tok);
		return rc;
	}
	json_tokener_free(tok);
	rc = pcr_values_from_json_object(doc, what, ret);
	json_object_put(doc);
	return rc;
}

static int from_raw(const uint8_t *buf, size_t len, const char *path,
		    const struct pcr_selection *sel, struct pcr_banks *ret)
{
	struct pcr_banks banks;
	size_t need = 0, off = 0;

	for (unsigned b = 0; b < sel->count; b++)
		need += (size_t)__builtin_popcount(sel->bank[b].mask) * sel->bank[b].alg->size;
	if (len != need)
		return err_set(-EINVAL,
			       "%s: %zu bytes, but the selection needs %zu (raw values) "
			       "and it is not a JSON document either",
			       path, len, need);
	pcr_banks_init(&banks);
	for (unsigned b = 0; b < sel->count; b++) {
		struct pcr_bank *bank = pcr_banks_add(&banks, sel->bank[b].alg);

		for (unsigned i = 0; i < PCR_COUNT; i++) {
			if (!(sel->bank[b].mask & (1u << i)))
				continue;
			memcpy(bank->value[i], buf + off, bank->alg->size);
			bank->extended |= 1u << i;
			off += bank->alg->size;
		}
	}
	*ret = banks;
	return 0;
}

int pcr_values_load(const char *path, const struct pcr_selection *sel, struct pcr_banks *ret)
{
	uint8_t *buf;
	size_t len, i = 0;
	int rc = file_read_all(path, VALUES_FILE_MAX, &buf, &len);

	if (rc < 0)
		return rc;
	while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t' || buf[i] == '\r'))
		i++;
	if (i < len && buf[i] == '{' && strlen((char *)buf) == len) {
		rc = pcr_values_from_json((char *)buf, path, ret);
		for (unsigned b = 0; rc == 0 && b < sel->count; b++) {
			struct pcr_bank *bank = pcr_banks_find(ret, sel->bank[b].alg);
			uint32_t missing = sel->bank[b].mask & ~(bank ? bank->extended : 0);

			if (missing)
				rc = err_set(-EINVAL, "%s: no %s value for PCR %d", path,
					     sel->bank[b].alg->name, __builtin_ctz(missing));
		}
	} else {
		rc = from_raw(buf, len, path, sel, ret);
	}
	free(buf);
	return rc;
}
