// SPDX-License-Identifier: MIT
/*
 * pcrpredict tboot: tboot's own events (policy digest, module measurements),
 * the MLE hash, and -- with a platform profile for the SINIT ACM's events --
 * PCR 17 and 18 under the DA mapping.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hex.h"
#include "jsonw.h"
#include "pcrpredict.h"
#include "tboot.h"
#include "tboot_predict.h"

static int parse_args(int argc, char **argv, struct tboot_inputs *a)
{
	static const struct option longopts[] = {
		{"tboot", required_argument, NULL, 't'},
		{"tboot-cmdline", required_argument, NULL, 'T'},
		{"module", required_argument, NULL, 'm'},
		{"cmdline", required_argument, NULL, 'c'},
		{"policy", required_argument, NULL, 'p'},
		{"platform", required_argument, NULL, 'P'},
		{"extpol", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	int c;

	a->tboot_cmdline = "";
	a->extpol = "sha256";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			a->tboot = optarg;
			break;
		case 'T':
			a->tboot_cmdline = optarg;
			break;
		case 'm':
			if (a->n_modules == TBOOT_MAX_MODULES)
				return err_set(-EINVAL, "more than %d modules", TBOOT_MAX_MODULES);
			a->module[a->n_modules++] = (struct tboot_module){optarg, ""};
			break;
		case 'c':
			if (a->n_modules == 0)
				return err_set(-EINVAL,
					       "--cmdline belongs after the --module it is for");
			a->module[a->n_modules - 1].cmdline = optarg;
			break;
		case 'p':
			a->policy = optarg;
			break;
		case 'P':
			a->platform = optarg;
			break;
		case 'e':
			if (strcmp(optarg, "sha256") && strcmp(optarg, "agile") &&
			    strcmp(optarg, "embedded"))
				return err_set(-EINVAL,
					       "--extpol must be sha256, agile or embedded");
			a->extpol = optarg;
			break;
		default:
			return err_set(-EINVAL, "unknown option");
		}
	}
	if (!a->tboot || optind != argc)
		return err_set(-EINVAL,
			       "needs --tboot FILE (and --module FILE [--cmdline STR] ...)");
	if (a->n_modules == 0)
		return err_set(-EINVAL, "needs at least one --module (the kernel)");
	return 0;
}

static void print_text(const struct tboot_inputs *a, const struct tboot_prediction *p)
{
	char hex[2 * DIGEST_MAX + 1];

	printf("tboot %s, command line \"%s\", extpol=%s\n", a->tboot, a->tboot_cmdline, a->extpol);
	for (unsigned b = 0; b < p->n_banks; b++) {
		hex_encode(p->mle[b], p->bank[b]->size, hex);
		printf("  MLE hash %-7s %s\n", p->bank[b]->name, hex);
	}
	printf("events:\n");
	for (unsigned e = 0; e < p->n_events; e++) {
		const struct tboot_event *ev = &p->event[e];

		printf("  PCR %u  0x%03x  %-5s %s\n", ev->pcr, ev->type, ev->source, ev->what);
		for (unsigned b = 0; b < p->n_banks; b++) {
			hex_encode(ev->digest[b].value, p->bank[b]->size, hex);
			printf("      %-7s %s\n", p->bank[b]->name, hex);
		}
	}
	if (!p->have_platform) {
		printf("PCR 17/18: these are tboot's contributions only; the full values need the "
		       "SINIT ACM's events (--platform PROFILE.json or a reference TXT log)\n");
		return;
	}
	for (unsigned b = 0; b < p->n_banks; b++)
		for (unsigned pcr = TBOOT_PCR_DETAILS; pcr <= TBOOT_PCR_AUTHORITIES; pcr++) {
			hex_encode(p->pcrs.bank[b].value[pcr], p->bank[b]->size, hex);
			printf("%-7s PCR %u: %s\n", p->bank[b]->name, pcr, hex);
		}
}

static void print_json(const struct tboot_inputs *a, const struct tboot_prediction *p)
{
	struct jw j;

	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "extpol");
	jw_string(&j, a->extpol);
	jw_key(&j, "mle_hash");
	jw_object_begin(&j);
	for (unsigned b = 0; b < p->n_banks; b++) {
		jw_key(&j, p->bank[b]->name);
		jw_hex(&j, p->mle[b], p->bank[b]->size);
	}
	jw_object_end(&j);
	jw_key(&j, "events");
	jw_array_begin(&j);
	for (unsigned e = 0; e < p->n_events; e++) {
		const struct tboot_event *ev = &p->event[e];

		jw_object_begin(&j);
		jw_key(&j, "pcr");
		jw_uint(&j, ev->pcr);
		jw_key(&j, "type");
		jw_uint(&j, ev->type);
		jw_key(&j, "source");
		jw_string(&j, ev->source);
		jw_key(&j, "what");
		jw_string(&j, ev->what);
		jw_key(&j, "digests");
		jw_object_begin(&j);
		for (unsigned b = 0; b < p->n_banks; b++) {
			jw_key(&j, p->bank[b]->name);
			jw_hex(&j, ev->digest[b].value, p->bank[b]->size);
		}
		jw_object_end(&j);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_key(&j, "complete");
	jw_bool(&j, p->have_platform);
	if (p->have_platform) {
		jw_key(&j, "pcrs");
		pcr_banks_json(&j, &p->pcrs, 1u << 17 | 1u << 18, false);
	}
	jw_object_end(&j);
	jw_finish(&j);
}

int pp_tboot_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct tboot_inputs a = {0};
	struct tboot_prediction *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return err_set(-ENOMEM, "out of memory"), pp_fail("tboot");
	rc = parse_args(argc, argv, &a);
	if (rc == 0)
		rc = tboot_predict(&a, opts->banks, opts->n_banks, p);
	if (rc == 0 && opts->json)
		print_json(&a, p);
	else if (rc == 0)
		print_text(&a, p);
	free(p);
	return rc < 0 ? pp_fail("tboot") : PP_EXIT_OK;
}
