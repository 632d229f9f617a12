// SPDX-License-Identifier: MIT
/*
 * cmld as trust|me's own client sees it (root).  Every request is built with
 * trust|me's definitions, transcribed by hand in tests/data/trustme-control.proto
 * (package trustme, compiled on its own: nothing of cmld's protos), encoded
 * as trust|me's control tool fills it for each command of the seed's "basic
 * operation" guide, and sent to a real cmld over its socket (4-byte big-endian
 * length + packed ControllerToDaemon).  Each answer is decoded with the same
 * definitions -- a required field cmld left out, a wrong type or number fails
 * the decode -- and its code, response and fields are checked.  First the
 * schemas themselves: every trust|me field and enum value against cmld's by
 * number (name, type, label, default), and everything of ours at 300 and up.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmldrun.h"
#include "container.pb-c.h"
#include "control.pb-c.h"
#include "fileio.h"
#include "guestos.pb-c.h"
#include "testutil.h"
#include "trustme-control.pb-c.h"

typedef Trustme__ControllerToDaemon Req;
typedef Trustme__DaemonToController Ans;

static char dir[64];   /* everything of this test */
static char gos[128];  /* GuestOS fixtures (tests/harness/mkguestos.sh) */
static char data[128]; /* cmld --data-dir */
static char sock[100]; /* cmld --socket */
static pid_t cmld_pid;

/* ---- the wire, with trust|me's definitions ---- */

static int wire_connect(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fail_msg("connect %s: %s", sock, strerror(errno));
	return fd;
}

static void wire_send(int fd, const Req *r)
{
	size_t len = trustme__controller_to_daemon__get_packed_size(r);
	uint8_t *buf = malloc(len + 4);

	assert_non_null(buf);
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	trustme__controller_to_daemon__pack(r, buf + 4);
	assert_int_equal(fd_write_all(fd, buf, len + 4), 0);
	free(buf);
}

static void read_exact(int fd, uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = read(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("cmld closed the connection (%zu of %zu bytes)", off, len);
		off += (size_t)n;
	}
}

static void frame_send(int fd, const uint8_t *body, size_t len)
{
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			  (uint8_t)len};

	assert_int_equal(fd_write_all(fd, hdr, 4), 0);
	assert_int_equal(fd_write_all(fd, body, len), 0);
}

/* One frame's body (malloc'd). */
static uint8_t *frame_recv(int fd, size_t *ret_len)
{
	uint8_t hdr[4], *body;
	size_t len;

	read_exact(fd, hdr, 4);
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	assert_true(len < (8u << 20));
	body = malloc(len ? len : 1);
	assert_non_null(body);
	read_exact(fd, body, len);
	*ret_len = len;
	return body;
}

/* One answer, decoded as trust|me's DaemonToController. */
static Ans *wire_recv(int fd)
{
	size_t len;
	uint8_t *body = frame_recv(fd, &len);
	Ans *a;

	a = trustme__daemon_to_controller__unpack(NULL, len, body);
	free(body);
	if (!a)
		fail_msg("cmld's answer does not decode as trust|me's DaemonToController");
	return a;
}

/* One request on a connection of its own, its answer. */
static Ans *ask(const Req *r)
{
	int fd = wire_connect();
	Ans *a;

	wire_send(fd, r);
	a = wire_recv(fd);
	close(fd);
	return a;
}

static const char *code_name(const Ans *a)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&trustme__daemon_to_controller__code__descriptor, a->code);
	return v ? v->name : "?";
}

static const char *response_name(const Ans *a)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&trustme__daemon_to_controller__response__descriptor, a->response);
	return a->has_response && v ? v->name : "(no response)";
}

/*
 * cmld's reason (its field 300, unknown to trust|me's schema: kept by the
 * decoder as an unknown field), for the failure messages; "" without one.
 */
static const char *reason_of(const Ans *a)
{
	static char buf[512];

	for (unsigned i = 0; i < a->base.n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &a->base.unknown_fields[i];
		size_t off = 0;
		if (u->tag != 300 || u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
			continue;
		while (off < u->len && (u->data[off] & 0x80)) /* the length varint */
			off++;
		off++;
		snprintf(buf, sizeof(buf), "%.*s", off < u->len ? (int)(u->len - off) : 0,
			 (const char *)u->data + off);
		return buf;
	}
	return "";
}

/* What the answer says, for the log: the response's name, else the code's. */
static const char *answer_name(const Ans *a)
{
	return a->code == TRUSTME__DAEMON_TO_CONTROLLER__CODE__RESPONSE ? response_name(a)
									: code_name(a);
}

/* Logs a seed command and what cmld answered it (the closing note's list). */
static void note(const char *seed, const Ans *a, const char *detail)
{
	print_message("seed: control %-32s -> %s%s%s\n", seed, answer_name(a), detail ? ": " : "",
		      detail ? detail : "");
}

/* Sends @r, wants a RESPONSE of @want; returns the answer (free it). */
static Ans *expect_response(const char *seed, const Req *r,
			    Trustme__DaemonToController__Response want)
{
	Ans *a = ask(r);

	note(seed, a, NULL);
	if (a->code != TRUSTME__DAEMON_TO_CONTROLLER__CODE__RESPONSE || !a->has_response ||
	    a->response != want) {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
			&trustme__daemon_to_controller__response__descriptor, (int)want);
		fail_msg("control %s: wanted %s, got %s (%s)", seed, v ? v->name : "?",
			 answer_name(a), reason_of(a));
	}
	return a;
}

static void expect_response_free(const char *seed, const Req *r,
				 Trustme__DaemonToController__Response want)
{
	trustme__daemon_to_controller__free_unpacked(expect_response(seed, r, want), NULL);
}

/* Sends @r, wants an answer with code @want. */
static Ans *expect_code(const char *seed, const Req *r, Trustme__DaemonToController__Code want)
{
	Ans *a = ask(r);

	note(seed, a, NULL);
	if (a->code != want)
		fail_msg("control %s: wanted code %d, got %s", seed, (int)want, answer_name(a));
	return a;
}

/* A request as trust|me's control fills it for a command on one container. */
static Req for_container(Trustme__ControllerToDaemon__Command cmd, char **uuid)
{
	Req r = TRUSTME__CONTROLLER_TO_DAEMON__INIT;

	r.command = cmd;
	r.n_container_uuids = 1;
	r.container_uuids = uuid;
	return r;
}

static Req global(Trustme__ControllerToDaemon__Command cmd)
{
	Req r = TRUSTME__CONTROLLER_TO_DAEMON__INIT;

	r.command = cmd;
	return r;
}

static ProtobufCBinaryData file_bytes(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static ProtobufCBinaryData file_bytes(const char *fmt, ...)
{
	char path[512];
	ProtobufCBinaryData b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (file_read_all(path, 8u << 20, &b.data, &b.len) < 0)
		fail_msg("read %s", path);
	return b;
}

static ProtobufCBinaryData text_bytes(const char *text)
{
	ProtobufCBinaryData b = {.len = strlen(text), .data = (uint8_t *)strdup(text)};

	return b;
}

/* The container's status through GET_CONTAINER_STATUS (control state). */
static Trustme__ContainerState state_of(char *uuid)
{
	Req r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS, &uuid);
	Ans *a = ask(&r);
	Trustme__ContainerState s = 0;

	if (a->code == TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_STATUS &&
	    a->n_container_status == 1)
		s = a->container_status[0]->state;
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	return s;
}

static void wait_state(char *uuid, Trustme__ContainerState want)
{
	Trustme__ContainerState s = 0;

	for (int i = 0; i < 500 && (s = state_of(uuid)) != want; i++)
		usleep(10000);
	if (s != want)
		fail_msg("container %s is in state %d, not %d", uuid, (int)s, (int)want);
}

/*
 * control run, as trust|me's control sends it: exec_command the command,
 * exec_args the whole argument list with the command first, a pty.  @input
 * (or NULL) goes in as CONTAINER_EXEC_INPUT.  Returns what the command wrote;
 * its end reason in @ret_end.
 */
static char *run_in(char *uuid, const char *const *argv, const char *input, char **ret_end)
{
	Req r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_CMD, &uuid);
	size_t n = 0, out_len = 0;
	char *out = calloc(1, 1);
	int fd = wire_connect();

	while (argv[n])
		n++;
	r.exec_command = (char *)argv[0];
	r.n_exec_args = n;
	r.exec_args = (char **)argv;
	r.has_exec_pty = r.exec_pty = 1;
	wire_send(fd, &r);
	if (input) {
		Req in = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_INPUT,
				       &uuid);
		in.exec_input = (char *)input;
		wire_send(fd, &in);
	}
	for (;;) {
		Ans *a = wire_recv(fd);
		if (a->code == TRUSTME__DAEMON_TO_CONTROLLER__CODE__EXEC_OUTPUT) {
			assert_true(a->has_exec_output);
			out = realloc(out, out_len + a->exec_output.len + 1);
			memcpy(out + out_len, a->exec_output.data, a->exec_output.len);
			out_len += a->exec_output.len;
			out[out_len] = '\0';
		} else if (a->code == TRUSTME__DAEMON_TO_CONTROLLER__CODE__EXEC_END) {
			*ret_end = strdup(a->exec_end_reason ? a->exec_end_reason : "");
			trustme__daemon_to_controller__free_unpacked(a, NULL);
			break;
		} else {
			fail_msg("run: unexpected answer %s", answer_name(a));
		}
		trustme__daemon_to_controller__free_unpacked(a, NULL);
	}
	close(fd);
	return out;
}

/* ---- the schemas ---- */

/* Names that differ and are allowed to: ours is the seed's documented name. */
static bool name_difference_allowed(const char *enum_name, const char *theirs, const char *ours)
{
	return !strcmp(enum_name, "ContainerState") && !strcmp(theirs, "SHUTDOWN") &&
	       !strcmp(ours, "SHUTTING_DOWN");
}

static const char *short_name(const char *full)
{
	return !strncmp(full, "trustme.", 8) ? full + 8 : full;
}

static void compare_enums(const ProtobufCEnumDescriptor *t, const ProtobufCEnumDescriptor *o)
{
	assert_string_equal(short_name(t->name), o->name);
	for (unsigned i = 0; i < t->n_values; i++) {
		const ProtobufCEnumValue *tv = &t->values[i];
		const ProtobufCEnumValue *ov = protobuf_c_enum_descriptor_get_value(o, tv->value);
		if (!ov)
			fail_msg("%s: trust|me's %s = %d is missing", o->name, tv->name, tv->value);
		if (strcmp(tv->name, ov->name) &&
		    !name_difference_allowed(o->name, tv->name, ov->name))
			fail_msg("%s = %d: trust|me's %s, ours %s", o->name, tv->value, tv->name,
				 ov->name);
	}
	for (unsigned i = 0; i < o->n_values; i++)
		if (!protobuf_c_enum_descriptor_get_value(t, o->values[i].value) &&
		    o->values[i].value < 300)
			fail_msg("%s: our %s = %d is below 300 and not trust|me's", o->name,
				 o->values[i].name, o->values[i].value);
}

/* Our numbers below 300 that trust|me's schema reserves: their own earlier use. */
static bool reserved_by_trustme(const char *message, unsigned id)
{
	return !strcmp(message, "ContainerConfig") && id == 20; /* feature_enabled */
}

static void compare_messages(const ProtobufCMessageDescriptor *t,
			     const ProtobufCMessageDescriptor *o)
{
	assert_string_equal(short_name(t->name), o->name);
	for (unsigned i = 0; i < t->n_fields; i++) {
		const ProtobufCFieldDescriptor *tf = &t->fields[i];
		const ProtobufCFieldDescriptor *of =
			protobuf_c_message_descriptor_get_field(o, tf->id);
		if (!of)
			fail_msg("%s: trust|me's field %s = %u is missing", o->name, tf->name,
				 tf->id);
		if (strcmp(tf->name, of->name) || tf->type != of->type || tf->label != of->label)
			fail_msg("%s field %u: trust|me's %s (type %d, label %d), ours %s (type "
				 "%d, label %d)",
				 o->name, tf->id, tf->name, tf->type, tf->label, of->name, of->type,
				 of->label);
		if (tf->type == PROTOBUF_C_TYPE_MESSAGE)
			compare_messages(tf->descriptor, of->descriptor);
		if (tf->type == PROTOBUF_C_TYPE_ENUM)
			compare_enums(tf->descriptor, of->descriptor);
		if (tf->type == PROTOBUF_C_TYPE_STRING &&
		    (!tf->default_value != !of->default_value ||
		     (tf->default_value && strcmp(tf->default_value, of->default_value))))
			fail_msg("%s.%s: the string default differs", o->name, of->name);
		if (tf->type == PROTOBUF_C_TYPE_BOOL && tf->default_value &&
		    (!of->default_value || *(const protobuf_c_boolean *)tf->default_value !=
						   *(const protobuf_c_boolean *)of->default_value))
			fail_msg("%s.%s: the bool default differs", o->name, of->name);
	}
	for (unsigned i = 0; i < o->n_fields; i++) {
		const ProtobufCFieldDescriptor *of = &o->fields[i];
		if (!protobuf_c_message_descriptor_get_field(t, of->id) && of->id < 300 &&
		    !reserved_by_trustme(o->name, of->id))
			fail_msg("%s: our field %s = %u is below 300 and not trust|me's", o->name,
				 of->name, of->id);
	}
}

static void test_schemas_are_trustmes(void **state)
{
	(void)state;
	compare_messages(&trustme__controller_to_daemon__descriptor,
			 &controller_to_daemon__descriptor);
	compare_messages(&trustme__daemon_to_controller__descriptor,
			 &daemon_to_controller__descriptor);
	compare_enums(&trustme__controller_to_daemon__command__descriptor,
		      &controller_to_daemon__command__descriptor);
	compare_enums(&trustme__daemon_to_controller__code__descriptor,
		      &daemon_to_controller__code__descriptor);
	compare_enums(&trustme__daemon_to_controller__response__descriptor,
		      &daemon_to_controller__response__descriptor);
	/* the configs control sends as text and cmld answers as messages */
	compare_messages(&trustme__container_config__descriptor, &container_config__descriptor);
	compare_messages(&trustme__guest_osconfig__descriptor, &guest_osconfig__descriptor);
	compare_messages(&trustme__container_status__descriptor, &container_status__descriptor);
	compare_enums(&trustme__guest_osmount__type__descriptor, &guest_osmount__type__descriptor);
	compare_enums(&trustme__container_token_type__descriptor,
		      &container_token_type__descriptor);
}

/* ---- the seed's commands against cmld ---- */

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-tmc.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(gos, sizeof(gos), "%s/gos", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(sock, sizeof(sock), "%s/cml-control", dir);
	if (sh(NULL, "mkdir %s && tests/harness/mkguestos.sh %s testos 2 >/dev/null", gos, gos))
		return -1;
	/*
	 * Version 3 adds a STORE_ONLY image: shipped and checked with the GuestOS,
	 * never mounted.
	 */
	if (sh(NULL,
	       "cd %s && mkdir images-testos-3 && cp images-testos-2/root.img images-testos-3/ && "
	       "head -c 65536 /dev/urandom > images-testos-3/store.img && "
	       "sed -e 's/^version: 2/version: 3/' -e 's/images-testos-2/images-testos-3/' "
	       "testos.conf > testos3.conf && printf 'mounts { image_file: \"store\" "
	       "mount_point: \"/store\" fs_type: \"ext4\" mount_type: STORE_ONLY image_size: "
	       "65536 image_sha2_256: \"%%s\" }\\n' $(sha256sum images-testos-3/store.img | "
	       "cut -d' ' -f1) >> testos3.conf && "
	       "openssl dgst -sha256 -sign sign.key -out testos3.sig testos3.conf",
	       gos))
		return -1;
	char run[160], log[160];
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(log, sizeof(log), "%s/cmld.log", dir);
	const char *argv[] = {"cmld", "--data-dir",	   data,   "--socket", sock, "--run-dir",
			      run,    "--stop-timeout-ms", "2000", NULL};
	cmld_pid = cmld_spawn(argv, log, sock);
	return access(sock, F_OK);
}

static int teardown(void **state)
{
	(void)state;
	cmld_reap(cmld_pid, SIGTERM);
	sh(NULL, "ip link del mtc0 2>/dev/null; ip link del mtc2 2>/dev/null");
	if (sh(NULL, "grep -q Sanitizer %s/cmld.log", dir) == 0) {
		sh(NULL, "cat %s/cmld.log >&2", dir);
		return -1;
	}
	if (!getenv("KEEP_TMP"))
		sh(NULL, "rm -rf %s", dir);
	return 0;
}

/* ca_register, push_guestos_config, list_guestos; a STORE_ONLY image. */
static void test_guestos_commands(void **state)
{
	Req r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__REGISTER_NEWCA);
	Ans *a;

	(void)state;
	r.has_guestos_rootcert = 1;
	r.guestos_rootcert = file_bytes("%s/ca.pem", gos);
	expect_response_free("ca_register ca.pem", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_REGISTER_CA_OK);
	free(r.guestos_rootcert.data);

	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__PUSH_GUESTOS_CONFIG);
	r.has_guestos_config_file = r.has_guestos_config_signature =
		r.has_guestos_config_certificate = 1;
	r.guestos_config_file = file_bytes("%s/testos.conf", gos);
	r.guestos_config_signature = file_bytes("%s/testos.sig", gos);
	r.guestos_config_certificate = file_bytes("%s/testos.cert", gos);
	expect_response_free(
		"push_guestos_config testos.conf ...", &r,
		TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_INSTALL_COMPLETED);
	free(r.guestos_config_file.data);
	r.guestos_config_file = file_bytes("%s/testos3.conf", gos);
	free(r.guestos_config_signature.data);
	r.guestos_config_signature = file_bytes("%s/testos3.sig", gos);
	expect_response_free(
		"push_guestos_config (STORE_ONLY)", &r,
		TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_INSTALL_COMPLETED);
	free(r.guestos_config_file.data);
	free(r.guestos_config_signature.data);
	free(r.guestos_config_certificate.data);
	assert_int_equal(
		sh(NULL, "cmp %s/guestos/testos/store.img %s/images-testos-3/store.img", data, gos),
		0);

	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__LIST_GUESTOS_CONFIGS);
	a = expect_code("list_guestos", &r,
			TRUSTME__DAEMON_TO_CONTROLLER__CODE__GUESTOS_CONFIGS_LIST);
	assert_int_equal(a->n_guestos_configs, 1);
	assert_string_equal(a->guestos_configs[0]->name, "testos");
	assert_int_equal(a->guestos_configs[0]->version, 3);
	assert_string_equal(a->guestos_configs[0]->description->en, "measured test GuestOS");
	assert_int_equal(a->guestos_configs[0]->n_mounts, 4);
	assert_int_equal(a->guestos_configs[0]->mounts[3]->mount_type,
			 TRUSTME__GUEST_OSMOUNT__TYPE__STORE_ONLY);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
}

/*
 * Google's protoc, another implementation, with trust|me's schema: @request
 * (text format) encoded by `protoc --encode`, sent as one frame, the answer
 * decoded by `protoc --decode` (which refuses a message missing a required
 * field).  Returns protoc's text of the answer.
 */
static char *protoc_ask(const char *request)
{
	char path[160], *text = NULL;
	uint8_t *body;
	size_t len;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/protoc-req.txt", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(request, f);
	fclose(f);
	assert_int_equal(sh(NULL,
			    "protoc --proto_path=tests/data --encode=trustme.ControllerToDaemon "
			    "trustme-control.proto < %s/protoc-req.txt > %s/protoc-req.bin",
			    dir, dir),
			 0);
	snprintf(path, sizeof(path), "%s/protoc-req.bin", dir);
	assert_int_equal(file_read_all(path, 1u << 20, &body, &len), 0);
	fd = wire_connect();
	frame_send(fd, body, len);
	free(body);
	body = frame_recv(fd, &len);
	close(fd);
	snprintf(path, sizeof(path), "%s/protoc-ans.bin", dir);
	assert_int_equal(file_write_atomic(path, body, len, 0600), 0);
	free(body);
	if (sh(&text,
	       "protoc --proto_path=tests/data --decode=trustme.DaemonToController "
	       "trustme-control.proto < %s/protoc-ans.bin 2>&1",
	       dir) != 0)
		fail_msg("protoc --decode refused cmld's answer: %s", text ? text : "");
	return text;
}

static void protoc_expect(const char *seed, const char *request, const char *const *want)
{
	char *text = protoc_ask(request);

	print_message(
		"seed: control %-32s -> (protoc) %.*s\n", seed,
		(int)strcspn(strstr(text, "code: ") ? strstr(text, "code: ") + 6 : text, "\n"),
		strstr(text, "code: ") ? strstr(text, "code: ") + 6 : text);
	for (size_t i = 0; want[i]; i++)
		if (!strstr(text, want[i]))
			fail_msg("control %s: protoc's decode lacks '%s': %s", seed, want[i], text);
	free(text);
}

/* A few of the seed's commands with protoc's encoder and decoder, not protobuf-c's. */
static void test_protoc_wire(void **state)
{
	char *text, *uuid, req[512];

	(void)state;
	if (sh(NULL, "command -v protoc >/dev/null") != 0) {
		print_message("skipped: protoc is not installed (make deps)\n");
		skip();
	}
	text = protoc_ask("command: CREATE_CONTAINER\n"
			  "container_config_file: \"name: \\\"p\\\" guest_os: \\\"testos\\\" "
			  "color: 7 net_ifaces: \\\"eth9\\\"\"\n");
	if (!strstr(text, "code: CONTAINER_CONFIG") || !strstr(text, "netif: \"eth9\"") ||
	    !strstr(text, "name: \"p\"") || !strstr(text, "container_uuids: \""))
		fail_msg("create, decoded by protoc: %s", text);
	print_message("seed: control %-32s -> (protoc) CONTAINER_CONFIG\n", "create c.conf");
	uuid = strndup(strstr(text, "container_uuids: \"") + 18, 36);
	free(text);
	snprintf(req, sizeof(req), "command: GET_CONTAINER_STATUS container_uuids: \"%s\"", uuid);
	protoc_expect("state C", req,
		      (const char *const[]){"code: CONTAINER_STATUS", "state: STOPPED",
					    "trust_level: UNSIGNED", "guestos: \"testos\"", NULL});
	snprintf(req, sizeof(req),
		 "command: CONTAINER_UPDATE_CONFIG container_uuids: \"%s\" "
		 "container_config_file: \"name: \\\"p\\\" guest_os: \\\"testos\\\" color: 7 "
		 "net_ifaces { netif: \\\"eth8\\\" }\"",
		 uuid);
	protoc_expect("update_config C c.conf", req,
		      (const char *const[]){"code: CONTAINER_CONFIG", "netif: \"eth8\"", NULL});
	protoc_expect("(GET_LAST_LOG)", "command: GET_LAST_LOG",
		      (const char *const[]){"code: RESPONSE", "response: CMD_UNSUPPORTED", NULL});
	snprintf(req, sizeof(req), "command: REMOVE_CONTAINER container_uuids: \"%s\"", uuid);
	protoc_expect("remove C", req,
		      (const char *const[]){"code: RESPONSE", "response: CMD_OK", NULL});
	free(uuid);
}

static char *created_uuid; /* the container of the seed's walk-through */

static char *create(const char *text, Trustme__ContainerConfig **ret_cfg)
{
	Req r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CREATE_CONTAINER);
	Ans *a;
	char *uuid;

	r.has_container_config_file = 1;
	r.container_config_file = text_bytes(text);
	a = expect_code("create c.conf", &r, TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_CONFIG);
	free(r.container_config_file.data);
	assert_int_equal(a->n_container_configs, 1);
	assert_int_equal(a->n_container_uuids, 1);
	assert_int_equal(strlen(a->container_uuids[0]), 36);
	uuid = strdup(a->container_uuids[0]);
	*ret_cfg = a->container_configs[0];
	a->n_container_configs = 0; /* kept by the caller */
	free(a->container_configs);
	a->container_configs = NULL;
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	return uuid;
}

/*
 * create (net_ifaces in the seed's bare-string form and in trust|me's message
 * form), list, state, config, start, run, ifaces, assign/unassign_iface,
 * freeze/unfreeze, allow/deny_audio, update_config running and stopped, stop,
 * change_pin, reload, wipe, remove.
 */
static void test_container_commands(void **state)
{
	Trustme__ContainerConfig *cfg;
	Req r;
	Ans *a;
	char *end = NULL, *out;

	(void)state;
	assert_int_equal(sh(NULL, "ip link del mtc0 2>/dev/null; ip link del mtc2 2>/dev/null; "
				  "ip link add mtc0 type veth peer name mtc1 && "
				  "ip link add mtc2 type veth peer name mtc3"),
			 0);
	char *c = created_uuid = create("name: \"core0\"\nguest_os: \"testos\"\ncolor: 0\n"
					"net_ifaces: \"mtc0\"\n",
					&cfg);
	assert_int_equal(cfg->n_net_ifaces, 1);
	assert_string_equal(cfg->net_ifaces[0]->netif, "mtc0");
	assert_int_equal(cfg->token_type, TRUSTME__CONTAINER_TOKEN_TYPE__SOFT);
	trustme__container_config__free_unpacked(cfg, NULL);

	/* a filter on an interface that nothing here would enforce: refused */
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CREATE_CONTAINER);
	r.has_container_config_file = 1;
	r.container_config_file =
		text_bytes("name: \"f\" guest_os: \"testos\" color: 0 "
			   "net_ifaces { netif: \"mtc2\" mac_filter: \"00:11:22:33:44:55\" }");
	a = expect_response("create (mac_filter)", &r,
			    TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED);
	free(r.container_config_file.data);
	trustme__daemon_to_controller__free_unpacked(a, NULL);

	/* list: trust|me's control asks GET_CONTAINER_STATUS for all */
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS);
	a = expect_code("list", &r, TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_STATUS);
	assert_int_equal(a->n_container_status, 1);
	assert_string_equal(a->container_status[0]->uuid, c);
	assert_string_equal(a->container_status[0]->name, "core0");
	assert_string_equal(a->container_status[0]->guestos, "testos");
	assert_int_equal(a->container_status[0]->state, TRUSTME__CONTAINER_STATE__STOPPED);
	assert_int_equal(a->container_status[0]->trust_level, TRUSTME__CONTAINER_TRUST__UNSIGNED);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__LIST_CONTAINERS);
	a = expect_code("(LIST_CONTAINERS)", &r,
			TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINERS_LIST);
	assert_int_equal(a->n_container_uuids, 1);
	assert_string_equal(a->container_uuids[0], c);
	trustme__daemon_to_controller__free_unpacked(a, NULL);

	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS, &c);
	a = expect_code("state C", &r, TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_STATUS);
	assert_int_equal(a->n_container_status, 1);
	assert_int_equal(a->container_status[0]->type, TRUSTME__CONTAINER_TYPE__CONTAINER);
	assert_true(a->container_status[0]->created > 0);
	trustme__daemon_to_controller__free_unpacked(a, NULL);

	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_CONFIG, &c);
	a = expect_code("config C", &r, TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_CONFIG);
	assert_int_equal(a->n_container_configs, 1);
	assert_string_equal(a->container_uuids[0], c);
	assert_string_equal(a->container_configs[0]->name, "core0");
	assert_string_equal(a->container_configs[0]->net_ifaces[0]->netif, "mtc0");
	trustme__daemon_to_controller__free_unpacked(a, NULL);

	/* start: trust|me's control first asks whether cmld takes the PIN itself */
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_CMLD_HANDLES_PIN, &c);
	a = expect_code("start C (CMLD_HANDLES_PIN)", &r,
			TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_CMLD_HANDLES_PIN);
	assert_true(a->has_container_cmld_handles_pin);
	assert_false(a->container_cmld_handles_pin);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	Trustme__ContainerStartParams start = TRUSTME__CONTAINER_START_PARAMS__INIT;
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START, &c);
	r.container_start_params = &start;
	/* no key: trust|me's default key is no PIN, and not this token's */
	expect_response_free("start C (default key)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_PASSWD_WRONG);
	start.key = "trustme";
	expect_response_free("start C", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__RUNNING);
	expect_response_free("start C (running)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_EEXIST);

	/* run: exec_args is the whole argv, command first */
	const char *const echo[] = {"/bin/echo", "one", "two", NULL};
	out = run_in(c, echo, NULL, &end);
	print_message("seed: control %-32s -> EXEC_OUTPUT \"%.*s\", EXEC_END \"%s\"\n",
		      "run C /bin/echo one two", (int)strcspn(out, "\r\n"), out, end);
	if (strncmp(out, "one two\r\n", 9))
		fail_msg("run /bin/echo one two printed '%s'", out);
	assert_string_equal(end, "exit status 0");
	free(out);
	free(end);
	const char *const sh_c[] = {"/bin/sh", "-c",
				    "read x; echo got-$x; test -e /store || echo no-store; "
				    "hostname; exit 3",
				    NULL};
	out = run_in(c, sh_c, "abc\n", &end);
	print_message("seed: control %-32s -> EXEC_OUTPUT, EXEC_END \"%s\"\n",
		      "run C /bin/sh -c ... (EXEC_INPUT)", end);
	if (!strstr(out, "got-abc") || !strstr(out, "no-store") || !strstr(out, "core0"))
		fail_msg("run sh -c with input: '%s'", out);
	assert_string_equal(end, "exit status 3");
	free(out);
	free(end);

	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_LIST_IFACES, &c);
	a = expect_code("ifaces C", &r, TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_IFACES);
	assert_int_equal(a->n_container_ifaces, 1);
	assert_string_equal(a->container_ifaces[0], "mtc0");
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	/* the interface of the config moved in */
	assert_int_not_equal(sh(NULL, "ip link show mtc0 >/dev/null 2>&1"), 0);

	Trustme__AssignInterfaceParams iface = TRUSTME__ASSIGN_INTERFACE_PARAMS__INIT;
	iface.iface_name = "mtc2";
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ASSIGNIFACE, &c);
	r.assign_iface_params = &iface;
	expect_response_free("assign_iface --iface mtc2 C", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	assert_int_not_equal(sh(NULL, "ip link show mtc2 >/dev/null 2>&1"), 0);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNASSIGNIFACE;
	expect_response_free("unassign_iface --iface mtc2 C", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	assert_int_equal(sh(NULL, "ip link show mtc2 >/dev/null 2>&1"), 0);
	/* --persistent: into the config's net_ifaces (trust|me's message form), and out */
	iface.has_persistent = iface.persistent = 1;
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ASSIGNIFACE, &c);
	r.assign_iface_params = &iface;
	expect_response_free("assign_iface --iface mtc2 C --persistent", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_CONFIG, &c);
	a = ask(&r);
	assert_int_equal(a->container_configs[0]->n_net_ifaces, 2);
	assert_string_equal(a->container_configs[0]->net_ifaces[1]->netif, "mtc2");
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	assert_int_equal(
		sh(NULL, "grep -A1 '^net_ifaces {' %s/containers/%s.conf | grep -q mtc2", data, c),
		0);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNASSIGNIFACE, &c);
	r.assign_iface_params = &iface;
	expect_response_free("unassign_iface --iface mtc2 C --persistent", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_CONFIG, &c);
	a = ask(&r);
	assert_int_equal(a->container_configs[0]->n_net_ifaces, 1);
	assert_string_equal(a->container_configs[0]->net_ifaces[0]->netif, "mtc0");
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	assert_int_equal(sh(NULL, "ip link show mtc2 >/dev/null 2>&1"), 0);

	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_FREEZE, &c);
	expect_response_free("freeze C", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__FROZEN);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNFREEZE;
	expect_response_free("unfreeze C", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__RUNNING);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ALLOWAUDIO;
	expect_response_free("allow_audio C", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_DENYAUDIO;
	expect_response_free("deny_audio C", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);

	/* update_config while running: answered with the new config, in force after the stop */
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UPDATE_CONFIG, &c);
	r.has_container_config_file = 1;
	r.container_config_file = text_bytes("name: \"core0\"\nguest_os: \"testos\"\ncolor: 0\n"
					     "net_ifaces { netif: \"mtc0\" }\nram_limit: 64\n");
	a = expect_code("update_config C c.conf (running)", &r,
			TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_CONFIG);
	free(r.container_config_file.data);
	assert_int_equal(a->n_container_configs, 1);
	assert_string_equal(a->container_uuids[0], c);
	assert_int_equal(a->container_configs[0]->ram_limit, 64);
	trustme__daemon_to_controller__free_unpacked(a, NULL);

	start.key = "trustme";
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_STOP, &c);
	r.container_start_params = &start;
	expect_response_free("stop C", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__STOPPED);
	expect_response_free(
		"stop C (stopped)", &r,
		TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_FAILED_NOT_RUNNING);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_CONFIG, &c);
	a = ask(&r);
	assert_int_equal(a->container_configs[0]->ram_limit, 64);
	trustme__daemon_to_controller__free_unpacked(a, NULL);

	/* update_config while stopped, signed: in force at once (config and trust level) */
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UPDATE_CONFIG, &c);
	assert_int_equal(sh(NULL,
			    "printf 'name: \"core0\"\\nguest_os: \"testos\"\\ncolor: 0\\n"
			    "net_ifaces: \"mtc0\"\\nram_limit: 96\\n' > %s/u.conf && "
			    "openssl dgst -sha256 -sign %s/sign.key -out %s/u.sig %s/u.conf",
			    dir, gos, dir, dir),
			 0);
	r.has_container_config_file = r.has_container_config_signature =
		r.has_container_config_certificate = 1;
	r.container_config_file = file_bytes("%s/u.conf", dir);
	r.container_config_signature = file_bytes("%s/u.sig", dir);
	r.container_config_certificate = file_bytes("%s/sign.pem", gos);
	a = expect_code("update_config C c.conf c.sig c.cert", &r,
			TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_CONFIG);
	assert_int_equal(a->container_configs[0]->ram_limit, 96);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	free(r.container_config_file.data);
	free(r.container_config_signature.data);
	free(r.container_config_certificate.data);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_CONFIG, &c);
	a = ask(&r);
	assert_int_equal(a->container_configs[0]->ram_limit, 96);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS, &c);
	a = ask(&r);
	assert_int_equal(a->container_status[0]->trust_level, TRUSTME__CONTAINER_TRUST__SIGNED);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	/* a refused update leaves the config as it was */
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UPDATE_CONFIG, &c);
	r.has_container_config_file = 1;
	r.container_config_file = text_bytes("name: \"core0\"\nguest_os: \"nosuchos\"\ncolor: 0\n");
	expect_response_free("update_config C (unknown GuestOS)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED);
	free(r.container_config_file.data);

	/* mtc0, a veth, went with the container's network namespace: a new one for the next start */
	assert_int_equal(sh(NULL, "ip link del mtc0 2>/dev/null; "
				  "ip link add mtc0 type veth peer name mtc1"),
			 0);
	/* change_pin: the old PIN no longer starts it, the new one does */
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_CHANGE_TOKEN_PIN, &c);
	r.device_pin = "trustme";
	r.device_newpin = "n3w-pin";
	expect_response_free(
		"change_pin C", &r,
		TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_CHANGE_PIN_SUCCESSFUL);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START, &c);
	r.container_start_params = &start;
	start.key = "trustme";
	expect_response_free("start C (old PIN)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_PASSWD_WRONG);
	start.key = "n3w-pin";
	expect_response_free("start C (new PIN)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__RUNNING);
	/* the config updated while stopped is the one running: 96 MiB */
	assert_int_equal(
		sh(NULL,
		   "for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do "
		   "grep -qsx 100663296 $d/cml/%s/memory.max && exit 0; done; "
		   "grep -qx 100663296 /sys/fs/cgroup/memory/$(sed -n "
		   "'s/^[0-9]*:memory://p' /proc/self/cgroup)/cml-%s/memory.limit_in_bytes",
		   c, c),
		0);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_STOP;
	expect_response_free("stop C", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__STOPPED);

	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__RELOAD_CONTAINERS);
	expect_response_free("reload", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_WIPE, &c);
	expect_response_free("wipe C", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__REMOVE_CONTAINER;
	expect_response_free("remove C", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS;
	expect_response_free("state C (removed)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED);
	free(c);
}

/* The commands cmld does not implement answer CMD_UNSUPPORTED; GET_DEVICE_STATS works. */
static void test_unimplemented_commands(void **state)
{
	static const struct {
		Trustme__ControllerToDaemon__Command cmd;
		const char *seed;
	} unsupported[] = {
		{TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_LAST_LOG, "(GET_LAST_LOG)"},
		{TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__DESTROY_SYSTEM, "(DESTROY_SYSTEM)"},
		{TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CHANGE_DEVICE_PIN, "(CHANGE_DEVICE_PIN)"},
		{TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_SWITCH, "(CONTAINER_SWITCH)"},
		{TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_SNAPSHOT,
		 "(CONTAINER_SNAPSHOT)"},
		{TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_DEV_ACCESS,
		 "(CONTAINER_DEV_ACCESS)"},
	};
	Trustme__ContainerConfig *cfg;
	char *c = create("name: \"u\" guest_os: \"testos\" color: 0 token_type: NONE", &cfg);
	char *out = NULL;

	(void)state;
	trustme__container_config__free_unpacked(cfg, NULL);
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		Req r = for_container(unsupported[i].cmd, &c);
		r.dev_rule = "c 1:3 rwm";
		r.has_remove_logs = r.remove_logs = 1;
		expect_response_free(unsupported[i].seed, &r,
				     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_UNSUPPORTED);
	}
	/* trust|me's control device_stats: the numbers statvfs and the kernel give */
	Req r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_DEVICE_STATS);
	Ans *a = expect_code("(device_stats)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__CODE__DEVICE_STATS);
	assert_non_null(a->device_stats);
	sh(&out, "echo $(( $(stat -f -c '%%b*%%S' /) ))");
	assert_int_equal(a->device_stats->disk_system, strtoull(out, NULL, 10));
	free(out);
	sh(&out, "echo $(( $(stat -f -c '%%b*%%S' %s) ))", data);
	assert_true(a->device_stats->has_disk_containers);
	assert_int_equal(a->device_stats->disk_containers, strtoull(out, NULL, 10));
	free(out);
	sh(&out, "awk '/^MemTotal:/ { print $2 }' /proc/meminfo"); /* KiB */
	assert_int_equal(a->device_stats->mem_total / 1024, strtoull(out, NULL, 10));
	assert_true(a->device_stats->has_mem_available);
	assert_true(a->device_stats->mem_available <= a->device_stats->mem_total);
	assert_true(a->device_stats->disk_system_free <= a->device_stats->disk_system);
	free(out);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	/* token type NONE: a start with trust|me's default key needs no PIN */
	Trustme__ContainerStartParams start = TRUSTME__CONTAINER_START_PARAMS__INIT;
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START, &c);
	r.container_start_params = &start;
	expect_response_free("start C (token NONE, default key)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_OK);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_STOP;
	expect_response_free("stop C", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__STOPPED);
	/* start --setup: the target root under /setup */
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START;
	start.has_setup = start.setup = 1;
	expect_response_free("start C --setup", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__SETUP);
	const char *const cat[] = {"/bin/cat", "/setup/etc/guestos-release", NULL};
	char *end = NULL;
	out = run_in(c, cat, NULL, &end);
	if (!strstr(out, "testos"))
		fail_msg("run cat /setup/etc/guestos-release: '%s'", out);
	free(out);
	free(end);
	r.command = TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_STOP;
	expect_response_free("stop C", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_OK);
	wait_state(c, TRUSTME__CONTAINER_STATE__STOPPED);
	r = for_container(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__REMOVE_CONTAINER, &c);
	expect_response_free("remove C", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	free(c);
}

/*
 * pull_csr, push_cert, wipe_device, remove_guestos, set_provisioned (then the
 * provisioned subset), get_provisioned, reboot: the device's commands, last,
 * as they change the device for good.
 */
static void test_device_commands(void **state)
{
	Trustme__ContainerConfig *cfg;
	Req r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__PULL_DEVICE_CSR);
	Ans *a = expect_code("pull_csr device.csr", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__CODE__DEVICE_CSR);
	char path[256];
	int status;

	(void)state;
	assert_true(a->has_device_csr);
	snprintf(path, sizeof(path), "%s/device.csr", dir);
	assert_int_equal(file_write_atomic(path, a->device_csr.data, a->device_csr.len, 0600), 0);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	/* openssl checks the CSR's self-signature and signs it under the registered CA */
	assert_int_equal(sh(NULL,
			    "cd %s && openssl req -in device.csr -noout -verify 2>/dev/null && "
			    "openssl x509 -req -in device.csr -CA gos/ca.pem -CAkey gos/ca.key "
			    "-CAcreateserial -out device.cert -days 30 2>/dev/null",
			    dir),
			 0);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__PUSH_DEVICE_CERT);
	r.has_device_cert = 1;
	r.device_cert = file_bytes("%s/device.cert", dir);
	expect_response_free("push_cert device.cert", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__DEVICE_CERT_OK);
	free(r.device_cert.data);
	r.device_cert = file_bytes("%s/sign.pem", gos); /* not the device's key */
	expect_response_free("push_cert (another key's cert)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__DEVICE_CERT_ERROR);
	free(r.device_cert.data);

	char *c = create("name: \"w\" guest_os: \"testos\" color: 0", &cfg);
	trustme__container_config__free_unpacked(cfg, NULL);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__REMOVE_GUESTOS);
	r.guestos_name = "testos";
	expect_response_free("remove_guestos testos (in use)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_FAILED);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__WIPE_DEVICE);
	expect_response_free("wipe_device", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__LIST_CONTAINERS);
	a = ask(&r);
	assert_int_equal(a->n_container_uuids, 0);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	free(c);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__REMOVE_GUESTOS);
	r.guestos_name = "testos";
	expect_response_free("remove_guestos testos", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__LIST_GUESTOS_CONFIGS);
	a = ask(&r);
	assert_int_equal(a->n_guestos_configs, 0);
	trustme__daemon_to_controller__free_unpacked(a, NULL);

	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__SET_PROVISIONED);
	expect_response_free("set_provisioned", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_PROVISIONED);
	a = expect_code("get_provisioned", &r,
			TRUSTME__DAEMON_TO_CONTROLLER__CODE__DEVICE_PROVISIONED_STATE);
	assert_true(a->has_device_is_provisioned);
	assert_true(a->device_is_provisioned);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS);
	a = expect_code("list (provisioned)", &r,
			TRUSTME__DAEMON_TO_CONTROLLER__CODE__CONTAINER_STATUS);
	trustme__daemon_to_controller__free_unpacked(a, NULL);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__REGISTER_NEWCA);
	r.has_guestos_rootcert = 1;
	r.guestos_rootcert = file_bytes("%s/ca.pem", gos);
	expect_response_free("ca_register (provisioned)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_UNSUPPORTED);
	free(r.guestos_rootcert.data);
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__WIPE_DEVICE);
	expect_response_free("wipe_device (provisioned)", &r,
			     TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_UNSUPPORTED);

	/* reboot: without --allow-reboot cmld stops its containers and exits */
	r = global(TRUSTME__CONTROLLER_TO_DAEMON__COMMAND__REBOOT_DEVICE);
	expect_response_free("reboot", &r, TRUSTME__DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK);
	for (int i = 0; i < 300 && waitpid(cmld_pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	assert_int_equal(kill(cmld_pid, 0), -1);
	cmld_pid = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schemas_are_trustmes),
		cmocka_unit_test(test_guestos_commands),
		cmocka_unit_test(test_protoc_wire),
		cmocka_unit_test(test_container_commands),
		cmocka_unit_test(test_unimplemented_commands),
		cmocka_unit_test(test_device_commands),
	};

	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
