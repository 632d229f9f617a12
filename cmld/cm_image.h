/* SPDX-License-Identifier: MIT */
/* A container's data images (plain or, through cm_seal, inside LUKS2). */
#ifndef MEASURED_CM_IMAGE_H
#define MEASURED_CM_IMAGE_H

#include <stdint.h>

#include "container.pb-c.h"
#include "guestos.pb-c.h"

struct cm_container;

/* The size of a per-container image in MiB (image_sizes over the GuestOS default). */
uint64_t cm_data_image_mib(const ContainerConfig *cfg, const GuestOSMount *m);
/* A new file @path holding @m's empty ext4 file system, sized and owned for @c. */
int cm_data_image_mkfs(const struct cm_container *c, const GuestOSMount *m, const char *path);

#endif
