// SPDX-License-Identifier: MIT
/*
 * pcrpredict secureboot --vars OVMF_VARS.fd [--shim SHIM.efi [--grub GRUB.efi
 * [--kernel VMLINUZ]]]: PCR 7 (and with shim, PCR 14) of that boot, event
 * by event (sb_predict.c); as systemd .pcrlock files (--pcrlock DIR) and as
 * Keylime's measured-boot reference state (--keylime FILE, sb_keylime.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "eventlog_tcg.h"
#include "fileio.h"
#include "hex.h"
#include "jsonw.h"
#include "pcrlock.h"
#include "pcrpredict.h"
#include "sb_keylime.h"
#include "sb_predict.h"

#define IMAGE_MAX (512u << 20)

static const char *type_name(uint32_t t)
{
	return t == EV_EFI_VARIABLE_DRIVER_CONFIG ? "EV_EFI_VARIABLE_DRIVER_CONFIG"
	       : t == EV_EFI_VARIABLE_AUTHORITY	  ? "EV_EFI_VARIABLE_AUTHORITY"
	       : t == EV_SEPARATOR		  ? "EV_SEPARATOR"
						  : "EV_IPL";
}

static void print(const struct sb_prediction *p, const struct pcr_banks *banks, bool json)
{
	struct jw j;

	if (!json) {
		printf("SecureBoot: %s\n", p->secure_boot ? "on" : "off");
		for (size_t i = 0; i < p->n; i++)
			printf("PCR %2u  %-30s %s\n", p->event[i].pcr, type_name(p->event[i].type),
			       p->event[i].what);
		for (unsigned b = 0; b < banks->count; b++)
			for (unsigned pcr = 7; pcr <= 14; pcr += 7) {
				char hex[2 * DIGEST_MAX + 1];

				if (!(banks->bank[b].extended & (1u << pcr)))
					continue;
				hex_encode(banks->bank[b].value[pcr], banks->bank[b].alg->size,
					   hex);
				printf("%s PCR %u: %s\n", banks->bank[b].alg->name, pcr, hex);
			}
		return;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "secure_boot");
	jw_bool(&j, p->secure_boot);
	jw_key(&j, "events");
	jw_array_begin(&j);
	for (size_t i = 0; i < p->n; i++) {
		jw_object_begin(&j);
		jw_key(&j, "pcr");
		jw_uint(&j, p->event[i].pcr);
		jw_key(&j, "type");
		jw_string(&j, type_name(p->event[i].type));
		jw_key(&j, "what");
		jw_string(&j, p->event[i].what);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_key(&j, "pcrs");
	pcr_banks_json(&j, banks, (1u << 7) | (1u << 14), true);
	jw_object_end(&j);
	jw_finish(&j);
}

/* systemd .pcrlock files, one per component, in the order systemd-pcrlock sorts them. */
static int write_pcrlock(const char *dir, const struct sb_prediction *p, const struct pp_opts *opts)
{
	struct pcrlock_record rec[SB_EVENTS_MAX];
	bool after_sep[2] = {false, false};
	const char *part[SB_EVENTS_MAX];
	int rc = 0;

	for (size_t i = 0; i < p->n; i++) {
		unsigned pcr = p->event[i].pcr;

		part[i] = pcrlock_component(pcr, p->event[i].type, after_sep[pcr == 14]);
		if (!part[i])
			return err_set(-EINVAL,
				       "PCR %u event %zu (%s): no .pcrlock component for it", pcr,
				       i + 1, p->event[i].what);
		after_sep[pcr == 14] |= p->event[i].type == EV_SEPARATOR;
	}
	/* each component's records in event order, one file per component */
	for (size_t k = 0; k < p->n && rc == 0; k++) {
		char path[4200];
		size_t n = 0;
		bool first = true;

		for (size_t i = 0; i < k; i++)
			first &= strcmp(part[i], part[k]) != 0;
		if (!first)
			continue;
		for (size_t i = k; i < p->n && rc == 0; i++) {
			if (strcmp(part[i], part[k]) != 0)
				continue;
			rec[n].pcr = p->event[i].pcr;
			rec[n].n = opts->n_banks;
			for (unsigned b = 0; b < opts->n_banks && rc == 0; b++) {
				rec[n].digest[b].alg = opts->banks[b];
				rc = digest_buf(opts->banks[b], p->event[i].hashed,
						p->event[i].hashed_len, rec[n].digest[b].value);
			}
			n++;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.pcrlock", dir, part[k]) >=
		    sizeof(path))
			return err_set(-ENAMETOOLONG, "%s: path too long", dir);
		if (rc == 0)
			rc = pcrlock_write(path, rec, n);
	}
	return rc;
}

int pp_secureboot_run(int argc, char **argv, const struct pp_opts *opts)
{
	static const struct option longopts[] = {
		{"vars", required_argument, NULL, 'v'},
		{"shim", required_argument, NULL, 's'},
		{"grub", required_argument, NULL, 'g'},
		{"kernel", required_argument, NULL, 'k'},
		{"pcrlock", required_argument, NULL, 'L'},
		{"keylime", required_argument, NULL, 'J'},
		{"initrd", required_argument, NULL, 'i'},
		{"cmdline", required_argument, NULL, 'c'},
		{"platform-log", required_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	const char *pcrlock = NULL, *keylime = NULL, *initrd = NULL, *platform = NULL;
	struct keylime_inputs kl = {0};
	struct tcg_log platform_log = {0};
	uint8_t *initrd_buf = NULL, *platform_buf = NULL;
	struct sb_inputs in = {0};
	struct sb_prediction p;
	struct pcr_banks banks;
	uint8_t *buf[4] = {NULL};
	const char *path[4] = {NULL};
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *o = c ? strchr("vsgk", c) : NULL;

		if (c == 'L' || c == 'J' || c == 'i' || c == 'c' || c == 'P') {
			*(c == 'L'   ? &pcrlock
			  : c == 'J' ? &keylime
			  : c == 'i' ? &initrd
			  : c == 'c' ? &kl.cmdline
				     : &platform) = optarg;
			continue;
		}
		if (!o)
			return err_set(-EINVAL, "unknown option"), pp_fail("secureboot");
		path[o - "vsgk"] = optarg;
	}
	if (!path[0] || optind != argc || (path[2] && !path[1]) || (path[3] && !path[2]))
		return err_set(-EINVAL, "needs --vars FILE [--shim F [--grub F [--kernel F]]]"),
		       pp_fail("secureboot");
	for (int i = 0; i < 4 && rc == 0; i++) {
		size_t len = 0;

		if (path[i] && (rc = file_read_all(path[i], IMAGE_MAX, &buf[i], &len)) == 0) {
			if (i == 0) {
				in.vars = buf[0], in.vars_len = len, in.vars_name = path[0];
			} else {
				in.image[i - 1] = buf[i];
				in.image_len[i - 1] = len;
				in.image_name[i - 1] = path[i];
			}
		}
	}
	if (rc == 0 && (rc = sb_predict(&in, &p)) == 0) {
		pcr_banks_init(&banks);
		for (unsigned b = 0; b < opts->n_banks && rc == 0; b++)
			rc = sb_prediction_extend(&p, pcr_banks_add(&banks, opts->banks[b]));
		if (rc == 0 && pcrlock)
			rc = write_pcrlock(pcrlock, &p, opts);
		if (rc == 0 && keylime) {
			size_t len = 0;

			kl.sb = &in;
			kl.p = &p;
			if (initrd && (rc = file_read_all(initrd, IMAGE_MAX, &initrd_buf,
							  &kl.initrd_len)) == 0)
				kl.initrd = initrd_buf;
			if (rc == 0 && platform &&
			    (rc = file_read_all(platform, IMAGE_MAX, &platform_buf, &len)) == 0 &&
			    (rc = tcg_log_parse(platform_buf, len, platform, &platform_log)) == 0)
				kl.platform = &platform_log;
			if (rc == 0)
				rc = keylime_refstate_write(keylime, &kl);
		}
		if (rc == 0)
			print(&p, &banks, opts->json);
		sb_prediction_free(&p);
	}
	for (int i = 0; i < 4; i++)
		free(buf[i]);
	tcg_log_free(&platform_log);
	free(platform_buf);
	free(initrd_buf);
	return rc < 0 ? pp_fail("secureboot") : PP_EXIT_OK;
}
