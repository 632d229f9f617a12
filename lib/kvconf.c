// SPDX-License-Identifier: MIT
/* key = value configuration files. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "kvconf.h"
#include "mem.h"

#define KVCONF_MAX_FILE (1u << 20)
#define KVCONF_MAX_KEY	64

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

int kvconf_parse(const char *text, size_t len, const char *what, struct kvconf *ret)
{
	struct kvconf conf = {0};
	size_t cap = 0;
	char *copy;
	unsigned line = 0;
	int rc = 0;

	if (memchr(text, '\0', len))
		return err_set(-EINVAL, "%s: contains a NUL byte", what);
	copy = strndup(text, len);
	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	for (char *p = copy; p && *p && rc == 0;) {
		char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p), *eq, *key, *value;

		line++;
		if (nl)
			*nl = '\0';
		key = trim(p, end);
		p = nl ? nl + 1 : NULL;
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			rc = err_set(-EINVAL, "%s:%u: expected \"key = value\"", what, line);
			break;
		}
		value = trim(eq + 1, eq + 1 + strlen(eq + 1));
		key = trim(key, eq);
		for (const char *k = key; *k && rc == 0; k++)
			if (!key_char(*k))
				rc = err_set(-EINVAL, "%s:%u: bad character in key \"%s\"", what,
					     line, key);
		if (rc == 0 && (!*key || strlen(key) > KVCONF_MAX_KEY))
			rc = err_set(-EINVAL, "%s:%u: empty or overlong key", what, line);
		if (rc == 0)
			rc = array_grow((void **)&conf.kv, &cap, conf.n, sizeof(*conf.kv), 16);
		if (rc < 0)
			break;
		conf.kv[conf.n] = (struct kv){strdup(key), strdup(value), line};
		if (!conf.kv[conf.n].key || !conf.kv[conf.n].value) {
			free(conf.kv[conf.n].key);
			free(conf.kv[conf.n].value);
			rc = err_set(-ENOMEM, "out of memory");
			break;
		}
		conf.n++;
	}
	free(copy);
	if (rc == 0)
		conf.path = strdup(what);
	if (rc < 0 || !conf.path) {
		kvconf_free(&conf);
		return rc < 0 ? rc : err_set(-ENOMEM, "out of memory");
	}
	*ret = conf;
	return 0;
}

int kvconf_load(const char *path, struct kvconf *ret)
{
	uint8_t *buf;
	size_t len;
	int rc = file_read_all(path, KVCONF_MAX_FILE, &buf, &len);

	if (rc < 0)
		return rc;
	rc = kvconf_parse((char *)buf, len, path, ret);
	free(buf);
	return rc;
}

void kvconf_free(struct kvconf *conf)
{
	for (size_t i = 0; i < conf->n; i++) {
		free(conf->kv[i].key);
		free(conf->kv[i].value);
	}
	free(conf->kv);
	free(conf->path);
	memset(conf, 0, sizeof(*conf));
}

const char *kvconf_get(const struct kvconf *conf, const char *key)
{
	for (size_t i = conf->n; i-- > 0;)
		if (strcmp(conf->kv[i].key, key) == 0)
			return conf->kv[i].value;
	return NULL;
}

int kvconf_check_keys(const struct kvconf *conf, const char *const *known)
{
	for (size_t i = 0; i < conf->n; i++) {
		bool ok = false;

		for (const char *const *k = known; *k && !ok; k++) {
			size_t n = strlen(*k);

			ok = (*k)[n - 1] == '*' ? strncmp(conf->kv[i].key, *k, n - 1) == 0
						: strcmp(conf->kv[i].key, *k) == 0;
		}
		if (!ok)
			return err_set(-EINVAL, "%s:%u: unknown key \"%s\"", conf->path,
				       conf->kv[i].line, conf->kv[i].key);
	}
	return 0;
}

int kvconf_uint(const char *key, const char *text, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (!*text || *end || errno || text[0] == '-' || v < min || v > max)
		return err_set(-EINVAL, "%s: \"%s\" is not a number from %u to %u", key, text, min,
			       max);
	*ret = (unsigned)v;
	return 0;
}
