/* SPDX-License-Identifier: MIT */
/* cmld: the container manager daemon (see cmld.h and README.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "cm_settings.h"
#include "cmld.h"
#include "cm_control.h"
#include "cm_measure.h"
#include "cm_runtime.h"
#include "cm_seal.h"
#include "cm_store.h"
#include "cm_vclient.h"
#include "err.h"
#include "frame.h"
#include "measure.h"

static void usage(FILE *out)
{
	struct cm_confine_conf def;
	char caps[512];

	cm_confine_defaults(&def);
	cm_confine_caps_format(def.caps, caps, sizeof(caps));
	fprintf(out,
		"usage: cmld [-n] [--config FILE] [--data-dir DIR] [--socket PATH] [--run-dir "
		"DIR]\n"
		"            [--trust-anchors DIR|FILE] [--stop-timeout-ms MS] [--allow-reboot] "
		"[-v]\n"
		"            [--tpm TCTI [--seal-profile FILE] [--seal-reference REF.json]\n"
		"             [--policy-signer KEY.pem [--signed-policies DIR]]\n"
		"             [--cel PATH] [--luks-pbkdf2-iterations N]]\n"
		"            [--control-user USER (default " CM_CONTROL_USER_DEFAULT ")]\n"
		"            [--container-caps LIST|all|none] [--container-seccomp default|none]\n"
		"            [--container-pids-max N] [--container-memory-max MIB]\n"
		"            [--container-cpu-max PERCENT]\n"
		"defaults: --data-dir /data/cml --socket /run/socket/cml-control "
		"--run-dir /run/cml --stop-timeout-ms 10000\n"
		"          --trust-anchors %s\n"
		"          --seal-profile: pcrs = %s; --signed-policies DIR/signed-policies;\n"
		"          --cel %s\n"
		"          --container-caps %s\n"
		"          --container-seccomp default --container-pids-max %u "
		"--container-memory-max %u\n"
		"          --container-cpu-max %u (of one CPU: every CPU but one here; 0: no "
		"limit)\n",
		CM_TRUST_ANCHORS_DEFAULT, CM_SEAL_DEFAULT_PCRS, MEASURED_CEL_PATH, caps,
		CM_CONFINE_PIDS_MAX_DEFAULT, CM_CONFINE_MEMORY_MIB_DEFAULT, def.cpu_percent);
}

static bool any_running(struct cmld *d)
{
	for (struct cm_container *c = d->containers; c; c = c->next)
		if (c->init_pid)
			return true;
	return false;
}

/* cmld's turn (d->tick): after anything that may have changed a container, or when due. */
static void cmld_tick(void *arg)
{
	struct cmld *d = arg;
	int next;

	if ((d->quit || d->rebooting) && !d->stopping) {
		log_info("stopping every container");
		for (struct cm_container *c = d->containers; c; c = c->next)
			if (c->init_pid && c->state != CONTAINER_STATE__SHUTTING_DOWN)
				cm_container_stop(d, c);
		d->stopping = true;
	}
	if (d->stopping && !any_running(d)) {
		evloop_exit(d->loop);
		return;
	}
	next = cm_runtime_tick(d); /* freezing containers, stop deadlines */
	ev_timer_at(d->loop, &d->tick, frame_now_ms() + (next < 0 ? 1000 : next));
}

static void cmld_signal(void *arg, int signo)
{
	struct cmld *d = arg;

	if (signo == SIGCHLD)
		cm_control_reap(d);
	else
		d->quit = true;
	cmld_wake(d);
}

/* The loop, its signals and cmld's turn, before anything forks. */
static int loop_open(struct cmld *d)
{
	static const int signals[] = {SIGCHLD, SIGTERM, SIGINT};
	int r = evloop_new(&d->loop);

	if (r < 0)
		return r;
	r = evloop_signals(d->loop, signals, 3, cmld_signal, d);
	if (r < 0)
		return r;
	r = ev_timer_add(d->loop, &d->tick, cmld_tick, d);
	if (r < 0)
		return r;
	cmld_wake(d);
	return 0;
}

/* Everything a start needs, in order; the first failure ends the start. */
static int start(struct cmld *d)
{
	int r = loop_open(d);

	if (r < 0)
		return r;
	r = cm_store_init(d);
	if (r < 0)
		return r;
	r = cm_store_recover(d);
	if (r < 0)
		return r;
	r = cm_verify_start(d);
	if (r < 0)
		return r;
	r = cm_runtime_init(d);
	if (r < 0)
		return r;
	r = cm_store_load_containers(d, false);
	if (r < 0)
		return r;
	return cm_control_listen(d);
}

/* The long options are the config file's keys: one table, one setter. */
static const struct option longopts[] = {
	{"data-dir", required_argument, NULL, 0},
	{"socket", required_argument, NULL, 0},
	{"run-dir", required_argument, NULL, 0},
	{"trust-anchors", required_argument, NULL, 0},
	{"stop-timeout-ms", required_argument, NULL, 0},
	{"allow-reboot", no_argument, NULL, 0},
	{"verbose", no_argument, NULL, 0},
	{"tpm", required_argument, NULL, 0},
	{"seal-profile", required_argument, NULL, 0},
	{"seal-reference", required_argument, NULL, 0},
	{"policy-signer", required_argument, NULL, 0},
	{"signed-policies", required_argument, NULL, 0},
	{"cel", required_argument, NULL, 0},
	{"luks-pbkdf2-iterations", required_argument, NULL, 0},
	{"container-caps", required_argument, NULL, 0},
	{"container-seccomp", required_argument, NULL, 0},
	{"container-pids-max", required_argument, NULL, 0},
	{"container-memory-max", required_argument, NULL, 0},
	{"container-cpu-max", required_argument, NULL, 0},
	{"control-user", required_argument, NULL, 0},
	{"config", required_argument, NULL, 'f'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* The config file first (named, or the default if it exists), then the options over it. */
static int parse_args(int argc, char **argv, struct cmld *d, struct cm_settings *s, bool *test)
{
	const char *config = NULL;
	int c, idx;

	cm_settings_defaults(d, s);
	while ((c = getopt_long(argc, argv, "nvh", longopts, &idx)) != -1)
		if (c == 'f')
			config = optarg;
		else if (c == '?')
			return 2;
	if (!config && access(CM_SETTINGS_DEFAULT, F_OK) == 0)
		config = CM_SETTINGS_DEFAULT;
	if (config && cm_settings_load(d, s, config) < 0) {
		log_err("%s", err_msg());
		return 1;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "nvh", longopts, &idx)) != -1) {
		int r = 0;

		if (c == 0)
			r = cm_settings_set(d, s, longopts[idx].name, optarg);
		else if (c == 'v')
			s->verbose = true;
		else if (c == 'n')
			*test = true;
		else if (c == 'h')
			return usage(stdout), -1;
		else if (c == 'V')
			return printf("cmld (measured) %s\n", MEASURED_VERSION), -1;
		else if (c != 'f')
			return usage(stderr), 2;
		if (r < 0) { /* an option whose value was refused */
			log_err("--%s", err_msg());
			return 2;
		}
	}
	if (optind != argc)
		return usage(stderr), 2;
	if (cm_settings_finish(d, s) < 0) {
		log_err("%s", err_msg());
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cmld d = {.listen_fd = -1, .ctl = {.chan = -1}, .verify = {.chan = -1}};
	struct cm_settings settings;
	bool test = false;
	int r;

	log_set_prog("cmld");
	log_set_level(LOG_LEVEL_INFO);
	r = parse_args(argc, argv, &d, &settings, &test);
	if (r == 0 && test) {
		r = cm_settings_test(&d, &settings, stdout) < 0 ? 1 : 0;
		if (r)
			log_err("%s", err_msg());
	}
	if (r != 0 || test) {
		cm_settings_free();
		return r < 0 ? 0 : r;
	}
	if (start(&d) < 0) {
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
		 "ram_limit; CPU %u%% (0: none)",
		 caps, d.confine.seccomp ? "default" : "none", d.confine.pids_max,
		 d.confine.memory_mib, d.confine.cpu_percent);
	r = evloop_run(d.loop);
	if (r < 0)
		log_err("%s", err_msg());
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
	evloop_free(d.loop);
	cm_settings_free();
	return r < 0 ? 1 : 0;
}
