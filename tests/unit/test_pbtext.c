// SPDX-License-Identifier: MIT
/*
 * Protobuf text format: the trust|me seed examples parse, write -> read
 * round-trips to the same binary encoding, and bad configs name line and field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "container.pb-c.h"
#include "control.pb-c.h"
#include "err.h"
#include "fileio.h"
#include "guestos.pb-c.h"
#include "pbtext.h"
#include "testutil.h"

static ProtobufCMessage *parse_ok(const ProtobufCMessageDescriptor *d, const char *text)
{
	ProtobufCMessage *m = NULL;
	int r = pbtext_parse(d, text, strlen(text), "t.conf", &m);

	if (r < 0)
		fail_msg("parse failed: %s", err_msg());
	return m;
}

static void parse_fails(const ProtobufCMessageDescriptor *d, const char *text, const char *want)
{
	ProtobufCMessage *m = NULL;

	assert_int_equal(pbtext_parse(d, text, strlen(text), "t.conf", &m), -EINVAL);
	assert_null(m);
	if (!strstr(err_msg(), want))
		fail_msg("error '%s' does not say '%s'", err_msg(), want);
}

/* write -> read gives a message whose binary encoding equals the original's. */
static void assert_round_trip(const ProtobufCMessage *m)
{
	char *text, *text2;
	ProtobufCMessage *back;
	size_t n1 = protobuf_c_message_get_packed_size(m), n2;
	uint8_t *b1 = malloc(n1), *b2;

	assert_int_equal(pbtext_format(m, &text, NULL), 0);
	back = parse_ok(m->descriptor, text);
	n2 = protobuf_c_message_get_packed_size(back);
	b2 = malloc(n2);
	protobuf_c_message_pack(m, b1);
	protobuf_c_message_pack(back, b2);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	assert_int_equal(pbtext_format(back, &text2, NULL), 0);
	assert_string_equal(text, text2);
	free(b1);
	free(b2);
	free(text);
	free(text2);
	protobuf_c_message_free_unpacked(back, NULL);
}

/* The example configuration of trust|me's container config document, read from the seed itself. */
static void test_seed_container_example(void **state)
{
	const char *seed = testdata_path("../seeds/trustme-container-config.txt");
	uint8_t *doc;
	size_t len;
	char *start, *end;
	ContainerConfig *c;

	(void)state;
	SKIP_WITHOUT_TESTDATA();
	assert_int_equal(file_read_all(seed, 1 << 20, &doc, &len), 0);
	start = strstr((char *)doc, "name: \"core0\"");
	end = strstr((char *)doc, "net_ifaces: \"eth2\"");
	assert_non_null(start);
	assert_non_null(end);
	end[strlen("net_ifaces: \"eth2\"")] = '\0';
	c = (ContainerConfig *)parse_ok(&container_config__descriptor, start);
	assert_string_equal(c->name, "core0");
	assert_string_equal(c->guest_os, "debos");
	assert_true(c->has_guestos_version);
	assert_int_equal(c->guestos_version, 1);
	assert_int_equal(c->type, CONTAINER_TYPE__CONTAINER);
	assert_int_equal(c->n_image_sizes, 1);
	assert_string_equal(c->image_sizes[0]->image_name, "enc_root");
	assert_int_equal(c->image_sizes[0]->image_size, 8192);
	assert_int_equal(c->n_vnet_configs, 2);
	assert_string_equal(c->vnet_configs[0]->if_mac, "62:96:af:ab:7d:56");
	assert_string_equal(c->vnet_configs[1]->if_rootns_name, "r_1");
	assert_null(c->vnet_configs[1]->if_mac);
	assert_int_equal(c->n_usb_configs, 1);
	assert_int_equal(c->usb_configs[0]->type, CONTAINER_USB_TYPE__GENERIC);
	assert_string_equal(c->assign_dev[0], "c 4:1 rwm");
	assert_string_equal(c->allow_dev[0], "c 116:1 rw");
	assert_string_equal(c->net_ifaces[0]->netif, "eth2"); /* the older string form */
	assert_int_equal(c->net_ifaces[0]->n_mac_filter, 0);
	assert_true(c->userns); /* the proto default */
	assert_int_equal(c->token_type, CONTAINER_TOKEN_TYPE__SOFT);
	assert_round_trip(&c->base);
	protobuf_c_message_free_unpacked(&c->base, NULL);
	free(doc);
}

/* The GuestOS mounts snippet of the same document, inside a full GuestOS config. */
static void test_guestos_config(void **state)
{
	static const char text[] =
		"name: \"debos\"\n"
		"hardware: \"x86\"\n"
		"version: 3\n"
		"# the seed's mount, as given\n"
		"mounts {\n"
		"image_file: \"enc_root\"\n"
		"mount_point: \"/\"\n"
		"fs_type: \"ext4\"\n"
		"mount_type: EMPTY\n"
		"}\n"
		"mounts: { image_file: 'root' mount_point: \"/\" fs_type: \"squashfs\" "
		"mount_type: SHARED image_size: 4096 "
		"image_sha2_256: \"ab\" \"cd\" }\n"
		"init_param: [\"--a\", \"b\\tc\\x41\\101\"]\n"
		"description { en: \"Debian\" de: \"Debian \\303\\244\" }\n"
		"icon: \"\\000\\377\\n\"\n";
	GuestOSConfig *g = (GuestOSConfig *)parse_ok(&guest_osconfig__descriptor, text);

	(void)state;
	assert_int_equal(g->n_mounts, 2);
	assert_int_equal(g->mounts[0]->mount_type, GUEST_OSMOUNT__TYPE__EMPTY);
	assert_int_equal(g->mounts[0]->def_size, 1024); /* default */
	assert_string_equal(g->mounts[1]->image_file, "root");
	assert_string_equal(g->mounts[1]->image_sha2_256, "abcd");
	assert_int_equal(g->mounts[1]->image_size, 4096);
	assert_int_equal(g->n_init_param, 2);
	assert_string_equal(g->init_param[1], "b\tcAA");
	assert_string_equal(g->init_path, "/init");
	assert_string_equal(g->description->de, "Debian \xc3\xa4");
	assert_true(g->has_icon);
	assert_int_equal(g->icon.len, 3);
	assert_memory_equal(g->icon.data, "\0\377\n", 3);
	assert_round_trip(&g->base);
	protobuf_c_message_free_unpacked(&g->base, NULL);
}

/* A control message with enums, bytes, nested messages and the vtpm block. */
static void test_other_messages_round_trip(void **state)
{
	ControllerToDaemon *m = (ControllerToDaemon *)parse_ok(
		&controller_to_daemon__descriptor,
		"command: CONTAINER_START container_uuids: \"a\" container_uuids: \"b\";"
		"container_start_params < key: \"1234\" setup: true >,"
		"guestos_config_file: \"x\\\"y\" exec_pty: t");
	ContainerConfig *c = (ContainerConfig *)parse_ok(
		&container_config__descriptor,
		"name: \"c\" guest_os: \"g\" color: 0xff00ffff ram_limit: 512 "
		"token_type: NONE vtpm { state_path: \"/var/lib/vtpm/c\" create_certs: true "
		"pcr_banks: \"sha256\" pcr_banks: \"sha384\" run_as: \"tss\" }");

	(void)state;
	assert_int_equal(m->command, CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START);
	assert_int_equal(m->n_container_uuids, 2);
	assert_string_equal(m->container_start_params->key, "1234");
	assert_true(m->exec_pty);
	assert_int_equal(c->color, 0xff00ffffu);
	assert_int_equal(c->vtpm->n_pcr_banks, 2);
	assert_string_equal(c->vtpm->version, "2");
	assert_round_trip(&m->base);
	assert_round_trip(&c->base);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	protobuf_c_message_free_unpacked(&c->base, NULL);
}

/*
 * net_ifaces, trust|me's ContainerPnetConfig: the message form, and the bare
 * string of the older configs standing for its one required field; written
 * back in the message form, which reads back the same.
 */
static void test_net_ifaces_both_forms(void **state)
{
	const ProtobufCMessageDescriptor *d = &container_config__descriptor;
	ContainerConfig *c = (ContainerConfig *)parse_ok(
		d, "name: \"c\" guest_os: \"g\" color: 0\n"
		   "net_ifaces: \"eth2\"\n"
		   "net_ifaces { netif: \"eth3\" mac_filter: \"00:11:22:33:44:55\" }\n"
		   "net_ifaces: { netif: \"eth4\" }\n"
		   "net_ifaces: ['eth5', \"eth6\"]\n");
	char *text;

	(void)state;
	assert_int_equal(c->n_net_ifaces, 5);
	assert_string_equal(c->net_ifaces[0]->netif, "eth2");
	assert_string_equal(c->net_ifaces[1]->netif, "eth3");
	assert_int_equal(c->net_ifaces[1]->n_mac_filter, 1);
	assert_string_equal(c->net_ifaces[1]->mac_filter[0], "00:11:22:33:44:55");
	assert_string_equal(c->net_ifaces[2]->netif, "eth4");
	assert_string_equal(c->net_ifaces[4]->netif, "eth6");
	assert_int_equal(pbtext_format(&c->base, &text, NULL), 0);
	assert_non_null(strstr(text, "net_ifaces {\n  netif: \"eth2\"\n}\n"));
	free(text);
	assert_round_trip(&c->base);
	protobuf_c_message_free_unpacked(&c->base, NULL);
	/* only a message with exactly one required field, a string, has the short form */
	parse_fails(d, "name: \"c\" guest_os: \"g\" color: 0 image_sizes: \"root\"",
		    "field 'image_sizes': expected '{'");
	parse_fails(d, "name: \"c\" guest_os: \"g\" color: 0 vnet_configs: \"eth0\"",
		    "field 'vnet_configs': expected '{'");
	parse_fails(d, "name: \"c\" guest_os: \"g\" color: 0 net_ifaces: eth2",
		    "field 'net_ifaces': expected '{'");
}

static void test_bad_configs_name_line_and_field(void **state)
{
	const ProtobufCMessageDescriptor *d = &container_config__descriptor;
	char deep[400];

	(void)state;
	parse_fails(d, "name: \"a\"\nguest_os: \"b\"\ncolour: 1\n",
		    "t.conf:3: unknown field 'colour'");
	parse_fails(d, "name: \"a\"\nguest_os: \"b\"\n", "required field 'color' is missing");
	parse_fails(d, "guest_os: \"b\" color: 1", "required field 'name'");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 1\n\ntype: VM",
		    "t.conf:3: field 'type': 'VM'");
	parse_fails(d, "name: \"a\" name: \"b\"", "field 'name' given twice");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 4294967296",
		    "field 'color': 4294967296 is out of range");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: -1", "field 'color': -1 is negative");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 12abc", "'12abc' is not an integer");
	parse_fails(d, "name: \"a\nguest_os: \"b\"", "t.conf:1: unterminated string");
	parse_fails(d, "name: a", "field 'name': expected a quoted string");
	parse_fails(d, "name \"a\"", "field 'name': expected ':'");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 1 userns: maybe",
		    "'maybe' is not true or false");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 1 vtpm { state_path: \"x\"",
		    "ContainerVtpm: missing '}'");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 1 vtpm { }",
		    "ContainerVtpm: required field 'state_path' is missing");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 1 image_sizes { image_name: \"x\" }",
		    "required field 'image_size'");
	parse_fails(d, "name: \"a\\q\"", "unknown escape");
	parse_fails(d, "name: \"a\\000b\"", "NUL byte");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 1 }", "found '}'");
	/* nesting: GuestOS mounts can't nest, so use a message that does not exist either way */
	memset(deep, '{', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	memcpy(deep, "vtpm ", 5);
	parse_fails(d, deep, "field");
	parse_fails(d, "name: \"a\" guest_os: \"b\" color: 1 fifos: [\"a\" \"b\"", "expected ']'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_container_example),
		cmocka_unit_test(test_guestos_config),
		cmocka_unit_test(test_other_messages_round_trip),
		cmocka_unit_test(test_net_ifaces_both_forms),
		cmocka_unit_test(test_bad_configs_name_line_and_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
