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
#include "hex.h"
#include "jsonw.h"
#include "ovmf.h"
#include "pcr.h"
#include "pcrpredict.h"
#include "reader.h"
#include "uefi_var.h"

#define FW_FILE_MAX    (64u << 20)
#define PROFILE_MAX    (4u << 20)
#define MAX_EVENTS     128
#define MAX_ROMS       8
#define PROFILE_FORMAT "measured-platform-profile"
#define SOURCE_MAX     320
#define FW_PCRS	       ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 6))
/* QEMU's firmware path on Debian (qemu-system-data, ipxe-qemu) */
static const char *const rom_dirs[] = {"/usr/share/qemu", "/usr/lib/ipxe/qemu"};

struct fw_event {
	unsigned pcr;
	uint32_t type;
	char source[SOURCE_MAX];
	uint8_t *data; /* event data (owned) */
	size_t data_len;
	struct alg_digest d[PCR_BANKS_MAX]; /* in the order of the banks asked for */
};

struct fw_pred {
	size_t n;
	struct fw_event ev[MAX_EVENTS];
};

struct fw_inputs {
	const char *code_path, *vars_path, *profile_path;
	const char *roms[MAX_ROMS];
	unsigned n_roms;
	const char *nic; /* QEMU's default NIC model for q35, "none" for -nic none */
	struct ovmf_code code;
	uint8_t *vars;
	size_t vars_len;
	struct uefi_varstore vs;
	bool have_vs;
	struct json_object *profile;
	bool quiet; /* making a profile: PEIFV as stored is expected to differ */
};

static void pred_free(struct fw_pred *p)
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

	if (p->n >= MAX_EVENTS)
		return err_set(-E2BIG, "more than %d firmware events", MAX_EVENTS), NULL;
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
		if ((rc = digest_buf(o->banks[b], buf, len, e->d[b].value)) < 0)
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

	if ((rc = file_read_all(in->profile_path, PROFILE_MAX, &buf, &len)) < 0)
		return err_wrap(rc, "%s", in->profile_path);
	enum json_tokener_error jerr;
	in->profile = json_tokener_parse_verbose((const char *)buf, &jerr);
	free(buf);
	if (!in->profile)
		return err_set(-EINVAL, "%s: not JSON (%s)", in->profile_path,
			       json_tokener_error_desc(jerr));
	fmt = jstr(in->profile, "format");
	if (!fmt || strcmp(fmt, PROFILE_FORMAT) != 0)
		return err_set(-EINVAL, "%s: \"format\" is not \"%s\"", in->profile_path,
			       PROFILE_FORMAT);
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
	if ((rc = ovmf_fv_file(&in->code.pei, in->code_path, guid, &off, &flen)) < 0)
		return rc == -ENOENT ? err_set(-EINVAL,
					       "%s: PEIFV of %s has no file %s (the "
					       "profile's patch is for another build)",
					       in->profile_path, in->code_path, file)
				     : rc;
	if ((rc = hex_alloc(bytes, in->profile_path, &b, &n)) < 0)
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

		if ((rc = peifv_patched(in, patch, &copy, desc, sizeof(desc))) < 0)
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

	if ((rc = uefi_variable_data(EFI_GLOBAL_VARIABLE_GUID, name, data, len, &vd, &vd_len)) < 0)
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
			if ((rc = add_boot_var(p, o, var, v->data, v->len, &e)) < 0)
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

			if ((rc = hex_alloc(hex, where, &data, &n)) < 0)
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

		if ((rc = hex_alloc(ev, where, &data, &n)) < 0)
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
		if ((rc = add_profile_event(p, in, o, e, i)) < 0)
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
	uint8_t *rom, data[32] = {0};
	size_t len;
	int rc;

	if ((rc = file_read_all(path, FW_FILE_MAX, &rom, &len)) < 0)
		return err_wrap(rc, "%s", path);
	if ((rc = ovmf_option_rom_efi(rom, len, path, &r)) < 0 ||
	    (rc = pe_layout_read(rom + r.pe_off, r.pe_len, path, &(struct pe_layout){0})) < 0) {
		free(rom);
		return rc;
	}
	/* EFI_IMAGE_LOAD_EVENT without its device path: location and link address are
	 * known only at run time and are not hashed */
	for (int i = 0; i < 8; i++)
		data[8 + i] = (uint8_t)((uint64_t)r.pe_len >> (8 * i));
	if (!(e = ev_add(p, 2, EV_EFI_BOOT_SERVICES_DRIVER, data, sizeof(data)))) {
		free(rom);
		return -ENOMEM;
	}
	for (unsigned b = 0; b < o->n_banks && rc == 0; b++) {
		e->d[b].alg = o->banks[b];
		rc = authenticode_digest(rom + r.pe_off, r.pe_len, path, o->banks[b],
					 e->d[b].value);
	}
	ev_source(e,
		  "from %s: the Authenticode digest of its EFI driver (PCI %04x:%04x, ROM image at "
		  "0x%zx, PE at 0x%zx, 0x%zx bytes), loaded by OVMF's PCI bus driver",
		  path, r.vendor, r.device, r.image_off, r.pe_off, r.pe_len);
	free(rom);
	return rc;
}

static int predict(struct fw_inputs *in, const struct pp_opts *o, struct fw_pred *p)
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
		if ((rc = ev_digests_from(e, o, jget(r, "digests"), in->profile_path)) < 0)
			return rc;
	} else {
		ev_source(e, "EDK2's PcdFirmwareVersionString, which OVMF leaves empty: the UCS-2 "
			     "string L\"\" (2 zero bytes)");
		if ((rc = ev_hash(e, o, crtm, sizeof(crtm))) < 0)
			return rc;
	}
	if ((rc = add_fv_event(p, in, o, &in->code.pei, "PEIFV")) < 0 ||
	    (rc = add_fv_event(p, in, o, &in->code.dxe, "DXEFV")) < 0 ||
	    (rc = add_profile_events(p, in, o, 0)) < 0 || (rc = add_separator(p, o, 0)) < 0)
		return rc;
	/* PCR 1: the boot variables as BDS left them at ReadyToBoot */
	if ((rc = add_profile_events(p, in, o, 1)) < 0 || (rc = add_separator(p, o, 1)) < 0)
		return rc;
	/* PCR 2: drivers from the option ROMs of QEMU's PCI devices */
	if (strcmp(in->nic, "none") != 0) {
		const char *path = nic_rom(in->nic, rom, sizeof(rom));

		if (!path || (rc = add_rom(p, o, path)) < 0)
			return path ? rc : -ENOENT;
	}
	for (unsigned i = 0; i < in->n_roms; i++)
		if ((rc = add_rom(p, o, in->roms[i])) < 0)
			return rc;
	if ((rc = add_profile_events(p, in, o, 2)) < 0 || (rc = add_separator(p, o, 2)) < 0)
		return rc;
	for (unsigned pcr = 3; pcr <= 6; pcr += 3)
		if ((rc = add_profile_events(p, in, o, pcr)) < 0 ||
		    (rc = add_separator(p, o, pcr)) < 0)
			return rc;
	return 0;
}

static int replay(const struct fw_pred *p, const struct pp_opts *o, struct pcr_banks *banks)
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
				if ((rc = pcr_bank_extend(bank, pcr, p->ev[i].d[b].value)) < 0)
					return rc;
				bank->extended |= 1u << pcr;
			}
	}
	return 0;
}

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
	if ((rc = predict(in, &o, p)) < 0)
		goto out;
	doc = json_object_new_object();
	events = json_object_new_array();
	json_object_object_add(doc, "format", json_object_new_string(PROFILE_FORMAT));
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
	pred_free(p);
	if ((rc = predict(in, &o, p)) < 0 || (rc = replay(p, &o, &got)) < 0)
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
		pred_free(p);
		free(p);
	}
	tcg_log_free(&log);
	free(buf);
	return rc;
}

static void inputs_free(struct fw_inputs *in)
{
	ovmf_code_free(&in->code);
	if (in->have_vs)
		uefi_varstore_free(&in->vs);
	free(in->vars);
	if (in->profile)
		json_object_put(in->profile);
}

int pp_firmware_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct fw_inputs in = {.nic = "e1000e"};
	const char *make = NULL, *dump = NULL, *out = NULL;
	struct fw_pred *p = NULL;
	struct pcr_banks banks;
	uint8_t *code;
	size_t code_len;
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
		else if (strcmp(a, "--option-rom") == 0 && in.n_roms < MAX_ROMS)
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
	if (strchr(in.nic, '/') || strlen(in.nic) > 32)
		return err_set(-EINVAL, "--nic takes a QEMU NIC model (e1000e, virtio, none)"),
		       pp_fail("firmware");
	if ((rc = file_read_all(in.code_path, FW_FILE_MAX, &code, &code_len)) < 0) {
		err_wrap(rc, "%s", in.code_path);
		return pp_fail("firmware");
	}
	rc = ovmf_code_read(code, code_len, in.code_path, &in.code);
	free(code);
	if (rc < 0)
		return pp_fail("firmware");
	if (in.vars_path) {
		if ((rc = file_read_all(in.vars_path, FW_FILE_MAX, &in.vars, &in.vars_len)) < 0 ||
		    (rc = uefi_varstore_read(in.vars, in.vars_len, in.vars_path, &in.vs)) < 0) {
			if (rc == -ENOENT || rc == -EACCES)
				err_wrap(rc, "%s", in.vars_path);
			inputs_free(&in);
			return pp_fail("firmware");
		}
		in.have_vs = true;
	}
	if (make) {
		in.quiet = true;
		rc = make_profile(&in, make, dump, out);
		inputs_free(&in);
		return rc < 0 ? pp_fail("firmware") : PP_EXIT_OK;
	}
	if ((in.profile_path && (rc = profile_load(&in)) < 0) || !(p = calloc(1, sizeof(*p))) ||
	    (rc = predict(&in, opts, p)) < 0 || (rc = replay(p, opts, &banks)) < 0) {
		if (!p && rc == 0)
			err_set(-ENOMEM, "out of memory");
		if (p)
			pred_free(p);
		free(p);
		inputs_free(&in);
		return pp_fail("firmware");
	}
	print_pred(p, opts, &banks);
	pred_free(p);
	free(p);
	inputs_free(&in);
	return PP_EXIT_OK;
}
