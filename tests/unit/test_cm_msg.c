// SPDX-License-Identifier: MIT
/*
 * The typed request between cmld's control process and its root parent
 * (cmld/cm_msg.c): what the control process makes of a decoded request, and
 * the parent's check of every field, played as a captured control process
 * would play it: each field pushed out of range alone must be refused, the
 * reason naming it.  Then the same for the verify process's answers
 * (cmld/cm_vmsg.c, cm_verify.h): an answer for other bytes than the parent
 * sent, a "verified" nobody asked for, each field out of range; the verify
 * process's own half on a malformed config (the error the parent used to
 * give); and, from the object files, that the parent's code links no parser.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <stdio.h>

#include <openssl/evp.h>

#include "cm_msg.h"
#include "cm_verify.h"
#include "container.pb-c.h"
#include "err.h"
#include "pbtext.h"

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

/* ---- the verify process's answers ---- */

static const char honest_text[] = "name: \"web\"\nguest_os: \"myos\"\ncolor: 3\n";
static struct cm_vreq vreq;
static struct cm_vrep vrep;
static const uint8_t *vin[CM_VPARTS];

/* A request for @text (signed when @sig), answered by the verify process's own code. */
static void verify_honest(const char *text, bool sig)
{
	static uint8_t buf[4096];
	static const uint8_t fake_sig[] = {1, 2, 3}, fake_cert[] = "PEM";
	struct cm_vstate *s = cm_vstate_new(NULL, NULL);
	uint8_t *out = NULL;
	size_t n = strlen(text);

	assert_non_null(s);
	memset(&vreq, 0, sizeof(vreq));
	vreq.op = CM_VOP_CONTAINER;
	snprintf(vreq.label, sizeof(vreq.label), "container config");
	vreq.len[0] = (uint32_t)n;
	memcpy(buf, text, n);
	vin[0] = (const uint8_t *)text;
	vin[1] = vin[2] = NULL;
	if (sig) { /* signed, and the signature may fail: then the answer says so */
		vreq.trust = CM_VTRUST_ANY;
		vreq.flags = CM_VREQ_SIG_OPTIONAL;
		vreq.len[1] = sizeof(fake_sig);
		vreq.len[2] = sizeof(fake_cert) - 1;
		memcpy(buf + n, fake_sig, sizeof(fake_sig));
		memcpy(buf + n + sizeof(fake_sig), fake_cert, sizeof(fake_cert) - 1);
		vin[1] = fake_sig;
		vin[2] = fake_cert;
	}
	assert_int_equal(cm_verify_run(s, &vreq, buf, &vrep, &out), 0);
	free(out);
	cm_vstate_free(s);
}

static void test_verify_honest(void **state)
{
	static struct cm_vstate *s;
	uint8_t *out = NULL;
	uint8_t buf[256];
	ContainerConfig *c;

	(void)state;
	s = cm_vstate_new(NULL, NULL);
	verify_honest(honest_text, false);
	assert_int_equal(vrep.rc, 0);
	assert_int_equal(cm_vrep_check(&vreq, vin, &vrep), 0);
	/* its output is the config, packed */
	memcpy(buf, honest_text, strlen(honest_text));
	assert_int_equal(cm_verify_run(s, &vreq, buf, &vrep, &out), 0);
	c = container_config__unpack(NULL, vrep.out_len, out);
	assert_non_null(c);
	assert_string_equal(c->name, "web");
	assert_string_equal(c->guest_os, "myos");
	assert_int_equal(c->color, 3);
	container_config__free_unpacked(c, NULL);
	free(out);
	cm_vstate_free(s);
	/* a signature that does not verify, optional: reported, and the check takes it */
	verify_honest(honest_text, true);
	assert_int_equal(vrep.rc, 0);
	assert_int_equal(vrep.verified, 0);
	assert_int_equal(vrep.stage, CM_VSTAGE_SIG);
	assert_string_equal(vrep.reason, "not a PEM certificate");
	assert_int_equal(cm_vrep_check(&vreq, vin, &vrep), 0);
}

/* A malformed config: the verify process gives the parser's error, as the parent did. */
static void test_verify_malformed(void **state)
{
	static const char bad[] = "name: \"x\"\nguest_os: 5 5\n";
	ProtobufCMessage *m = NULL;
	char want[1024];

	(void)state;
	/* what cmld answered before the parser left the parent: pbtext_parse's message */
	assert_true(pbtext_parse(&container_config__descriptor, bad, strlen(bad),
				 "container config", &m) < 0);
	snprintf(want, sizeof(want), "%s", err_msg());
	verify_honest(bad, false);
	assert_true(vrep.rc < 0);
	assert_int_equal(vrep.stage, CM_VSTAGE_PARSE);
	assert_int_equal(vrep.out_len, 0);
	assert_string_equal(vrep.reason, want);
	assert_non_null(strstr(vrep.reason, "container config:2:"));
	assert_int_equal(cm_vrep_check(&vreq, vin, &vrep), 0);
}

static void vrefused(const char *why)
{
	err_clear();
	assert_int_equal(cm_vrep_check(&vreq, vin, &vrep), -EBADMSG);
	if (!strstr(err_msg(), why))
		fail_msg("refused for '%s', expected '%s'", err_msg(), why);
}

/* A captured verify process answering for other bytes than the parent holds. */
static void test_verify_digest_mismatch(void **state)
{
	static const char other[] = "name: \"web\"\nguest_os: \"myos\"\ncolor: 4\n";
	unsigned n = 32;

	(void)state;
	verify_honest(honest_text, false);
	/* the answer for @other (what a substituted file or a lying child verified) */
	assert_int_equal(EVP_Digest(other, strlen(other), vrep.digest, &n, EVP_sha256(), NULL), 1);
	vrefused("digest: the answer is not for the 38 bytes sent (container config)");
	/* one bit of the honest digest */
	verify_honest(honest_text, false);
	vrep.digest[31] ^= 1;
	vrefused("digest");
	/* "verified" for the other bytes: refused by the digest first */
	verify_honest(honest_text, true);
	vrep.verified = 1;
	vrep.stage = CM_VSTAGE_NONE;
	vrep.reason[0] = '\0';
	assert_int_equal(cm_vrep_check(&vreq, vin, &vrep), 0); /* the lie a CA could tell */
	assert_int_equal(EVP_Digest(other, strlen(other), vrep.digest, &n, EVP_sha256(), NULL), 1);
	vrefused("digest");
}

/* Each field of an answer pushed out of range alone. */
static void test_verify_fields_checked(void **state)
{
	(void)state;
	verify_honest(honest_text, false);
	vrep.verified = 1; /* no signature was asked for */
	vrefused("verified, yet no signature was asked for");
	verify_honest(honest_text, false);
	vrep.verified = 2;
	vrefused("verified 2");
	verify_honest(honest_text, false);
	vrep.rc = 1;
	vrefused("rc 1");
	verify_honest(honest_text, false);
	vrep.rc = -5000;
	vrefused("rc -5000");
	verify_honest(honest_text, false);
	vrep.stage = 7;
	vrefused("stage 7");
	verify_honest(honest_text, false);
	vrep.rc = -EINVAL;
	vrep.out_len = 0;
	vrep.stage = CM_VSTAGE_NONE;
	snprintf(vrep.reason, sizeof(vrep.reason), "x");
	vrefused("without a stage");
	verify_honest(honest_text, false);
	vrep.rc = -EINVAL;
	vrep.out_len = 0;
	vrep.stage = CM_VSTAGE_PARSE;
	vrefused("without a reason");
	verify_honest(honest_text, false);
	vrep.rc = -EINVAL;
	vrep.stage = CM_VSTAGE_PARSE;
	snprintf(vrep.reason, sizeof(vrep.reason), "x");
	vrefused("where there is no output"); /* a refusal with a config after it */
	verify_honest(honest_text, false);
	vrep.out_len = CM_VERIFY_OUT_MAX + 1;
	vrefused("out_len 4194305");
	verify_honest(honest_text, false);
	memset(vrep.reason, 'a', sizeof(vrep.reason));
	vrefused("reason: not terminated");
	verify_honest(honest_text, false);
	vrep.stage = CM_VSTAGE_SIG;
	vrefused("stage 1 of a call that succeeded");
	/* a required signature: neither verified nor refused */
	verify_honest(honest_text, true);
	vreq.flags = 0;
	vrefused("a required signature neither verified nor refused");
	/* a CA answer carrying output */
	verify_honest(honest_text, false);
	vreq.op = CM_VOP_CA;
	vrep.out_len = 10;
	vrefused("out_len 10 where there is no output");
	/* a new token without one */
	verify_honest(honest_text, false);
	vreq.op = CM_VOP_TOKEN_NEW;
	vrep.out_len = 0;
	vrefused("no output");
}

/*
 * The parent's object files reference no parser: pbtext's reader, X.509 and
 * PKCS#12 decoding and verification are only in cm_verify.o (the verify
 * process) -- checked with nm on the build's objects; cm_verify.o itself is
 * the control that nm sees these names at all.
 */
static void test_parent_links_no_parser(void **state)
{
	static const char *const parsers[] = {
		"pbtext_parse",	     "pbtext_parse_file",   "PEM_read_bio_X509", "d2i_X509",
		"X509_verify_cert",  "X509_STORE_add_cert", "d2i_PKCS12",	 "PKCS12_parse",
		"PKCS12_verify_mac", "PKCS12_create",	    "EVP_DigestVerify",
	};
	const char *bin = getenv("MEASURED_BIN") ? getenv("MEASURED_BIN") : "build";
	char cmd[4096], line[512];
	unsigned objects = 0, control_hits = 0;
	FILE *f;

	(void)state;
	/* every object of cmld but the verify process's, with the undefined symbols of each */
	snprintf(cmd, sizeof(cmd),
		 "cd %s/obj/cmld && for o in cmld.o cm_*.o; do echo \"== $o\"; "
		 "nm -u \"$o\" | awk '{print $NF}'; done",
		 bin);
	f = popen(cmd, "r");
	assert_non_null(f);
	char obj[512] = "";
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "== ", 3)) {
			snprintf(obj, sizeof(obj), "%s", line + 3);
			objects++;
			continue;
		}
		for (size_t i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
			if (strcmp(line, parsers[i]))
				continue;
			if (!strcmp(obj, "cm_verify.o"))
				control_hits++;
			else
				fail_msg("%s (the root parent's) references %s", obj, line);
		}
	}
	assert_int_equal(pclose(f), 0);
	print_message("# %u objects read, the verify process's references %u parsers\n", objects,
		      control_hits);
	assert_true(objects >= 20); /* cmld.c and the cm_*.c of cmld/ */
	assert_true(control_hits >= 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_too_large_for_a_field),
		cmocka_unit_test(test_each_field_checked),
		cmocka_unit_test(test_verify_honest),
		cmocka_unit_test(test_verify_malformed),
		cmocka_unit_test(test_verify_digest_mismatch),
		cmocka_unit_test(test_verify_fields_checked),
		cmocka_unit_test(test_parent_links_no_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
