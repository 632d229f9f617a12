/* SPDX-License-Identifier: MIT */
/* cmld: the container manager daemon (see cmld.h and README.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmld.h"
#include "err.h"
#include "kvconf.h"
#include "measure.h"

/* policies/seal-boot.profile: firmware and its configuration, GRUB, the rootfs */
#define CM_SEAL_DEFAULT_PCRS "sha256:0,1,2,3,4,5,6,7,8,9,13"
/* on the measured rootfs, not the data partition: see docs/sealing.md */
#define CM_TRUST_ANCHORS_DEFAULT "/etc/measured/cml/trusted-ca"
/* the control process's user: no files, no capabilities, nothing of root's */
#define CM_CONTROL_USER_DEFAULT "nobody"

static int seal_profile_load(const char *path, struct pcr_selection *ret)
{
	static const char *const known[] = {"pcrs", "pin", NULL};
	struct kvconf conf;
	const char *pcrs;
	int r;

	if ((r = kvconf_load(path, &conf)) < 0)
		return r;
	if ((r = kvconf_check_keys(&conf, known)) == 0) {
		if (!(pcrs = kvconf_get(&conf, "pcrs")))
			r = err_set(-EINVAL, "%s: no \"pcrs = ...\" line", path);
		else if ((r = pcr_selection_parse(pcrs, ret)) < 0)
			r = err_wrap(r, "%s: pcrs", path);
	}
	kvconf_free(&conf);
	return r;
}

static void usage(FILE *out)
{
	struct cm_confine_conf def;
	char caps[512];

	cm_confine_defaults(&def);
	cm_confine_caps_format(def.caps, caps, sizeof(caps));
	fprintf(out,
		"usage: cmld [--data-dir DIR] [--socket PATH] [--run-dir DIR]\n"
		"            [--trust-anchors DIR|FILE] [--stop-timeout-ms MS] [--allow-reboot] "
		"[-v]\n"
		"            [--tpm TCTI [--seal-profile FILE] [--seal-reference REF.json]\n"
		"             [--policy-signer KEY.pem [--signed-policies DIR]]\n"
		"             [--cel PATH] [--luks-pbkdf2-iterations N]]\n"
		"            [--control-user USER (default " CM_CONTROL_USER_DEFAULT ")]\n"
		"            [--container-caps LIST|all|none] [--container-seccomp default|none]\n"
		"            [--container-pids-max N] [--container-memory-max MIB]\n"
		"defaults: --data-dir /data/cml --socket /run/socket/cml-control "
		"--run-dir /run/cml --stop-timeout-ms 10000\n"
		"          --trust-anchors %s\n"
		"          --seal-profile: pcrs = %s; --signed-policies DIR/signed-policies;\n"
		"          --cel %s\n"
		"          --container-caps %s\n"
		"          --container-seccomp default --container-pids-max %u "
		"--container-memory-max %u (0: no limit)\n",
		CM_TRUST_ANCHORS_DEFAULT, CM_SEAL_DEFAULT_PCRS, MEASURED_CEL_PATH, caps,
		CM_CONFINE_PIDS_MAX_DEFAULT, CM_CONFINE_MEMORY_MIB_DEFAULT);
}

/* A decimal count for @opt, refused unless it is one whole number up to UINT32_MAX. */
static int parse_u32(const char *opt, const char *text, uint32_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v > UINT32_MAX)
		return err_set(-EINVAL, "%s: '%s' is not a number from 0 to %u", opt, text,
			       UINT32_MAX);
	*ret = (uint32_t)v;
	return 0;
}

static bool any_running(struct cmld *d)
{
	for (struct cm_container *c = d->containers; c; c = c->next)
		if (c->init_pid)
			return true;
	return false;
}

static int serve(struct cmld *d)
{
	bool stopping = false;

	while (!(stopping && !any_running(d))) {
		if ((d->quit || d->rebooting) && !stopping) {
			log_info("stopping every container");
			for (struct cm_container *c = d->containers; c; c = c->next)
				if (c->init_pid && c->state != CONTAINER_STATE__SHUTTING_DOWN)
					cm_container_stop(d, c);
			stopping = true;
		}
		int timeout = cm_runtime_tick(d);
		if (cm_control_poll(d, timeout < 0 ? 1000 : timeout) < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"data-dir", required_argument, NULL, 'd'},
		{"socket", required_argument, NULL, 's'},
		{"run-dir", required_argument, NULL, 'r'},
		{"trust-anchors", required_argument, NULL, 'A'},
		{"stop-timeout-ms", required_argument, NULL, 't'},
		{"allow-reboot", no_argument, NULL, 'R'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"tpm", required_argument, NULL, 'T'},
		{"seal-profile", required_argument, NULL, 'P'},
		{"seal-reference", required_argument, NULL, 'F'},
		{"policy-signer", required_argument, NULL, 'S'},
		{"signed-policies", required_argument, NULL, 'D'},
		{"cel", required_argument, NULL, 'C'},
		{"luks-pbkdf2-iterations", required_argument, NULL, 'I'},
		{"container-caps", required_argument, NULL, 'K'},
		{"container-seccomp", required_argument, NULL, 'X'},
		{"container-pids-max", required_argument, NULL, 'N'},
		{"container-memory-max", required_argument, NULL, 'M'},
		{"control-user", required_argument, NULL, 'U'},
		{NULL, 0, NULL, 0},
	};
	const char *profile = NULL;
	char signed_dir[4096];
	struct cmld d = {
		.data_dir = "/data/cml",
		.socket_path = "/run/socket/cml-control",
		.run_dir = "/run/cml",
		.trust_anchors = CM_TRUST_ANCHORS_DEFAULT,
		.stop_timeout_ms = 10000,
		.listen_fd = -1,
		.signal_fd = -1,
		.seal.cel_path = MEASURED_CEL_PATH,
		.ctl = {.user = CM_CONTROL_USER_DEFAULT, .chan = -1},
	};
	sigset_t mask;
	int c, r;

	log_set_prog("cmld");
	log_set_level(LOG_LEVEL_INFO);
	cm_confine_defaults(&d.confine);
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		r = 0;
		switch (c) {
		case 'd':
			d.data_dir = optarg;
			break;
		case 's':
			d.socket_path = optarg;
			break;
		case 'r':
			d.run_dir = optarg;
			break;
		case 'A':
			d.trust_anchors = optarg;
			break;
		case 't':
			d.stop_timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			d.allow_reboot = true;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'T':
			d.seal.tcti = optarg;
			break;
		case 'P':
			profile = optarg;
			break;
		case 'F':
			d.seal.reference = optarg;
			break;
		case 'S':
			d.seal.signer = optarg;
			break;
		case 'D':
			d.seal.signed_dir = optarg;
			break;
		case 'C':
			d.seal.cel_path = optarg;
			break;
		case 'I':
			d.seal.pbkdf2_iterations = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'K':
			r = cm_confine_caps_parse(optarg, &d.confine.caps);
			break;
		case 'X':
			r = 0;
			if (strcmp(optarg, "default") && strcmp(optarg, "none"))
				r = err_set(-EINVAL,
					    "--container-seccomp: '%s' is neither default "
					    "nor none",
					    optarg);
			d.confine.seccomp = !strcmp(optarg, "default");
			break;
		case 'N':
			r = parse_u32("--container-pids-max", optarg, &d.confine.pids_max);
			break;
		case 'M':
			r = parse_u32("--container-memory-max", optarg, &d.confine.memory_mib);
			break;
		case 'U':
			d.ctl.user = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cmld (measured) %s\n", MEASURED_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (r < 0) { /* an option whose value was refused */
			log_err("%s", err_msg());
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	r = profile ? seal_profile_load(profile, &d.seal.pcrs)
		    : pcr_selection_parse(CM_SEAL_DEFAULT_PCRS, &d.seal.pcrs);
	if (r < 0) {
		log_err("%s", err_msg());
		return 2;
	}
	if (!d.seal.signed_dir) {
		snprintf(signed_dir, sizeof(signed_dir), "%s/signed-policies", d.data_dir);
		d.seal.signed_dir = signed_dir;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d.signal_fd < 0 || (r = cm_store_init(&d)) < 0 || (r = cm_store_recover(&d)) < 0 ||
	    (r = cm_runtime_init(&d)) < 0 || (r = cm_store_load_containers(&d, false)) < 0 ||
	    (r = cm_control_listen(&d)) < 0) {
		log_err("%s", err_msg());
		return 1;
	}
	cm_runtime_cleanup_stale(&d);
	/* what a killed cmld left half done (cm_store_recover did the data folder) */
	cm_measure_recover(&d);
	for (struct cm_container *ct = d.containers; ct; ct = ct->next)
		cm_seal_recover(&d, ct->uuid);
	log_info("serving %s (data in %s, %s)", d.socket_path, d.data_dir,
		 d.provisioned ? "provisioned" : "not provisioned");
	char caps[512];
	cm_confine_caps_format(d.confine.caps, caps, sizeof(caps));
	log_info("containers: capabilities %s; seccomp %s; pids.max %u; memory %u MiB unless "
		 "ram_limit (0: none)",
		 caps, d.confine.seccomp ? "default" : "none", d.confine.pids_max,
		 d.confine.memory_mib);
	r = serve(&d);
	cm_control_close(&d);
	while (d.containers) {
		struct cm_container *ct = d.containers;
		d.containers = ct->next;
		cm_container_free(ct);
	}
	if (r == 0 && d.rebooting) {
		log_info("every container stopped: %s", d.allow_reboot ? "rebooting" : "exiting");
		sync();
		if (d.allow_reboot)
			reboot(RB_AUTOBOOT);
	}
	return r < 0 ? 1 : 0;
}
