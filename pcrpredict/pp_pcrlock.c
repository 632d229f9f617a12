// SPDX-License-Identifier: MIT
/*
 * pcrpredict pcrlock REF.json DIR: a reference document as systemd .pcrlock
 * files, one per boot component (refdoc_pcrlock.c).
 */
#include <errno.h>
#include <stdio.h>

#include <json-c/json.h>

#include "err.h"
#include "pcrpredict.h"
#include "refdoc_pcrlock.h"

int pp_pcrlock_run(int argc, char **argv, const struct pp_opts *opts)
{
	struct json_object *doc;
	int rc;

	(void)opts;
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-')
		return err_set(-EINVAL, "needs REF.json DIR"), pp_fail("pcrlock");
	if (!(doc = json_object_from_file(argv[1])))
		return err_set(-EINVAL, "%s: is not JSON (%s)", argv[1], json_util_get_last_err()),
		       pp_fail("pcrlock");
	rc = refdoc_pcrlock(doc, argv[2], stdout, NULL);
	json_object_put(doc);
	if (rc < 0) {
		err_wrap(rc, "%s", argv[1]);
		return pp_fail("pcrlock");
	}
	return PP_EXIT_OK;
}
