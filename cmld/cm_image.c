// SPDX-License-Identifier: MIT
/* A container's data images: their size, and a new empty one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cm_image.h"
#include "cm_proc.h"
#include "cmld.h"
#include "err.h"
#include "fileio.h"

uint64_t cm_data_image_mib(const ContainerConfig *cfg, const GuestOSMount *m)
{
	for (size_t i = 0; i < cfg->n_image_sizes; i++)
		if (!strcmp(cfg->image_sizes[i]->image_name, m->image_file)) {
			uint64_t s = cfg->image_sizes[i]->image_size;
			if (s < m->min_size)
				s = m->min_size;
			return s > m->max_size ? m->max_size : s;
		}
	return m->def_size;
}

int cm_data_image_mkfs(const struct cm_container *c, const GuestOSMount *m, const char *path)
{
	unsigned uid = c->config->userns ? c->uid_base : 0;
	char owner[64];
	int r;

	if (strcmp(m->fs_type, "ext4"))
		return err_set(-ENOTSUP, "image '%s': data images are ext4, not %s", m->image_file,
			       m->fs_type);
	r = file_create_sized(path, cm_data_image_mib(c->config, m) << 20, 0600);
	if (r < 0)
		return r;
	snprintf(owner, sizeof(owner), "root_owner=%u:%u", uid, uid);
	char *const argv[] = {"mkfs.ext4", "-q", "-F", "-E", owner, (char *)path, NULL};
	r = cm_run(0, argv);
	if (r < 0)
		unlink(path);
	return r;
}
