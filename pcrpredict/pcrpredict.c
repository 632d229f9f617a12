// SPDX-License-Identifier: MIT
/* pcrpredict: common options (--banks, --json anywhere on the line) and dispatch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "pcrpredict.h"

static const struct pp_cmd commands[] = {
	{"rootfs", "rootfs IMAGE [--mode flat|verity] [--salt HEX|-] [--pcr 13]", pp_rootfs_run},
	{"policy", "policy --pcrs SEL --values FILE [--pin]", pp_policy_run},
	{"sign", "sign --key VENDOR.pem --pcrs SEL --values FILE [--out SIGNED.json]", pp_sign_run},
	{"cml", "cml --guestos GUESTOS.conf --container CONTAINER.conf [--values FILE]",
	 pp_cml_run},
	{"tboot",
	 "tboot --tboot tboot.gz [--tboot-cmdline STR] --module FILE [--cmdline STR] ... "
	 "[--policy FILE] [--platform PROFILE] [--extpol sha256|agile|embedded]",
	 pp_tboot_run},
	{"txt-profile",
	 "txt-profile SOURCE [--out PROFILE.json] [--log DRTM.log] (SOURCE: a DRTM log, a TXT "
	 "heap image, txt-stat output or an Intel SecL host manifest)",
	 pp_txt_profile_run},
	{"grub",
	 "grub --config grub.cfg --root DIR [--memdisk DIR] [--set VAR=VALUE] [--preloaded MODS] "
	 "[--preamble FILE] [--config-name NAME]",
	 pp_grub_run},
	{"secureboot",
	 "secureboot --vars OVMF_VARS.fd [--shim SHIM.efi [--grub GRUB.efi [--kernel VMLINUZ]]] "
	 "(PCR 7, PCR 14)",
	 pp_secureboot_run},
	{"diff",
	 "diff REF.json LOG (each predicted PCR against the log; the first differing event)",
	 pp_diff_run},
	{"gpt", "gpt DISK (PCR 5: separator, EV_EFI_GPT_EVENT, ExitBootServices)", pp_gpt_run},
	{"pe", "pe FILE... (Authenticode digest of EFI applications, as PCR 4 records them)",
	 pp_pe_run},
	{"firmware",
	 "firmware --code OVMF_CODE.fd [--vars VARS.fd] [--platform PROFILE] [--nic MODEL|none] "
	 "[--option-rom ROM]... | --make-profile LOG --code OVMF_CODE.fd [--peifv-dump MEM] [--out "
	 "F] "
	 "(PCR 0-3, 6 of QEMU/OVMF)",
	 pp_firmware_run},
	{"build",
	 "build --manifest MANIFEST [--out REF.json] [--out-cbor REF.cbor] [--pcrlock DIR]",
	 pp_build_run},
	{"pcrlock", "pcrlock REF.json DIR (the reference document as systemd .pcrlock files)",
	 pp_pcrlock_run},
	{"ima",
	 "ima --rootfs DIR|IMAGE [--policy FILE] [--output keylime|json|text] [--ima-hash sha256]"
	 " | ima --boot-aggregate --values FILE",
	 pp_ima_run},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: pcrpredict COMMAND [--banks sha256,sha1] [--json] ...\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  pcrpredict %s\n", commands[i].usage);
}

int pp_fail(const char *cmd)
{
	fprintf(stderr, "pcrpredict %s: %s\n", cmd, err_msg());
	return PP_EXIT_INPUT;
}

void pp_progress(uint64_t done, uint64_t total, void *label)
{
	static int last = -1;
	int pct;

	if (!isatty(STDERR_FILENO) || total == 0)
		return;
	pct = (int)(done * 100 / total);
	if (pct == last)
		return;
	last = pct;
	fprintf(stderr, "\r%s: %3d%%%s", (const char *)label, pct, pct == 100 ? "\n" : "");
}

static int parse_banks(const char *list, struct pp_opts *o)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	o->n_banks = 0;
	for (char *b = strtok_r(copy, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
		const struct hash_alg *alg = hash_alg_by_name(b);

		if (!alg || o->n_banks == PCR_BANKS_MAX) {
			err_set(-EINVAL,
				"--banks: unknown bank \"%s\" (sha1, sha256, sha384, sha512)", b);
			free(copy);
			return -EINVAL;
		}
		o->banks[o->n_banks++] = alg;
	}
	free(copy);
	if (o->n_banks == 0)
		return err_set(-EINVAL, "--banks: empty list");
	o->banks_given = true;
	return 0;
}

/* Takes the common options out of argv wherever they are; returns the new argc. */
static int take_common_options(int argc, char **argv, struct pp_opts *o)
{
	int out = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--banks") == 0 || strncmp(a, "--banks=", 8) == 0) {
			const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v || parse_banks(v, o) < 0) {
				if (!v)
					err_set(-EINVAL, "--banks needs a list");
				return -EINVAL;
			}
		} else if (strcmp(a, "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	struct pp_opts opts = {.n_banks = 1};

	log_set_prog("pcrpredict");
	opts.banks[0] = hash_alg_by_id(TPM_ALG_SHA256);
	argc = take_common_options(argc, argv, &opts);
	if (argc < 0)
		return pp_fail("");
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? PP_EXIT_INPUT : PP_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("pcrpredict (measured) %s\n", MEASURED_VERSION);
		return PP_EXIT_OK;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		for (int k = 2; k < argc && strcmp(argv[k], "--") != 0; k++)
			if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
				printf("usage: pcrpredict %s [--banks sha256,sha1] [--json]\n"
				       "(see pcrpredict(1))\n",
				       commands[i].usage);
				return PP_EXIT_OK;
			}
		return commands[i].run(argc - 1, argv + 1, &opts);
	}
	fprintf(stderr, "pcrpredict: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return PP_EXIT_INPUT;
}
