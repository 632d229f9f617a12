// SPDX-License-Identifier: MIT
/* measured.* options of the kernel command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hex.h"
#include "mi.h"

static int set_option(struct mi_config *c, const char *key, const char *val)
{
	char *end;

	if (strcmp(key, "root") == 0) {
		if (strlen(val) >= sizeof(c->root))
			return err_set(-EINVAL, "measured.root too long");
		strcpy(c->root, val);
	} else if (strcmp(key, "pcr") == 0) {
		if (rootfs_pcr_parse(val, &c->pcr) < 0)
			return err_wrap(-EINVAL, "measured.pcr=%s refused", val);
	} else if (strcmp(key, "mode") == 0) {
		return rootfs_mode_parse(val, &c->mode);
	} else if (strcmp(key, "salt") == 0) {
		if (strcmp(val, "-") == 0 || !*val)
			c->vp.salt_len = 0;
		else if (hex_decode(val, c->vp.salt, sizeof(c->vp.salt), &c->vp.salt_len) < 0)
			return err_set(-EINVAL, "measured.salt=%s is not hex", val);
	} else if (strcmp(key, "expect") == 0) {
		uint8_t tmp[DIGEST_MAX];
		size_t len;

		if (hex_decode(val, tmp, sizeof(tmp), &len) < 0 || len != 32)
			return err_set(-EINVAL, "measured.expect= needs 64 hex digits (sha256)");
		hex_encode(tmp, len, c->expect);
	} else if (strcmp(key, "onfail") == 0) {
		if (strcmp(val, "halt") && strcmp(val, "continue"))
			return err_set(-EINVAL, "measured.onfail=%s (halt or continue)", val);
		c->onfail_continue = strcmp(val, "continue") == 0;
	} else if (strcmp(key, "init") == 0) {
		if (strlen(val) >= sizeof(c->init) || val[0] != '/')
			return err_set(-EINVAL, "measured.init=%s is not an absolute path", val);
		strcpy(c->init, val);
	} else if (strcmp(key, "rootwait") == 0) {
		c->root_wait = (unsigned)strtoul(val, &end, 10);
	} else if (strcmp(key, "report") != 0 && strcmp(key, "run") != 0) { /* the rootfs init's */
		mi_say("ignoring unknown option measured.%s", key);
	}
	return 0;
}

int mi_cmdline_parse(const char *cmdline, struct mi_config *ret)
{
	struct mi_config c = {
		.pcr = ROOTFS_DEFAULT_PCR, .mode = ROOTFS_DEFAULT_MODE, .root_wait = 30};
	char *copy = strdup(cmdline), *save = NULL;
	int rc = 0;

	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	verity_params_default(&c.vp);
	strcpy(c.init, "/sbin/init");
	for (char *w = strtok_r(copy, " \t\n", &save); w && rc == 0;
	     w = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(w, '=');

		if (strncmp(w, "measured.", 9) != 0 || !eq)
			continue;
		*eq = '\0';
		rc = set_option(&c, w + 9, eq + 1);
	}
	free(copy);
	if (rc == 0 && !c.root[0])
		rc = err_set(-EINVAL, "measured.root= is missing from the kernel command line");
	if (rc == 0)
		*ret = c;
	return rc;
}
