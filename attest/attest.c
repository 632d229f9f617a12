// SPDX-License-Identifier: MIT
/* attest: parse the common options and dispatch to a subcommand. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "attest.h"
#include "attest_client.h"
#include "err.h"

static const struct attest_cmd commands[] = {
	{"log", "log FILE [--format tcg|ima|cel] [--json] [--banks sha1,sha256] [--sha1-padded]",
	 attest_log_run},
	{"enroll",
	 "enroll HOST[:PORT]|unix:PATH [--trust-on-first-use]  (the EK certificate must chain to "
	 "--ek-ca FILE|DIR, default " ATTEST_DEFAULT_EK_CA ")",
	 attest_enroll_run},
	{"quote", "quote HOST[:PORT]|unix:PATH [--pcrs SEL] [--full] --out EVIDENCE",
	 attest_quote_run},
	{"export", "export EVIDENCE DIR", attest_export_run},
	{"verify",
	 "verify EVIDENCE [--ak AK.pem] [--reference REF.json] [--runtime-policy F] [--pcrs SEL] "
	 "[--nonce HEX] [--strict] [--ear-key KEY.pem]",
	 attest_verify_run},
	{"check",
	 "check HOST[:PORT] [--pcrs SEL] [--reference REF.json] [--runtime-policy F] [--ak AK.pem] "
	 "[--strict] [--full] [--ear-key KEY.pem]",
	 attest_check_run},
	{"ear", "ear verify TOKEN --key PUB.pem  (an EAR JWT: signature and claims)",
	 attest_ear_run},
	{"serve",
	 "serve [-n] [--db FILE|postgresql://...] --listen HOST:PORT --tokens FILE [--interval S] "
	 "[--pollers N] [--webhook URL --webhook-secret F] [--tls-cert C --tls-key K]  (the fleet "
	 "verifier)",
	 attest_serve_run},
	{"fleet",
	 "fleet [--url URL] [--token-file F] [--cacert CA] devices|add NAME ADDRESS [--policy P] "
	 "[--interval S] [--trust-on-first-use]|remove NAME|show NAME|history NAME [BEFORE]|ear "
	 "NAME|policy NAME [--reference F] [--runtime-policy F] [--pcrs SEL] [--strict]|policies|"
	 "set-policy NAME POLICY|watch [--after ID]  (attest serve's client)",
	 attest_fleet_run},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: attest [--tcti CONF] [--state DIR] [--ek-ca CA] [--tls-ca CA] "
		     "[--tls-cert C --tls-key K]\n"
		     "              [--json] [-v] [--version] COMMAND ... [--help]\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  attest %s\n", commands[i].usage);
}

/* --help or -h anywhere after the subcommand (before a "--") */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"tcti", required_argument, NULL, 'T'},
		{"state", required_argument, NULL, 'S'},
		{"ek-ca", required_argument, NULL, 'E'},
		{"tls-ca", required_argument, NULL, 'A'},
		{"tls-cert", required_argument, NULL, 'C'},
		{"tls-key", required_argument, NULL, 'K'},
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct attest_opts opts = {.state = "attest-state"};
	int c;

	log_set_prog("attest");
	/* stop at the subcommand; it parses its own options */
	while ((c = getopt_long(argc, argv, "+T:S:E:A:C:K:jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'T':
			opts.tcti = optarg;
			break;
		case 'S':
			opts.state = optarg;
			break;
		case 'E':
			opts.ek_ca = optarg;
			break;
		case 'A':
			opts.tls_ca = optarg;
			break;
		case 'C':
			opts.tls_cert = optarg;
			break;
		case 'K':
			opts.tls_key = optarg;
			break;
		case 'j':
			opts.json = true;
			break;
		case 'v':
			log_set_level(log_get_level() + 1);
			break;
		case 'h':
			usage(stdout);
			return ATTEST_EXIT_OK;
		case 'V':
			printf("attest (measured) %s\n", MEASURED_VERSION);
			return ATTEST_EXIT_OK;
		default:
			usage(stderr);
			return ATTEST_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return ATTEST_EXIT_USAGE;
	}
	if (opts.tls_ca && attest_client_tls(opts.tls_ca, opts.tls_cert, opts.tls_key) < 0) {
		fprintf(stderr, "attest: %s\n", err_msg());
		return ATTEST_EXIT_USAGE;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			if (wants_help(argc - optind, argv + optind)) {
				printf("usage: attest [COMMON OPTIONS] %s\n(see attest(1))\n",
				       commands[i].usage);
				return ATTEST_EXIT_OK;
			}
			argc -= optind;
			argv += optind;
			optind = 0; /* reset getopt for the subcommand */
			return commands[i].run(argc, argv, &opts);
		}
	}
	fprintf(stderr, "attest: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return ATTEST_EXIT_USAGE;
}
