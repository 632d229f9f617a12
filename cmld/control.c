/* SPDX-License-Identifier: MIT */
/*
 * control: the command-line client of cmld, with trust|me's syntax.  Each
 * call sends one ControllerToDaemon and prints the answer: a response by its
 * name (CONTAINER_START_OK), statuses and configs in protobuf text format,
 * or everything as JSON with --json.  Exit status: 0 when the answer is a
 * success, 1 when it is a failure, 2 for a bad command line or no cmld;
 * `run` exits with the command's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "control.pb-c.h"
#include "err.h"
#include "fileio.h"
#include "frame.h"
#include "jsonw.h"
#include "mem.h"
#include "pbtext.h"

typedef ControllerToDaemon Request;
typedef DaemonToController Reply;

struct opts {
	const char *socket_path;
	const char *pin_file;
	bool json;
};

static struct opts opts = {.socket_path = "/run/socket/cml-control"};

static void usage(FILE *out)
{
	fputs("usage: control [--socket PATH] [--json] [--pin-file FILE] COMMAND ...\n"
	      "  list | list_guestos | state C | config C | ifaces C\n"
	      "  create CONF [SIG CERT] | update_config C CONF [SIG CERT] [--pin] | reload\n"
	      "  remove C | wipe C | wipe_device\n"
	      "  start C [--setup] | stop C | freeze C | unfreeze C | change_pin C\n"
	      "  run C COMMAND [ARG...]\n"
	      "  assign_iface --iface IF C [--persistent] | unassign_iface --iface IF C "
	      "[--persistent]\n"
	      "  allow_audio C | deny_audio C\n"
	      "  ca_register CA.cert | push_guestos_config CONF SIG CERT | remove_guestos NAME\n"
	      "  pull_csr FILE | push_cert FILE | set_provisioned | get_provisioned | reboot\n"
	      "  device_stats\n"
	      "C is a container UUID or name (the first match).\n"
	      "--pin-file gives the PINs, one line per prompt (change_pin: current, then new).\n",
	      out);
}

static int connect_cmld(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", opts.socket_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "control: cannot reach cmld at %s: %s\n", opts.socket_path,
			strerror(errno));
		exit(2);
	}
	return fd;
}

/* No deadline of its own: a start may take as long as the key derivation does. */
#define CONTROL_NO_DEADLINE INT64_MAX

static int send_request(int fd, const Request *req)
{
	size_t len = controller_to_daemon__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	int r;

	if (!buf)
		return -ENOMEM;
	controller_to_daemon__pack(req, buf);
	r = frame_send(fd, buf, len, CONTROL_NO_DEADLINE);
	OPENSSL_cleanse(buf, len); /* may hold a PIN */
	free(buf);
	return r;
}

static Reply *read_reply(int fd)
{
	_cleanup_free_ uint8_t *body = NULL;
	size_t len;

	if (frame_recv(fd, 256u << 20, CONTROL_NO_DEADLINE, &body, &len) < 0)
		return NULL;
	return daemon_to_controller__unpack(NULL, len, body);
}

static bool response_ok(DaemonToController__Response r)
{
	switch (r) {
	case DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_START_OK:
	case DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_STOP_OK:
	case DAEMON_TO_CONTROLLER__RESPONSE__CONTAINER_CHANGE_PIN_SUCCESSFUL:
	case DAEMON_TO_CONTROLLER__RESPONSE__DEVICE_CERT_OK:
	case DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_INSTALL_STARTED:
	case DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_INSTALL_WAITING:
	case DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_INSTALL_COMPLETED:
	case DAEMON_TO_CONTROLLER__RESPONSE__GUESTOS_MGR_REGISTER_CA_OK:
	case DAEMON_TO_CONTROLLER__RESPONSE__CMD_OK:
		return true;
	default:
		return false;
	}
}

static void print_text(const ProtobufCMessage *m)
{
	char *text;

	if (pbtext_format(m, &text, NULL) == 0) {
		fputs(text, stdout);
		free(text);
	}
}

/* Prints an answer; returns the exit status it stands for. */
static int print_reply(const Reply *m, const char *pull_csr_file)
{
	if (opts.json) {
		struct jw j;
		jw_init(&j, stdout);
		pbtext_json(&m->base, &j);
		jw_finish(&j);
	}
	switch (m->code) {
	case DAEMON_TO_CONTROLLER__CODE__RESPONSE: {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
			&daemon_to_controller__response__descriptor, m->response);
		if (!opts.json)
			printf("%s\n", v ? v->name : "UNKNOWN_RESPONSE");
		if (m->reason && !response_ok(m->response))
			fprintf(stderr, "control: %s\n", m->reason);
		return m->has_response && response_ok(m->response) ? 0 : 1;
	}
	case DAEMON_TO_CONTROLLER__CODE__DEVICE_CSR:
		if (pull_csr_file && file_write_atomic(pull_csr_file, m->device_csr.data,
						       m->device_csr.len, 0644) < 0) {
			fprintf(stderr, "control: %s\n", err_msg());
			return 1;
		}
		if (!opts.json)
			printf("DEVICE_CSR written to %s\n", pull_csr_file);
		return 0;
	default:
		break;
	}
	if (opts.json)
		return 0;
	switch (m->code) {
	case DAEMON_TO_CONTROLLER__CODE__CONTAINERS_LIST:
		for (size_t i = 0; i < m->n_container_uuids; i++)
			printf("%s\n", m->container_uuids[i]);
		break;
	case DAEMON_TO_CONTROLLER__CODE__CONTAINER_STATUS:
		for (size_t i = 0; i < m->n_container_status; i++) {
			printf("%s", i ? "\n" : "");
			print_text(&m->container_status[i]->base);
		}
		break;
	case DAEMON_TO_CONTROLLER__CODE__CONTAINER_CONFIG:
		/* the UUID first, then the config as it can be edited and sent back */
		for (size_t i = 0; i < m->n_container_configs; i++) {
			printf("%s# uuid %s\n", i ? "\n" : "",
			       i < m->n_container_uuids ? m->container_uuids[i] : "?");
			print_text(&m->container_configs[i]->base);
		}
		break;
	case DAEMON_TO_CONTROLLER__CODE__GUESTOS_CONFIGS_LIST:
		for (size_t i = 0; i < m->n_guestos_configs; i++) {
			printf("%s", i ? "\n" : "");
			print_text(&m->guestos_configs[i]->base);
		}
		break;
	case DAEMON_TO_CONTROLLER__CODE__CONTAINER_IFACES:
		for (size_t i = 0; i < m->n_container_ifaces; i++)
			printf("%s\n", m->container_ifaces[i]);
		break;
	case DAEMON_TO_CONTROLLER__CODE__DEVICE_PROVISIONED_STATE:
		printf("%s\n", m->device_is_provisioned ? "provisioned" : "not provisioned");
		break;
	default:
		print_text(&m->base);
	}
	return 0;
}

/* ---- PIN ---- */

static char *read_pin(const char *prompt)
{
	char buf[256];
	size_t len;

	if (opts.pin_file) {
		/* one line per prompt: change_pin reads the current PIN, then the new one */
		static FILE *f;
		if (!f)
			f = fopen(opts.pin_file, "re");
		if (!f || !fgets(buf, sizeof(buf), f)) {
			fprintf(stderr, "control: cannot read a PIN from %s\n", opts.pin_file);
			exit(2);
		}
	} else {
		struct termios old, quiet;
		int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
		if (tty < 0) {
			fprintf(stderr,
				"control: no terminal for the PIN prompt (use --pin-file)\n");
			exit(2);
		}
		dprintf(tty, "%s", prompt);
		tcgetattr(tty, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(tty, TCSAFLUSH, &quiet);
		ssize_t n = read(tty, buf, sizeof(buf) - 1);
		tcsetattr(tty, TCSAFLUSH, &old);
		dprintf(tty, "\n");
		close(tty);
		buf[n > 0 ? n : 0] = '\0';
	}
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	char *pin = strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return pin;
}

static void free_pin(char *pin)
{
	if (pin) {
		OPENSSL_cleanse(pin, strlen(pin));
		free(pin);
	}
}

static ProtobufCBinaryData read_arg_file(const char *path)
{
	ProtobufCBinaryData b;
	uint8_t *buf;
	size_t len;

	if (file_read_all(path, 8u << 20, &buf, &len) < 0) {
		fprintf(stderr, "control: %s\n", err_msg());
		exit(2);
	}
	b.data = buf;
	b.len = len;
	return b;
}

/* ---- run ---- */

static struct termios saved_tty;
static bool tty_raw;

static void restore_tty(void)
{
	if (tty_raw)
		tcsetattr(0, TCSAFLUSH, &saved_tty);
}

static int run_session(int fd)
{
	bool stdin_open = true;

	if (isatty(0) && tcgetattr(0, &saved_tty) == 0) {
		struct termios raw = saved_tty;
		cfmakeraw(&raw);
		tcsetattr(0, TCSAFLUSH, &raw);
		tty_raw = true;
		atexit(restore_tty);
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
		if (poll(p, stdin_open ? 2 : 1, -1) < 0 && errno != EINTR)
			return 2;
		if (stdin_open && p[1].revents) {
			char buf[1024];
			ssize_t n = read(0, buf, sizeof(buf) - 1);
			Request in = CONTROLLER_TO_DAEMON__INIT;
			in.command = CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_INPUT;
			if (n <= 0) {
				stdin_open = false;
				buf[0] = 4; /* end of input, as a terminal says it: ^D */
				n = 1;
			}
			buf[n] = '\0';
			in.exec_input = buf;
			send_request(fd, &in);
		}
		if (p[0].revents) {
			Reply *m = read_reply(fd);
			if (!m) {
				fprintf(stderr, "control: cmld closed the session\n");
				return 2;
			}
			int status = -1;
			if (m->code == DAEMON_TO_CONTROLLER__CODE__EXEC_OUTPUT &&
			    m->has_exec_output) {
				fd_write_all(1, m->exec_output.data, m->exec_output.len);
			} else if (m->code == DAEMON_TO_CONTROLLER__CODE__EXEC_END) {
				status = m->has_exec_exit_status ? m->exec_exit_status : 1;
			} else {
				status = print_reply(m, NULL) ? 1 : 0;
				if (status == 0)
					status = -1; /* an OK answer does not end the session */
			}
			daemon_to_controller__free_unpacked(m, NULL);
			if (status >= 0)
				return status;
		}
	}
}

/* ---- commands ---- */

struct command {
	const char *name;
	ControllerToDaemon__Command cmd;
	int container_args; /* 1: takes a container */
	int file_args;	    /* files to read into the request, minimum */
};

static const struct command commands[] = {
	{"list", CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS, 0, 0},
	{"list_guestos", CONTROLLER_TO_DAEMON__COMMAND__LIST_GUESTOS_CONFIGS, 0, 0},
	{"state", CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_STATUS, 1, 0},
	{"config", CONTROLLER_TO_DAEMON__COMMAND__GET_CONTAINER_CONFIG, 1, 0},
	{"ifaces", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_LIST_IFACES, 1, 0},
	{"create", CONTROLLER_TO_DAEMON__COMMAND__CREATE_CONTAINER, 0, 1},
	{"update_config", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UPDATE_CONFIG, 1, 1},
	{"reload", CONTROLLER_TO_DAEMON__COMMAND__RELOAD_CONTAINERS, 0, 0},
	{"remove", CONTROLLER_TO_DAEMON__COMMAND__REMOVE_CONTAINER, 1, 0},
	{"wipe", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_WIPE, 1, 0},
	{"wipe_device", CONTROLLER_TO_DAEMON__COMMAND__WIPE_DEVICE, 0, 0},
	{"start", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START, 1, 0},
	{"stop", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_STOP, 1, 0},
	{"freeze", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_FREEZE, 1, 0},
	{"unfreeze", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNFREEZE, 1, 0},
	{"change_pin", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_CHANGE_TOKEN_PIN, 1, 0},
	{"run", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_CMD, 1, 0},
	{"assign_iface", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ASSIGNIFACE, 1, 0},
	{"unassign_iface", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNASSIGNIFACE, 1, 0},
	{"allow_audio", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ALLOWAUDIO, 1, 0},
	{"deny_audio", CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_DENYAUDIO, 1, 0},
	{"ca_register", CONTROLLER_TO_DAEMON__COMMAND__REGISTER_NEWCA, 0, 1},
	{"push_guestos_config", CONTROLLER_TO_DAEMON__COMMAND__PUSH_GUESTOS_CONFIG, 0, 3},
	{"remove_guestos", CONTROLLER_TO_DAEMON__COMMAND__REMOVE_GUESTOS, 0, 0},
	{"pull_csr", CONTROLLER_TO_DAEMON__COMMAND__PULL_DEVICE_CSR, 0, 0},
	{"push_cert", CONTROLLER_TO_DAEMON__COMMAND__PUSH_DEVICE_CERT, 0, 1},
	{"set_provisioned", CONTROLLER_TO_DAEMON__COMMAND__SET_PROVISIONED, 0, 0},
	{"get_provisioned", CONTROLLER_TO_DAEMON__COMMAND__GET_PROVISIONED, 0, 0},
	{"reboot", CONTROLLER_TO_DAEMON__COMMAND__REBOOT_DEVICE, 0, 0},
	{"device_stats", CONTROLLER_TO_DAEMON__COMMAND__GET_DEVICE_STATS, 0, 0},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void bad_usage(const char *what)
{
	fprintf(stderr, "control: %s\n", what);
	usage(stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},   {"json", no_argument, NULL, 'j'},
		{"pin-file", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},	    {NULL, 0, NULL, 0},
	};
	Request req = CONTROLLER_TO_DAEMON__INIT;
	ContainerStartParams start = CONTAINER_START_PARAMS__INIT;
	AssignInterfaceParams iface = ASSIGN_INTERFACE_PARAMS__INIT;
	char *pin = NULL, *newpin = NULL, *csr_file = NULL;
	const struct command *cmd;
	int c, fd, status;

	log_set_prog("control");
	while ((c = getopt_long(argc, argv, "+s:jp:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opts.socket_path = optarg;
			break;
		case 'j':
			opts.json = true;
			break;
		case 'p':
			opts.pin_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("control (measured) %s\n", MEASURED_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc)
		bad_usage("no command");
	if (!(cmd = find_command(argv[optind])))
		bad_usage("unknown command");
	req.command = cmd->cmd;

	/* the options some commands take, anywhere after the command */
	bool want_pin = false;
	char *rest[64];
	int n_rest = 0;
	for (int i = optind + 1; i < argc; i++) {
		bool is_run_arg = cmd->cmd == CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_CMD &&
				  n_rest >= 1;
		if (!is_run_arg && !strcmp(argv[i], "--setup"))
			start.has_setup = start.setup = 1;
		else if (!is_run_arg && !strcmp(argv[i], "--pin"))
			want_pin = true;
		else if (!is_run_arg && !strcmp(argv[i], "--persistent"))
			iface.has_persistent = iface.persistent = 1;
		else if (!is_run_arg && !strcmp(argv[i], "--iface") && i + 1 < argc)
			iface.iface_name = argv[++i];
		else if (n_rest < 64)
			rest[n_rest++] = argv[i];
		else
			bad_usage("too many arguments");
	}
	int need = cmd->container_args + cmd->file_args;
	if (n_rest < need)
		bad_usage("missing arguments");
	int k = 0;
	if (cmd->container_args) {
		req.n_container_uuids = 1;
		req.container_uuids = &rest[k++];
	}
	switch (cmd->cmd) {
	case CONTROLLER_TO_DAEMON__COMMAND__CREATE_CONTAINER:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UPDATE_CONFIG:
		if (n_rest != k + 1 && n_rest != k + 3)
			bad_usage("give CONF, or CONF SIG CERT");
		req.has_container_config_file = 1;
		req.container_config_file = read_arg_file(rest[k]);
		if (n_rest == k + 3) {
			req.has_container_config_signature = req.has_container_config_certificate =
				1;
			req.container_config_signature = read_arg_file(rest[k + 1]);
			req.container_config_certificate = read_arg_file(rest[k + 2]);
		}
		/* a sealed token-TPM container's key is re-sealed to the new config: its PIN */
		if (cmd->cmd == CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UPDATE_CONFIG &&
		    (want_pin || opts.pin_file))
			req.device_pin = pin = read_pin("PIN: ");
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__PUSH_GUESTOS_CONFIG:
		req.has_guestos_config_file = req.has_guestos_config_signature =
			req.has_guestos_config_certificate = 1;
		req.guestos_config_file = read_arg_file(rest[0]);
		req.guestos_config_signature = read_arg_file(rest[1]);
		req.guestos_config_certificate = read_arg_file(rest[2]);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__REGISTER_NEWCA:
		req.has_guestos_rootcert = 1;
		req.guestos_rootcert = read_arg_file(rest[0]);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__PUSH_DEVICE_CERT:
		req.has_device_cert = 1;
		req.device_cert = read_arg_file(rest[0]);
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__REMOVE_GUESTOS:
		if (n_rest != 1)
			bad_usage("give the GuestOS name");
		req.guestos_name = rest[0];
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__PULL_DEVICE_CSR:
		if (n_rest != 1)
			bad_usage("give the file for the CSR");
		csr_file = rest[0];
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_START:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_STOP:
		pin = read_pin("Passphrase/PIN: ");
		start.key = pin;
		req.container_start_params = &start;
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_CHANGE_TOKEN_PIN:
		pin = read_pin("Current PIN: ");
		newpin = read_pin("New PIN: ");
		req.device_pin = pin;
		req.device_newpin = newpin;
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_CMD:
		if (n_rest < 2)
			bad_usage("give the command to run");
		/* trust|me's form: exec_args is the whole argv, the command first */
		req.exec_command = rest[1];
		req.n_exec_args = (size_t)(n_rest - 1);
		req.exec_args = &rest[1];
		req.has_exec_pty = req.exec_pty = 1;
		break;
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_ASSIGNIFACE:
	case CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_UNASSIGNIFACE:
		if (!iface.iface_name)
			bad_usage("give --iface NAME");
		req.assign_iface_params = &iface;
		break;
	default:
		break;
	}

	fd = connect_cmld();
	if (send_request(fd, &req) < 0) {
		fprintf(stderr, "control: cannot send to cmld\n");
		return 2;
	}
	free_pin(pin);
	free_pin(newpin);
	if (cmd->cmd == CONTROLLER_TO_DAEMON__COMMAND__CONTAINER_EXEC_CMD)
		return run_session(fd);
	Reply *m = read_reply(fd);
	if (!m) {
		fprintf(stderr, "control: no answer from cmld\n");
		return 2;
	}
	status = print_reply(m, csr_file);
	daemon_to_controller__free_unpacked(m, NULL);
	close(fd);
	free(req.container_config_file.data);
	free(req.container_config_signature.data);
	free(req.container_config_certificate.data);
	free(req.guestos_config_file.data);
	free(req.guestos_config_signature.data);
	free(req.guestos_config_certificate.data);
	free(req.guestos_rootcert.data);
	free(req.device_cert.data);
	return status;
}
