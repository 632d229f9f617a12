// SPDX-License-Identifier: MIT
/*
 * pcrpredict build: one reference document from a build manifest -- every
 * PCR value that can be predicted, the events behind them, the IMA
 * reference and the sealing policy digest -- as JSON and CBOR.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cborutil.h"
#include "err.h"
#include "eventlog_ima.h"
#include "eventlog_tcg.h"
#include "boot_predict.h"
#include "fw_predict.h"
#include "fileio.h"
#include "grub_script.h"
#include "hex.h"
#include "ima_ref.h"
#include "kvconf.h"
#include "pcrpredict.h"
#include "policy_digest.h"
#include "refdoc_pcrlock.h"
#include "rootfs.h"
#include "sb_predict.h"
#include "tboot_predict.h"

#define REFDOC_VERSION 1
#define LOG_MAX	       (64u << 20)

static const char *const manifest_keys[] = {
	"banks",
	"rootfs",
	"rootfs.mode",
	"rootfs.salt",
	"rootfs.pcr",
	"firmware.log",
	"firmware.code",
	"firmware.vars",
	"firmware.profile",
	"firmware.nic",
	"firmware.option-rom",
	"boot.application",
	"boot.disk",
	"grub.config",
	"grub.root",
	"grub.memdisk",
	"grub.config-name",
	"grub.set",
	"grub.preloaded",
	"grub.preamble",
	"grub.search-result",
	"secureboot.vars",
	"secureboot.shim",
	"secureboot.grub",
	"secureboot.kernel",
	"tboot",
	"tboot.cmdline",
	"tboot.module",
	"tboot.policy",
	"tboot.platform",
	"tboot.extpol",
	"ima.rootfs",
	"ima.policy",
	"ima.hash",
	"seal.profile",
	"seal.pcrs",
	"seal.pin",
	NULL,
};

struct build {
	const struct kvconf *m;
	char dir[4096]; /* relative paths in the manifest are relative to it */
	unsigned n_banks;
	const struct hash_alg *bank[PCR_BANKS_MAX];
	struct pcr_banks pcrs;	     /* predicted values; bank->extended marks what is predicted */
	const char *from[PCR_COUNT]; /* the manifest key each PCR's value came from */
	struct json_object *doc, *components, *notes;
};

/* A manifest path, resolved against the manifest's folder; static storage per slot. */
static const char *path_of(struct build *b, const char *value, int slot)
{
	static char buf[8][4200];

	if (!value || value[0] == '/')
		return value;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", b->dir, value);
	return buf[slot];
}

static struct json_object *hex_string(const uint8_t *d, size_t n)
{
	char hex[2 * DIGEST_MAX + 1];

	hex_encode(d, n, hex);
	return json_object_new_string(hex);
}

static void note(struct build *b, const char *text)
{
	json_object_array_add(b->notes, json_object_new_string(text));
}

static void set_pcr(struct build *b, const struct hash_alg *alg, unsigned pcr, const uint8_t *value,
		    const char *from)
{
	struct pcr_bank *bank = pcr_banks_find(&b->pcrs, alg);

	if (!bank)
		return;
	memcpy(bank->value[pcr], value, alg->size);
	bank->extended |= 1u << pcr;
	b->from[pcr] = from;
}

static struct json_object *digests_json(const struct alg_digest *d, unsigned n);

/* One predicted event as the reference lists it (attest verify explains from them). */
static struct json_object *event_json(unsigned pcr, uint32_t type, const char *what,
				      const struct alg_digest *d, unsigned n)
{
	struct json_object *e = json_object_new_object();
	const char *tn = tcg_event_type_name(type);

	json_object_object_add(e, "pcr", json_object_new_int((int)pcr));
	json_object_object_add(e, "type", json_object_new_string(tn ? tn : "unknown"));
	json_object_object_add(e, "what", json_object_new_string(what));
	json_object_object_add(e, "digests", digests_json(d, n));
	return e;
}

/* PCR 0-3 and 6 from OVMF_CODE, the varstore and the platform profile (fw_predict.c). */
static int do_firmware_files(struct build *b, struct json_object *fw)
{
	struct fw_inputs in = {0};
	struct pp_opts o = {.n_banks = b->n_banks};
	struct fw_pred *p;
	struct pcr_banks banks;
	struct json_object *events;
	int rc;

	memcpy(o.banks, b->bank, sizeof(o.banks));
	in.code_path = path_of(b, kvconf_get(b->m, "firmware.code"), 0);
	in.vars_path = path_of(b, kvconf_get(b->m, "firmware.vars"), 1);
	in.profile_path = path_of(b, kvconf_get(b->m, "firmware.profile"), 2);
	in.nic = kvconf_get(b->m, "firmware.nic");
	/* option ROMs: paths kept in b->rom_paths until the prediction is made */
	char *roms[FW_ROMS_MAX] = {0};
	rc = 0;
	for (size_t i = 0; i < b->m->n && rc == 0; i++) {
		const char *v = b->m->kv[i].value;

		if (strcmp(b->m->kv[i].key, "firmware.option-rom") != 0)
			continue;
		if (in.n_roms == FW_ROMS_MAX) {
			rc = err_set(-E2BIG, "%s:%u: more than %d firmware.option-rom lines",
				     b->m->path, b->m->kv[i].line, FW_ROMS_MAX);
			break;
		}
		if (v[0] == '/')
			roms[in.n_roms] = strdup(v);
		else if (asprintf(&roms[in.n_roms], "%s/%s", b->dir, v) < 0)
			roms[in.n_roms] = NULL;
		if (!roms[in.n_roms])
			rc = err_set(-ENOMEM, "out of memory");
		in.roms[in.n_roms] = roms[in.n_roms];
		in.n_roms++;
	}
	if (!(p = calloc(1, sizeof(*p))))
		rc = err_set(-ENOMEM, "out of memory");
	if (rc == 0)
		rc = fw_inputs_load(&in);
	if (rc == 0)
		rc = fw_predict(&in, &o, p);
	if (rc == 0)
		rc = fw_replay(p, &o, &banks);
	if (rc == 0) {
		json_object_object_add(fw, "code", json_object_new_string(in.code_path));
		if (in.vars_path)
			json_object_object_add(fw, "vars", json_object_new_string(in.vars_path));
		if (in.profile_path)
			json_object_object_add(fw, "profile",
					       json_object_new_string(in.profile_path));
		json_object_object_add(fw, "nic", json_object_new_string(in.nic));
		events = json_object_new_array();
		for (size_t i = 0; i < p->n; i++)
			json_object_array_add(events,
					      event_json(p->ev[i].pcr, p->ev[i].type,
							 p->ev[i].source, p->ev[i].d, b->n_banks));
		json_object_object_add(fw, "events", events);
		for (unsigned k = 0; k < banks.count; k++)
			for (unsigned pcr = 0; pcr < 8; pcr++)
				if (FW_PCRS >> pcr & 1)
					set_pcr(b, banks.bank[k].alg, pcr, banks.bank[k].value[pcr],
						"firmware.code");
		if (!in.profile_path)
			note(b,
			     "PCR 0-3, 6: no firmware.profile: PEIFV as stored (PlatformPei "
			     "writes QEMU's platform info into it before it is hashed), BootOrder "
			     "and the disk's boot option are missing; the values will not be "
			     "the boot's");
	}
	if (p)
		fw_pred_free(p);
	free(p);
	fw_inputs_free(&in);
	for (unsigned i = 0; i < FW_ROMS_MAX; i++)
		free(roms[i]);
	return rc;
}

static int do_firmware(struct build *b)
{
	const char *path = path_of(b, kvconf_get(b->m, "firmware.log"), 0);
	bool files = kvconf_get(b->m, "firmware.code") != NULL;
	struct json_object *fw;
	struct tcg_log log;
	struct pcr_banks replay;
	uint8_t *buf;
	size_t len;
	int rc;

	if (!files && (kvconf_get(b->m, "firmware.vars") || kvconf_get(b->m, "firmware.profile") ||
		       kvconf_get(b->m, "firmware.nic") || kvconf_get(b->m, "firmware.option-rom")))
		return err_set(-EINVAL,
			       "%s: firmware.vars, .profile, .nic and .option-rom need "
			       "firmware.code",
			       b->m->path);
	if (!path && !files) {
		note(b, "PCR 0-7: no firmware.code (OVMF_CODE) nor firmware.log (a reference "
			"boot's TCG log) in the manifest");
		return 0;
	}
	fw = json_object_new_object();
	json_object_object_add(b->components, "firmware", fw);
	if (files && (rc = do_firmware_files(b, fw)) < 0)
		return rc;
	if (!path)
		return 0;
	/* the fallback: what the files gave stays, the log gives the rest of PCR 0-7 */
	if ((rc = file_read_all(path, LOG_MAX, &buf, &len)) < 0)
		return rc;
	rc = tcg_log_parse(buf, len, path, &log);
	pcr_banks_init(&replay);
	if (rc == 0) {
		rc = tcg_log_replay(&log, &replay);
		json_object_object_add(fw, "log", json_object_new_string(path));
		json_object_object_add(fw, "log_events",
				       json_object_new_int64((int64_t)log.n_events));
		tcg_log_free(&log);
	}
	free(buf);
	for (unsigned i = 0; rc == 0 && i < b->n_banks; i++) {
		struct pcr_bank *r = pcr_banks_find(&replay, b->bank[i]);

		if (!r) {
			char msg[128];

			snprintf(msg, sizeof(msg), "PCR 0-7: the firmware log has no %s bank",
				 b->bank[i]->name);
			note(b, msg);
			continue;
		}
		for (unsigned pcr = 0; pcr < 8; pcr++)
			if (!files || !(FW_PCRS >> pcr & 1))
				set_pcr(b, b->bank[i], pcr, r->value[pcr], "firmware.log");
	}
	return rc;
}

/* PCR 4 from the EFI applications, PCR 5 from the boot disk (boot_predict.c). */
static int do_boot(struct build *b)
{
	const char *disk = path_of(b, kvconf_get(b->m, "boot.disk"), 0);
	char *apps[BOOT_APPS_MAX] = {0};
	unsigned n_apps = 0;
	struct boot_pred *p = NULL;
	struct pcr_banks banks;
	int rc = 0;

	for (size_t i = 0; i < b->m->n && rc == 0; i++) {
		const char *v = b->m->kv[i].value;

		if (strcmp(b->m->kv[i].key, "boot.application") != 0)
			continue;
		if (n_apps == BOOT_APPS_MAX) {
			rc = err_set(-E2BIG, "%s:%u: more than %d boot.application lines",
				     b->m->path, b->m->kv[i].line, BOOT_APPS_MAX);
			break;
		}
		if (v[0] == '/')
			apps[n_apps] = strdup(v);
		else if (asprintf(&apps[n_apps], "%s/%s", b->dir, v) < 0)
			apps[n_apps] = NULL;
		if (!apps[n_apps++])
			rc = err_set(-ENOMEM, "out of memory");
	}
	if (rc == 0 && (n_apps || disk) && !(p = calloc(1, sizeof(*p))))
		rc = err_set(-ENOMEM, "out of memory");
	if (rc == 0 && n_apps)
		rc = boot_predict_apps((const char *const *)apps, n_apps, b->bank, b->n_banks, p);
	if (rc == 0 && disk)
		rc = boot_predict_disk(disk, true, b->bank, b->n_banks, p);
	if (rc == 0 && p) {
		struct json_object *c = json_object_new_object(), *list = json_object_new_array(),
				   *a = json_object_new_array();

		if ((rc = boot_pred_extend(p, b->bank, b->n_banks, &banks)) == 0)
			for (unsigned k = 0; k < banks.count; k++)
				for (unsigned pcr = 4; pcr <= 5; pcr++)
					if (banks.bank[k].extended & (1u << pcr))
						set_pcr(b, banks.bank[k].alg, pcr,
							banks.bank[k].value[pcr],
							pcr == 4 ? "boot.application"
								 : "boot.disk");
		for (unsigned i = 0; i < n_apps; i++)
			json_object_array_add(a, json_object_new_string(apps[i]));
		if (n_apps)
			json_object_object_add(c, "applications", a);
		else
			json_object_put(a);
		if (disk) {
			json_object_object_add(c, "disk", json_object_new_string(disk));
			json_object_object_add(c, "gpt", json_object_new_boolean(p->gpt));
		}
		for (size_t i = 0; i < p->n; i++)
			json_object_array_add(list,
					      event_json(p->ev[i].pcr, p->ev[i].type, p->ev[i].what,
							 p->ev[i].d, b->n_banks));
		json_object_object_add(c, "events", list);
		json_object_object_add(b->components, "boot", c);
	}
	for (unsigned i = 0; i < n_apps; i++)
		free(apps[i]);
	free(p);
	return rc;
}

static int do_rootfs(struct build *b)
{
	const char *image = path_of(b, kvconf_get(b->m, "rootfs"), 0);
	const char *mode = kvconf_get(b->m, "rootfs.mode"), *salt = kvconf_get(b->m, "rootfs.salt");
	const char *pcr_text = kvconf_get(b->m, "rootfs.pcr");
	struct rootfs_measurement m;
	struct verity_params vp;
	enum rootfs_mode rm = ROOTFS_DEFAULT_MODE;
	unsigned pcr = ROOTFS_DEFAULT_PCR;
	struct json_object *c, *digests;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	if (!image) {
		note(b, "PCR 13: no rootfs in the manifest");
		return 0;
	}
	verity_params_default(&vp);
	if (pcr_text && rootfs_pcr_parse(pcr_text, &pcr) < 0)
		return err_wrap(-EINVAL, "%s: rootfs.pcr", b->m->path);
	if (mode && (rc = rootfs_mode_parse(mode, &rm)) < 0)
		return err_wrap(rc, "%s: rootfs.mode", b->m->path);
	if (salt && strcmp(salt, "-") != 0 &&
	    hex_decode(salt, vp.salt, sizeof(vp.salt), &vp.salt_len) < 0)
		return err_wrap(-EINVAL, "%s: rootfs.salt", b->m->path);
	rc = rootfs_measure(image, rm, &vp, b->bank, b->n_banks, cpus > 0 ? (unsigned)cpus : 1,
			    pp_progress, (void *)image, &m, NULL);
	if (rc < 0)
		return rc;
	c = json_object_new_object();
	json_object_object_add(c, "image", json_object_new_string(image));
	json_object_object_add(c, "pcr", json_object_new_int((int)pcr));
	json_object_object_add(c, "mode", json_object_new_string(rootfs_mode_name(rm)));
	json_object_object_add(c, "size", json_object_new_int64((int64_t)m.size));
	if (rm == ROOTFS_VERITY) {
		json_object_object_add(c, "root_hash", hex_string(m.root_hash, vp.alg->size));
		json_object_object_add(c, "salt", hex_string(vp.salt, vp.salt_len));
	}
	digests = json_object_new_object();
	for (unsigned i = 0; i < m.n; i++) {
		struct pcr_bank zero;

		json_object_object_add(digests, m.digest[i].alg->name,
				       hex_string(m.digest[i].value, m.digest[i].alg->size));
		pcr_bank_init(&zero, m.digest[i].alg);
		if ((rc = pcr_bank_extend(&zero, pcr, m.digest[i].value)) < 0)
			return rc;
		set_pcr(b, m.digest[i].alg, pcr, zero.value[pcr], "rootfs");
	}
	json_object_object_add(c, "digests", digests);
	json_object_object_add(b->components, "rootfs", c);
	return 0;
}

static struct json_object *digests_json(const struct alg_digest *d, unsigned n)
{
	struct json_object *o = json_object_new_object();

	for (unsigned i = 0; i < n; i++)
		json_object_object_add(o, d[i].alg->name, hex_string(d[i].value, d[i].alg->size));
	return o;
}

static int do_grub(struct build *b)
{
	struct grub_sim sim = {.n_banks = b->n_banks};
	const char *config = path_of(b, kvconf_get(b->m, "grub.config"), 0);
	const char *name = kvconf_get(b->m, "grub.config-name");
	struct json_object *c, *events;
	struct pcr_banks pcrs;
	int rc;

	if (!config) {
		note(b, "PCR 8, 9: no grub.config in the manifest");
		return 0;
	}
	memcpy(sim.bank, b->bank, sizeof(sim.bank));
	sim.root_dir = path_of(b, kvconf_get(b->m, "grub.root"), 1);
	sim.memdisk_dir = path_of(b, kvconf_get(b->m, "grub.memdisk"), 2);
	sim.preloaded = kvconf_get(b->m, "grub.preloaded");
	sim.search_result = kvconf_get(b->m, "grub.search-result");
	if (!sim.root_dir)
		return err_set(-EINVAL, "%s: grub.config needs grub.root", b->m->path);
	if (!sim.preloaded)
		sim.preloaded = GRUB_DEFAULT_PRELOADED;
	rc = grub_sim_init(&sim);
	for (size_t i = 0; rc == 0 && i < b->m->n; i++) {
		char *eq;

		if (strcmp(b->m->kv[i].key, "grub.set") != 0)
			continue;
		eq = strchr(b->m->kv[i].value, '=');
		if (!eq) {
			rc = err_set(-EINVAL, "%s:%u: grub.set takes NAME=VALUE", b->m->path,
				     b->m->kv[i].line);
			break;
		}
		*eq = '\0';
		rc = grub_sim_set(&sim, b->m->kv[i].value, eq + 1);
		*eq = '=';
	}
	if (rc == 0)
		rc = grub_sim_predict(&sim, config, name,
				      path_of(b, kvconf_get(b->m, "grub.preamble"), 3));
	if (rc == 0)
		rc = grub_sim_pcrs(&sim, &pcrs);
	if (rc == 0) {
		c = json_object_new_object();
		events = json_object_new_array();
		for (size_t e = 0; e < sim.n_events; e++) {
			struct json_object *ev = json_object_new_object();

			json_object_object_add(ev, "pcr",
					       json_object_new_int((int)sim.event[e].pcr));
			json_object_object_add(ev, "type", json_object_new_string("EV_IPL"));
			json_object_object_add(ev, "description",
					       json_object_new_string(sim.event[e].description));
			json_object_object_add(ev, "digests",
					       digests_json(sim.event[e].digest, sim.n_banks));
			json_object_array_add(events, ev);
		}
		json_object_object_add(c, "config", json_object_new_string(config));
		json_object_object_add(c, "events", events);
		json_object_object_add(b->components, "grub", c);
		for (unsigned i = 0; i < pcrs.count; i++) {
			set_pcr(b, pcrs.bank[i].alg, GRUB_PCR_STRING, pcrs.bank[i].value[8],
				"grub.config");
			set_pcr(b, pcrs.bank[i].alg, GRUB_PCR_FILE, pcrs.bank[i].value[9],
				"grub.config");
		}
	}
	grub_sim_free(&sim);
	return rc;
}

/* The predicted events of @p as the reference lists them (attest verify explains from them). */
static struct json_object *sb_events_json(struct build *b, const struct sb_prediction *p)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; i < p->n; i++) {
		struct json_object *e = json_object_new_object();
		struct alg_digest d[PCR_BANKS_MAX];

		for (unsigned k = 0; k < b->n_banks; k++) {
			d[k].alg = b->bank[k];
			if (digest_buf(b->bank[k], p->event[i].hashed, p->event[i].hashed_len,
				       d[k].value) < 0)
				memset(d[k].value, 0, sizeof(d[k].value));
		}
		json_object_object_add(e, "pcr", json_object_new_int((int)p->event[i].pcr));
		json_object_object_add(
			e, "type",
			json_object_new_string(tcg_event_type_name(p->event[i].type) ?: "unknown"));
		json_object_object_add(e, "what", json_object_new_string(p->event[i].what));
		json_object_object_add(e, "digests", digests_json(d, b->n_banks));
		json_object_array_add(list, e);
	}
	return list;
}

/*
 * PCR 7 (and with shim, PCR 14) from the varstore and the signed images: they
 * take the place of what a reference boot's log says about PCR 7.
 */
static int do_secureboot(struct build *b)
{
	static const char *const keys[] = {"secureboot.vars", "secureboot.shim", "secureboot.grub",
					   "secureboot.kernel"};
	struct sb_inputs in = {0};
	struct sb_prediction p;
	uint8_t *buf[4] = {NULL};
	int rc = 0;

	if (!kvconf_get(b->m, "secureboot.vars"))
		return 0;
	for (int i = 0; i < 4 && rc == 0; i++) {
		const char *path = path_of(b, kvconf_get(b->m, keys[i]), 3 + i);
		size_t len = 0;

		if (!path || (rc = file_read_all(path, 512u << 20, &buf[i], &len)) < 0)
			continue;
		if (i == 0)
			in.vars = buf[0], in.vars_len = len, in.vars_name = path;
		else
			in.image[i - 1] = buf[i], in.image_len[i - 1] = len,
				     in.image_name[i - 1] = path;
	}
	if (rc == 0 && (rc = sb_predict(&in, &p)) == 0) {
		struct json_object *c = json_object_new_object();

		for (unsigned k = 0; k < b->n_banks && rc == 0; k++) {
			struct pcr_bank bank;

			pcr_bank_init(&bank, b->bank[k]);
			if ((rc = sb_prediction_extend(&p, &bank)) == 0)
				for (unsigned pcr = 7; pcr <= 14; pcr += 7)
					if (bank.extended & (1u << pcr))
						set_pcr(b, b->bank[k], pcr, bank.value[pcr],
							"secureboot.vars");
		}
		json_object_object_add(c, "secure_boot", json_object_new_boolean(p.secure_boot));
		json_object_object_add(c, "events", sb_events_json(b, &p));
		json_object_object_add(b->components, "secureboot", c);
		sb_prediction_free(&p);
	}
	for (int i = 0; i < 4; i++)
		free(buf[i]);
	return rc;
}

static int do_tboot(struct build *b)
{
	struct tboot_inputs in = {0};
	struct tboot_prediction *p;
	struct json_object *c, *events;
	int rc;

	in.tboot = path_of(b, kvconf_get(b->m, "tboot"), 0);
	if (!in.tboot)
		return 0;
	in.tboot_cmdline = kvconf_get(b->m, "tboot.cmdline") ?: "";
	in.policy = path_of(b, kvconf_get(b->m, "tboot.policy"), 1);
	in.platform = path_of(b, kvconf_get(b->m, "tboot.platform"), 2);
	in.extpol = kvconf_get(b->m, "tboot.extpol") ?: "sha256";
	/* "tboot.module = PATH [CMDLINE]": paths stay valid in the manifest's own strings */
	char *paths[TBOOT_MAX_MODULES] = {0};
	for (size_t i = 0; i < b->m->n; i++) {
		char *v = b->m->kv[i].value, *sp;

		if (strcmp(b->m->kv[i].key, "tboot.module") != 0)
			continue;
		if (in.n_modules == TBOOT_MAX_MODULES)
			return err_set(-E2BIG, "%s: too many tboot.module lines", b->m->path);
		sp = strchr(v, ' ');
		paths[in.n_modules] = sp ? strndup(v, (size_t)(sp - v)) : strdup(v);
		if (paths[in.n_modules] && paths[in.n_modules][0] != '/') {
			char *abs;

			if (asprintf(&abs, "%s/%s", b->dir, paths[in.n_modules]) < 0)
				abs = NULL;
			free(paths[in.n_modules]);
			paths[in.n_modules] = abs;
		}
		in.module[in.n_modules].path = paths[in.n_modules];
		in.module[in.n_modules].cmdline = sp ? sp + 1 : "";
		in.n_modules++;
	}
	p = calloc(1, sizeof(*p));
	rc = p ? tboot_predict(&in, b->bank, b->n_banks, p) : err_set(-ENOMEM, "out of memory");
	if (rc == 0) {
		c = json_object_new_object();
		events = json_object_new_array();
		json_object_object_add(c, "extpol", json_object_new_string(in.extpol));
		json_object_object_add(c, "mle_hash", json_object_new_object());
		for (unsigned i = 0; i < p->n_banks; i++)
			json_object_object_add(json_object_object_get(c, "mle_hash"),
					       p->bank[i]->name,
					       hex_string(p->mle[i], p->bank[i]->size));
		for (unsigned e = 0; e < p->n_events; e++) {
			struct json_object *ev = json_object_new_object();

			json_object_object_add(ev, "pcr",
					       json_object_new_int((int)p->event[e].pcr));
			json_object_object_add(ev, "type", json_object_new_int64(p->event[e].type));
			json_object_object_add(ev, "what",
					       json_object_new_string(p->event[e].what));
			json_object_object_add(ev, "digests",
					       digests_json(p->event[e].digest, p->n_banks));
			json_object_array_add(events, ev);
		}
		json_object_object_add(c, "events", events);
		json_object_object_add(c, "complete", json_object_new_boolean(p->have_platform));
		json_object_object_add(b->components, "tboot", c);
		for (unsigned i = 0; p->have_platform && i < p->pcrs.count; i++) {
			set_pcr(b, p->pcrs.bank[i].alg, 17, p->pcrs.bank[i].value[17], "tboot");
			set_pcr(b, p->pcrs.bank[i].alg, 18, p->pcrs.bank[i].value[18], "tboot");
		}
		if (!p->have_platform)
			note(b, "PCR 17, 18: tboot's events only; tboot.platform gives the ACM's");
	}
	for (unsigned i = 0; i < in.n_modules; i++)
		free(paths[i]);
	free(p);
	return rc;
}

static int do_ima(struct build *b)
{
	const char *rootfs = path_of(b, kvconf_get(b->m, "ima.rootfs"), 0);
	const char *hash = kvconf_get(b->m, "ima.hash");
	const struct hash_alg *alg = hash ? hash_alg_by_name(hash) : hash_alg_by_id(TPM_ALG_SHA256);
	struct json_object *ima, *files, *agg;
	struct ima_ref ref;
	int rc;

	if (!rootfs)
		rootfs = path_of(b, kvconf_get(b->m, "rootfs"), 0);
	if (!alg)
		return err_set(-EINVAL, "%s: ima.hash: unknown hash \"%s\"", b->m->path, hash);
	ima = json_object_new_object();
	if (rootfs) {
		rc = ima_ref_build(rootfs, path_of(b, kvconf_get(b->m, "ima.policy"), 1), alg,
				   EXT4_SUPER_MAGIC, &ref);
		if (rc < 0) {
			json_object_put(ima);
			return rc;
		}
		files = json_object_new_object();
		for (size_t i = 0; i < ref.n; i++) {
			char key[4200];

			snprintf(key, sizeof(key), "/%s", ref.file[i].path);
			json_object_object_add(files, key,
					       hex_string(ref.file[i].digest, alg->size));
		}
		json_object_object_add(ima, "ima_hash", json_object_new_string(alg->name));
		json_object_object_add(ima, "files", files);
		ima_ref_free(&ref);
	}
	/* boot_aggregate, for every bank whose PCR 0-9 are all predicted */
	agg = json_object_new_object();
	for (unsigned i = 0; i < b->pcrs.count; i++) {
		const struct pcr_bank *bank = &b->pcrs.bank[i];
		uint8_t value[DIGEST_MAX];

		if ((bank->extended & 0x3ff) != 0x3ff)
			continue;
		if ((rc = ima_boot_aggregate(bank, value)) < 0)
			return rc;
		json_object_object_add(agg, bank->alg->name, hex_string(value, bank->alg->size));
	}
	json_object_object_add(ima, "boot_aggregate", agg);
	json_object_object_add(b->doc, "ima", ima);
	return 0;
}

static int do_seal(struct build *b)
{
	const char *profile_path = path_of(b, kvconf_get(b->m, "seal.profile"), 0);
	const char *pcrs_text = kvconf_get(b->m, "seal.pcrs"), *pin = kvconf_get(b->m, "seal.pin");
	struct kvconf profile = {0};
	struct pcr_selection sel;
	struct policy pol;
	struct json_object *seal;
	int rc = 0;

	if (profile_path) {
		if ((rc = kvconf_load(profile_path, &profile)) < 0)
			return rc;
		if (!pcrs_text)
			pcrs_text = kvconf_get(&profile, "pcrs");
		if (!pin)
			pin = kvconf_get(&profile, "pin");
	}
	if (!pcrs_text)
		goto out; /* nothing to seal to */
	if ((rc = pcr_selection_parse(pcrs_text, &sel)) < 0)
		goto out;
	for (unsigned i = 0; i < sel.count; i++) {
		struct pcr_bank *bank = pcr_banks_find(&b->pcrs, sel.bank[i].alg);
		uint32_t missing = sel.bank[i].mask & ~(bank ? bank->extended : 0);

		if (missing) {
			rc = err_set(-EINVAL,
				     "%s: the sealing profile needs %s PCR %d, which the manifest "
				     "does not predict",
				     b->m->path, sel.bank[i].alg->name, __builtin_ctz(missing));
			goto out;
		}
	}
	policy_init(&pol, hash_alg_by_id(TPM_ALG_SHA256));
	if ((rc = policy_pcr(&pol, &sel, &b->pcrs)) < 0)
		goto out;
	if (pin && strcmp(pin, "yes") == 0 && (rc = policy_auth_value(&pol)) < 0)
		goto out;
	seal = json_object_new_object();
	json_object_object_add(seal, "pcrs", json_object_new_string(pcrs_text));
	json_object_object_add(seal, "pin", json_object_new_boolean(pin && !strcmp(pin, "yes")));
	json_object_object_add(seal, "alg", json_object_new_string(pol.alg->name));
	json_object_object_add(seal, "policy", hex_string(pol.digest, pol.alg->size));
	json_object_object_add(b->doc, "seal", seal);
out:
	kvconf_free(&profile);
	return rc;
}

/* With a reference boot's log as the fallback: which PCR came from which key. */
static void note_sources(struct build *b)
{
	char text[512];
	size_t n = 0;

	n += (size_t)snprintf(text, sizeof(text), "PCR 0-7:");
	for (unsigned pcr = 0; pcr < 8; pcr++) {
		bool first = true;

		if (!b->from[pcr])
			continue;
		/* each key once, with every PCR it gave */
		for (unsigned q = 0; q < pcr; q++)
			if (b->from[q] && strcmp(b->from[q], b->from[pcr]) == 0)
				first = false;
		if (!first)
			continue;
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s PCR", n > 8 ? ";" : "");
		for (unsigned q = pcr; q < 8; q++)
			if (b->from[q] && strcmp(b->from[q], b->from[pcr]) == 0)
				n += (size_t)snprintf(text + n, sizeof(text) - n, " %u", q);
		n += (size_t)snprintf(text + n, sizeof(text) - n, " from %s", b->from[pcr]);
		if (n >= sizeof(text))
			break;
	}
	note(b, text);
}

static int parse_banks(struct build *b, const struct pp_opts *opts)
{
	const char *list = kvconf_get(b->m, "banks");
	char *copy, *save = NULL;

	b->n_banks = 0;
	if (!list || opts->banks_given) {
		b->n_banks = opts->n_banks;
		memcpy(b->bank, opts->banks, sizeof(b->bank));
		return 0;
	}
	copy = strdup(list);
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		const struct hash_alg *alg = hash_alg_by_name(t);

		if (!alg || b->n_banks == PCR_BANKS_MAX) {
			free(copy);
			return err_set(-EINVAL, "%s: banks: unknown bank \"%s\"", b->m->path, t);
		}
		b->bank[b->n_banks++] = alg;
	}
	free(copy);
	return b->n_banks ? 0 : err_set(-EINVAL, "%s: banks is empty", b->m->path);
}

static int write_outputs(struct build *b, const char *json_out, const char *cbor_out)
{
	const char *text = json_object_to_json_string_ext(
		b->doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = 0;

	if (cbor_out) {
		_cleanup_cbor_ cbor_item_t *item = cbu_from_json(b->doc);
		uint8_t *buf;
		size_t len;

		if (!item)
			return err_set(-ENOMEM, "out of memory converting to CBOR");
		if ((rc = cbu_serialize(item, &buf, &len)) < 0)
			return rc;
		rc = file_write_atomic(cbor_out, buf, len, 0644);
		free(buf);
		if (rc < 0)
			return rc;
	}
	if (json_out) {
		char *with_nl;

		if (asprintf(&with_nl, "%s\n", text) < 0)
			return err_set(-ENOMEM, "out of memory");
		rc = file_write_atomic(json_out, with_nl, strlen(with_nl), 0644);
		free(with_nl);
		return rc;
	}
	if (!cbor_out)
		printf("%s\n", text);
	return 0;
}

int pp_build_run(int argc, char **argv, const struct pp_opts *opts)
{
	static const struct option longopts[] = {
		{"manifest", required_argument, NULL, 'm'},
		{"out", required_argument, NULL, 'o'},
		{"out-cbor", required_argument, NULL, 'c'},
		{"pcrlock", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	const char *manifest = NULL, *json_out = NULL, *cbor_out = NULL, *pcrlock = NULL;
	struct kvconf m = {0};
	struct build b = {.m = &m};
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'm')
			manifest = optarg;
		else if (c == 'o')
			json_out = optarg;
		else if (c == 'c')
			cbor_out = optarg;
		else if (c == 'L')
			pcrlock = optarg;
		else
			rc = err_set(-EINVAL, "unknown option");
	}
	if (rc == 0 && (!manifest || optind != argc))
		rc = err_set(-EINVAL,
			     "needs --manifest FILE [--out REF.json] [--out-cbor REF.cbor] "
			     "[--pcrlock DIR]");
	if (rc == 0 && (rc = kvconf_load(manifest, &m)) == 0)
		rc = kvconf_check_keys(&m, manifest_keys);
	if (rc < 0) {
		kvconf_free(&m);
		return pp_fail("build");
	}
	char *copy = strdup(manifest);
	snprintf(b.dir, sizeof(b.dir), "%s", dirname(copy));
	free(copy);
	rc = parse_banks(&b, opts);
	pcr_banks_init(&b.pcrs);
	for (unsigned i = 0; rc == 0 && i < b.n_banks; i++)
		pcr_banks_add(&b.pcrs, b.bank[i]);
	b.doc = json_object_new_object();
	b.components = json_object_new_object();
	b.notes = json_object_new_array();
	json_object_object_add(b.doc, "version", json_object_new_int(REFDOC_VERSION));
	json_object_object_add(b.doc, "generator", json_object_new_string("pcrpredict"));
	json_object_object_add(b.doc, "manifest", json_object_new_string(manifest));
	if (rc == 0)
		rc = do_firmware(&b);
	if (rc == 0)
		rc = do_grub(&b);
	if (rc == 0)
		rc = do_rootfs(&b);
	if (rc == 0)
		rc = do_secureboot(&b);
	if (rc == 0)
		rc = do_tboot(&b);
	if (rc == 0)
		rc = do_boot(&b);
	if (rc == 0 && kvconf_get(&m, "firmware.log"))
		note_sources(&b);
	if (rc == 0) {
		struct json_object *banks = json_object_new_array(),
				   *pcrs = json_object_new_object();

		for (unsigned i = 0; i < b.n_banks; i++) {
			struct pcr_bank *bank = pcr_banks_find(&b.pcrs, b.bank[i]);
			struct json_object *values = json_object_new_object();

			json_object_array_add(banks, json_object_new_string(b.bank[i]->name));
			for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
				char key[4];

				if (!(bank->extended & (1u << pcr)))
					continue;
				snprintf(key, sizeof(key), "%u", pcr);
				json_object_object_add(
					values, key, hex_string(bank->value[pcr], bank->alg->size));
			}
			json_object_object_add(pcrs, b.bank[i]->name, values);
		}
		json_object_object_add(b.doc, "banks", banks);
		json_object_object_add(b.doc, "pcrs", pcrs);
		json_object_object_add(b.doc, "components", b.components);
		b.components = NULL;
	}
	if (rc == 0)
		rc = do_ima(&b);
	if (rc == 0)
		rc = do_seal(&b);
	json_object_object_add(b.doc, "notes", b.notes);
	/* the .pcrlock files first: a document that cannot be written as them is not written */
	if (rc == 0 && pcrlock)
		rc = refdoc_pcrlock(b.doc, pcrlock, stderr, NULL);
	if (rc == 0)
		rc = write_outputs(&b, json_out, cbor_out);
	json_object_put(b.components);
	json_object_put(b.doc);
	kvconf_free(&m);
	return rc < 0 ? pp_fail("build") : PP_EXIT_OK;
}
