// SPDX-License-Identifier: MIT
/*
 * Crash consistency of cmld (root; swtpm for the sealed keys and PCR 11):
 *
 * test_sigkill_loop: cmld is SIGKILLed at a random moment (seeded, printed)
 * while control's create, start, push_guestos_config, change_pin or remove
 * is in flight, then restarted on the same data folder.  After each restart:
 * every container STOPPED with its config byte-equal to before; nothing
 * temporary, staged or orphaned in the data folder (a token, key file,
 * signature or folder without its config); no loop device, cgroup or run
 * folder of the test left; the CEL log parses (nothing torn or pending) and
 * replays to PCR 11 as tpm2_pcrread reads it; and the operation either
 * happened or did not: a new container complete or absent, a removed one
 * complete or gone with its NV counter, the GuestOS the old or the new one
 * (config, signature and images together), exactly one of the old and new
 * PIN accepted (openssl for the softtoken, the TPM for a sealed key), and
 * the container touched starts.  CRASH_RUNS (default 50), CRASH_SEED.
 *
 * test_enospc: a full file system under the data folder or the CEL log:
 * create, update_config, change_pin (the sealed key file), the first start
 * (the LUKS images) and a start's measurement fail with "No space left" and
 * leave the old state; once there is room again they work.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cel.h"
#include "cmldrun.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "pcr.h"
#include "sealed_file.h"
#include "swtpm.h"
#include "testutil.h"

/* control with our socket and PIN file (tests/harness/cmldrun.h) */
#define ctl(out, ...) cmld_control(out, sock, pinfile, __VA_ARGS__)

static char dir[64], gos[128], data[128], sock[160], run[160], cel[160], logf[160];
static char pinfile[160];
static struct swtpm tpm;
static pid_t cmld_pid;
static bool have_dm;
#define GOS_VERSIONS 12

static void cmld_start(void)
{
	char profile[160], anchors[160];
	const char *argv[] = {"cmld", "--data-dir",	 data,	   "--socket",
			      sock,   "--run-dir",	 run,	   "--stop-timeout-ms",
			      "2000", "--tpm",		 tpm.tcti, "--cel",
			      cel,    "--seal-profile",	 profile,  "--luks-pbkdf2-iterations",
			      "1000", "--trust-anchors", anchors,  NULL};

	snprintf(profile, sizeof(profile), "%s/seal.profile", dir);
	snprintf(anchors, sizeof(anchors), "%s/ca.pem", gos);
	cmld_pid = cmld_spawn(argv, logf, sock);
}

static void cmld_stop(int sig)
{
	cmld_reap(cmld_pid, sig);
	cmld_pid = 0;
	unlink(sock); /* a killed cmld leaves it; the next must make its own */
}

static void write_text(const char *path, const char *text)
{
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0600), 0);
}

static void ctl_expect(const char *want, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ctl_expect(const char *want, const char *fmt, ...)
{
	char args[4096], *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	ctl(&out, "%s", args);
	if (!out || !cmld_has_line(out, want))
		fail_msg("control %s: wanted %s, got: %s", args, want, out ? out : "(nothing)");
	free(out);
}

static void wait_state(const char *c, const char *want)
{
	char *s = NULL;

	for (int i = 0; i < 500; i++) {
		free(s);
		s = cmld_state(sock, pinfile, c);
		if (!strcmp(s, want))
			break;
		usleep(10000);
	}
	if (strcmp(s, want))
		fail_msg("container %s is %s, not %s", c, s, want);
	free(s);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A file's bytes (NULL when absent). */
static char *slurp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *slurp(const char *fmt, ...)
{
	char path[512];
	uint8_t *buf;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (file_read_all(path, 64u << 20, &buf, &len) < 0) {
		err_clear();
		return NULL;
	}
	return (char *)buf;
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool exists(const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return access(path, F_OK) == 0;
}

static int setup(void **state)
{
	char *out = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-crash.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(gos, sizeof(gos), "%s/gos", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(sock, sizeof(sock), "%s/cml-control", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(cel, sizeof(cel), "%s/cel/measurements.cel", dir);
	snprintf(logf, sizeof(logf), "%s/cmld.log", dir);
	snprintf(pinfile, sizeof(pinfile), "%s/pin", dir);
	have_dm = sh(NULL, "grep -qw device-mapper /proc/devices") == 0;
	/* GuestOS versions 1.. for the pushes, each its config and signature apart */
	if (sh(&out,
	       "set -e; echo trustme > %s; mkdir %s; printf 'pcrs = sha256:0,1,2,3,4,7,9,13\\n' > "
	       "%s/seal.profile; for v in $(seq 1 %d); do tests/harness/mkguestos.sh %s testos $v "
	       ">/dev/null; mv %s/testos.conf %s/testos-$v.conf; mv %s/testos.sig "
	       "%s/testos-$v.sig; done",
	       pinfile, gos, dir, GOS_VERSIONS, gos, gos, gos, gos, gos) != 0) {
		fprintf(stderr, "fixtures: %s\n", out ? out : "");
		free(out);
		return -1;
	}
	free(out);
	if (swtpm_start(&tpm, true) < 0)
		return -1;
	cmld_start();
	if (ctl(NULL, "ca_register %s/ca.pem", gos) != 0 ||
	    ctl(NULL, "push_guestos_config %s/testos-1.conf %s/testos-1.sig %s/testos.cert", gos,
		gos, gos) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cmld_stop(SIGTERM);
	swtpm_stop(&tpm);
	sh(NULL, "umount -l %s/small %s/celfs 2>/dev/null; true", dir, dir);
	if (sh(NULL, "grep -q Sanitizer %s", logf) == 0) {
		sh(NULL, "cat %s >&2", logf);
		return -1;
	}
	if (!getenv("KEEP_TMP"))
		sh(NULL, "rm -rf %s", dir);
	return 0;
}

/* ---- the SIGKILL loop ---- */

enum op { OP_CREATE, OP_START, OP_PUSH, OP_CHANGE_PIN, OP_REMOVE, OPS };
static const char *const op_name[OPS] = {"create", "start", "push_guestos_config", "change_pin",
					 "remove"};

struct ct {
	char uuid[37];
	char name[32];
	bool tpm;     /* token type TPM (sealed, PIN in the TPM), else SOFT */
	char pin[16]; /* the PIN now */
	bool removed;
};

static struct ct cts[128];
static size_t n_cts;
static unsigned gos_version = 1;

static struct ct *ct_add(const char *uuid, const char *name, bool tpm_token)
{
	struct ct *c = &cts[n_cts++];

	snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->tpm = tpm_token;
	snprintf(c->pin, sizeof(c->pin), "trustme");
	return c;
}

static char *uuid_of_name(const char *name)
{
	char *out = NULL, *u = NULL;

	ctl(&out, "config %s", name);
	if (out && strstr(out, "# uuid "))
		u = strndup(strstr(out, "# uuid ") + 7, 36);
	free(out);
	return u;
}

/* Runs control @args in the background, its output in @out_path; returns its pid. */
static pid_t ctl_async(const char *out_path, const char *pins, const char *args)
{
	char cmd[4096], pf[200];
	pid_t pid;

	snprintf(pf, sizeof(pf), "%s/pin.op", dir);
	write_text(pf, pins);
	snprintf(cmd, sizeof(cmd), "exec %s --socket %s --pin-file %s %s >%s 2>&1 </dev/null",
		 bin_path("control"), sock, pf, args, out_path);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Whether @pin opens @c's key: openssl for the softtoken, a start for a sealed key. */
static bool pin_opens(struct ct *c, const char *pin)
{
	char *out = NULL;
	bool ok;

	if (!c->tpm)
		return sh(NULL,
			  "openssl pkcs12 -in %s/tokens/%s.p12 -passin pass:%s -noout "
			  ">/dev/null 2>&1",
			  data, c->uuid, pin) == 0;
	write_text(pinfile, pin);
	ctl(&out, "start %s", c->uuid);
	write_text(pinfile, "trustme\n");
	/* unlocked: started (device-mapper) or refused at the activation (none here) */
	ok = cmld_has_line(out, "CONTAINER_START_OK") ||
	     (cmld_has_line(out, "CONTAINER_START_EINTERNAL") && strstr(out, "device-mapper"));
	if (!ok && !cmld_has_line(out, "CONTAINER_START_PASSWD_WRONG"))
		fail_msg("start %s with PIN %s: %s", c->name, pin, out);
	free(out);
	if (ok && have_dm) {
		ctl(NULL, "stop %s", c->uuid);
		wait_state(c->uuid, "STOPPED");
	}
	/* wrong PINs count in the TPM: forget them, the lockout is test_cmld's */
	sh(NULL, "tpm2_dictionarylockout -c -T '%s' >/dev/null 2>&1", tpm.tcti);
	return ok;
}

/* The container starts (and stops again): the touched one, after each run. */
static void starts(struct ct *c)
{
	char *out = NULL;

	write_text(pinfile, c->pin);
	ctl(&out, "start %s", c->uuid);
	if (c->tpm && !have_dm) {
		if (!cmld_has_line(out, "CONTAINER_START_EINTERNAL") ||
		    !strstr(out, "device-mapper"))
			fail_msg("start %s: wanted the device-mapper refusal after unlocking: %s",
				 c->name, out);
	} else {
		if (!cmld_has_line(out, "CONTAINER_START_OK"))
			fail_msg("start %s: %s", c->name, out);
		ctl_expect("CONTAINER_STOP_OK", "stop %s", c->uuid);
		wait_state(c->uuid, "STOPPED");
	}
	free(out);
	write_text(pinfile, "trustme\n");
}

/* What the data folder holds that a finished operation never leaves: the crash point. */
static void leftovers(char *buf, size_t size)
{
	char *out = NULL;

	sh(&out,
	   "cd %s && { find . -name '*.tmp.*' -printf 'tmp\\n'; find . -name '*.new' -printf "
	   "'new\\n'; find . -name '*.plain' -printf 'plain\\n'; find . -name .commit -printf "
	   "'commit\\n'; for f in containers/*.sealed containers/*.sig containers/*.cert "
	   "tokens/*.p12; do [ -e \"$f\" ] || continue; u=$(basename \"$f\"); u=${u%%%%.*}; [ -e "
	   "containers/$u.conf ] || echo orphan-$(echo $f | sed 's/.*\\.//'); done; for d in "
	   "containers/*/; do [ -d \"$d\" ] || continue; u=$(basename $d); [ -e containers/$u.conf "
	   "] || echo orphan-dir; done; } | sort | uniq -c | awk '{printf \"%%s%%s*%%s\", "
	   "(NR>1?\",\":\"\"), "
	   "$2, $1}'",
	   data);
	snprintf(buf, size, "%s", out && *out ? out : "clean");
	free(out);
}

/*
 * PCR 11 as tpm2_pcrread reads it equals the replay of the CEL logs @paths
 * (in the order they were written, NULL-ended), nothing torn or pending.
 */
static void cels_match_pcr11(const char *const *paths)
{
	uint8_t want[32];
	size_t wl, total = 0;
	struct pcr_banks banks;
	char *out = NULL, *h;
	const struct pcr_bank *b;

	pcr_banks_init(&banks);
	for (size_t k = 0; paths[k]; k++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		struct cel_log log;
		if (file_read_all(paths[k], 1 << 24, &buf, &len) < 0)
			err_clear();
		if (cel_log_parse(buf ? buf : (uint8_t *)"", len, paths[k], &log) < 0)
			fail_msg("the CEL log after recovery: %s", err_msg());
		for (size_t i = 0; i < log.n_records; i++)
			assert_false(log.record[i].pending);
		assert_int_equal(cel_log_replay(&log, &banks), 0);
		total += log.n_records;
		cel_log_free(&log);
		free(buf);
	}
	b = pcr_banks_get(&banks, hash_alg_by_name("sha256"));
	assert_int_equal(sh(&out, "tpm2_pcrread -T '%s' sha256:11", tpm.tcti), 0);
	h = strstr(out, "0x");
	assert_non_null(h);
	h[66] = '\0';
	assert_int_equal(hex_decode(h + 2, want, 32, &wl), 0);
	if (memcmp(want, b ? b->value[11] : (const uint8_t[32]){0}, 32))
		fail_msg("PCR 11 is not the CEL log's replay (%zu records): an extend without its "
			 "record",
			 total);
	free(out);
}

static void cel_matches_pcr11(void)
{
	const char *const paths[] = {cel, NULL};

	cels_match_pcr11(paths);
}

/* Everything the restarted cmld must show, whatever the operation was. */
static void check_invariants(const struct ct *removing)
{
	char *out = NULL;

	for (size_t i = 0; i < n_cts; i++) {
		char *s, *conf;
		if (cts[i].removed || &cts[i] == removing)
			continue; /* the one being removed: below */
		s = cmld_state(sock, pinfile, cts[i].uuid);
		if (strcmp(s, "STOPPED"))
			fail_msg("container %s is %s after the restart", cts[i].name, s);
		free(s);
		conf = slurp("%s/containers/%s.conf", data, cts[i].uuid);
		assert_non_null(conf);
		if (!strstr(conf, cts[i].name))
			fail_msg("container %s: config changed: %s", cts[i].name, conf);
		free(conf);
	}
	{
		char l[256];
		leftovers(l, sizeof(l));
		if (strcmp(l, "clean"))
			fail_msg("after recovery the data folder still holds: %s", l);
	}
	/* loop devices go with the killed containers' mount namespaces */
	for (int i = 0; i < 200; i++) {
		free(out);
		out = NULL;
		sh(&out, "losetup -a | grep -F '%s' || true", dir);
		if (!out || !*out)
			break;
		usleep(10000);
	}
	if (out && *out)
		fail_msg("loop devices left: %s", out);
	free(out);
	out = NULL;
	sh(&out,
	   "ls %s 2>/dev/null; for c in %s/containers/*.conf; do u=$(basename $c .conf); "
	   "[ -d /sys/fs/cgroup/cml/$u ] && echo cgroup $u; done; true",
	   run, data);
	if (out && *out)
		fail_msg("left after the restart: %s", out);
	free(out);
	cel_matches_pcr11();
}

struct stats {
	unsigned runs, happened, not_happened;
	char points[1024];
};

static void add_point(struct stats *s, const char *p)
{
	if (!strstr(s->points, p) && strlen(s->points) + strlen(p) + 3 < sizeof(s->points))
		snprintf(s->points + strlen(s->points), sizeof(s->points) - strlen(s->points),
			 "%s%s", s->points[0] ? " " : "", p);
}

static struct ct *pick(bool tpm_token, bool fresh)
{
	for (size_t i = n_cts; i-- > 0;)
		if (!cts[i].removed && cts[i].tpm == tpm_token && (!fresh || i >= 2))
			return &cts[i];
	return NULL;
}

static struct ct *create_now(const char *name, bool tpm_token)
{
	char conf[200], text[200], *out = NULL, *u;
	struct ct *c;

	snprintf(conf, sizeof(conf), "%s/%s.conf", dir, name);
	snprintf(text, sizeof(text),
		 "name: \"%s\"\nguest_os: \"testos\"\ncolor: 0\ntoken_type: %s\n", name,
		 tpm_token ? "TPM" : "SOFT");
	write_text(conf, text);
	ctl(&out, "create %s", conf);
	if (!out || !strstr(out, "# uuid "))
		fail_msg("create %s: %s", name, out ? out : "");
	u = strndup(strstr(out, "# uuid ") + 7, 36);
	c = ct_add(u, name, tpm_token);
	free(u);
	free(out);
	return c;
}

static void test_sigkill_loop(void **state)
{
	unsigned runs = getenv("CRASH_RUNS") ? (unsigned)atoi(getenv("CRASH_RUNS")) : 50;
	unsigned seed0 = getenv("CRASH_SEED") ? (unsigned)atoi(getenv("CRASH_SEED"))
					      : (unsigned)time(NULL) % 100000;
	double dur[OPS] = {0}, t0 = now_ms();
	struct stats st[OPS] = {{0}};
	unsigned recovered = 0;

	(void)state;
	printf("# SIGKILL loop: %u runs, seeds %u..%u (CRASH_SEED=%u CRASH_RUNS=%u repeats)\n",
	       runs, seed0, seed0 + runs - 1, seed0, runs);
	/* the standing containers, and each operation's duration unkilled */
	double t = now_ms();
	create_now("soft", false);
	dur[OP_CREATE] = now_ms() - t;
	t = now_ms();
	create_now("vault", true);
	if (now_ms() - t > dur[OP_CREATE])
		dur[OP_CREATE] = now_ms() - t;
	t = now_ms();
	starts(&cts[0]);
	dur[OP_START] = now_ms() - t;
	t = now_ms();
	starts(&cts[1]); /* its LUKS images made */
	if (now_ms() - t > dur[OP_START])
		dur[OP_START] = now_ms() - t;
	t = now_ms();
	ctl_expect("GUESTOS_MGR_INSTALL_COMPLETED",
		   "push_guestos_config %s/testos-2.conf %s/testos-2.sig %s/testos.cert", gos, gos,
		   gos);
	gos_version = 2;
	dur[OP_PUSH] = now_ms() - t;
	{
		char both[200];
		snprintf(both, sizeof(both), "%s/pin.both", dir);
		write_text(both, "trustme\nother\n");
		t = now_ms();
		ctl_expect("CONTAINER_CHANGE_PIN_SUCCESSFUL", "--pin-file %s change_pin vault",
			   both);
		dur[OP_CHANGE_PIN] = now_ms() - t;
		snprintf(cts[1].pin, sizeof(cts[1].pin), "other");
	}
	struct ct *gone = create_now("gone", true);
	t = now_ms();
	ctl_expect("CMD_OK", "remove %s", gone->uuid);
	dur[OP_REMOVE] = now_ms() - t;
	gone->removed = true;
	printf("# unkilled: create %.0f ms, start %.0f ms, push %.0f ms, change_pin %.0f ms, "
	       "remove %.0f ms\n",
	       dur[0], dur[1], dur[2], dur[3], dur[4]);

	for (unsigned i = 0; i < runs; i++) {
		unsigned seed = seed0 + i;
		enum op op = (enum op)(i % OPS);
		char args[1024], out_path[200], pins[64] = "trustme\n", point[256], name[32];
		char *before_conf = NULL, *before_sig = NULL, *before_sealed = NULL;
		struct ct *target = NULL;
		uint32_t counter = 0;
		long delay;
		pid_t cpid;
		size_t log_mark;
		struct stat lst;

		srand(seed);
		snprintf(out_path, sizeof(out_path), "%s/op.out", dir);
		switch (op) {
		case OP_CREATE:
			snprintf(name, sizeof(name), "c%u", i);
			snprintf(args, sizeof(args), "%s/%s.conf", dir, name);
			{
				char text[200];
				snprintf(
					text, sizeof(text),
					"name: \"%s\"\nguest_os: \"testos\"\ncolor: 0\ntoken_type: "
					"%s\n",
					name, (i / OPS) % 2 ? "SOFT" : "TPM");
				write_text(args, text);
			}
			snprintf(args, sizeof(args), "create %s/%s.conf", dir, name);
			break;
		case OP_START:
			/* a container never started (its images made now), else the two */
			target = pick((i / OPS) % 2, true);
			if (!target || (i / OPS) % 3 == 2)
				target = &cts[(i / OPS) % 2];
			else /* as if never started: the kill may land in the image making */
				sh(NULL, "rm -f %s/containers/%s/*.img", data, target->uuid);
			snprintf(pins, sizeof(pins), "%s\n", target->pin);
			snprintf(args, sizeof(args), "start %s", target->uuid);
			break;
		case OP_PUSH:
			if (gos_version >= GOS_VERSIONS)
				gos_version = GOS_VERSIONS - 1; /* pushed again: nothing to do */
			snprintf(args, sizeof(args),
				 "push_guestos_config %s/testos-%u.conf %s/testos-%u.sig "
				 "%s/testos.cert",
				 gos, gos_version + 1, gos, gos_version + 1, gos);
			before_conf = slurp("%s/guestos/testos/testos.conf", data);
			before_sig = slurp("%s/guestos/testos/testos.sig", data);
			break;
		case OP_CHANGE_PIN:
			target = &cts[(i / OPS) % 2];
			snprintf(pins, sizeof(pins), "%s\n%s\n", target->pin,
				 strcmp(target->pin, "trustme") ? "trustme" : "other");
			snprintf(args, sizeof(args), "change_pin %s", target->uuid);
			break;
		case OP_REMOVE:
			target = pick((i / OPS) % 2, true);
			if (!target) {
				snprintf(name, sizeof(name), "r%u", i);
				target = create_now(name, (i / OPS) % 2);
			}
			snprintf(args, sizeof(args), "remove %s", target->uuid);
			break;
		default:
			break;
		}
		if (target) {
			before_conf = slurp("%s/containers/%s.conf", data, target->uuid);
			before_sealed = slurp("%s/containers/%s.sealed", data, target->uuid);
			if (target->tpm) {
				char p[300];
				struct sealed_file f;
				snprintf(p, sizeof(p), "%s/containers/%s.sealed", data,
					 target->uuid);
				if (sealed_file_load(p, &f) == 0)
					counter = f.counter.index;
			}
		}
		stat(logf, &lst);
		log_mark = (size_t)lst.st_size;
		/* microseconds, over the unkilled duration and a bit beyond */
		delay = rand() % (long)(dur[op] * 1200 + 1);

		/* the operation in flight, then SIGKILL */
		cpid = ctl_async(out_path, pins, args);
		usleep((useconds_t)delay);
		cmld_stop(SIGKILL);
		waitpid(cpid, NULL, 0);
		leftovers(point, sizeof(point));
		cmld_start();
		check_invariants(op == OP_REMOVE ? target : NULL);

		/* happened or not */
		bool happened = false;
		char *reply = slurp("%s", out_path);
		switch (op) {
		case OP_CREATE: {
			char *u = uuid_of_name(name);
			happened = u != NULL;
			if (u) {
				struct ct *c = ct_add(u, name, (i / OPS) % 2 == 0);
				assert_true(exists("%s/tokens/%s.p12", data, u));
				assert_true(exists("%s/containers/%s/uid_base", data, u));
				assert_true(exists("%s/containers/%s/created", data, u));
				assert_int_equal(exists("%s/containers/%s.sealed", data, u),
						 c->tpm);
				starts(c);
			} else if (reply && strstr(reply, "# uuid ")) {
				fail_msg("create answered, but container %s is not there", name);
			}
			free(u);
			break;
		}
		case OP_START:
			happened = reply && cmld_has_line(reply, "CONTAINER_START_OK");
			starts(target);
			break;
		case OP_PUSH: {
			char *conf = slurp("%s/guestos/testos/testos.conf", data);
			char *sig = slurp("%s/guestos/testos/testos.sig", data);
			char *newc = slurp("%s/testos-%u.conf", gos, gos_version + 1);
			char *news = slurp("%s/testos-%u.sig", gos, gos_version + 1);
			happened = same(conf, newc) && same(sig, news);
			if (!happened && !(same(conf, before_conf) && same(sig, before_sig)))
				fail_msg(
					"GuestOS: config and signature are neither the old nor the "
					"new pair");
			if (happened)
				gos_version++;
			/* the images the installed config lists: a start hashes them */
			starts(&cts[0]);
			free(conf);
			free(sig);
			free(newc);
			free(news);
			break;
		}
		case OP_CHANGE_PIN: {
			char newpin[16];
			snprintf(newpin, sizeof(newpin), "%s",
				 strcmp(target->pin, "trustme") ? "trustme" : "other");
			bool old_ok = pin_opens(target, target->pin);
			bool new_ok = pin_opens(target, newpin);
			if (old_ok == new_ok)
				fail_msg("change_pin %s: old PIN %s, new PIN %s", target->name,
					 old_ok ? "works" : "fails", new_ok ? "works" : "fails");
			happened = new_ok;
			if (new_ok)
				snprintf(target->pin, sizeof(target->pin), "%s", newpin);
			char *now = slurp("%s/containers/%s.conf", data, target->uuid);
			assert_true(same(now, before_conf));
			free(now);
			break;
		}
		case OP_REMOVE: {
			bool conf = exists("%s/containers/%s.conf", data, target->uuid);
			happened = !conf;
			if (conf) {
				char *now = slurp("%s/containers/%s.conf", data, target->uuid);
				char *sealed = slurp("%s/containers/%s.sealed", data, target->uuid);
				assert_true(same(now, before_conf));
				assert_true(same(sealed, before_sealed));
				assert_true(exists("%s/tokens/%s.p12", data, target->uuid));
				free(now);
				free(sealed);
				starts(target);
			} else {
				target->removed = true;
				assert_false(exists("%s/containers/%s", data, target->uuid));
				assert_false(exists("%s/tokens/%s.p12", data, target->uuid));
				assert_false(exists("%s/containers/%s.sealed", data, target->uuid));
				/* its NV counter gone: a saved key file cannot come back */
				if (counter)
					assert_int_not_equal(sh(NULL,
								"tpm2_nvreadpublic -T '%s' 0x%08x "
								">/dev/null 2>&1",
								tpm.tcti, counter),
							     0);
			}
			break;
		}
		default:
			break;
		}
		/* what recovery reported */
		char *logtext = slurp("%s", logf), rec[512] = "";
		for (char *l = logtext ? logtext + log_mark : NULL; l && *l;
		     l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			char *r = strstr(l, "recovery: ");
			size_t n = strcspn(l, "\n");
			if (r && r < l + n) {
				/* the kind of repair, without the UUIDs and paths */
				char kind[80];
				const char *k =
					strstr(r, "has no config") ? "half container removed"
					: strstr(r, "finishing its install")
						? "GuestOS install finished"
					: strstr(r, "unfinished push") ? "GuestOS folder removed"
					: strstr(r, "counter step")    ? "counter step made"
					: strstr(r, "measurement log") ? "CEL settled"
					: strstr(r, "flushed")	       ? "TPM objects flushed"
					: strstr(r, "removed ")	       ? "temp file removed"
								       : "other";
				snprintf(kind, sizeof(kind), "%s", k);
				if (!strstr(rec, kind))
					snprintf(rec + strlen(rec), sizeof(rec) - strlen(rec),
						 "%s%s", rec[0] ? "; " : "", kind);
			}
		}
		if (rec[0])
			recovered++;
		free(logtext);
		printf("# run %2u seed %u %-19s kill at %5.1f/%3.0f ms: left %s -> %s%s%s\n", i,
		       seed, op_name[op], delay / 1000.0, dur[op], point,
		       happened ? "happened" : "did not happen", rec[0] ? "; recovery: " : "", rec);
		st[op].runs++;
		if (happened)
			st[op].happened++;
		else
			st[op].not_happened++;
		add_point(&st[op], point);
		free(reply);
		free(before_conf);
		free(before_sig);
		free(before_sealed);
	}
	for (int o = 0; o < OPS; o++)
		printf("# %-19s %2u runs: %u happened, %u did not; left at the kill: %s\n",
		       op_name[o], st[o].runs, st[o].happened, st[o].not_happened, st[o].points);
	printf("# %u runs in %.1f s, %u restarts with recovery work\n", runs,
	       (now_ms() - t0) / 1000, recovered);
	/* every container still starts */
	for (size_t i = 0; i < n_cts; i++)
		if (!cts[i].removed)
			starts(&cts[i]);
}

/* ---- the CEL log as a killed writer leaves it ---- */

static struct cel_record cel_sample(uint8_t fillbyte)
{
	struct cel_record r = {.pcr = 11, .n_digests = 1, .content_type = CEL_CONTENT_MEASURED};

	r.digest[0].alg = hash_alg_by_name("sha256");
	memset(r.digest[0].value, fillbyte, 32);
	strcpy(r.type, "container-config");
	r.name = "crash-test";
	return r;
}

static void restart_expect(const char *line)
{
	struct stat st;

	stat(logf, &st);
	size_t mark = (size_t)st.st_size;
	cmld_start();
	ctl(NULL, "list"); /* recovery ran before the socket served */
	char *text = slurp("%s", logf);
	if (!text || !strstr(text + mark, line))
		fail_msg("cmld's start did not report \"%s\": %s", line, text ? text + mark : "");
	free(text);
	cmld_stop(SIGTERM);
}

/*
 * Each state a writer killed inside measure_extend can leave, made directly
 * (the random loop seldom lands in the few microseconds): cmld's start
 * repairs it so that the log replays to PCR 11 again.
 */
static void test_cel_recovery(void **state)
{
	struct cel_record r = cel_sample(0x5a);
	struct cel_writer w;
	uint8_t *enc;
	size_t enc_len;
	char *before, *after, hex[65];

	(void)state;
	if (!n_cts)
		create_now("soft", false); /* run alone (TEST_FILTER) */
	starts(&cts[0]);		   /* a log with records */
	cmld_stop(SIGTERM);
	cel_matches_pcr11();
	before = slurp("%s", cel);
	assert_non_null(before);

	/* torn: the first bytes of the next record */
	assert_int_equal(cel_writer_open(cel, &w), 0);
	r.recnum = w.log.n_records;
	cel_writer_close(&w);
	assert_int_equal(cel_record_encode(&r, &enc, &enc_len), 0);
	FILE *f = fopen(cel, "a");
	fwrite(enc, 1, enc_len / 2, f);
	fclose(f);
	free(enc);
	restart_expect("a torn record cut off");
	after = slurp("%s", cel);
	assert_true(same(before, after));
	free(after);

	/* pending, killed before the extend: removed */
	assert_int_equal(cel_writer_open(cel, &w), 0);
	assert_int_equal(cel_writer_append(&w, &r, true), 0);
	cel_writer_close(&w);
	restart_expect("its extend did not happen: removed");
	after = slurp("%s", cel);
	assert_true(same(before, after));
	free(after);
	cel_matches_pcr11();

	/* pending, killed after the extend (tpm2_pcrextend's): made final */
	assert_int_equal(cel_writer_open(cel, &w), 0);
	assert_int_equal(cel_writer_append(&w, &r, true), 0);
	cel_writer_close(&w);
	hex_encode(r.digest[0].value, 32, hex);
	assert_int_equal(sh(NULL, "tpm2_pcrextend -T '%s' 11:sha256=%s", tpm.tcti, hex), 0);
	restart_expect("its extend happened: made final");
	cel_matches_pcr11();
	free(before);
	cmld_start();
}

/* ---- ENOSPC ---- */

static void fill(const char *mnt)
{
	/* big blocks, then small ones: nothing left (again: a failure may have freed some) */
	sh(NULL,
	   "dd if=/dev/zero of=$(mktemp -p %s fill.XXXXXX) bs=1M >/dev/null 2>&1; dd "
	   "if=/dev/zero of=$(mktemp -p %s fill.XXXXXX) bs=1k >/dev/null 2>&1; true",
	   mnt, mnt);
}

/* All but @mib MiB taken. */
static void fill_leaving(const char *mnt, unsigned mib)
{
	assert_int_equal(
		sh(NULL,
		   "fallocate -l $(( $(df --output=avail -B1 %s | tail -1) - %u * 1048576 )) "
		   "%s/fill",
		   mnt, mib, mnt),
		0);
}

static void unfill(const char *mnt)
{
	sh(NULL, "rm -f %s/fill %s/fill.*", mnt, mnt);
}

static char *pcr11(void)
{
	char *out = NULL;

	assert_int_equal(sh(&out, "tpm2_pcrread -T '%s' sha256:11", tpm.tcti), 0);
	return out;
}

static void expect_nospace(const char *what, const char *out)
{
	if (!out || (!strstr(out, "No space left") && !strstr(out, "no space left")))
		fail_msg("%s on a full file system: wanted a \"No space left\" error, got: %s",
			 what, out ? out : "(nothing)");
}

/*
 * @fs: "tmpfs", or "ext4" on a loop image; the data folder on 200 MiB of it,
 * the CEL log on a tiny one.
 */
static void enospc_on(const char *fs)
{
	char small[96], celfs[96], conf[200], *out = NULL, *before, *after, *p0, *p1;
	struct ct *soft, *sealed;
	size_t n0 = n_cts;

	cmld_stop(SIGTERM);
	snprintf(small, sizeof(small), "%s/small", dir);
	snprintf(celfs, sizeof(celfs), "%s/celfs", dir);
	mkdir(small, 0700);
	mkdir(celfs, 0700);
	if (!strcmp(fs, "tmpfs")) {
		assert_int_equal(mount("tmpfs", small, "tmpfs", 0, "size=200m"), 0);
		assert_int_equal(mount("tmpfs", celfs, "tmpfs", 0, "size=64k"), 0);
	} else {
		/* no blocks reserved for root: full is full */
		assert_int_equal(sh(NULL,
				    "cd %s && truncate -s 200M small.img && truncate -s 1M cel.img "
				    "&& mkfs.ext4 -q -m 0 small.img && mkfs.ext4 -q -m 0 -N 16 -O "
				    "^has_journal "
				    "cel.img && mount -o loop small.img small && mount -o loop "
				    "cel.img celfs",
				    dir),
				 0);
	}
	snprintf(data, sizeof(data), "%s/data", small);
	snprintf(cel, sizeof(cel), "%s/m.cel", celfs);
	cmld_start();
	ctl_expect("GUESTOS_MGR_REGISTER_CA_OK", "ca_register %s/ca.pem", gos);
	ctl_expect("GUESTOS_MGR_INSTALL_COMPLETED",
		   "push_guestos_config %s/testos-1.conf %s/testos-1.sig %s/testos.cert", gos, gos,
		   gos);
	soft = create_now("esoft", false);
	sealed = create_now("etpm", true);
	starts(soft); /* its two plain images made */

	/* a LUKS image: 16 MiB plain + 32 MiB encrypted do not fit in 20 */
	fill_leaving(small, 20);
	before = slurp("%s/containers/%s.sealed", data, sealed->uuid);
	ctl(&out, "start %s", sealed->uuid);
	expect_nospace("the first start of a sealed container (its LUKS images)", out);
	free(out);
	out = NULL;
	sh(&out, "ls %s/containers/%s", data, sealed->uuid);
	if (strstr(out, ".img"))
		fail_msg("a failed image creation left: %s", out);
	free(out);
	after = slurp("%s/containers/%s.sealed", data, sealed->uuid);
	assert_true(same(before, after));
	free(after);

	fill(small);
	/* a config: create and update_config */
	snprintf(conf, sizeof(conf), "%s/full.conf", dir);
	write_text(conf, "name: \"full\"\nguest_os: \"testos\"\ncolor: 0\n");
	ctl(&out, "create %s", conf);
	expect_nospace("create", out);
	free(out);
	out = NULL;
	char *u = uuid_of_name("full");
	assert_null(u);
	char l[256];
	leftovers(l, sizeof(l));
	if (strcmp(l, "clean"))
		fail_msg("a failed create left: %s", l);
	fill(small); /* what the failed create freed */
	char *old_conf = slurp("%s/containers/%s.conf", data, soft->uuid);
	write_text(conf, "name: \"esoft\"\nguest_os: \"testos\"\ncolor: 7\n");
	ctl(&out, "update_config %s %s", soft->uuid, conf);
	expect_nospace("update_config", out);
	free(out);
	out = NULL;
	after = slurp("%s/containers/%s.conf", data, soft->uuid);
	assert_true(same(old_conf, after));
	free(after);
	free(old_conf);

	/* the sealed key file: change_pin */
	fill(small);
	char both[200];
	snprintf(both, sizeof(both), "%s/pin.both", dir);
	write_text(both, "trustme\nother\n");
	ctl(&out, "--pin-file %s change_pin %s", both, sealed->uuid);
	if (!cmld_has_line(out, "CONTAINER_CHANGE_PIN_FAILED"))
		fail_msg("change_pin on a full file system: %s", out);
	expect_nospace("change_pin", out);
	free(out);
	out = NULL;
	after = slurp("%s/containers/%s.sealed", data, sealed->uuid);
	assert_true(same(before, after));
	free(after);
	/* the old PIN still opens it (then the image has no room), the new one does not */
	write_text(pinfile, "other\n");
	ctl_expect("CONTAINER_START_PASSWD_WRONG", "start %s", sealed->uuid);
	write_text(pinfile, "trustme\n");
	ctl(&out, "start %s", sealed->uuid);
	expect_nospace("start after the refused change_pin", out);
	free(out);
	out = NULL;
	sh(NULL, "tpm2_dictionarylockout -c -T '%s' >/dev/null 2>&1", tpm.tcti);

	/*
	 * A CEL record: a log that needs a new block (a fresh one) on a full file
	 * system.  The start is refused before anything is extended.
	 */
	cmld_stop(SIGTERM);
	snprintf(cel, sizeof(cel), "%s/fresh.cel", celfs);
	fill(celfs);
	cmld_start();
	p0 = pcr11();
	ctl(&out, "start %s", soft->uuid);
	if (!cmld_has_line(out, "CONTAINER_START_EINTERNAL"))
		fail_msg("start with a full CEL file system: %s", out);
	expect_nospace("the start's CEL record", out);
	free(out);
	out = NULL;
	p1 = pcr11();
	if (strcmp(p0, p1))
		fail_msg("PCR 11 extended though its record could not be written:\n%s\n%s", p0, p1);
	free(p1);
	free(before);
	before = slurp("%s", cel);
	assert_true(!before || !*before);
	free(before);
	wait_state(soft->uuid, "STOPPED");

	/* room again (and enough for both LUKS images): everything works */
	unfill(celfs);
	unfill(small);
	starts(soft);
	/* every extend of this TPM has its record: the loop's log, the first and the fresh one */
	static char archived[8][200];
	static size_t n_archived;
	const char *logs[12];
	size_t n = 0;
	char loop_cel[200];
	snprintf(loop_cel, sizeof(loop_cel), "%s/cel/measurements.cel", dir);
	logs[n++] = loop_cel;
	for (size_t k = 0; k < n_archived; k++)
		logs[n++] = archived[k];
	/* this file system's two logs, kept beside the test for the next pass */
	for (int k = 0; k < 2 && n_archived < 8; k++) {
		snprintf(archived[n_archived], sizeof(archived[0]), "%s/cel-%zu", dir, n_archived);
		sh(NULL, "cp %s/%s %s", celfs, k ? "fresh.cel" : "m.cel", archived[n_archived]);
		logs[n++] = archived[n_archived++];
	}
	logs[n] = NULL;
	cels_match_pcr11(logs);
	ctl_expect("CONTAINER_CHANGE_PIN_SUCCESSFUL", "--pin-file %s change_pin %s", both,
		   sealed->uuid);
	snprintf(sealed->pin, sizeof(sealed->pin), "other");
	starts(sealed);
	write_text(conf, "name: \"full\"\nguest_os: \"testos\"\ncolor: 0\n");
	ctl(&out, "create %s", conf);
	assert_non_null(strstr(out, "# uuid "));
	free(out);
	free(p0);
	cmld_stop(SIGTERM);
	n_cts = n0;
	assert_int_equal(umount(small), 0);
	assert_int_equal(umount(celfs), 0);
	sh(NULL, "rm -f %s/small.img %s/cel.img", dir, dir);
	snprintf(cel, sizeof(cel), "%s/cel/measurements.cel", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	cmld_start();
}

static void test_enospc_tmpfs(void **state)
{
	(void)state;
	enospc_on("tmpfs");
}

static void test_enospc_ext4(void **state)
{
	(void)state;
	enospc_on("ext4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_loop),
		cmocka_unit_test(test_cel_recovery),
		cmocka_unit_test(test_enospc_tmpfs),
		cmocka_unit_test(test_enospc_ext4),
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
