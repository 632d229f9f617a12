// SPDX-License-Identifier: MIT
/*
 * attestd: the device side of attestation.  Opens the TPM, makes sure the EK
 * and AK exist (--provision creates them), listens, drops privileges, and
 * serves quotes with the firmware, IMA and CEL logs.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attestd.h"
#include "err.h"
#include "measure.h"
#include "tpm.h"

static volatile int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: attestd [--tcti CONF] [--provision] [--listen HOST:PORT] [--socket PATH]\n"
		"               [--user NAME] [--batch-ms N] [--firmware-log F] [--ima-log F]\n"
		"               [--cel-log F] [--read-timeout-ms N] [--batch-max N]\n"
		"               [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n");
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (!pw)
		return err_set(-ENOENT, "no user %s", user);
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return err_set(-errno, "dropping to %s: %s", user, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"tcti", required_argument, NULL, 'T'},
		{"provision", no_argument, NULL, 'p'},
		{"listen", required_argument, NULL, 'l'},
		{"socket", required_argument, NULL, 's'},
		{"user", required_argument, NULL, 'u'},
		{"batch-ms", required_argument, NULL, 'b'},
		{"firmware-log", required_argument, NULL, 'f'},
		{"ima-log", required_argument, NULL, 'i'},
		{"cel-log", required_argument, NULL, 'c'},
		{"read-timeout-ms", required_argument, NULL, 'R'},
		{"batch-max", required_argument, NULL, 'B'},
		{"tls-cert", required_argument, NULL, 'C'},
		{"tls-key", required_argument, NULL, 'K'},
		{"tls-client-ca", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct ad_config cfg = {
		.batch_ms = 3,
		.batch_max = AD_BATCH_MAX,
		.read_timeout_ms = 5000,
		.log_path = {"/sys/kernel/security/tpm0/binary_bios_measurements",
			     "/sys/kernel/security/ima/binary_runtime_measurements",
			     MEASURED_CEL_PATH},
	};
	struct ad_server *s;
	struct ak_info info;
	struct tpm *tpm = NULL;
	bool provision = false;
	int c, rc = 0;

	log_set_prog("attestd");
	while ((c = getopt_long(argc, argv, "T:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'T':
			cfg.tcti = optarg;
			break;
		case 'p':
			provision = true;
			break;
		case 'l':
			cfg.listen = optarg;
			break;
		case 's':
			cfg.socket = optarg;
			break;
		case 'u':
			cfg.user = optarg;
			break;
		case 'b':
			cfg.batch_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			cfg.log_path[ATTEST_LOG_TCG] = optarg;
			break;
		case 'C':
			cfg.tls_cert = optarg;
			break;
		case 'K':
			cfg.tls_key = optarg;
			break;
		case 'A':
			cfg.tls_client_ca = optarg;
			break;
		case 'B':
			cfg.batch_max = (unsigned)strtoul(optarg, NULL, 10);
			if (cfg.batch_max < 1 || cfg.batch_max > AD_BATCH_MAX)
				cfg.batch_max = AD_BATCH_MAX;
			break;
		case 'R':
			cfg.read_timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			cfg.log_path[ATTEST_LOG_IMA] = optarg;
			break;
		case 'c':
			cfg.log_path[ATTEST_LOG_CEL] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("attestd (measured) %s\n", MEASURED_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	cfg.tcti = tpm_tcti_resolve(cfg.tcti);
	s = calloc(1, sizeof(*s)); /* after the options: --help and --version leave nothing */
	if (!s || tpm_open(cfg.tcti, 0, &tpm) < 0 || tpm_keys_ensure(tpm, provision, &info) < 0) {
		log_err("%s", err_msg());
		rc = 1;
		goto out;
	}
	if (provision && !cfg.listen && !cfg.socket) {
		printf("EK at 0x%08x and AK at 0x%08x are in place\n", TPM_HANDLE_EK,
		       TPM_HANDLE_AK);
		goto out;
	}
	if (!cfg.listen && !cfg.socket)
		cfg.listen = "127.0.0.1:9505";
	if (ad_server_init(s, &cfg) < 0 || (cfg.user && drop_privileges(cfg.user) < 0)) {
		log_err("%s", err_msg());
		rc = 1;
		goto out;
	}
	s->tpm = tpm; /* the server owns it now */
	tpm = NULL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (ad_server_run(s, &stop) < 0)
		log_err("%s", err_msg());
	log_info("%llu requests, %llu quotes", (unsigned long long)s->requests,
		 (unsigned long long)s->quotes);
out:
	if (s && s->cfg)
		ad_server_close(s);
	tpm_close(tpm);
	free(s);
	return rc;
}
