/* SPDX-License-Identifier: MIT */
/* cm_net: veth pairs and assigned interfaces. */
#ifndef CM_NET_H
#define CM_NET_H

#include "cmld.h"

int cm_net_setup(struct cmld *d, struct cm_container *c);
int cm_net_iface_move(struct cmld *d, struct cm_container *c, const char *iface, bool into);

#endif
