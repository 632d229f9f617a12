// SPDX-License-Identifier: MIT
/*
 * PCR 0-3 and 6 of a QEMU/OVMF boot from the firmware files (fw_predict.h):
 * shared by `pcrpredict firmware` and `pcrpredict build`.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authenticode.h"
#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "fw_predict.h"
#include "hex.h"
#include "mem.h"
#include "ovmf.h"
#include "pcr.h"
#include "reader.h"
#include "uefi_var.h"

#define PROFILE_MAX (4u << 20)

/* QEMU's firmware path on Debian (qemu-system-data, ipxe-qemu) */
static const char *const rom_dirs[] = {"/usr/share/qemu", "/usr/lib/ipxe/qemu"};

void fw_pred_free(struct fw_pred *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ev[i].data);
	p->n = 0;
}

/* A new event with its data copied; NULL (with err_set) when full. */
static struct fw_event *ev_add(struct fw_pred *p, unsigned pcr, uint32_t type, const void *data,
			       size_t len)
{
	struct fw_event *e;

	if (p->n >= FW_EVENTS_MAX)
		return err_set(-E2BIG, "more than %d firmware events", FW_EVENTS_MAX), NULL;
	e = &p->ev[p->n];
	memset(e, 0, sizeof(*e));
	if (!(e->data = malloc(len ? len : 1)))
		return err_set(-ENOMEM, "out of memory"), NULL;
	if (len)
		memcpy(e->data, data, len);
	e->data_len = len;
	e->pcr = pcr;
	e->type = type;
	p->n++;
	return e;
}

/* Digests of @buf in every bank asked for. */
static int ev_hash(struct fw_event *e, const struct pp_opts *o, const void *buf, size_t len)
{
	for (unsigned b = 0; b < o->n_banks; b++) {
		int rc;

		e->d[b].alg = o->banks[b];
		rc = digest_buf(o->banks[b], buf, len, e->d[b].value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Per-bank digests a profile entry gives ({"sha256":"hex",...}); -ENOENT for a bank it lacks. */
static int ev_digests_from(struct fw_event *e, const struct pp_opts *o, struct json_object *d,
			   const char *where)
{
	for (unsigned b = 0; b < o->n_banks; b++) {
		struct json_object *v;
		size_t n;

		if (!json_object_object_get_ex(d, o->banks[b]->name, &v) ||
		    !json_object_is_type(v, json_type_string))
			return err_set(-ENOENT,
				       "%s: no %s digest (the profile was made for other "
				       "banks)",
				       where, o->banks[b]->name);
		e->d[b].alg = o->banks[b];
		if (hex_decode(json_object_get_string(v), e->d[b].value, DIGEST_MAX, &n) < 0 ||
		    n != o->banks[b]->size)
			return err_set(-EINVAL, "%s: %s digest is not %zu bytes of hex", where,
				       o->banks[b]->name, o->banks[b]->size);
	}
	return 0;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* Hex text of any length into a malloc'd buffer. */
static int hex_alloc(const char *text, const char *where, uint8_t **ret, size_t *ret_len)
{
	size_t max = strlen(text) / 2 + 1, n;
	uint8_t *b = malloc(max);

	if (!b)
		return err_set(-ENOMEM, "out of memory");
	if (hex_decode(text, b, max, &n) < 0) {
		free(b);
		return err_set(-EINVAL, "%s: not hex", where);
	}
	*ret = b;
	*ret_len = n;
	return 0;
}

static void ev_source(struct fw_event *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ev_source(struct fw_event *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->source, sizeof(e->source), fmt, ap);
	va_end(ap);
}

/* The profile's entries, checked once: -EINVAL naming the entry for anything odd. */
static int profile_load(struct fw_inputs *in)
{
	uint8_t *buf;
	size_t len;
	struct json_object *events;
	const char *fmt;
	int rc;

	rc = file_read_all(in->profile_path, PROFILE_MAX, &buf, &len);
	if (rc < 0)
		return err_wrap(rc, "%s", in->profile_path);
	enum json_tokener_error jerr;
	in->profile = json_tokener_parse_verbose((const char *)buf, &jerr);
	free(buf);
	if (!in->profile)
		return err_set(-EINVAL, "%s: not JSON (%s)", in->profile_path,
			       json_tokener_error_desc(jerr));
	fmt = jstr(in->profile, "format");
	if (!fmt || strcmp(fmt, FW_PROFILE_FORMAT) != 0)
		return err_set(-EINVAL, "%s: \"format\" is not \"%s\"", in->profile_path,
			       FW_PROFILE_FORMAT);
	events = jget(in->profile, "events");
	if (!events || !json_object_is_type(events, json_type_array))
		return err_set(-EINVAL, "%s: no \"events\" array", in->profile_path);
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		struct json_object *e = json_object_array_get_idx(events, i), *pcr;
		const char *type;
		uint32_t t;

		if (!json_object_is_type(e, json_type_object) || !(pcr = jget(e, "pcr")) ||
		    !json_object_is_type(pcr, json_type_int) || json_object_get_int(pcr) < 0 ||
		    json_object_get_int(pcr) > 7 || !(FW_PCRS >> json_object_get_int(pcr) & 1))
			return err_set(-EINVAL,
				       "%s: event %zu: \"pcr\" is not one of 0, 1, 2, 3, 6",
				       in->profile_path, i);
		if (!(type = jstr(e, "type")) || tcg_event_type_by_name(type, &t) < 0)
			return err_set(-EINVAL, "%s: event %zu: \"type\" is not a known event type",
				       in->profile_path, i);
		if (!jget(e, "replaces") && !jget(e, "variable") && !jstr(e, "event"))
			return err_set(
				-EINVAL,
				"%s: event %zu: needs \"replaces\", \"variable\" or \"event\"",
				in->profile_path, i);
	}
	return 0;
}

/* The profile entry replacing @what ("PEIFV", "DXEFV", "EV_S_CRTM_VERSION"), NULL when none. */
static struct json_object *profile_replacing(const struct fw_inputs *in, const char *what)
{
	struct json_object *events = in->profile ? jget(in->profile, "events") : NULL;

	for (size_t i = 0; events && i < json_object_array_length(events); i++) {
		struct json_object *e = json_object_array_get_idx(events, i);
		const char *r = jstr(e, "replaces");

		if (r && strcmp(r, what) == 0)
			return e;
	}
	return NULL;
}

static const char *why_of(struct json_object *e)
{
	const char *w = jstr(e, "why");

	return w ? w : "no reason given";
}

/* PEIFV with the profile's patch: the bytes PlatformPei writes into its own image. */
static int peifv_patched(const struct fw_inputs *in, struct json_object *patch, uint8_t **ret,
			 char *desc, size_t desc_size)
{
	const char *file = jstr(patch, "file"), *bytes = jstr(patch, "bytes");
	struct json_object *jo = jget(patch, "offset");
	uint8_t guid[16], *b, *copy;
	size_t off, flen, n;
	int64_t at;
	int rc;

	if (!file || ovmf_guid_parse(file, guid) < 0 || !bytes || !jo ||
	    !json_object_is_type(jo, json_type_int) || (at = json_object_get_int64(jo)) < 0)
		return err_set(-EINVAL,
			       "%s: the PEIFV patch needs \"file\" (a GUID), \"offset\" and "
			       "\"bytes\"",
			       in->profile_path);
	rc = ovmf_fv_file(&in->code.pei, in->code_path, guid, &off, &flen);
	if (rc < 0)
		return rc == -ENOENT ? err_set(-EINVAL,
					       "%s: PEIFV of %s has no file %s (the "
					       "profile's patch is for another build)",
					       in->profile_path, in->code_path, file)
				     : rc;
	rc = hex_alloc(bytes, in->profile_path, &b, &n);
	if (rc < 0)
		return rc;
	if ((uint64_t)at > flen || n > flen - (size_t)at) {
		free(b);
		return err_set(-EINVAL,
			       "%s: the PEIFV patch (0x%zx bytes at 0x%" PRIx64
			       ") runs past file %s (0x%zx bytes)",
			       in->profile_path, n, (uint64_t)at, file, flen);
	}
	if (!(copy = malloc(in->code.pei.len))) {
		free(b);
		return err_set(-ENOMEM, "out of memory");
	}
	memcpy(copy, in->code.pei.data, in->code.pei.len);
	memcpy(copy + off + (size_t)at, b, n);
	free(b);
	snprintf(desc, desc_size, "0x%zx bytes at 0x%zx", n, off + (size_t)at);
	*ret = copy;
	return 0;
}

static int add_fv_event(struct fw_pred *p, const struct fw_inputs *in, const struct pp_opts *o,
			const struct ovmf_fv *fv, const char *name)
{
	uint8_t blob[16];
	struct fw_event *e;
	struct json_object *r = profile_replacing(in, name), *patch;
	char g[37] = "no name";
	int rc;

	for (int i = 0; i < 8; i++) {
		blob[i] = (uint8_t)(fv->base >> (8 * i));
		blob[8 + i] = (uint8_t)((uint64_t)fv->len >> (8 * i));
	}
	if (!(e = ev_add(p, 0, EV_EFI_PLATFORM_FIRMWARE_BLOB, blob, sizeof(blob))))
		return -ENOMEM;
	if (fv->has_name)
		ovmf_guid_format(fv->name, g);
	if (r && (patch = jget(r, "patch"))) {
		uint8_t *copy = NULL;
		char desc[96];

		rc = peifv_patched(in, patch, &copy, desc, sizeof(desc));
		if (rc < 0)
			return rc;
		rc = ev_hash(e, o, copy, fv->len);
		free(copy);
		ev_source(e,
			  "from %s: %s (Fv %s, 0x%zx bytes at 0x%" PRIx64
			  ") decompressed from the LZMA section at 0x%zx, with %s from the "
			  "platform profile: %s",
			  in->code_path, name, g, fv->len, fv->base, in->code.section_off, desc,
			  why_of(r));
		return rc;
	}
	if (r) {
		ev_source(e, "from the platform profile: %s", why_of(r));
		return ev_digests_from(e, o, jget(r, "digests"), in->profile_path);
	}
	ev_source(e,
		  "from %s: %s (Fv %s, 0x%zx bytes at 0x%" PRIx64
		  ") decompressed from the LZMA section at 0x%zx of FVMAIN_COMPACT",
		  in->code_path, name, g, fv->len, fv->base, in->code.section_off);
	if (strcmp(name, "PEIFV") == 0 && !in->quiet)
		log_warn("PEIFV as stored: OVMF's PlatformPei writes into it before Tcg2Pei hashes "
			 "it; without a profile's patch the digest is not the boot's");
	return ev_hash(e, o, fv->data, fv->len);
}

/* One PCR 1 EV_EFI_VARIABLE_BOOT event for @name with VariableData @data. */
static int add_boot_var(struct fw_pred *p, const struct pp_opts *o, const char *name,
			const uint8_t *data, size_t len, struct fw_event **ret)
{
	uint8_t *vd;
	size_t vd_len;
	struct fw_event *e;
	int rc;

	rc = uefi_variable_data(EFI_GLOBAL_VARIABLE_GUID, name, data, len, &vd, &vd_len);
	if (rc < 0)
		return rc;
	e = ev_add(p, 1, EV_EFI_VARIABLE_BOOT, vd, vd_len);
	free(vd);
	if (!e)
		return -ENOMEM;
	*ret = e;
	/* EDK2 hashes the variable's data alone for boot variables (checked on the logs) */
	return ev_hash(e, o, data, len);
}

static int add_profile_event(struct fw_pred *p, const struct fw_inputs *in, const struct pp_opts *o,
			     struct json_object *j, size_t idx)
{
	const char *var = jstr(j, "variable"), *ev = jstr(j, "event");
	unsigned pcr = (unsigned)json_object_get_int(jget(j, "pcr"));
	char where[600];
	struct fw_event *e;
	uint32_t type;
	int rc;

	snprintf(where, sizeof(where), "%s: event %zu", in->profile_path, idx);
	tcg_event_type_by_name(jstr(j, "type"), &type);
	if (var) {
		const struct uefi_var *v =
			in->have_vs ? uefi_var_find(&in->vs, EFI_GLOBAL_VARIABLE_GUID, var) : NULL;
		const char *app = jstr(j, "fv_app"), *hex = jstr(j, "data");

		if (strlen(var) > 32)
			return err_set(-EINVAL, "%s: variable name too long", where);
		if (v) {
			rc = add_boot_var(p, o, var, v->data, v->len, &e);
			if (rc < 0)
				return rc;
			ev_source(e, "from %s: the variable %s", in->vars_path, var);
		} else if (app) {
			uint8_t guid[16], *opt;
			size_t opt_len;
			struct json_object *a = jget(j, "attributes");

			if (ovmf_guid_parse(app, guid) < 0 || !a ||
			    !json_object_is_type(a, json_type_int))
				return err_set(-EINVAL,
					       "%s: \"fv_app\" needs a GUID and \"attributes\"",
					       where);
			rc = ovmf_fv_boot_option(&in->code, in->code_path, guid,
						 (uint32_t)json_object_get_int64(a),
						 jstr(j, "description"), &opt, &opt_len);
			if (rc == -ENOENT)
				return err_set(-EINVAL, "%s: DXEFV of %s has no application %s",
					       where, in->code_path, app);
			if (rc < 0)
				return rc;
			rc = add_boot_var(p, o, var, opt, opt_len, &e);
			free(opt);
			if (rc < 0)
				return rc;
			ev_source(
				e,
				"from %s: %s, the boot option OVMF's BDS makes for application %s "
				"in DXEFV (its number from the platform profile)",
				in->code_path, var, app);
		} else if (hex) {
			uint8_t *data;
			size_t n;

			rc = hex_alloc(hex, where, &data, &n);
			if (rc < 0)
				return rc;
			rc = add_boot_var(p, o, var, data, n, &e);
			free(data);
			if (rc < 0)
				return rc;
			ev_source(e, "from the platform profile: %s: %s", var, why_of(j));
		} else {
			return err_set(-EINVAL, "%s: \"variable\" needs \"data\" or \"fv_app\"",
				       where);
		}
		return 0;
	}
	if (ev) {
		uint8_t *data;
		size_t n;

		rc = hex_alloc(ev, where, &data, &n);
		if (rc < 0)
			return rc;
		e = ev_add(p, pcr, type, data, n);
		if (!e) {
			free(data);
			return -ENOMEM;
		}
		rc = jget(j, "digests") ? ev_digests_from(e, o, jget(j, "digests"), where)
					: ev_hash(e, o, data, n);
		free(data);
		ev_source(e, "from the platform profile: %s", why_of(j));
		return rc;
	}
	return 0; /* "replaces": used where the event it replaces is made */
}

static int add_profile_events(struct fw_pred *p, const struct fw_inputs *in,
			      const struct pp_opts *o, unsigned pcr)
{
	struct json_object *events = in->profile ? jget(in->profile, "events") : NULL;

	for (size_t i = 0; events && i < json_object_array_length(events); i++) {
		struct json_object *e = json_object_array_get_idx(events, i);
		int rc;

		if ((unsigned)json_object_get_int(jget(e, "pcr")) != pcr || jget(e, "replaces"))
			continue;
		rc = add_profile_event(p, in, o, e, i);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int add_separator(struct fw_pred *p, const struct pp_opts *o, unsigned pcr)
{
	static const uint8_t zero[4] = {0};
	struct fw_event *e = ev_add(p, pcr, EV_SEPARATOR, zero, sizeof(zero));

	if (!e)
		return -ENOMEM;
	ev_source(e, "the separator (00000000) OVMF extends into PCR 0-7 before booting");
	return ev_hash(e, o, zero, sizeof(zero));
}

/* efi-MODEL.rom in QEMU's firmware path; NULL (with err_set) when not there. */
static const char *nic_rom(const char *model, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(rom_dirs) / sizeof(rom_dirs[0]); i++) {
		FILE *f;

		if ((size_t)snprintf(buf, size, "%s/efi-%s.rom", rom_dirs[i], model) >= size)
			break;
		if ((f = fopen(buf, "rb"))) {
			fclose(f);
			return buf;
		}
	}
	err_set(-ENOENT,
		"no option ROM efi-%s.rom in /usr/share/qemu or /usr/lib/ipxe/qemu "
		"(ipxe-qemu); give --option-rom or --nic none",
		model);
	return NULL;
}

static int add_rom(struct fw_pred *p, const struct pp_opts *o, const char *path)
{
	struct ovmf_option_rom r;
	struct fw_event *e;
	_cleanup_free_ uint8_t *rom = NULL;
	uint8_t data[32] = {0};
	size_t len;
	int rc;

	rc = file_read_all(path, FW_FILE_MAX, &rom, &len);
	if (rc < 0)
		return err_wrap(rc, "%s", path);
	rc = ovmf_option_rom_efi(rom, len, path, &r);
	if (rc < 0)
		return rc;
	rc = pe_layout_read(rom + r.pe_off, r.pe_len, path, &(struct pe_layout){0});
	if (rc < 0)
		return rc;
	/* EFI_IMAGE_LOAD_EVENT without its device path: location and link address are
	 * known only at run time and are not hashed */
	for (int i = 0; i < 8; i++)
		data[8 + i] = (uint8_t)((uint64_t)r.pe_len >> (8 * i));
	e = ev_add(p, 2, EV_EFI_BOOT_SERVICES_DRIVER, data, sizeof(data));
	if (!e)
		return -ENOMEM;
	for (unsigned b = 0; b < o->n_banks && rc == 0; b++) {
		e->d[b].alg = o->banks[b];
		rc = authenticode_digest(rom + r.pe_off, r.pe_len, path, o->banks[b],
					 e->d[b].value);
	}
	ev_source(e,
		  "from %s: the Authenticode digest of its EFI driver (PCI %04x:%04x, ROM image at "
		  "0x%zx, PE at 0x%zx, 0x%zx bytes), loaded by OVMF's PCI bus driver",
		  path, r.vendor, r.device, r.image_off, r.pe_off, r.pe_len);
	return rc;
}

int fw_predict(struct fw_inputs *in, const struct pp_opts *o, struct fw_pred *p)
{
	static const uint8_t crtm[2] = {0};
	struct json_object *r;
	struct fw_event *e;
	char rom[512];
	int rc;

	/* PCR 0: the S-CRTM version, PEIFV, DXEFV (Tcg2Pei), the separator */
	if (!(e = ev_add(p, 0, EV_S_CRTM_VERSION, crtm, sizeof(crtm))))
		return -ENOMEM;
	if ((r = profile_replacing(in, "EV_S_CRTM_VERSION"))) {
		ev_source(e, "from the platform profile: %s", why_of(r));
		rc = ev_digests_from(e, o, jget(r, "digests"), in->profile_path);
		if (rc < 0)
			return rc;
	} else {
		ev_source(e, "EDK2's PcdFirmwareVersionString, which OVMF leaves empty: the UCS-2 "
			     "string L\"\" (2 zero bytes)");
		rc = ev_hash(e, o, crtm, sizeof(crtm));
		if (rc < 0)
			return rc;
	}
	rc = add_fv_event(p, in, o, &in->code.pei, "PEIFV");
	if (rc < 0)
		return rc;
	rc = add_fv_event(p, in, o, &in->code.dxe, "DXEFV");
	if (rc < 0)
		return rc;
	rc = add_profile_events(p, in, o, 0);
	if (rc < 0)
		return rc;
	rc = add_separator(p, o, 0);
	if (rc < 0)
		return rc;
	/* PCR 1: the boot variables as BDS left them at ReadyToBoot */
	rc = add_profile_events(p, in, o, 1);
	if (rc < 0)
		return rc;
	rc = add_separator(p, o, 1);
	if (rc < 0)
		return rc;
	/* PCR 2: drivers from the option ROMs of QEMU's PCI devices */
	if (strcmp(in->nic, "none") != 0) {
		const char *path = nic_rom(in->nic, rom, sizeof(rom));

		if (!path || (rc = add_rom(p, o, path)) < 0)
			return path ? rc : -ENOENT;
	}
	for (unsigned i = 0; i < in->n_roms; i++) {
		rc = add_rom(p, o, in->roms[i]);
		if (rc < 0)
			return rc;
	}
	rc = add_profile_events(p, in, o, 2);
	if (rc < 0)
		return rc;
	rc = add_separator(p, o, 2);
	if (rc < 0)
		return rc;
	for (unsigned pcr = 3; pcr <= 6; pcr += 3) {
		rc = add_profile_events(p, in, o, pcr);
		if (rc < 0)
			return rc;
		rc = add_separator(p, o, pcr);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int fw_replay(const struct fw_pred *p, const struct pp_opts *o, struct pcr_banks *banks)
{
	pcr_banks_init(banks);
	for (unsigned b = 0; b < o->n_banks; b++) {
		struct pcr_bank *bank = pcr_banks_add(banks, o->banks[b]);

		if (!bank)
			return err_set(-EINVAL, "too many banks");
		/* in event order: each PCR's events are in the order the firmware extends them */
		for (unsigned pcr = 0; pcr < 8; pcr++)
			for (size_t i = 0; i < p->n; i++) {
				int rc;

				if (p->ev[i].pcr != pcr)
					continue;
				rc = pcr_bank_extend(bank, pcr, p->ev[i].d[b].value);
				if (rc < 0)
					return rc;
				bank->extended |= 1u << pcr;
			}
	}
	return 0;
}
int fw_inputs_load(struct fw_inputs *in)
{
	uint8_t *code;
	size_t code_len;
	int rc;

	if (!in->nic)
		in->nic = "e1000e"; /* what QEMU's q35 adds without -nic */
	if (strchr(in->nic, '/') || strlen(in->nic) > 32)
		return err_set(-EINVAL,
			       "the NIC is a QEMU NIC model (e1000e, virtio, none), not "
			       "\"%.40s\"",
			       in->nic);
	rc = file_read_all(in->code_path, FW_FILE_MAX, &code, &code_len);
	if (rc < 0)
		return err_wrap(rc, "%s", in->code_path);
	rc = ovmf_code_read(code, code_len, in->code_path, &in->code);
	free(code);
	if (rc < 0)
		return rc;
	if (in->vars_path) {
		rc = file_read_all(in->vars_path, FW_FILE_MAX, &in->vars, &in->vars_len);
		if (rc < 0)
			return err_wrap(rc, "%s", in->vars_path);
		rc = uefi_varstore_read(in->vars, in->vars_len, in->vars_path, &in->vs);
		if (rc < 0)
			return rc;
		in->have_vs = true;
	}
	return in->profile_path ? profile_load(in) : 0;
}

void fw_inputs_free(struct fw_inputs *in)
{
	ovmf_code_free(&in->code);
	if (in->have_vs)
		uefi_varstore_free(&in->vs);
	in->have_vs = false;
	free(in->vars);
	in->vars = NULL;
	if (in->profile)
		json_object_put(in->profile);
	in->profile = NULL;
}
