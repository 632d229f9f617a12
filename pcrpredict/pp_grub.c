// SPDX-License-Identifier: MIT
/*
 * pcrpredict grub: the PCR 8 and 9 events GRUB's tpm module makes for a
 * grub.cfg whose files are in --root (and --memdisk), and the PCR values.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "grub_script.h"
#include "hex.h"
#include "jsonw.h"
#include "pcrpredict.h"

/* Modules our boot image builds into GRUB (boot/README.md): insmod of these reads no file. */
#define DEFAULT_PRELOADED                                                                         \
	"tpm part_gpt part_msdos fat linux linuxefi multiboot2 chain search search_fs_file echo " \
	"normal"

#define MAX_SETS 32

struct grub_args {
	const char *config, *config_name, *preamble;
	unsigned n_sets;
	char *set[MAX_SETS];
};

static int parse_args(int argc, char **argv, struct grub_args *a, struct grub_sim *sim)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"root", required_argument, NULL, 'r'},
		{"memdisk", required_argument, NULL, 'm'},
		{"config-name", required_argument, NULL, 'n'},
		{"set", required_argument, NULL, 's'},
		{"preloaded", required_argument, NULL, 'p'},
		{"search-result", required_argument, NULL, 'S'},
		{"preamble", required_argument, NULL, 'P'},
		{"entry", required_argument, NULL, 'e'},
		{"env", required_argument, NULL, 'E'},
		{"fs-uuid", required_argument, NULL, 'U'},
		{"fs-label", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	int c;

	a->config_name = ""; /* GRUB 2.06 does not measure the grub.cfg it starts with */
	sim->preloaded = GRUB_DEFAULT_PRELOADED;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'r':
			sim->root_dir = optarg;
			break;
		case 'm':
			sim->memdisk_dir = optarg;
			break;
		case 'n':
			a->config_name = optarg;
			break;
		case 's':
			if (a->n_sets == MAX_SETS || !strchr(optarg, '='))
				return err_set(-EINVAL, "--set takes NAME=VALUE (at most %d)",
					       MAX_SETS);
			a->set[a->n_sets++] = optarg;
			break;
		case 'p':
			sim->preloaded = optarg;
			break;
		case 'S':
			sim->search_result = optarg;
			break;
		case 'P':
			a->preamble = optarg;
			break;
		case 'e':
			sim->entry = optarg;
			break;
		case 'E':
			sim->env_file = optarg;
			break;
		case 'U':
			sim->fs_uuid = optarg;
			break;
		case 'L':
			sim->fs_label = optarg;
			break;
		default:
			return err_set(-EINVAL, "unknown option");
		}
	}
	if (!a->config || !sim->root_dir || optind != argc)
		return err_set(-EINVAL, "needs --config grub.cfg and --root DIR");
	return 0;
}

static int simulate(const struct grub_args *a, struct grub_sim *sim)
{
	for (unsigned i = 0; i < a->n_sets; i++) {
		char *eq = strchr(a->set[i], '=');
		int rc;

		*eq = '\0';
		rc = grub_sim_set(sim, a->set[i], eq + 1);
		*eq = '=';
		if (rc < 0)
			return rc;
	}
	return grub_sim_predict(sim, a->config, a->config_name, a->preamble);
}

static void print(const struct grub_sim *sim, const struct pcr_banks *pcrs, bool json)
{
	struct jw j;

	if (!json) {
		char hex[2 * DIGEST_MAX + 1];

		for (size_t e = 0; e < sim->n_events; e++) {
			printf("PCR %u  %s\n", sim->event[e].pcr, sim->event[e].description);
			for (unsigned b = 0; b < sim->n_banks; b++) {
				hex_encode(sim->event[e].digest[b].value, sim->bank[b]->size, hex);
				printf("    %-7s %s\n", sim->bank[b]->name, hex);
			}
		}
		for (unsigned b = 0; b < pcrs->count; b++)
			for (unsigned pcr = GRUB_PCR_STRING; pcr <= GRUB_PCR_FILE; pcr++) {
				hex_encode(pcrs->bank[b].value[pcr], pcrs->bank[b].alg->size, hex);
				printf("%-7s PCR %u: %s\n", pcrs->bank[b].alg->name, pcr, hex);
			}
		return;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "events");
	jw_array_begin(&j);
	for (size_t e = 0; e < sim->n_events; e++) {
		jw_object_begin(&j);
		jw_key(&j, "pcr");
		jw_uint(&j, sim->event[e].pcr);
		jw_key(&j, "type");
		jw_string(&j, "EV_IPL");
		jw_key(&j, "description");
		jw_string(&j, sim->event[e].description);
		jw_key(&j, "digests");
		jw_object_begin(&j);
		for (unsigned b = 0; b < sim->n_banks; b++) {
			jw_key(&j, sim->bank[b]->name);
			jw_hex(&j, sim->event[e].digest[b].value, sim->bank[b]->size);
		}
		jw_object_end(&j);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_key(&j, "pcrs");
	pcr_banks_json(&j, pcrs, 1u << GRUB_PCR_STRING | 1u << GRUB_PCR_FILE, false);
	jw_object_end(&j);
	jw_finish(&j);
}

int pp_grub_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct grub_args a = {0};
	struct grub_sim sim = {.n_banks = opts->n_banks};
	struct pcr_banks pcrs;
	int rc;

	memcpy(sim.bank, opts->banks, sizeof(sim.bank));
	rc = parse_args(argc, argv, &a, &sim);
	if (rc == 0)
		rc = grub_sim_init(&sim);
	if (rc == 0)
		rc = simulate(&a, &sim);
	if (rc == 0)
		rc = grub_sim_pcrs(&sim, &pcrs);
	if (rc == 0)
		print(&sim, &pcrs, opts->json);
	grub_sim_free(&sim);
	return rc < 0 ? pp_fail("grub") : PP_EXIT_OK;
}
