// SPDX-License-Identifier: MIT
/* Test helpers: test data paths, tpm2_eventlog's YAML PCR block, subprocesses. */
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fileio.h"
#include "hex.h"
#include "testutil.h"

const char *testdata_dir(void)
{
	const char *env = getenv("MEASURED_TESTDATA");
	struct stat st;

	return env && *env && stat(env, &st) == 0 && S_ISDIR(st.st_mode) ? env : NULL;
}

const char *testdata_path(const char *rel)
{
	static char buf[4096];

	if (!testdata_dir())
		return NULL;
	snprintf(buf, sizeof(buf), "%s/%s", testdata_dir(), rel);
	return buf;
}

int guest_pcrs_load(const char *path, const struct hash_alg *alg, struct pcr_bank *ret)
{
	FILE *f = fopen(path, "r");
	char hex[2 * DIGEST_MAX + 2];
	unsigned pcr;

	if (!f)
		return -errno;
	pcr_bank_init(ret, alg);
	while (fscanf(f, "%u %129s", &pcr, hex) == 2) {
		size_t len;

		if (pcr >= PCR_COUNT || hex_decode(hex, ret->value[pcr], DIGEST_MAX, &len) < 0 ||
		    len != alg->size) {
			fclose(f);
			return -EINVAL;
		}
		ret->extended |= 1u << pcr;
	}
	fclose(f);
	return 0;
}

/* The measured-boot appraisal of an EAR, parsed from @out; NULL if it is not one. */
static struct json_object *ear_appraisal(const char *out, struct json_object **ret_doc)
{
	struct json_object *doc = out ? json_tokener_parse(out) : NULL, *sub, *a;

	*ret_doc = doc;
	if (doc && json_object_object_get_ex(doc, "submods", &sub) &&
	    json_object_object_get_ex(sub, "measured-boot", &a))
		return a;
	return NULL;
}

static const char *keep(const char *text)
{
	static char buf[4][256];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s", text ? text : "");
	return b;
}

const char *ear_status(const char *out)
{
	struct json_object *doc, *a = ear_appraisal(out, &doc), *st = NULL;
	const char *r;

	if (a)
		json_object_object_get_ex(a, "ear.status", &st);
	r = keep(st ? json_object_get_string(st) : "");
	json_object_put(doc);
	return r;
}

const char *ear_check_status(const char *out, const char *component)
{
	struct json_object *doc, *a = ear_appraisal(out, &doc), *checks, *c, *st = NULL;
	const char *r;

	if (a && json_object_object_get_ex(a, "ear.measured.checks", &checks) &&
	    json_object_object_get_ex(checks, component, &c))
		json_object_object_get_ex(c, "status", &st);
	r = keep(st ? json_object_get_string(st) : "");
	json_object_put(doc);
	return r;
}

int ear_tv_claim(const char *out, const char *category)
{
	struct json_object *doc, *a = ear_appraisal(out, &doc), *tv, *c;
	int r = -1000;

	if (a && json_object_object_get_ex(a, "ear.trustworthiness-vector", &tv) &&
	    json_object_object_get_ex(tv, category, &c))
		r = json_object_get_int(c);
	json_object_put(doc);
	return r;
}

const char *ear_top(const char *out, const char *claim)
{
	struct json_object *doc = out ? json_tokener_parse(out) : NULL, *c = NULL;
	const char *r;

	if (doc)
		json_object_object_get_ex(doc, claim, &c);
	r = keep(c ? json_object_get_string(c) : "");
	json_object_put(doc);
	return r;
}

int yaml_pcrs_parse(const char *text, struct pcr_banks *ret)
{
	const char *p = strstr(text, "\npcrs:\n");
	struct pcr_bank *bank = NULL;
	struct pcr_banks banks;

	if (!p)
		return -ENOENT;
	pcr_banks_init(&banks);
	p += strlen("\npcrs:\n");
	while (*p == ' ') {
		const char *eol = strchr(p, '\n');
		char line[256];
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		unsigned idx;
		char name[16], hex[160];

		if (n >= sizeof(line))
			return -EINVAL;
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (eol ? 1 : 0);
		if (sscanf(line, " %15[a-z0-9]:", name) == 1 && strchr(line, ':') &&
		    line[strlen(line) - 1] == ':') {
			const struct hash_alg *alg = hash_alg_by_name(name);

			if (!alg)
				return -EINVAL;
			bank = pcr_banks_add(&banks, alg);
		} else if (sscanf(line, " %u : %159s", &idx, hex) == 2 && bank && idx < PCR_COUNT) {
			size_t len;

			if (hex_decode(hex, bank->value[idx], DIGEST_MAX, &len) < 0 ||
			    len != bank->alg->size)
				return -EINVAL;
			bank->extended |= 1u << idx;
		} else {
			return -EINVAL;
		}
	}
	*ret = banks;
	return 0;
}

int run_capture(const char *cmd, char **ret_out)
{
	FILE *f = popen(cmd, "r");
	uint8_t *out = NULL;
	size_t len;
	int status;

	if (!f)
		return -errno;
	if (fd_read_all(fileno(f), 64u << 20, &out, &len) < 0)
		out = NULL;
	status = pclose(f);
	if (ret_out)
		*ret_out = (char *)out;
	else
		free(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **list_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	char **list = calloc(256, sizeof(*list));
	size_t n = 0;
	struct dirent *e;

	if (!d || !list) {
		if (d)
			closedir(d);
		free(list);
		return NULL;
	}
	while ((e = readdir(d)) && n < 255) {
		size_t len = strlen(e->d_name), sl = strlen(suffix);

		if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0 &&
		    asprintf(&list[n], "%s/%s", dir, e->d_name) > 0)
			n++;
	}
	closedir(d);
	qsort(list, n, sizeof(*list), cmp_names);
	return list;
}

void free_list(char **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		free(list[i]);
	free(list);
}

int sh(char **ret_out, const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return run_capture(cmd, ret_out);
}

const char *bin_path(const char *name)
{
	static char path[PATH_MAX], abs[PATH_MAX];
	const char *bin = getenv("MEASURED_BIN");

	snprintf(path, sizeof(path), "%.3000s/%s", bin && *bin ? bin : "build", name);
	return realpath(path, abs) ? abs : path; /* some commands run after a cd */
}

long proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	/* after "pid (comm)": state is field 3; utime and stime are 14 and 15 */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}
