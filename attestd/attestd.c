// SPDX-License-Identifier: MIT
/*
 * attestd: the device side of attestation.  Reads its settings, opens the
 * TPM (--provision creates the EK and AK), the logs and the listeners, drops
 * what it can, and leaves the network to the engine it forks (ad_parent.c).
 * -n checks the settings, prints what it would do, and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attestd.h"
#include "err.h"
#include "sandbox.h"
#include "tpm.h"

#define AD_CONFIG_DEFAULT "/etc/measured/attestd.conf"

static void usage(FILE *out)
{
	fprintf(out, "usage: attestd [-n] [--config FILE] [--tcti CONF] [--provision]\n"
		     "               [--listen HOST:PORT] [--socket PATH] [--user NAME] "
		     "[--engine-user NAME]\n"
		     "               [--batch-ms N] [--batch-max N] [--read-timeout-ms N]\n"
		     "               [--write-timeout-ms N] [--tpm-timeout-ms N] [--max-conns N]\n"
		     "               [--max-conns-per-peer N] [--keys-per-minute N]\n"
		     "               [--firmware-log F] [--ima-log F] [--cel-log F]\n"
		     "               [--drtm-log F | --txt-heap IMAGE]\n"
		     "               [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n");
}

/* The long options are the config file's keys: one table, both readers. */
static const struct option longopts[] = {
	{"tcti", required_argument, NULL, 0},
	{"listen", required_argument, NULL, 0},
	{"socket", required_argument, NULL, 0},
	{"user", required_argument, NULL, 0},
	{"engine-user", required_argument, NULL, 0},
	{"batch-ms", required_argument, NULL, 0},
	{"batch-max", required_argument, NULL, 0},
	{"read-timeout-ms", required_argument, NULL, 0},
	{"write-timeout-ms", required_argument, NULL, 0},
	{"tpm-timeout-ms", required_argument, NULL, 0},
	{"max-conns", required_argument, NULL, 0},
	{"max-conns-per-peer", required_argument, NULL, 0},
	{"keys-per-minute", required_argument, NULL, 0},
	{"firmware-log", required_argument, NULL, 0},
	{"ima-log", required_argument, NULL, 0},
	{"cel-log", required_argument, NULL, 0},
	{"drtm-log", required_argument, NULL, 0},
	{"txt-heap", required_argument, NULL, 0},
	{"tls-cert", required_argument, NULL, 0},
	{"tls-key", required_argument, NULL, 0},
	{"tls-client-ca", required_argument, NULL, 0},
	{"config", required_argument, NULL, 'f'},
	{"provision", no_argument, NULL, 'p'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

struct cli {
	const char *config;
	bool provision, config_test;
};

/* The config file first (named, or the default if it exists), then the options over it. */
static int parse_args(int argc, char **argv, struct ad_config *cfg, struct cli *cli)
{
	int c, idx;

	ad_config_defaults(cfg);
	cli->config = NULL;
	while ((c = getopt_long(argc, argv, "nh", longopts, &idx)) != -1)
		if (c == 'f')
			cli->config = optarg;
		else if (c == '?')
			return 2;
	if (!cli->config && access(AD_CONFIG_DEFAULT, F_OK) == 0)
		cli->config = AD_CONFIG_DEFAULT;
	if (cli->config && ad_config_load(cli->config, cfg) < 0) {
		log_err("%s", err_msg());
		return 1;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "nh", longopts, &idx)) != -1) {
		switch (c) {
		case 0:
			if (ad_config_set(cfg, longopts[idx].name, optarg) < 0) {
				log_err("--%s", err_msg());
				return 2;
			}
			break;
		case 'n':
			cli->config_test = true;
			break;
		case 'p':
			cli->provision = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case 'V':
			printf("attestd (measured) %s\n", MEASURED_VERSION);
			return -1;
		case 'f':
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* -n: everything that can be checked without serving. */
static int config_test(const struct ad_config *cfg)
{
	struct ad_setup setup;
	int rc = 0;

	if (cfg->user && !getpwnam(cfg->user))
		rc = err_set(-ENOENT, "no user %s", cfg->user);
	if (rc == 0 && cfg->engine_user && !getpwnam(cfg->engine_user))
		rc = err_set(-ENOENT, "no user %s", cfg->engine_user);
	if (rc == 0) {
		/* open what the daemon opens, listeners on a copy without addresses */
		struct ad_config probe = *cfg;

		probe.listen = NULL;
		probe.socket = NULL;
		rc = ad_setup_open(&setup, &probe);
		if (rc == 0)
			ad_config_print(cfg, &setup, stdout);
		ad_setup_close(&setup);
	}
	if (rc < 0) {
		log_err("%s", err_msg());
		return 1;
	}
	printf("configuration OK\n");
	return 0;
}

/*
 * Who the engine runs as when attestd starts as root: --engine-user, else
 * --user, else measured-attestd, else nobody.  Checked now: an engine that
 * cannot drop would only be restarted, again and again.
 */
static int engine_user_resolve(struct ad_config *cfg)
{
	if (geteuid() != 0)
		return 0; /* it cannot change user: it keeps ours, without capabilities */
	if (!cfg->engine_user)
		cfg->engine_user = cfg->user			  ? cfg->user
				   : getpwnam("measured-attestd") ? "measured-attestd"
								  : "nobody";
	if (!getpwnam(cfg->engine_user))
		return err_set(-ENOENT, "no user %s for the engine (--engine-user)",
			       cfg->engine_user);
	return 0;
}

static int serve(struct ad_config *cfg, bool provision)
{
	struct ad_setup setup = {.listen_fd = {-1, -1}, .log_fd = {-1, -1, -1, -1}};
	struct ak_info info;
	struct tpm *tpm = NULL;
	int rc;

	cfg->tcti = tpm_tcti_resolve(cfg->tcti);
	rc = tpm_open(cfg->tcti, 0, &tpm);
	if (rc == 0)
		rc = tpm_keys_ensure(tpm, provision, &info);
	/* --provision makes the keys and exits, whatever the config file says about listening */
	if (rc == 0 && provision) {
		printf("EK at 0x%08x and AK at 0x%08x are in place\n", TPM_HANDLE_EK,
		       TPM_HANDLE_AK);
		tpm_close(tpm);
		return 0;
	}
	if (!cfg->listen && !cfg->socket)
		cfg->listen = "127.0.0.1:9505";
	if (rc == 0)
		rc = engine_user_resolve(cfg);
	if (rc == 0)
		rc = tpm_pcr_banks(tpm, &setup.banks);
	if (rc == 0) {
		struct pcr_selection banks = setup.banks;

		rc = ad_setup_open(&setup, cfg);
		setup.banks = banks;
	}
	/* the logs are open: what the parent keeps is the TPM, no more */
	if (rc == 0 && cfg->user)
		rc = sandbox_setuser(cfg->user);
	/* a user's capabilities (the unit's CAP_DAC_READ_SEARCH) served the opening only */
	if (rc == 0 && geteuid() != 0 && sandbox_drop_caps() < 0)
		log_warn("the privileged process keeps its capabilities: %s", err_msg());
	if (rc == 0)
		rc = ad_parent_run(&setup, tpm);
	else
		tpm_close(tpm);
	if (rc < 0)
		log_err("%s", err_msg());
	ad_setup_close(&setup);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct ad_config cfg;
	struct cli cli = {0};
	int rc;

	log_set_prog("attestd");
	rc = parse_args(argc, argv, &cfg, &cli);
	if (rc == 0)
		rc = cli.config_test ? config_test(&cfg) : serve(&cfg, cli.provision);
	ad_config_free();
	return rc < 0 ? 0 : rc;
}
