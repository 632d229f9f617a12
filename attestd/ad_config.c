// SPDX-License-Identifier: MIT
/*
 * attestd's settings: defaults, /etc/measured/attestd.conf ("key = value",
 * the long options' names) and the command line, in that order, all through
 * ad_config_set() so a key means the same thing wherever it is written.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attestd.h"
#include "err.h"
#include "kvconf.h"
#include "measure.h"

const char *const ad_log_names[ATTEST_LOGS] = {"firmware-log", "ima-log", "cel-log", "drtm-log"};

/* Linux has no standard file for the DRTM log: none unless drtm-log or txt-heap names one. */
void ad_config_defaults(struct ad_config *cfg)
{
	*cfg = (struct ad_config){
		.batch_ms = 3,
		.batch_max = AD_BATCH_MAX,
		.read_timeout_ms = 5000,
		.write_timeout_ms = 10000,
		.tpm_timeout_ms = 30000,
		.max_conns = 4096,
		.max_conns_per_peer = 256,
		.keys_per_minute = 60,
		.log_path = {"/sys/kernel/security/tpm0/binary_bios_measurements",
			     "/sys/kernel/security/ima/binary_runtime_measurements",
			     MEASURED_CEL_PATH},
	};
}

static const char *path_or_none(const char *value)
{
	return strcmp(value, "none") == 0 ? NULL : value;
}

int ad_config_set(struct ad_config *cfg, const char *key, const char *v)
{
	static const struct {
		const char *key;
		size_t field;
	} strings[] = {
		{"tcti", offsetof(struct ad_config, tcti)},
		{"listen", offsetof(struct ad_config, listen)},
		{"socket", offsetof(struct ad_config, socket)},
		{"user", offsetof(struct ad_config, user)},
		{"engine-user", offsetof(struct ad_config, engine_user)},
		{"tls-cert", offsetof(struct ad_config, tls_cert)},
		{"tls-key", offsetof(struct ad_config, tls_key)},
		{"tls-client-ca", offsetof(struct ad_config, tls_client_ca)},
		{"txt-heap", offsetof(struct ad_config, txt_heap)},
	};
	static const struct {
		const char *key;
		size_t field;
		unsigned min, max;
	} numbers[] = {
		{"batch-ms", offsetof(struct ad_config, batch_ms), 0, 10000},
		{"batch-max", offsetof(struct ad_config, batch_max), 1, AD_BATCH_MAX},
		{"read-timeout-ms", offsetof(struct ad_config, read_timeout_ms), 10, 3600000},
		{"write-timeout-ms", offsetof(struct ad_config, write_timeout_ms), 10, 3600000},
		{"tpm-timeout-ms", offsetof(struct ad_config, tpm_timeout_ms), 100, 3600000},
		{"max-conns", offsetof(struct ad_config, max_conns), 1, 1u << 20},
		{"max-conns-per-peer", offsetof(struct ad_config, max_conns_per_peer), 1, 1u << 20},
		{"keys-per-minute", offsetof(struct ad_config, keys_per_minute), 1, 600000},
	};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (strcmp(key, strings[i].key) == 0) {
			*(const char **)((char *)cfg + strings[i].field) = v;
			return 0;
		}
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (strcmp(key, numbers[i].key) == 0)
			return kvconf_uint(key, v, numbers[i].min, numbers[i].max,
					   (unsigned *)((char *)cfg + numbers[i].field));
	for (int i = 0; i < ATTEST_LOGS; i++)
		if (strcmp(key, ad_log_names[i]) == 0) {
			cfg->log_path[i] = path_or_none(v);
			return 0;
		}
	return err_set(-EINVAL, "unknown setting \"%s\"", key);
}

/* The file's values are used for the daemon's lifetime: the parsed file stays. */
static struct kvconf config_file;

int ad_config_load(const char *path, struct ad_config *cfg)
{
	int rc = kvconf_load(path, &config_file);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < config_file.n; i++) {
		const struct kv *kv = &config_file.kv[i];

		rc = ad_config_set(cfg, kv->key, kv->value);
		if (rc < 0)
			return err_wrap(rc, "%s:%u", path, kv->line);
	}
	cfg->config_path = path;
	return 0;
}

void ad_config_free(void)
{
	kvconf_free(&config_file);
}

void ad_config_print(const struct ad_config *cfg, const struct ad_setup *setup, FILE *out)
{
	fprintf(out, "config %s\n", cfg->config_path ? cfg->config_path : "(none)");
	fprintf(out, "tcti %s\n", cfg->tcti ? cfg->tcti : "(tpm2-tss default)");
	fprintf(out, "listen %s\n", cfg->listen ? cfg->listen : "(none)");
	fprintf(out, "socket %s\n", cfg->socket ? cfg->socket : "(none)");
	fprintf(out, "tls %s\n",
		cfg->tls_cert ? (cfg->tls_client_ca ? "on, client certificates required" : "on")
			      : "off");
	for (int i = 0; i < ATTEST_LOGS; i++)
		if (i == ATTEST_LOG_DRTM && cfg->txt_heap)
			fprintf(out, "%s from the TXT heap image %s (%s)\n", ad_log_names[i],
				cfg->txt_heap, setup->log_fd[i] >= 0 ? "read" : "not read");
		else
			fprintf(out, "%s %s%s\n", ad_log_names[i],
				cfg->log_path[i] ? cfg->log_path[i] : "(none)",
				cfg->log_path[i] && setup->log_fd[i] < 0
					? " (cannot be opened: left out)"
					: "");
	fprintf(out, "user %s\n", cfg->user ? cfg->user : "(unchanged)");
	fprintf(out, "engine user %s\n",
		cfg->engine_user ? cfg->engine_user
		: cfg->user	 ? cfg->user
				 : "(as the daemon)");
	fprintf(out, "batch %u ms, at most %u quotes a batch\n", cfg->batch_ms, cfg->batch_max);
	fprintf(out, "timeouts: read %u ms, write %u ms, TPM %u ms\n", cfg->read_timeout_ms,
		cfg->write_timeout_ms, cfg->tpm_timeout_ms);
	fprintf(out, "connections: %u in all (of %u asked), %u per peer\n", setup->max_conns,
		cfg->max_conns, cfg->max_conns_per_peer);
	fprintf(out, "keys and activate: %u a minute per peer\n", cfg->keys_per_minute);
}
