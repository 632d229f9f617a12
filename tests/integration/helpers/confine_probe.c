// SPDX-License-Identifier: MIT
/*
 * Run inside a container by test_cmld_confine (built -static, copied into its
 * data image): plays what a hostile container would try, and prints what the
 * kernel answered, one line each, for the test to judge.
 *   confine_probe syscalls        each refused call: "NAME ok" or "NAME ERRNO"
 *   confine_probe as UID PROG...  exec PROG as UID (gid UID, no groups)
 *   confine_probe ids             "uid R E S"
 *   confine_probe ctrl PORT CMD [BYTE]   one swtpm control command to
 *                                 127.0.0.1:PORT: "connect ERRNO", or the
 *                                 answer in hex ("eof" when none)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long rc)
{
	if (rc >= 0)
		printf("%s ok\n", name);
	else
		printf("%s %s\n", name, strerrorname_np(errno));
}

static int syscalls(void)
{
	struct perf_event_attr pe = {.type = PERF_TYPE_SOFTWARE,
				     .size = sizeof(pe),
				     .config = PERF_COUNT_SW_CPU_CLOCK,
				     .disabled = 1};
	union bpf_attr attr = {
		.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1};
	struct {
		unsigned int handle_bytes;
		int handle_type;
		unsigned char f_handle[64];
	} fh = {.handle_bytes = 64};
	int mount_id;

	/* arguments a permitted call would accept or refuse for another reason than EPERM */
	report("kexec_load", syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0x100UL)); /* unknown flag */
	report("init_module", syscall(SYS_init_module, "", 0UL, ""));
	report("finit_module", syscall(SYS_finit_module, -1, "", 0));
	report("delete_module", syscall(SYS_delete_module, "nosuchmodule", O_NONBLOCK));
	report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
	report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	report("add_key", syscall(SYS_add_key, "user", "probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
	report("request_key", syscall(SYS_request_key, "user", "probe", NULL, 0));
	report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
	report("name_to_handle_at",
	       syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mount_id, 0));
	report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
	report("unshare_user", syscall(SYS_unshare, CLONE_NEWUSER));
	return 0;
}

static int as_user(int argc, char **argv)
{
	uid_t id = (uid_t)strtoul(argv[2], NULL, 10);

	if (argc < 4 || setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 ||
	    setresuid(id, id, id) < 0) {
		perror("as");
		return 2;
	}
	execv(argv[3], argv + 3);
	perror(argv[3]);
	return 2;
}

static int ctrl(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(argv[2])),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	unsigned cmd = (unsigned)strtoul(argv[3], NULL, 0);
	unsigned char req[5] = {cmd >> 24, cmd >> 16, cmd >> 8, cmd}, resp[4096];
	size_t len = 4;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	if (argc > 4)
		req[len++] = (unsigned char)strtoul(argv[4], NULL, 0);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("connect %s\n", strerrorname_np(errno));
		return 0;
	}
	if (write(s, req, len) != (ssize_t)len) {
		printf("write %s\n", strerrorname_np(errno));
		return 0;
	}
	n = read(s, resp, sizeof(resp));
	if (n <= 0)
		printf("eof\n");
	for (ssize_t i = 0; i < n; i++)
		printf("%02x%s", resp[i], i + 1 == n ? "\n" : "");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "syscalls"))
		return syscalls();
	if (argc >= 4 && !strcmp(argv[1], "as"))
		return as_user(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "ids")) {
		uid_t r, e, s;
		getresuid(&r, &e, &s);
		printf("uid %u %u %u\n", r, e, s);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "ctrl"))
		return ctrl(argc, argv);
	fprintf(stderr, "usage: confine_probe syscalls|as UID PROG...|ids|ctrl PORT CMD [BYTE]\n");
	return 2;
}
