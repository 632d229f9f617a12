/* SPDX-License-Identifier: MIT */
/*
 * "key = value" files: build manifests and sealing profiles.  One pair per
 * line, '#' comments, blank lines; a key may repeat (all values are kept, in
 * order).  Errors name the file and line.
 */
#ifndef MEASURED_KVCONF_H
#define MEASURED_KVCONF_H

#include <stddef.h>

struct kv {
	char *key, *value;
	unsigned line;
};

struct kvconf {
	char *path;
	size_t n;
	struct kv *kv;
};

int kvconf_parse(const char *text, size_t len, const char *what, struct kvconf *ret);
int kvconf_load(const char *path, struct kvconf *ret);
void kvconf_free(struct kvconf *conf);
/* The last value of @key, or NULL. */
const char *kvconf_get(const struct kvconf *conf, const char *key);
/*
 * Fails naming the first key (and its line) that is not in the NULL-terminated
 * @known list; an entry ending in '*' matches by prefix.
 */
int kvconf_check_keys(const struct kvconf *conf, const char *const *known);
/*
 * A setting's value as a whole decimal number from @min to @max; the error
 * names @key and the text ("batch-ms: \"soon\" is not a number from 0 to 10000").
 */
int kvconf_uint(const char *key, const char *text, unsigned min, unsigned max, unsigned *ret);

#endif
