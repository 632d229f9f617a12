/* SPDX-License-Identifier: MIT */
/*
 * Container networking with iproute2's ip(8): loopback up, one veth pair per
 * vnet_config (root side if_rootns_name, generated when absent; configure:
 * 10.233.<n>.<4i+1>/30 outside, .<4i+2> inside), and host interfaces moved in
 * (net_ifaces at start, assign_iface at run time) and back out.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_proc.h"
#include "cmld.h"
#include "cm_net.h"
#include "err.h"

static bool ifname_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 15)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ' ' || *s == ':' || (unsigned char)*s < 0x21)
			return false;
	return true;
}

static int veth_add(struct cm_container *c, size_t i, ContainerVnetConfig *v)
{
	char root_name[16], pid[16], addr_out[32], addr_in[32];
	unsigned net = (c->uid_base >> 16) & 0xff;
	int r;

	if (!ifname_ok(v->if_name))
		return err_set(-EINVAL, "vnet_configs: '%s' is not an interface name", v->if_name);
	if (v->if_rootns_name && ifname_ok(v->if_rootns_name))
		snprintf(root_name, sizeof(root_name), "%s", v->if_rootns_name);
	else
		snprintf(root_name, sizeof(root_name), "cml%.6s%zu", c->uuid, i);
	snprintf(pid, sizeof(pid), "%d", c->init_pid);
	if (v->if_mac) {
		char *const argv[] = {"ip",	 "link",  "add",  root_name,  "type",
				      "veth",	 "peer",  "name", v->if_name, "address",
				      v->if_mac, "netns", pid,	  NULL};
		r = cm_run(0, argv);
	} else {
		char *const argv[] = {"ip",   "link", "add",	  root_name, "type", "veth",
				      "peer", "name", v->if_name, "netns",   pid,    NULL};
		r = cm_run(0, argv);
	}
	if (r < 0)
		return r;
	char *const up_out[] = {"ip", "link", "set", root_name, "up", NULL};
	char *const up_in[] = {"ip", "link", "set", v->if_name, "up", NULL};
	r = cm_run(0, up_out);
	if (r < 0)
		return r;
	if (!v->configure)
		return 0;
	snprintf(addr_out, sizeof(addr_out), "10.233.%u.%zu/30", net, 4 * i + 1);
	snprintf(addr_in, sizeof(addr_in), "10.233.%u.%zu/30", net, 4 * i + 2);
	char *const set_out[] = {"ip", "addr", "add", addr_out, "dev", root_name, NULL};
	char *const set_in[] = {"ip", "addr", "add", addr_in, "dev", v->if_name, NULL};
	r = cm_run(0, set_out);
	if (r < 0)
		return r;
	r = cm_run(c->init_pid, set_in);
	if (r < 0)
		return r;
	return cm_run(c->init_pid, up_in);
}

int cm_net_iface_move(struct cmld *d, struct cm_container *c, const char *iface, bool into)
{
	char pid[16];

	(void)d;
	if (!ifname_ok(iface))
		return err_set(-EINVAL, "'%s' is not an interface name", iface);
	if (!c->init_pid || !c->config->netns)
		return err_set(-ESRCH, "container %s has no network namespace running",
			       c->config->name);
	if (into) {
		snprintf(pid, sizeof(pid), "%d", c->init_pid);
		char *const argv[] = {"ip",	     "link",  "set", "dev",
				      (char *)iface, "netns", pid,   NULL};
		return cm_run(0, argv);
	}
	/* back to cmld's own namespace, seen from inside the container's */
	snprintf(pid, sizeof(pid), "%d", getpid());
	char *const argv[] = {"ip", "link", "set", "dev", (char *)iface, "netns", pid, NULL};
	return cm_run(c->init_pid, argv);
}

int cm_net_setup(struct cmld *d, struct cm_container *c)
{
	int r;

	if (!c->config->netns)
		return 0;
	char *const lo[] = {"ip", "link", "set", "lo", "up", NULL};
	r = cm_run(c->init_pid, lo);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->config->n_vnet_configs; i++) {
		r = veth_add(c, i, c->config->vnet_configs[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->config->n_net_ifaces; i++) {
		r = cm_net_iface_move(d, c, c->config->net_ifaces[i]->netif, true);
		if (r < 0)
			return r;
	}
	return 0;
}
