// SPDX-License-Identifier: MIT
/*
 * pcrpredict firmware --code OVMF_CODE.fd [--vars OVMF_VARS.fd]
 *     [--platform PROFILE] [--nic MODEL] [--option-rom ROM]...
 * PCR 0-3 and 6 of a QEMU/OVMF boot, event by event, each saying where it
 * came from: the firmware volumes Tcg2Pei hashes (lib/ovmf), the boot
 * options OVMF makes for its own applications, the option ROM drivers of
 * QEMU's devices, the separators -- and from a platform profile only what no
 * file holds (docs/FORMATS.md).
 *
 * pcrpredict firmware --make-profile LOG --code OVMF_CODE.fd [--peifv-dump MEM]
 * writes the profile of a reference boot: the events of LOG's PCR 0-3, 6
 * that the files do not give.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authenticode.h"
#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "fw_predict.h"
#include "hex.h"
#include "jsonw.h"
#include "ovmf.h"
#include "pcr.h"
#include "pcrpredict.h"
#include "reader.h"
#include "uefi_var.h"

static void print_pred(const struct fw_pred *p, const struct pp_opts *o,
		       const struct pcr_banks *banks)
{
	char hex[2 * DIGEST_MAX + 1];

	if (o->json) {
		struct jw j;

		jw_init(&j, stdout);
		jw_object_begin(&j);
		jw_key(&j, "events");
		jw_array_begin(&j);
		for (size_t i = 0; i < p->n; i++) {
			const char *tn = tcg_event_type_name(p->ev[i].type);

			jw_object_begin(&j);
			jw_key(&j, "pcr");
			jw_uint(&j, p->ev[i].pcr);
			jw_key(&j, "type");
			jw_string(&j, tn ? tn : "unknown");
			jw_key(&j, "source");
			jw_string(&j, p->ev[i].source);
			jw_key(&j, "event");
			jw_hex(&j, p->ev[i].data, p->ev[i].data_len);
			jw_key(&j, "digests");
			jw_object_begin(&j);
			for (unsigned b = 0; b < o->n_banks; b++) {
				jw_key(&j, o->banks[b]->name);
				jw_hex(&j, p->ev[i].d[b].value, o->banks[b]->size);
			}
			jw_object_end(&j);
			jw_object_end(&j);
		}
		jw_array_end(&j);
		jw_key(&j, "pcrs");
		pcr_banks_json(&j, banks, FW_PCRS, true);
		jw_object_end(&j);
		jw_finish(&j);
		return;
	}
	for (unsigned pcr = 0; pcr < 8; pcr++) {
		if (!(FW_PCRS >> pcr & 1))
			continue;
		for (size_t i = 0; i < p->n; i++) {
			if (p->ev[i].pcr != pcr)
				continue;
			printf("PCR %u  %s\n        %s\n", pcr, tcg_event_type_name(p->ev[i].type),
			       p->ev[i].source);
			for (unsigned b = 0; b < o->n_banks; b++) {
				hex_encode(p->ev[i].d[b].value, o->banks[b]->size, hex);
				printf("        %s:%s\n", o->banks[b]->name, hex);
			}
		}
		for (unsigned b = 0; b < banks->count; b++) {
			hex_encode(banks->bank[b].value[pcr], banks->bank[b].alg->size, hex);
			printf("PCR %u = %s:%s\n", pcr, banks->bank[b].alg->name, hex);
		}
	}
}

/* ---- --make-profile ---- */

/* VariableData and name of a UEFI_VARIABLE_DATA event; -EBADMSG when it is not one. */
static int parse_vardata(const struct tcg_event *ev, const char *what, char *name, size_t name_size,
			 const uint8_t **ret, size_t *ret_len)
{
	uint64_t nlen, dlen;

	if (ev->data_len < 32)
		return err_set(-EBADMSG, "%s: event at offset %zu: UEFI_VARIABLE_DATA cut short",
			       what, ev->offset);
	nlen = le64_at(ev->data + 16);
	dlen = le64_at(ev->data + 24);
	if (nlen >= name_size || nlen * 2 > ev->data_len - 32 ||
	    dlen != ev->data_len - 32 - nlen * 2)
		return err_set(-EBADMSG,
			       "%s: event at offset %zu: UEFI_VARIABLE_DATA sizes do not "
			       "add up",
			       what, ev->offset);
	for (uint64_t i = 0; i < nlen; i++) {
		uint8_t lo = ev->data[32 + 2 * i], hi = ev->data[33 + 2 * i];

		if (hi || lo < 0x20 || lo > 0x7e)
			return err_set(-EBADMSG, "%s: event at offset %zu: variable name not ASCII",
				       what, ev->offset);
		name[i] = (char)lo;
	}
	name[nlen] = '\0';
	*ret = ev->data + 32 + nlen * 2;
	*ret_len = (size_t)dlen;
	return 0;
}

static struct json_object *jhex(const uint8_t *d, size_t n)
{
	char *h = malloc(2 * n + 1);
	struct json_object *o;

	if (!h)
		return NULL;
	hex_encode(d, n, h);
	o = json_object_new_string(h);
	free(h);
	return o;
}

static struct json_object *jdigests(const struct tcg_event *ev)
{
	struct json_object *d = json_object_new_object();

	for (unsigned i = 0; i < ev->n_digests; i++)
		json_object_object_add(d, ev->digest[i].alg->name,
				       jhex(ev->digest[i].value, ev->digest[i].alg->size));
	return d;
}

static const struct alg_digest *log_digest(const struct tcg_event *ev, const struct hash_alg *a)
{
	for (unsigned i = 0; i < ev->n_digests; i++)
		if (ev->digest[i].alg == a)
			return &ev->digest[i];
	return NULL;
}

/* Does our event @e give @ev's digest in every bank both have? */
static bool same_digests(const struct fw_event *e, const struct tcg_event *ev,
			 const struct pp_opts *o)
{
	unsigned n = 0;

	for (unsigned b = 0; b < o->n_banks; b++) {
		const struct alg_digest *d = log_digest(ev, o->banks[b]);

		if (!d)
			continue;
		if (memcmp(d->value, e->d[b].value, o->banks[b]->size) != 0)
			return false;
		n++;
	}
	return n > 0;
}

static struct json_object *jentry(unsigned pcr, uint32_t type, const char *why)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "pcr", json_object_new_int((int)pcr));
	json_object_object_add(j, "type", json_object_new_string(tcg_event_type_name(type)));
	json_object_object_add(j, "why", json_object_new_string(why));
	return j;
}

/* A patch from PEIFV as stored to a RAM dump of it: the changed span, within one FFS file. */
static int peifv_patch(const struct fw_inputs *in, const char *dump_path,
		       const struct tcg_event *ev, const struct pp_opts *o,
		       struct json_object **ret)
{
	const struct ovmf_fv *fv = &in->code.pei;
	uint8_t *m;
	size_t len, first = SIZE_MAX, last = 0;
	int rc;

	if ((rc = file_read_all(dump_path, FW_FILE_MAX, &m, &len)) < 0)
		return err_wrap(rc, "%s", dump_path);
	if (len != fv->len) {
		free(m);
		return err_set(-EINVAL, "%s: 0x%zx bytes, PEIFV has 0x%zx", dump_path, len,
			       fv->len);
	}
	for (size_t i = 0; i < len; i++)
		if (m[i] != fv->data[i]) {
			if (first == SIZE_MAX)
				first = i;
			last = i;
		}
	/* the dump must hash to the logged digest, or it is not of that boot */
	for (unsigned b = 0; b < o->n_banks; b++) {
		const struct alg_digest *d = log_digest(ev, o->banks[b]);
		uint8_t h[DIGEST_MAX];

		if (d && (digest_buf(o->banks[b], m, len, h) < 0 ||
			  memcmp(h, d->value, o->banks[b]->size) != 0)) {
			free(m);
			return err_set(-EINVAL, "%s: its %s digest is not the log's PEIFV digest",
				       dump_path, o->banks[b]->name);
		}
	}
	if (first == SIZE_MAX) {
		free(m);
		*ret = NULL;
		return 0;
	}
	/* relative to the FFS file holding the span: survives a rebuild that moves the file */
	uint8_t guid[16];
	size_t foff, flen;
	char g[37];

	if ((rc = ovmf_fv_file_at(fv, in->code_path, first, guid, &foff, &flen)) < 0 ||
	    last >= foff + flen) {
		free(m);
		return rc < 0 ? rc
			      : err_set(-EINVAL,
					"%s: the changed bytes (0x%zx-0x%zx) span more than "
					"one FFS file of PEIFV",
					dump_path, first, last);
	}
	struct json_object *patch = json_object_new_object();

	ovmf_guid_format(guid, g);
	json_object_object_add(patch, "file", json_object_new_string(g));
	json_object_object_add(patch, "offset", json_object_new_int64((int64_t)(first - foff)));
	json_object_object_add(patch, "bytes", jhex(m + first, last - first + 1));
	free(m);
	*ret = patch;
	return 0;
}

/* The application GUID when @opt is a load option for an application in DXEFV, else false. */
static bool fv_app_option(const struct ovmf_code *c, const uint8_t *opt, size_t len,
			  uint8_t guid[16], char *desc, size_t desc_size)
{
	static const uint8_t fv_node[4] = {0x04, 0x07, 20, 0}, file_node[4] = {0x04, 0x06, 20, 0},
			     end_node[4] = {0x7f, 0xff, 0x04, 0x00};
	size_t p = 6, n = 0;

	if (len < 6 || opt[4] != 44 || opt[5] != 0 || !c->dxe.has_name)
		return false;
	while (p + 2 <= len && (opt[p] || opt[p + 1])) {
		if (opt[p + 1] || opt[p] < 0x20 || opt[p] > 0x7e || n + 1 >= desc_size)
			return false;
		desc[n++] = (char)opt[p];
		p += 2;
	}
	desc[n] = '\0';
	p += 2;
	if (p > len || len - p != 44 || memcmp(opt + p, fv_node, 4) ||
	    memcmp(opt + p + 4, c->dxe.name, 16) || memcmp(opt + p + 20, file_node, 4) ||
	    memcmp(opt + p + 40, end_node, 4))
		return false;
	memcpy(guid, opt + p + 24, 16);
	return true;
}

static const char *why_for_type(uint32_t type)
{
	switch (type) {
	case EV_EFI_HANDOFF_TABLES:
		return "tables QEMU builds at run time (SMBIOS, ACPI): no file holds them";
	case EV_PLATFORM_CONFIG_FLAGS:
		return "platform configuration QEMU reports at run time";
	case EV_EFI_BOOT_SERVICES_DRIVER:
		return "a driver from an option ROM not given (--nic, --option-rom)";
	default:
		return "an event the firmware files do not give";
	}
}

/* A profile entry for one PCR 1 boot variable of the log. */
static int profile_boot_var(struct fw_inputs *in, const struct tcg_event *ev, const char *log_path,
			    struct json_object **ret)
{
	char name[64], desc[128];
	const uint8_t *data = NULL;
	uint8_t guid[16];
	size_t len = 0;
	struct json_object *j;
	int rc;

	if ((rc = parse_vardata(ev, log_path, name, sizeof(name), &data, &len)) < 0)
		return rc;
	if (strncmp(name, "Boot", 4) == 0 && strlen(name) == 8 &&
	    fv_app_option(&in->code, data, len, guid, desc, sizeof(desc))) {
		uint32_t attr = le32_at(data);
		char g[37];

		for (int with_desc = 0; with_desc < 2; with_desc++) {
			uint8_t *opt;
			size_t opt_len;
			bool same;

			if (ovmf_fv_boot_option(&in->code, in->code_path, guid, attr,
						with_desc ? desc : NULL, &opt, &opt_len) < 0)
				continue;
			same = opt_len == len && memcmp(opt, data, len) == 0;
			free(opt);
			if (!same)
				continue;
			ovmf_guid_format(guid, g);
			j = jentry(
				1, ev->type,
				"the number BDS gave the boot option of an OVMF application; its "
				"contents come from OVMF_CODE");
			json_object_object_add(j, "variable", json_object_new_string(name));
			json_object_object_add(j, "fv_app", json_object_new_string(g));
			json_object_object_add(j, "attributes", json_object_new_int64(attr));
			if (with_desc)
				json_object_object_add(j, "description",
						       json_object_new_string(desc));
			*ret = j;
			return 0;
		}
	}
	j = jentry(
		1, ev->type,
		strcmp(name, "BootOrder") == 0
			? "the boot order OVMF's BDS sets at run time from QEMU's bootindex "
			  "properties (fw_cfg bootorder)"
			: "a boot option OVMF's BDS creates at run time for a device QEMU attaches "
			  "(its PCI path, model and serial number)");
	json_object_object_add(j, "variable", json_object_new_string(name));
	json_object_object_add(j, "data", jhex(data, len));
	*ret = j;
	return 0;
}

static int make_profile(struct fw_inputs *in, const char *log_path, const char *dump,
			const char *out_path)
{
	struct pp_opts o = {0};
	struct tcg_log log;
	struct fw_pred *p = NULL;
	struct json_object *doc = NULL, *events;
	struct pcr_banks want, got;
	uint8_t *buf;
	size_t len;
	unsigned blob = 0;
	int rc;

	if ((rc = file_read_all(log_path, FW_FILE_MAX, &buf, &len)) < 0)
		return err_wrap(rc, "%s", log_path);
	if ((rc = tcg_log_parse(buf, len, log_path, &log)) < 0) {
		free(buf);
		return rc;
	}
	for (unsigned i = 0; i < log.n_algs && o.n_banks < PCR_BANKS_MAX; i++)
		if (log.alg[i])
			o.banks[o.n_banks++] = log.alg[i];
	if (!(p = calloc(1, sizeof(*p)))) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = fw_predict(in, &o, p)) < 0)
		goto out;
	doc = json_object_new_object();
	events = json_object_new_array();
	json_object_object_add(doc, "format", json_object_new_string(FW_PROFILE_FORMAT));
	json_object_object_add(doc, "version", json_object_new_int(1));
	json_object_object_add(doc, "made_from", json_object_new_string(log_path));
	json_object_object_add(doc, "code", json_object_new_string(in->code_path));
	json_object_object_add(doc, "events", events);
	for (size_t i = 0; i < log.n_events; i++) {
		const struct tcg_event *ev = &log.event[i];
		struct json_object *j = NULL;
		const struct fw_event *mine = NULL;

		if (ev->pcr > 7 || !(FW_PCRS >> ev->pcr & 1) || ev->type == EV_NO_ACTION)
			continue;
		/* our event of the same kind, if we make one */
		for (size_t k = 0, nth = 0; k < p->n && !mine; k++) {
			if (p->ev[k].pcr != ev->pcr || p->ev[k].type != ev->type)
				continue;
			if (ev->type == EV_EFI_PLATFORM_FIRMWARE_BLOB && nth++ != blob)
				continue;
			if (ev->type == EV_EFI_BOOT_SERVICES_DRIVER &&
			    !same_digests(&p->ev[k], ev, &o))
				continue;
			mine = &p->ev[k];
		}
		if (ev->type == EV_EFI_PLATFORM_FIRMWARE_BLOB) {
			const char *fv = blob == 0 ? "PEIFV" : blob == 1 ? "DXEFV" : NULL;

			blob++;
			if (mine && same_digests(mine, ev, &o))
				continue;
			if (fv && blob == 1 && dump) {
				struct json_object *patch = NULL;

				if ((rc = peifv_patch(in, dump, ev, &o, &patch)) < 0)
					goto out;
				j = jentry(
					0, ev->type,
					"PlatformPei's run-time state (EFI_HOB_PLATFORM_INFO: host "
					"bridge, memory map, MMIO apertures, CPUs, SMM/TSEG) which "
					"it writes into its own image in PEIFV before Tcg2Pei "
					"hashes "
					"the volume; QEMU's answers, in no file");
				json_object_object_add(j, "replaces", json_object_new_string(fv));
				if (patch)
					json_object_object_add(j, "patch", patch);
				else
					json_object_object_add(j, "digests", jdigests(ev));
			} else {
				j = jentry(
					0, ev->type,
					fv && blob == 1
						? "PEIFV as it lay in RAM when hashed: PlatformPei "
						  "wrote QEMU's platform info into its own image "
						  "(give --peifv-dump for the bytes instead)"
						: "a firmware volume that differs from "
						  "OVMF_CODE's");
				if (fv)
					json_object_object_add(j, "replaces",
							       json_object_new_string(fv));
				else
					json_object_object_add(j, "event",
							       jhex(ev->data, ev->data_len));
				json_object_object_add(j, "digests", jdigests(ev));
			}
		} else if (ev->type == EV_S_CRTM_VERSION) {
			if (mine && same_digests(mine, ev, &o))
				continue;
			j = jentry(0, ev->type, "a CRTM version other than EDK2's empty default");
			json_object_object_add(j, "replaces",
					       json_object_new_string("EV_S_CRTM_VERSION"));
			json_object_object_add(j, "digests", jdigests(ev));
		} else if (ev->type == EV_SEPARATOR && mine && same_digests(mine, ev, &o)) {
			continue;
		} else if (ev->type == EV_EFI_BOOT_SERVICES_DRIVER && mine) {
			continue;
		} else if (ev->type == EV_EFI_VARIABLE_BOOT && ev->pcr == 1) {
			if ((rc = profile_boot_var(in, ev, log_path, &j)) < 0)
				goto out;
		} else {
			j = jentry(ev->pcr, ev->type, why_for_type(ev->type));
			json_object_object_add(j, "event", jhex(ev->data, ev->data_len));
			json_object_object_add(j, "digests", jdigests(ev));
		}
		json_object_array_add(events, j);
	}
	/* the profile must give back the log's PCRs, or it is not that boot's */
	in->profile = doc;
	in->profile_path = out_path ? out_path : "the new profile";
	fw_pred_free(p);
	if ((rc = fw_predict(in, &o, p)) < 0 || (rc = fw_replay(p, &o, &got)) < 0)
		goto out;
	pcr_banks_init(&want);
	if ((rc = tcg_log_replay(&log, &want)) < 0)
		goto out;
	for (unsigned b = 0; b < o.n_banks; b++)
		for (unsigned pcr = 0; pcr < 8; pcr++)
			if ((FW_PCRS >> pcr & 1) &&
			    memcmp(pcr_banks_get(&want, o.banks[b])->value[pcr],
				   pcr_banks_get(&got, o.banks[b])->value[pcr], o.banks[b]->size)) {
				rc = err_set(-EINVAL,
					     "%s: the profile does not give back the log's "
					     "PCR %u (%s)",
					     log_path, pcr, o.banks[b]->name);
				goto out;
			}
	const char *text = json_object_to_json_string_ext(
		doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (out_path)
		rc = file_write_atomic(out_path, text, strlen(text), 0644);
	else
		rc = printf("%s\n", text) < 0 ? -EIO : 0;
out:
	in->profile = NULL;
	if (doc)
		json_object_put(doc);
	if (p) {
		fw_pred_free(p);
		free(p);
	}
	tcg_log_free(&log);
	free(buf);
	return rc;
}

int pp_firmware_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct fw_inputs in = {.nic = "e1000e"};
	const char *make = NULL, *dump = NULL, *out = NULL;
	struct fw_pred *p = NULL;
	struct pcr_banks banks;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return err_set(-EINVAL, "%s needs a value (or is unknown)", a),
			       pp_fail("firmware");
		if (strcmp(a, "--code") == 0)
			in.code_path = v;
		else if (strcmp(a, "--vars") == 0)
			in.vars_path = v;
		else if (strcmp(a, "--platform") == 0)
			in.profile_path = v;
		else if (strcmp(a, "--nic") == 0)
			in.nic = v;
		else if (strcmp(a, "--option-rom") == 0 && in.n_roms < FW_ROMS_MAX)
			in.roms[in.n_roms++] = v;
		else if (strcmp(a, "--make-profile") == 0)
			make = v;
		else if (strcmp(a, "--peifv-dump") == 0)
			dump = v;
		else if (strcmp(a, "--out") == 0)
			out = v;
		else
			return err_set(-EINVAL, "unknown option %s", a), pp_fail("firmware");
		i++;
	}
	if (!in.code_path)
		return err_set(-EINVAL, "needs --code OVMF_CODE.fd"), pp_fail("firmware");
	if (make) {
		/* the profile is what is being made: --platform is not read */
		in.profile_path = NULL;
		in.quiet = true;
		rc = fw_inputs_load(&in);
		if (rc == 0)
			rc = make_profile(&in, make, dump, out);
		fw_inputs_free(&in);
		return rc < 0 ? pp_fail("firmware") : PP_EXIT_OK;
	}
	if ((rc = fw_inputs_load(&in)) < 0 || !(p = calloc(1, sizeof(*p))) ||
	    (rc = fw_predict(&in, opts, p)) < 0 || (rc = fw_replay(p, opts, &banks)) < 0) {
		if (!p && rc == 0)
			err_set(-ENOMEM, "out of memory");
		if (p)
			fw_pred_free(p);
		free(p);
		fw_inputs_free(&in);
		return pp_fail("firmware");
	}
	print_pred(p, opts, &banks);
	fw_pred_free(p);
	free(p);
	fw_inputs_free(&in);
	return PP_EXIT_OK;
}
