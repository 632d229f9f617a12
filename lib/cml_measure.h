/* SPDX-License-Identifier: MIT */
/*
 * What cmld extends into PCR 11 when it starts a container, in order:
 *   "guestos-image"     one per GuestOS image the container mounts from its
 *                       GuestOS, the image's SHA-256 from the signed config
 *   "container-config"  SHA-256 of the container's config in canonical text
 *                       form (pbtext_format)
 * A bank other than sha256 gets H_bank(that SHA-256).  cmld and
 * `pcrpredict cml` both list the events here, so they cannot drift apart.
 */
#ifndef MEASURED_CML_MEASURE_H
#define MEASURED_CML_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "container.pb-c.h"
#include "guestos.pb-c.h"

#define CML_PCR	       11
#define CML_EVENTS_MAX 64

struct cml_event {
	const char *type;
	char name[512];
	uint8_t sha256[32];
};

/* Whether a GuestOS mount is backed by an image of the GuestOS (not per container). */
int cml_mount_has_image(const GuestOSMount *m);
/* SHA-256 of @cfg in canonical text form: the "container-config" event. */
int cml_config_digest(const ContainerConfig *cfg, uint8_t out[32]);
/* The events of one start of @cfg on @g, into @ev (CML_EVENTS_MAX). */
int cml_start_events(const GuestOSConfig *g, const ContainerConfig *cfg, struct cml_event *ev,
		     size_t *ret_n);

#endif
