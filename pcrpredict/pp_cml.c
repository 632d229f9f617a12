// SPDX-License-Identifier: MIT
/*
 * pcrpredict cml: PCR 11 after cmld starts one container, from the signed
 * GuestOS config (its image digests) and the container config -- the
 * events of lib/cml_measure, extended from zero (or from --values).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cml_measure.h"
#include "err.h"
#include "hex.h"
#include "jsonw.h"
#include "pbtext.h"
#include "pcr_values.h"
#include "pcrpredict.h"

static int load_configs(const char *gpath, const char *cpath, GuestOSConfig **g,
			ContainerConfig **c)
{
	ProtobufCMessage *m = NULL;

	if (pbtext_parse_file(&guest_osconfig__descriptor, gpath, &m) < 0)
		return -EINVAL;
	*g = (GuestOSConfig *)m;
	if (pbtext_parse_file(&container_config__descriptor, cpath, &m) < 0) {
		protobuf_c_message_free_unpacked(&(*g)->base, NULL);
		return -EINVAL;
	}
	*c = (ContainerConfig *)m;
	return 0;
}

static void print(const struct pp_opts *opts, const struct cml_event *ev, size_t n,
		  const struct pcr_banks *banks)
{
	char hex[2 * DIGEST_MAX + 1];
	struct jw j;

	if (!opts->json) {
		for (unsigned b = 0; b < banks->count; b++) {
			hex_encode(banks->bank[b].value[CML_PCR], banks->bank[b].alg->size, hex);
			printf("%s %d %s\n", banks->bank[b].alg->name, CML_PCR, hex);
		}
		return;
	}
	jw_init(&j, stdout);
	jw_object_begin(&j);
	jw_key(&j, "events");
	jw_array_begin(&j);
	for (size_t i = 0; i < n; i++) {
		jw_object_begin(&j);
		jw_key(&j, "type");
		jw_string(&j, ev[i].type);
		jw_key(&j, "name");
		jw_string(&j, ev[i].name);
		jw_key(&j, "sha256");
		jw_hex(&j, ev[i].sha256, 32);
		jw_object_end(&j);
	}
	jw_array_end(&j);
	jw_key(&j, "pcrs");
	pcr_banks_json(&j, banks, 1u << CML_PCR, false);
	jw_object_end(&j);
	jw_finish(&j);
}

int pp_cml_run(int argc, char **argv, const struct pp_opts *opts)
{
	static const struct option longopts[] = {
		{"guestos", required_argument, NULL, 'g'},
		{"container", required_argument, NULL, 'c'},
		{"values", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *gpath = NULL, *cpath = NULL, *values = NULL;
	struct cml_event ev[CML_EVENTS_MAX];
	struct pcr_banks banks, from;
	struct pcr_selection sel = {0};
	GuestOSConfig *g = NULL;
	ContainerConfig *c = NULL;
	size_t n = 0;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'g')
			gpath = optarg;
		else if (opt == 'c')
			cpath = optarg;
		else if (opt == 'f')
			values = optarg;
		else
			return err_set(-EINVAL, "unknown option"), pp_fail("cml");
	}
	if (!gpath || !cpath || optind != argc)
		return err_set(-EINVAL, "needs --guestos G.conf and --container C.conf"),
		       pp_fail("cml");
	for (unsigned b = 0; b < opts->n_banks; b++) {
		sel.bank[sel.count].alg = opts->banks[b];
		sel.bank[sel.count++].mask = 1u << CML_PCR;
	}
	if (values && pcr_values_load(values, &sel, &from) < 0)
		return pp_fail("cml");
	if (load_configs(gpath, cpath, &g, &c) < 0)
		return pp_fail("cml");
	r = cml_start_events(g, c, ev, &n);
	pcr_banks_init(&banks);
	for (unsigned b = 0; b < opts->n_banks && r == 0; b++) {
		struct pcr_bank *bank = pcr_banks_add(&banks, opts->banks[b]);
		struct alg_digest d;
		if (values)
			memcpy(bank->value[CML_PCR],
			       pcr_banks_find(&from, bank->alg)->value[CML_PCR], bank->alg->size);
		for (size_t i = 0; i < n && r == 0; i++)
			if ((r = digest_per_bank(hash_alg_by_name("sha256"), ev[i].sha256,
						 &bank->alg, 1, &d)) == 0)
				r = pcr_bank_extend(bank, CML_PCR, d.value);
	}
	protobuf_c_message_free_unpacked(&g->base, NULL);
	protobuf_c_message_free_unpacked(&c->base, NULL);
	if (r < 0)
		return pp_fail("cml");
	print(opts, ev, n, &banks);
	return PP_EXIT_OK;
}
