// SPDX-License-Identifier: MIT
/*
 * attest's state folder (--state): what it keeps of one device between
 * commands.  ak.pem, ek.pem, ak.name and identity.json from enrolment;
 * last.json (the TPM clock of the last accepted evidence) and ima.json
 * (where the verified IMA list ends, and PCR 10 there) from verification.
 * attest serve keeps the same in its database instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "attest.h"
#include "enrol.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "verify.h"

static struct json_object *state_file(const char *dir, const char *name)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return json_object_from_file(path);
}

static uint64_t get_u64(struct json_object *o, const char *key, bool *ok)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
		*ok = false;
		return 0;
	}
	return (uint64_t)json_object_get_int64(v);
}

static void load_identity(const char *dir, struct device_state *st)
{
	struct json_object *id = state_file(dir, "identity.json"), *o;
	const char *how = NULL;

	if (id && json_object_object_get_ex(id, "ek", &o) &&
	    json_object_is_type(o, json_type_string))
		how = json_object_get_string(o);
	if (how && strcmp(how, "certified") == 0 && json_object_object_get_ex(id, "issuer", &o)) {
		st->identity = IDENTITY_CERTIFIED;
		snprintf(st->ek_issuer, sizeof(st->ek_issuer), "%s", json_object_get_string(o));
	} else if (how && strcmp(how, "trust-on-first-use") == 0) {
		st->identity = IDENTITY_TOFU;
	}
	json_object_put(id);
}

static void clock_from_json(struct json_object *last, struct device_state *st)
{
	bool ok = last != NULL;

	st->reset = (uint32_t)get_u64(last, "reset", &ok);
	st->restart = (uint32_t)get_u64(last, "restart", &ok);
	st->clock = get_u64(last, "clock", &ok);
	st->has_clock = ok;
}

static void ima_from_json(struct json_object *ima, struct device_state *st)
{
	struct json_object *pcr, *o;
	bool ok = ima != NULL;

	st->ima_reset = (uint32_t)get_u64(ima, "reset", &ok);
	st->ima_offset = get_u64(ima, "offset", &ok);
	if (!ok || !json_object_object_get_ex(ima, "pcr10", &pcr))
		return;
	json_object_object_foreach(pcr, bank, hex)
	{
		const struct hash_alg *alg = hash_alg_by_name(bank);
		size_t len;

		if (!alg || st->n_pcr10 == PCR_BANKS_MAX ||
		    hex_decode(json_object_get_string(hex), st->pcr10[st->n_pcr10].value,
			       DIGEST_MAX, &len) < 0 ||
		    len != alg->size)
			continue;
		st->pcr10[st->n_pcr10++].alg = alg;
	}
	if (json_object_object_get_ex(ima, "violations", &o))
		st->ima_violations = (uint64_t)json_object_get_int64(o);
	if (json_object_object_get_ex(ima, "violation", &o) &&
	    json_object_is_type(o, json_type_string))
		snprintf(st->ima_violation_first, sizeof(st->ima_violation_first), "%s",
			 json_object_get_string(o));
	st->has_ima = true;
}

/* A folder that does not exist yet is a device never seen: an empty state. */
int device_state_load(const char *dir, struct device_state *ret)
{
	struct json_object *last = state_file(dir, "last.json"), *ima = state_file(dir, "ima.json");

	*ret = (struct device_state){0};
	load_identity(dir, ret);
	clock_from_json(last, ret);
	ima_from_json(ima, ret);
	json_object_put(last);
	json_object_put(ima);
	return 0;
}

static int write_json(const char *dir, const char *name, struct json_object *o, mode_t mode)
{
	char path[4200];
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = file_write_atomic(path, text, strlen(text), mode);
	json_object_put(o);
	return rc;
}

static struct json_object *clock_to_json(const struct device_state *st)
{
	struct json_object *last = json_object_new_object();

	json_object_object_add(last, "reset", json_object_new_int64(st->reset));
	json_object_object_add(last, "restart", json_object_new_int64(st->restart));
	json_object_object_add(last, "clock", json_object_new_int64((int64_t)st->clock));
	return last;
}

static struct json_object *ima_to_json(const struct device_state *st)
{
	struct json_object *ima = json_object_new_object(), *pcr = json_object_new_object();
	char hex[2 * DIGEST_MAX + 1];

	for (unsigned b = 0; b < st->n_pcr10; b++) {
		hex_encode(st->pcr10[b].value, st->pcr10[b].alg->size, hex);
		json_object_object_add(pcr, st->pcr10[b].alg->name, json_object_new_string(hex));
	}
	json_object_object_add(ima, "reset", json_object_new_int64(st->ima_reset));
	json_object_object_add(ima, "offset", json_object_new_int64((int64_t)st->ima_offset));
	json_object_object_add(ima, "pcr10", pcr);
	json_object_object_add(ima, "violations",
			       json_object_new_int64((int64_t)st->ima_violations));
	if (st->ima_violations)
		json_object_object_add(ima, "violation",
				       json_object_new_string(st->ima_violation_first));
	return ima;
}

int device_state_save(const char *dir, const struct device_state *st)
{
	int rc = write_json(dir, "last.json", clock_to_json(st), 0600);

	if (rc < 0 || !st->has_ima)
		return rc;
	return write_json(dir, "ima.json", ima_to_json(st), 0600);
}

/* The same state as one JSON text (attest serve's devices.state): {"last": ..., "ima": ...}. */
char *device_state_to_text(const struct device_state *st)
{
	struct json_object *o = json_object_new_object();
	char *text;

	if (st->has_clock)
		json_object_object_add(o, "last", clock_to_json(st));
	if (st->has_ima)
		json_object_object_add(o, "ima", ima_to_json(st));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}

/* Only the verification state; identity is the caller's. */
int device_state_from_text(const char *text, struct device_state *st)
{
	struct json_object *o = text ? json_tokener_parse(text) : NULL, *last = NULL, *ima = NULL;

	if (!o)
		return err_set(-EINVAL, "a device state that is not JSON");
	json_object_object_get_ex(o, "last", &last);
	json_object_object_get_ex(o, "ima", &ima);
	if (last)
		clock_from_json(last, st);
	if (ima)
		ima_from_json(ima, st);
	json_object_put(o);
	return 0;
}

/* What vouches for the device's identity, and its keys; ak.pem last: it makes the device enrolled. */
int enrolment_save(const char *dir, const char *ek_ca, const struct enrolment *e)
{
	struct json_object *id = json_object_new_object();
	char path[4200];
	int rc;

	json_object_object_add(id, "ek",
			       json_object_new_string(e->identity == IDENTITY_CERTIFIED
							      ? "certified"
							      : "trust-on-first-use"));
	if (e->identity == IDENTITY_CERTIFIED) {
		json_object_object_add(id, "ek-ca", json_object_new_string(ek_ca));
		json_object_object_add(id, "issuer", json_object_new_string(e->issuer));
	}
	if ((rc = write_json(dir, "identity.json", id, 0644)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/ek.pem", dir);
	if ((rc = file_write_atomic(path, e->ek_pem, strlen(e->ek_pem), 0644)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/ak.name", dir);
	if ((rc = file_write_atomic(path, e->ak_name, e->ak_name_len, 0644)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/ak.pem", dir);
	return file_write_atomic(path, e->ak_pem, strlen(e->ak_pem), 0644);
}
