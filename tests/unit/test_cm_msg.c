// SPDX-License-Identifier: MIT
/*
 * The typed request between cmld's control process and its root parent
 * (cmld/cm_msg.c): what the control process makes of a decoded request, and
 * the parent's check of every field, played as a captured control process
 * would play it: each field pushed out of range alone must be refused, the
 * reason naming it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cm_msg.h"
#include "err.h"

static struct cm_msg_request m;

/* A start with a key, a PIN, two names and a signed config: most fields used. */
static void make_request(void)
{
	static char *uuids[] = {"c1", "11111111-2222-3333-4444-555555555555"};
	static char *args[] = {"sh", "-c", "echo hi"};
	static uint8_t conf[] = "name: \"x\"\n", sig[] = {1, 2, 3}, cert[] = "PEM";
	ControllerToDaemon req = CONTROLLER_TO_DAEMON__INIT;
	ContainerStartParams sp = CONTAINER_START_PARAMS__INIT;

	req.command = CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START;
	req.n_container_uuids = 2;
	req.container_uuids = uuids;
	sp.key = "the key";
	sp.has_setup = 1;
	sp.setup = 1;
	req.container_start_params = &sp;
	req.device_pin = "1234";
	req.n_exec_args = 3;
	req.exec_args = args;
	req.has_container_config_file = req.has_container_config_signature =
		req.has_container_config_certificate = 1;
	req.container_config_file = (ProtobufCBinaryData){sizeof(conf) - 1, conf};
	req.container_config_signature = (ProtobufCBinaryData){sizeof(sig), sig};
	req.container_config_certificate = (ProtobufCBinaryData){sizeof(cert) - 1, cert};
	assert_int_equal(cm_msg_request_from_proto(&req, &m), 0);
}

static void test_round_trip(void **state)
{
	struct cm_req_view v;
	const ControllerToDaemon *r = &v.req;

	(void)state;
	make_request();
	assert_int_equal(cm_msg_request_check(&m, &v), 0);
	assert_int_equal(r->command, CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START);
	assert_int_equal(r->n_container_uuids, 2);
	assert_string_equal(r->container_uuids[0], "c1");
	assert_string_equal(r->container_uuids[1], "11111111-2222-3333-4444-555555555555");
	assert_non_null(r->container_start_params);
	assert_string_equal(r->container_start_params->key, "the key");
	assert_true(r->container_start_params->setup);
	assert_string_equal(r->device_pin, "1234");
	assert_null(r->device_newpin);
	assert_null(r->assign_iface_params);
	assert_null(r->exec_command);
	assert_int_equal(r->n_exec_args, 3);
	assert_string_equal(r->exec_args[2], "echo hi");
	assert_true(r->has_container_config_file);
	assert_int_equal(r->container_config_file.len, 10);
	assert_memory_equal(r->container_config_file.data, "name: \"x\"\n", 10);
	assert_int_equal(r->container_config_signature.len, 3);
	assert_int_equal(r->container_config_signature.data[2], 3);
	assert_memory_equal(r->container_config_certificate.data, "PEM", 3);
	assert_false(r->has_guestos_config_file);
	assert_false(r->has_device_cert);
}

/* What the control process cannot express is refused before anything is sent. */
static void test_too_large_for_a_field(void **state)
{
	char pin[CM_REQ_PIN_MAX + 1];
	char *many[CM_REQ_REFS_MAX + 1];
	ControllerToDaemon req = CONTROLLER_TO_DAEMON__INIT;
	static uint8_t big[CM_REQ_BLOB_MAX + 1];

	(void)state;
	memset(pin, 'p', sizeof(pin) - 1);
	pin[sizeof(pin) - 1] = '\0';
	req.command = CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START;
	req.device_pin = pin;
	assert_int_equal(cm_msg_request_from_proto(&req, &m), -EMSGSIZE);
	assert_non_null(strstr(err_msg(), "device_pin of 256 bytes: at most 255"));
	req.device_pin = NULL;
	for (int i = 0; i <= CM_REQ_REFS_MAX; i++)
		many[i] = "c";
	req.n_container_uuids = CM_REQ_REFS_MAX + 1;
	req.container_uuids = many;
	assert_int_equal(cm_msg_request_from_proto(&req, &m), -EMSGSIZE);
	assert_non_null(strstr(err_msg(), "container_uuids: 17 containers, at most 16"));
	req.n_container_uuids = 0;
	/* protobuf-c decodes a command number no enum value has; it goes no further */
	req.command = (ControllerToDaemon__Command)10;
	assert_int_equal(cm_msg_request_from_proto(&req, &m), -EOPNOTSUPP);
	assert_non_null(strstr(err_msg(), "unknown command 10"));
	req.command = CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START;
	req.has_guestos_config_file = 1;
	req.guestos_config_file = (ProtobufCBinaryData){sizeof(big), big};
	assert_int_equal(cm_msg_request_from_proto(&req, &m), -EMSGSIZE);
	assert_non_null(strstr(err_msg(), "guestos_config_file of 40961 bytes"));
}

/* One field at a time out of range, as a captured control process might send it. */
static void refused(void (*spoil)(void), const char *why)
{
	struct cm_req_view v;

	make_request();
	spoil();
	err_clear();
	assert_int_equal(cm_msg_request_check(&m, &v), -EBADMSG);
	if (!strstr(err_msg(), why))
		fail_msg("wanted \"%s\", got \"%s\"", why, err_msg());
}

static void bad_command(void)
{
	m.command = 9999;
}
static void bad_flags(void)
{
	m.flags |= 1u << 30;
}
static void bad_blobs(void)
{
	m.blob_present |= 1u << CM_BLOBS;
}
static void too_many_refs(void)
{
	m.n_refs = CM_REQ_REFS_MAX + 1;
}
static void ref_unterminated(void)
{
	memset(m.refs[1], 'a', sizeof(m.refs[1]));
}
static void pin_unterminated(void)
{
	memset(m.pin, '1', sizeof(m.pin));
}
static void newpin_without_flag(void)
{
	strcpy(m.newpin, "sneaked in");
}
static void key_without_params(void)
{
	m.flags &= ~(uint32_t)CM_REQ_START_PARAMS;
}
static void argv_short(void)
{
	m.n_exec_args = 4; /* three strings are there */
}
static void argv_trailing(void)
{
	m.exec_argv_len += 2;
}
static void argv_past_end(void)
{
	m.exec_argv_len = CM_REQ_ARGV_LEN + 1;
}
static void blob_past_end(void)
{
	m.blob_len[CM_BLOB_CONFIG_CERT] = CM_REQ_BLOB_MAX;
}
static void blob_not_present(void)
{
	m.blob_len[CM_BLOB_DEVICE_CERT] = 5;
}

static void test_each_field_checked(void **state)
{
	(void)state;
	refused(bad_command, "command 9999");
	refused(bad_flags, "flags 0x40000");
	refused(bad_blobs, "byte fields 0x");
	refused(too_many_refs, "17 containers");
	refused(ref_unterminated, "container_uuids: not terminated");
	refused(pin_unterminated, "device_pin: not terminated");
	refused(newpin_without_flag, "device_newpin: not given, yet not empty");
	refused(key_without_params, "start flags without start parameters");
	refused(argv_short, "exec_args: argument 3 not terminated");
	refused(argv_trailing, "exec_args: 2 bytes after the arguments");
	refused(argv_past_end, "4097 bytes");
	refused(blob_past_end, "container_config_certificate: 40960 bytes past the end");
	refused(blob_not_present, "device_cert: not given, yet 5 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_too_large_for_a_field),
		cmocka_unit_test(test_each_field_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
