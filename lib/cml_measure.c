// SPDX-License-Identifier: MIT
/* The PCR 11 events of a container start: see cml_measure.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cml_measure.h"
#include "digest.h"
#include "err.h"
#include "hex.h"
#include "pbtext.h"

int cml_mount_has_image(const GuestOSMount *m)
{
	return m->mount_type != GUEST_OSMOUNT__TYPE__EMPTY &&
	       m->mount_type != GUEST_OSMOUNT__TYPE__OVERLAY_RW;
}

int cml_config_digest(const ContainerConfig *cfg, uint8_t out[32])
{
	size_t len;
	char *text;
	int r;

	if ((r = pbtext_format(&cfg->base, &text, &len)) < 0)
		return r;
	r = digest_buf(hash_alg_by_name("sha256"), text, len, out);
	free(text);
	return r;
}

int cml_start_events(const GuestOSConfig *g, const ContainerConfig *cfg, struct cml_event *ev,
		     size_t *ret_n)
{
	size_t n = 0, len;
	int r;

	for (size_t i = 0; i < g->n_mounts; i++) {
		const GuestOSMount *m = g->mounts[i];
		if (!cml_mount_has_image(m))
			continue;
		if (n + 1 >= CML_EVENTS_MAX)
			return err_set(-E2BIG, "GuestOS %s: more than %d images", g->name,
				       CML_EVENTS_MAX - 1);
		if (!m->image_sha2_256 ||
		    hex_decode(m->image_sha2_256, ev[n].sha256, 32, &len) < 0 || len != 32)
			return err_set(-EINVAL,
				       "GuestOS %s: image '%s' has no valid image_sha2_256",
				       g->name, m->image_file);
		ev[n].type = "guestos-image";
		snprintf(ev[n].name, sizeof(ev[n].name), "%s/%s", g->name, m->image_file);
		n++;
	}
	if ((r = cml_config_digest(cfg, ev[n].sha256)) < 0)
		return r;
	ev[n].type = "container-config";
	snprintf(ev[n].name, sizeof(ev[n].name), "%s", cfg->name);
	*ret_n = n + 1;
	return 0;
}
