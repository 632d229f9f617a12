// SPDX-License-Identifier: MIT
/* IMA policy rules applied to a file tree. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "ima_policy.h"

#define MAY_EXEC  1u
#define MAY_WRITE 2u
#define MAY_READ  4u

static const struct {
	const char *name;
	unsigned func;
} funcs[] = {
	{"BPRM_CHECK", IMA_FUNC_BPRM},	       {"MMAP_CHECK", IMA_FUNC_MMAP},
	{"FILE_MMAP", IMA_FUNC_MMAP},	       {"FILE_CHECK", IMA_FUNC_FILE},
	{"PATH_CHECK", IMA_FUNC_FILE},	       {"MODULE_CHECK", IMA_FUNC_MODULE},
	{"FIRMWARE_CHECK", IMA_FUNC_FIRMWARE}, {"POLICY_CHECK", IMA_FUNC_POLICY},
	{"MMAP_CHECK_REQPROT", IMA_FUNC_MMAP},
};

static int parse_condition(const char *word, struct ima_rule *r, const char *what)
{
	const char *eq = strchr(word, '=');
	const char *val = eq ? eq + 1 : "";
	char *end;

	if (!eq)
		return err_set(-EINVAL, "%s:%u: \"%s\" is not key=value", what, r->line, word);
	if (strncmp(word, "func=", 5) == 0) {
		for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
			if (strcmp(val, funcs[i].name) == 0)
				r->func = funcs[i].func;
		if (!r->func) /* KEXEC_*, KEY_CHECK, CRITICAL_DATA, ...: no file of the tree */
			r->func = 1u << 30;
	} else if (strncmp(word, "mask=", 5) == 0) {
		const char *m = val[0] == '^' ? val + 1 : val; /* ^MAY_READ: the file mask */

		r->mask = strcmp(m, "MAY_EXEC") == 0	 ? MAY_EXEC
			  : strcmp(m, "MAY_WRITE") == 0	 ? MAY_WRITE
			  : strcmp(m, "MAY_READ") == 0	 ? MAY_READ
			  : strcmp(m, "MAY_APPEND") == 0 ? 8u
							 : 0;
		if (!r->mask)
			return err_set(-EINVAL, "%s:%u: unknown mask \"%s\"", what, r->line, val);
	} else if (strncmp(word, "fsmagic=", 8) == 0) {
		r->fsmagic = (uint32_t)strtoul(val, &end, 16);
		r->has_fsmagic = true;
		if (*end || end == val)
			return err_set(-EINVAL, "%s:%u: bad fsmagic \"%s\"", what, r->line, val);
	} else if (strncmp(word, "fowner=", 7) == 0 || strncmp(word, "uid=", 4) == 0 ||
		   strncmp(word, "euid=", 5) == 0) {
		unsigned long id = strtoul(val, &end, 10);

		if (*end || end == val)
			return err_set(-EINVAL, "%s:%u: bad id in \"%s\"", what, r->line, word);
		if (word[0] == 'f') {
			r->has_fowner = true;
			r->fowner = (uid_t)id;
		} else {
			r->has_uid = true;
			r->uid = (uid_t)id;
		}
	}
	/* other conditions (obj_type, fsuuid, template, ...) do not narrow a static reading */
	return 0;
}

int ima_policy_parse(const char *text, const char *what, struct ima_policy *ret)
{
	struct ima_policy pol = {0};
	char *copy = strdup(text), *save = NULL;
	unsigned lineno = 0;
	int rc = 0;

	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	for (char *line = copy; line && rc == 0; line = save) {
		char *nl = strchr(line, '\n'), *word, *wsave = NULL;
		struct ima_rule r = {.line = ++lineno};

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		word = strtok_r(line, " \t\r", &wsave);
		if (!word || word[0] == '#')
			continue;
		if (strcmp(word, "measure") != 0 && strcmp(word, "dont_measure") != 0)
			continue; /* appraise, audit, hash: not measurement */
		r.measure = word[0] == 'm';
		while (rc == 0 && (word = strtok_r(NULL, " \t\r", &wsave)))
			rc = parse_condition(word, &r, what);
		if (rc == 0 && pol.n == IMA_RULES_MAX)
			rc = err_set(-E2BIG, "%s: more than %d rules", what, IMA_RULES_MAX);
		if (rc == 0)
			pol.rule[pol.n++] = r;
	}
	free(copy);
	if (rc == 0)
		*ret = pol;
	return rc;
}

/* The ways root can reach a file of the tree, each with the access mask it brings. */
static unsigned reachable_funcs(const char *relpath, mode_t mode)
{
	const char *base = strrchr(relpath, '/') ? strrchr(relpath, '/') + 1 : relpath;
	unsigned f = IMA_FUNC_FILE;

	if (mode & 0111)
		f |= IMA_FUNC_BPRM | IMA_FUNC_MMAP;
	if (fnmatch("*.so", base, 0) == 0 || fnmatch("*.so.*", base, 0) == 0)
		f |= IMA_FUNC_MMAP;
	if (fnmatch("*.ko", base, 0) == 0 || fnmatch("*.ko.*", base, 0) == 0)
		f |= IMA_FUNC_MODULE;
	if (strncmp(relpath, "lib/firmware/", 13) == 0 ||
	    strncmp(relpath, "usr/lib/firmware/", 17) == 0)
		f |= IMA_FUNC_FIRMWARE;
	return f;
}

static bool rule_matches(const struct ima_rule *r, unsigned func, uid_t owner, uint32_t fsmagic)
{
	unsigned mask = func == IMA_FUNC_BPRM || func == IMA_FUNC_MMAP ? MAY_EXEC : MAY_READ;

	if (r->func && r->func != func)
		return false;
	if (r->mask && r->mask != mask)
		return false;
	if (r->has_fsmagic && r->fsmagic != fsmagic)
		return false;
	if (r->has_fowner && r->fowner != owner)
		return false;
	if (r->has_uid && r->uid != 0)
		return false; /* we model accesses by root */
	return true;
}

bool ima_policy_measures(const struct ima_policy *pol, const char *relpath, mode_t mode,
			 uid_t owner, uint32_t fsmagic)
{
	unsigned reach = reachable_funcs(relpath, mode);

	for (unsigned func = 1; func <= IMA_FUNC_POLICY; func <<= 1) {
		if (!(reach & func))
			continue;
		for (unsigned i = 0; i < pol->n; i++) {
			if (!rule_matches(&pol->rule[i], func, owner, fsmagic))
				continue;
			if (pol->rule[i].measure)
				return true;
			break; /* dont_measure: this way of reaching it is not measured */
		}
	}
	return false;
}
