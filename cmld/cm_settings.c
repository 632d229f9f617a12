// SPDX-License-Identifier: MIT
/* cmld's settings: one setter for the config file and the command line (cm_settings.h). */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_settings.h"
#include "err.h"
#include "kvconf.h"
#include "measure.h"

static struct kvconf file;
static char signed_dir[4096];

void cm_settings_defaults(struct cmld *d, struct cm_settings *s)
{
	*s = (struct cm_settings){0};
	d->data_dir = "/data/cml";
	d->socket_path = "/run/socket/cml-control";
	d->run_dir = "/run/cml";
	d->trust_anchors = CM_TRUST_ANCHORS_DEFAULT;
	d->stop_timeout_ms = 10000;
	d->seal.cel_path = MEASURED_CEL_PATH;
	d->ctl.user = CM_CONTROL_USER_DEFAULT;
	cm_confine_defaults(&d->confine);
}

/* A flag: given alone on the command line, or yes/no in the file. */
static int parse_flag(const char *key, const char *value, bool *ret)
{
	if (!value || !strcmp(value, "yes") || !strcmp(value, "true")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(value, "no") || !strcmp(value, "false")) {
		*ret = false;
		return 0;
	}
	return err_set(-EINVAL, "%s: '%s' is neither yes nor no", key, value);
}

int cm_settings_set(struct cmld *d, struct cm_settings *s, const char *key, const char *v)
{
	const struct {
		const char *key;
		const char **field;
	} strings[] = {
		{"data-dir", &d->data_dir},
		{"socket", &d->socket_path},
		{"run-dir", &d->run_dir},
		{"trust-anchors", &d->trust_anchors},
		{"tpm", &d->seal.tcti},
		{"seal-profile", &s->seal_profile},
		{"seal-reference", &d->seal.reference},
		{"policy-signer", &d->seal.signer},
		{"signed-policies", &d->seal.signed_dir},
		{"cel", &d->seal.cel_path},
		{"control-user", &d->ctl.user},
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!strcmp(key, strings[i].key)) {
			if (!v || !*v)
				return err_set(-EINVAL, "%s: needs a value", key);
			*strings[i].field = v;
			return 0;
		}
	if (!strcmp(key, "allow-reboot"))
		return parse_flag(key, v, &d->allow_reboot);
	if (!strcmp(key, "verbose"))
		return parse_flag(key, v, &s->verbose);
	if (!v)
		return err_set(-EINVAL, "%s: needs a value", key);
	if (!strcmp(key, "stop-timeout-ms")) {
		return kvconf_uint(key, v, 0, UINT32_MAX, &d->stop_timeout_ms);
	}
	if (!strcmp(key, "luks-pbkdf2-iterations"))
		return kvconf_uint(key, v, 0, UINT32_MAX, &d->seal.pbkdf2_iterations);
	if (!strcmp(key, "container-caps"))
		return cm_confine_caps_parse(v, &d->confine.caps);
	if (!strcmp(key, "container-seccomp")) {
		if (strcmp(v, "default") && strcmp(v, "none"))
			return err_set(-EINVAL, "%s: '%s' is neither default nor none", key, v);
		d->confine.seccomp = !strcmp(v, "default");
		return 0;
	}
	if (!strcmp(key, "container-pids-max"))
		return kvconf_uint(key, v, 0, UINT32_MAX, &d->confine.pids_max);
	if (!strcmp(key, "container-memory-max"))
		return kvconf_uint(key, v, 0, UINT32_MAX, &d->confine.memory_mib);
	if (!strcmp(key, "container-cpu-max")) /* 100000%: a thousand CPUs */
		return kvconf_uint(key, v, 0, 100000, &d->confine.cpu_percent);
	return err_set(-EINVAL, "unknown setting \"%s\"", key);
}

int cm_settings_load(struct cmld *d, struct cm_settings *s, const char *path)
{
	int r = kvconf_load(path, &file);

	if (r < 0)
		return r;
	for (size_t i = 0; i < file.n; i++) {
		r = cm_settings_set(d, s, file.kv[i].key, file.kv[i].value);
		if (r < 0)
			return err_wrap(r, "%s:%u", path, file.kv[i].line);
	}
	s->config_path = path;
	return 0;
}

static int seal_profile_load(const char *path, struct pcr_selection *ret)
{
	static const char *const known[] = {"pcrs", "pin", NULL};
	struct kvconf conf;
	const char *pcrs;
	int r = kvconf_load(path, &conf);

	if (r < 0)
		return r;
	r = kvconf_check_keys(&conf, known);
	if (r == 0) {
		pcrs = kvconf_get(&conf, "pcrs");
		if (!pcrs)
			r = err_set(-EINVAL, "%s: no \"pcrs = ...\" line", path);
		else if ((r = pcr_selection_parse(pcrs, ret)) < 0)
			r = err_wrap(r, "%s: pcrs", path);
	}
	kvconf_free(&conf);
	return r;
}

int cm_settings_finish(struct cmld *d, struct cm_settings *s)
{
	int r = s->seal_profile ? seal_profile_load(s->seal_profile, &d->seal.pcrs)
				: pcr_selection_parse(CM_SEAL_DEFAULT_PCRS, &d->seal.pcrs);

	if (r < 0)
		return r;
	if (!d->seal.signed_dir) {
		snprintf(signed_dir, sizeof(signed_dir), "%s/signed-policies", d->data_dir);
		d->seal.signed_dir = signed_dir;
	}
	log_set_level(s->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	/* without it the control process could never start: say so now, not in a restart loop */
	if (!getpwnam(d->ctl.user))
		return err_set(-ENOENT, "control-user: no user %s (the control process runs as it)",
			       d->ctl.user);
	return 0;
}

static int check_readable(const char *what, const char *path)
{
	if (path && access(path, R_OK) < 0)
		return err_set(-errno, "%s %s: %s", what, path, strerror(errno));
	return 0;
}

int cm_settings_test(const struct cmld *d, const struct cm_settings *s, FILE *out)
{
	char caps[512], pcrs[256];
	struct stat st;
	int r = 0;

	if (!getpwnam(d->ctl.user))
		r = err_set(-ENOENT, "control-user: no user %s", d->ctl.user);
	if (r == 0)
		r = check_readable("trust-anchors", d->trust_anchors);
	if (r == 0)
		r = check_readable("seal-reference", d->seal.reference);
	if (r == 0)
		r = check_readable("policy-signer", d->seal.signer);
	if (r == 0 && stat(d->data_dir, &st) == 0 && !S_ISDIR(st.st_mode))
		r = err_set(-ENOTDIR, "data-dir %s is not a folder", d->data_dir);
	if (r < 0)
		return r;
	cm_confine_caps_format(d->confine.caps, caps, sizeof(caps));
	if (pcr_selection_format(&d->seal.pcrs, pcrs, sizeof(pcrs)) < 0)
		snprintf(pcrs, sizeof(pcrs), "(too long to show)");
	fprintf(out, "config %s\n", s->config_path ? s->config_path : "(none)");
	fprintf(out, "data-dir %s%s\n", d->data_dir,
		stat(d->data_dir, &st) == 0 ? "" : " (made at the first start)");
	fprintf(out, "socket %s, run-dir %s\n", d->socket_path, d->run_dir);
	fprintf(out, "control process as %s\n", d->ctl.user);
	fprintf(out, "trust-anchors %s\n", d->trust_anchors);
	if (d->seal.tcti)
		fprintf(out, "sealing: TPM %s, PCRs %s, reference %s, signer %s, CEL %s\n",
			d->seal.tcti, pcrs, d->seal.reference ? d->seal.reference : "(none)",
			d->seal.signer ? d->seal.signer : "(none)", d->seal.cel_path);
	else
		fprintf(out, "sealing: off (no tpm)\n");
	fprintf(out,
		"containers: capabilities %s; seccomp %s; pids.max %u; memory %u MiB; CPU %u%%\n",
		caps, d->confine.seccomp ? "default" : "none", d->confine.pids_max,
		d->confine.memory_mib, d->confine.cpu_percent);
	fprintf(out, "stop timeout %u ms; reboot %s\n", d->stop_timeout_ms,
		d->allow_reboot ? "allowed" : "not allowed");
	fprintf(out, "configuration OK\n");
	return 0;
}

void cm_settings_free(void)
{
	kvconf_free(&file);
}
