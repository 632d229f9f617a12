// SPDX-License-Identifier: MIT
/*
 * pcrpredict grub: the events follow GRUB 2.06's rules (written out here by
 * hand from its source: cmd strings, loader command-line quoting, raw file
 * bytes), each digest equals sha256sum of the measured bytes, and extending
 * the events into a real TPM (swtpm) gives the predicted PCR 8 and 9.
 * The boot-chain e2e test checks the same against a real OVMF + GRUB boot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "swtpm.h"
#include "testutil.h"

static char dir[64];

static const char config[] = "set timeout=0\n"
			     "insmod tpm\n"
			     "search --no-floppy --file --set=root /vmlinuz\n"
			     "set args=\"console=ttyS0 quiet\"\n"
			     "menuentry 'measured' --class gnu {\n"
			     "\tlinuxefi /vmlinuz root=/dev/vda ro $args \"a b\" x\\\"y\n"
			     "\tinitrdefi /initrd.img\n"
			     "}\n"
			     "menuentry \"tboot\" {\n"
			     "\tmultiboot2 /tboot.gz logging=serial,memory,vga\n"
			     "\tmodule2 /vmlinuz root=/dev/vda ro intel_iommu=on\n"
			     "\tmodule2 --nounzip /initrd.img\n"
			     "}\n";

/*
 * What GRUB measures, in order: "PCR|description|data or @file". Written
 * from GRUB 2.06's rules and checked against a real OVMF boot (make e2e):
 * every command line before lookup, menuentry definitions with their raw
 * block, "setparams TITLE" when the menu runs an entry, search --file's open.
 */
static const char *const expect_top[] = {
	"8|grub_cmd: set timeout=0|set timeout=0",
	"8|grub_cmd: insmod tpm|insmod tpm",
	"8|grub_cmd: search --no-floppy --file --set=root /vmlinuz|search --no-floppy --file "
	"--set=root /vmlinuz",
	"9|(hd0)/vmlinuz|@vmlinuz",
	"8|grub_cmd: set args=console=ttyS0 quiet|set args=console=ttyS0 quiet",
	"8|grub_cmd: menuentry measured --class gnu {\n\tlinuxefi /vmlinuz root=/dev/vda ro $args "
	"\"a b\" x\\\"y\n\tinitrdefi /initrd.img\n}|menuentry measured --class gnu {\n\tlinuxefi "
	"/vmlinuz root=/dev/vda ro $args \"a b\" x\\\"y\n\tinitrdefi /initrd.img\n}",
	"8|grub_cmd: menuentry tboot {\n\tmultiboot2 /tboot.gz "
	"logging=serial,memory,vga\n\tmodule2 "
	"/vmlinuz root=/dev/vda ro intel_iommu=on\n\tmodule2 --nounzip /initrd.img\n}|menuentry "
	"tboot "
	"{\n\tmultiboot2 /tboot.gz logging=serial,memory,vga\n\tmodule2 /vmlinuz root=/dev/vda ro "
	"intel_iommu=on\n\tmodule2 --nounzip /initrd.img\n}",
	NULL,
};

static const char *const expect_linux[] = {
	"8|grub_cmd: setparams measured|setparams measured",
	/* unquoted $args splits into two words; the quoted "a b" stays one */
	"8|grub_cmd: linuxefi /vmlinuz root=/dev/vda ro console=ttyS0 quiet a b x\"y|linuxefi "
	"/vmlinuz root=/dev/vda ro console=ttyS0 quiet a b x\"y",
	"9|/vmlinuz|@vmlinuz",
	"8|kernel_cmdline: /vmlinuz root=/dev/vda ro console=ttyS0 quiet \"a b\" x\\\"y|/vmlinuz "
	"root=/dev/vda ro console=ttyS0 quiet \"a b\" x\\\"y",
	"8|grub_cmd: initrdefi /initrd.img|initrdefi /initrd.img",
	"9|/initrd.img|@initrd.img",
	NULL,
};

static const char *const expect_tboot_tail[] = {
	"8|grub_cmd: setparams tboot|setparams tboot",
	"8|grub_cmd: multiboot2 /tboot.gz logging=serial,memory,vga|multiboot2 /tboot.gz "
	"logging=serial,memory,vga",
	"9|/tboot.gz|@tboot.gz",
	"8|kernel_cmdline: logging=serial,memory,vga|logging=serial,memory,vga",
	"8|grub_cmd: module2 /vmlinuz root=/dev/vda ro intel_iommu=on|module2 /vmlinuz "
	"root=/dev/vda ro intel_iommu=on",
	"9|/vmlinuz|@vmlinuz",
	"8|module_cmdline: root=/dev/vda ro intel_iommu=on|root=/dev/vda ro intel_iommu=on",
	"8|grub_cmd: module2 --nounzip /initrd.img|module2 --nounzip /initrd.img",
	"9|/initrd.img|@initrd.img",
	"8|module_cmdline: |",
	NULL,
};

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-grub.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (sh(NULL,
	       "cd %s && head -c 300000 /dev/urandom > vmlinuz && head -c 70000 /dev/urandom "
	       "> initrd.img && head -c 5000 /dev/urandom | gzip > tboot.gz",
	       dir))
		return -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/grub.cfg", dir);
	f = fopen(path, "w");
	fputs(config, f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return sh(NULL, "rm -rf %s", dir);
}

/* sha256 of a string (printf %s) or of a file (@name), by sha256sum. */
static void reference_digest(const char *data, char *hex)
{
	char *out = NULL;

	if (data[0] == '@') {
		assert_int_equal(sh(&out, "sha256sum %s/%s", dir, data + 1), 0);
	} else {
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), "%s/str", dir);
		f = fopen(path, "w");
		fputs(data, f);
		fclose(f);
		assert_int_equal(sh(&out, "sha256sum %s", path), 0);
	}
	memcpy(hex, out, 64);
	hex[64] = '\0';
	free(out);
}

static void check_events(struct json_object *events, size_t first, const char *const *expect)
{
	for (size_t i = 0; expect[i]; i++) {
		char line[1024], *pcr, *desc, *data, hex[65];
		struct json_object *ev = json_object_array_get_idx(events, first + i), *v, *d;

		if (!ev)
			fail_msg("event %zu missing (expected \"%s\")", first + i, expect[i]);
		snprintf(line, sizeof(line), "%s", expect[i]);
		pcr = line;
		desc = strchr(pcr, '|');
		*desc++ = '\0';
		data = strchr(desc, '|');
		*data++ = '\0';
		assert_true(json_object_object_get_ex(ev, "pcr", &v));
		assert_int_equal(json_object_get_int(v), atoi(pcr));
		assert_true(json_object_object_get_ex(ev, "description", &v));
		assert_string_equal(json_object_get_string(v), desc);
		reference_digest(data, hex);
		assert_true(json_object_object_get_ex(ev, "digests", &d));
		assert_true(json_object_object_get_ex(d, "sha256", &v));
		if (strcmp(json_object_get_string(v), hex) != 0)
			fail_msg("\"%s\": digest %s, sha256sum says %s", desc,
				 json_object_get_string(v), hex);
	}
}

static size_t count(const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	return n;
}

static void test_linux_entry_events(void **state)
{
	char *out = NULL;
	struct json_object *doc, *events;

	(void)state;
	assert_int_equal(sh(&out, "%s grub --json --config %s/grub.cfg --root %s",
			    bin_path("pcrpredict"), dir, dir),
			 0);
	doc = json_tokener_parse(out);
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "events", &events));
	assert_int_equal(json_object_array_length(events), count(expect_top) + count(expect_linux));
	check_events(events, 0, expect_top);
	check_events(events, count(expect_top), expect_linux);
	json_object_put(doc);
	free(out);
}

static void test_tboot_entry_events(void **state)
{
	char *out = NULL;
	struct json_object *doc, *events;

	(void)state;
	assert_int_equal(sh(&out,
			    "%s grub --json --config %s/grub.cfg --root %s --set default=tboot",
			    bin_path("pcrpredict"), dir, dir),
			 0);
	doc = json_tokener_parse(out);
	assert_true(json_object_object_get_ex(doc, "events", &events));
	assert_int_equal(json_object_array_length(events),
			 count(expect_top) + count(expect_tboot_tail));
	check_events(events, 0, expect_top);
	check_events(events, count(expect_top), expect_tboot_tail);
	json_object_put(doc);
	free(out);
}

/* Extending every predicted event into swtpm's PCR 8/9 gives the predicted values. */
static void test_pcrs_equal_tpm_extends(void **state)
{
	struct swtpm sw;
	char *out = NULL, *tpm = NULL;
	struct json_object *doc, *events, *pcrs, *bank, *v;
	char want[2][65];

	(void)state;
	assert_int_equal(swtpm_start(&sw, true), 0);
	assert_int_equal(sh(&out, "%s grub --json --config %s/grub.cfg --root %s",
			    bin_path("pcrpredict"), dir, dir),
			 0);
	doc = json_tokener_parse(out);
	assert_true(json_object_object_get_ex(doc, "events", &events));
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		struct json_object *ev = json_object_array_get_idx(events, i), *p, *d, *h;

		json_object_object_get_ex(ev, "pcr", &p);
		json_object_object_get_ex(ev, "digests", &d);
		json_object_object_get_ex(d, "sha256", &h);
		assert_int_equal(sh(NULL, "tpm2_pcrextend -T '%s' %d:sha256=%s", sw.tcti,
				    json_object_get_int(p), json_object_get_string(h)),
				 0);
	}
	assert_int_equal(sh(&tpm,
			    "tpm2_pcrread -T '%s' sha256:8,9 -o %s/pcrs >/dev/null && "
			    "xxd -p -c 32 %s/pcrs",
			    sw.tcti, dir, dir),
			 0);
	assert_true(json_object_object_get_ex(doc, "pcrs", &pcrs));
	assert_true(json_object_object_get_ex(pcrs, "sha256", &bank));
	assert_true(json_object_object_get_ex(bank, "8", &v));
	snprintf(want[0], sizeof(want[0]), "%s", json_object_get_string(v));
	assert_true(json_object_object_get_ex(bank, "9", &v));
	snprintf(want[1], sizeof(want[1]), "%s", json_object_get_string(v));
	assert_memory_equal(tpm, want[0], 64);
	assert_memory_equal(tpm + 65, want[1], 64);
	json_object_put(doc);
	free(out);
	free(tpm);
	swtpm_stop(&sw);
}

/*
 * insmod of a module not built in reads $prefix/x86_64-efi/NAME.mod, then its
 * dependencies -- measured, unless they are in (memdisk), which GRUB 2.06's
 * verifiers pass by (kern/verifiers.c); a module that is not there reads nothing.
 */
static void test_insmod_reads_modules(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(
		sh(NULL,
		   "cd %s && mkdir -p md/boot/grub/x86_64-efi && echo A > "
		   "md/boot/grub/x86_64-efi/ext2.mod && echo B > "
		   "md/boot/grub/x86_64-efi/fshelp.mod "
		   "&& printf 'ext2: fshelp\\nfshelp:\\n' > md/boot/grub/x86_64-efi/moddep.lst && "
		   "printf 'insmod ext2\\ninsmod ext2\\ninsmod nothere\\nmenuentry x {\\n "
		   "boot\\n}\\n' "
		   "> ins.cfg",
		   dir),
		0);
	assert_int_equal(sh(&out,
			    "%s grub --config %s/ins.cfg --root %s/md --set prefix=/boot/grub "
			    "--set root=hd0",
			    bin_path("pcrpredict"), dir, dir),
			 0);
	const char *a = strstr(out, "PCR 9  /boot/grub/x86_64-efi/ext2.mod");
	const char *b = strstr(out, "PCR 9  /boot/grub/x86_64-efi/fshelp.mod");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_null(strstr(b + 1, "ext2.mod")); /* loaded once */
	assert_null(strstr(out, "PCR 9  /boot/grub/x86_64-efi/nothere.mod"));
	assert_non_null(strstr(out, "grub_cmd: insmod nothere"));
	assert_non_null(strstr(out, "grub_cmd: boot"));
	free(out);
	assert_int_equal(sh(&out, "%s grub --config %s/ins.cfg --root %s --memdisk %s/md",
			    bin_path("pcrpredict"), dir, dir, dir),
			 0);
	assert_null(strstr(out, "PCR 9  "));
	free(out);
}

/* runs pcrpredict grub on a config written by printf FMT; returns its exit code, output in *out */
static int grub_on(char **out, const char *cfg, const char *opts)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.cfg", dir);
	f = fopen(path, "w");
	fputs(cfg, f);
	fclose(f);
	return sh(out, "%s grub --config %s --root %s %s 2>&1", bin_path("pcrpredict"), path, dir,
		  opts);
}

static void expect_error(const char *cfg, const char *msg)
{
	char *out = NULL;

	if (grub_on(&out, cfg, "") != 2 || !strstr(out, msg))
		fail_msg("config \"%s\": wanted exit 2 and \"%s\", got: %s", cfg, msg, out);
	free(out);
}

static void test_unmodelled_input(void **state)
{
	(void)state;
	expect_error("menuentry x {\n chainloader /x.efi\n}\n",
		     "t.cfg (menuentry \"x\"):2: command \"chainloader\" is not modelled");
	expect_error("menuentry x {\n linux /missing\n}\n", "/missing");
	/* syntax errors name the file and line, as grub-script-check would refuse them */
	expect_error("set a=1\nif [ $a = 1 ]; then\n echo\n", "t.cfg:2: syntax error");
	expect_error("set a=1\necho \"open\n\n", "t.cfg:2: syntax error: unterminated \"");
	expect_error("echo 'x\n", "t.cfg:1: syntax error: unterminated '");
	expect_error("true && echo\n", "t.cfg:1: syntax error: \"&&\" is not in GRUB's grammar");
	expect_error("true\nfalse || echo\n", "t.cfg:2: syntax error: \"||\"");
	expect_error("\nmenuentry x {\n linux /vmlinuz\n",
		     "t.cfg:2: syntax error: the block opened here is not closed");
	expect_error("fi\n", "t.cfg:1: syntax error: \"fi\" where a command was expected");
	expect_error("for 1 in a; do echo; done\n", "t.cfg:1: syntax error");
	expect_error("echo $\n", "$ is not followed by a variable name");
	expect_error("while true; do echo; done\n", "more than 4096 measurements");
	expect_error("function f {\n f\n}\nf\n", "recursion");
	/* grub-script-check, GRUB's own parser, agrees on each of these */
	const char *bad[] = {"if true; then\n echo\n", "echo \"x\n", "true && echo\n",
			     "menuentry x {\n",	       "fi\n",	     NULL};
	for (int i = 0; bad[i]; i++) {
		char *out = NULL;

		assert_int_equal(grub_on(&out, bad[i], ""), 2);
		free(out);
		assert_int_not_equal(sh(NULL, "grub-script-check %s/t.cfg 2>/dev/null", dir), 0);
	}
}

/* sha256 of the concatenated extends, by openssl alone: the PCR a list of digests gives */
static void replay(const char *hex_list, char *pcr)
{
	char *out = NULL;

	assert_int_equal(sh(&out,
			    "p=0000000000000000000000000000000000000000000000000000000000000000; "
			    "for d in %s; do p=$(printf '%%s%%s' $p $d | xxd -r -p | openssl dgst "
			    "-sha256 -r | cut -c1-64); done; echo $p",
			    hex_list),
			 0);
	memcpy(pcr, out, 64);
	pcr[64] = '\0';
	free(out);
}

static char *file_sha256(const char *path)
{
	char *out = NULL;

	assert_int_equal(sh(&out, "sha256sum %s | cut -c1-64 | tr -d '\\n'", path), 0);
	return out;
}

static char *str_sha256(const char *s)
{
	char *out = NULL, path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/str", dir);
	f = fopen(path, "w");
	fputs(s, f);
	fclose(f);
	out = file_sha256(path);
	return out;
}

/*
 * The commands GRUB 2.06 runs for grub-mkconfig's config (tests/data), as
 * read from its script (00_header, 10_linux, 41_custom) and GRUB's rules:
 * if-conditions run and are measured, the branches not taken are not, a
 * function's commands are measured as they run, menuentry and submenu
 * definitions with their blocks, "setparams TITLE" for the entry booted.
 * PCR 8 and 9 are replayed from these strings and the files by sha256sum and
 * openssl, not by pcrpredict.
 */
static void check_mkconfig(const char *cfg, const char *opts, const char *const *expect_cmds,
			   const char *const *files, const char *cmdline)
{
	char *out = NULL, data[256], pcr8[65], pcr9[65];
	struct sbuf8 {
		char s[65536];
	} *l8 = calloc(1, sizeof(*l8)), *l9 = calloc(1, sizeof(*l9));
	const char *td = getenv("MEASURED_SRCDIR") ? getenv("MEASURED_SRCDIR") : ".";
	struct json_object *doc, *events, *pcrs, *bank, *v;
	size_t n8 = 0;

	assert_int_equal(
		sh(&out,
		   "%s grub --json --config %s/tests/data/%s --root %s/mk "
		   "--config-name '(hd0)/EFI/debian/grub.cfg' --set 'prefix=(hd0)/EFI/debian' "
		   "--set root=hd0 %s",
		   bin_path("pcrpredict"), td, cfg, dir, opts),
		0);
	doc = json_tokener_parse(out);
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "events", &events));
	/* every grub_cmd in order, as written above */
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		struct json_object *ev = json_object_array_get_idx(events, i), *d;
		const char *desc;

		json_object_object_get_ex(ev, "description", &d);
		desc = json_object_get_string(d);
		if (strncmp(desc, "grub_cmd: ", 10) != 0 ||
		    strncmp(desc + 10, "menuentry ", 10) == 0 ||
		    strncmp(desc + 10, "submenu ", 8) == 0)
			continue;
		if (!expect_cmds[n8])
			fail_msg("%s: more commands than expected, at \"%s\"", cfg, desc);
		if (strcmp(desc + 10, expect_cmds[n8]) != 0)
			fail_msg("%s: command %zu is \"%s\", expected \"%s\"", cfg, n8, desc + 10,
				 expect_cmds[n8]);
		n8++;
	}
	if (expect_cmds[n8])
		fail_msg("%s: command \"%s\" missing", cfg, expect_cmds[n8]);
	/* PCR 8 replayed from the strings: each command, the two definitions, the cmdline */
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		struct json_object *ev = json_object_array_get_idx(events, i), *d, *p;
		char *h;

		json_object_object_get_ex(ev, "description", &d);
		json_object_object_get_ex(ev, "pcr", &p);
		if (json_object_get_int(p) != 8)
			continue;
		const char *desc = json_object_get_string(d);
		h = str_sha256(strchr(desc, ' ') + 1);
		strcat(l8->s, h);
		strcat(l8->s, " ");
		free(h);
	}
	assert_non_null(strstr(out, cmdline));
	for (size_t i = 0; files[i]; i++) {
		char *h;

		snprintf(data, sizeof(data), "%s", files[i]);
		h = file_sha256(data);
		strcat(l9->s, h);
		strcat(l9->s, " ");
		free(h);
	}
	replay(l8->s, pcr8);
	replay(l9->s, pcr9);
	assert_true(json_object_object_get_ex(doc, "pcrs", &pcrs));
	assert_true(json_object_object_get_ex(pcrs, "sha256", &bank));
	assert_true(json_object_object_get_ex(bank, "8", &v));
	assert_string_equal(json_object_get_string(v), pcr8);
	assert_true(json_object_object_get_ex(bank, "9", &v));
	assert_string_equal(json_object_get_string(v), pcr9);
	json_object_put(doc);
	free(out);
	free(l8);
	free(l9);
}

#define LOAD_VIDEO "load_video", "[ xy = xy ]", "insmod all_video"
#define ENTRY_COMMON                                                                             \
	"insmod gzio", "[ xefi = xxen ]", "insmod fat", "set root=hd0", "[ xy = xy ]",           \
		"search --no-floppy --fs-uuid --set=root --hint-efi=hd0 --hint-baremetal=ahci0 " \
		"6D65-6173",                                                                     \
		"echo Loading Linux 6.1.0-measured-amd64 ..."
#define HEADER_TAIL                                                                      \
	"[ xy = xy ]", "menuentry_id_option=--id", "export menuentry_id_option", "[  ]", \
		"[  = 1 ]", "[ xy = xy ]", "set timeout_style=menu", "set timeout=0",    \
		"set linux_gfx_mode=", "export linux_gfx_mode"
#define CUSTOM                                \
	"[ -f (hd0)/EFI/debian/custom.cfg ]", \
		"[ -z (hd0)/EFI/debian -a -f (hd0)/EFI/debian/custom.cfg ]"

static void test_grub_mkconfig(void **state)
{
	static const char *const cmds[] = {
		"[ -s (hd0)/EFI/debian/grubenv ]",
		"[  ]",
		"set default=0",
		HEADER_TAIL,
		CUSTOM,
		"setparams Debian GNU/Linux",
		LOAD_VIDEO,
		ENTRY_COMMON,
		"linux /vmlinuz-6.1.0-measured-amd64 root=/dev/vda ro console=ttyS0 panic=-1",
		"echo Loading initial ramdisk ...",
		"initrd /initrd.img-6.1.0-measured-amd64",
		NULL,
	};
	char f0[128], f1[128], f2[128];
	const char *files[] = {f0, f1, f2, NULL};

	(void)state;
	assert_int_equal(
		sh(NULL,
		   "mkdir -p %s/mk/EFI/debian && head -c 100000 /dev/urandom > "
		   "%s/mk/vmlinuz-6.1.0-measured-amd64 && head -c 50000 /dev/urandom > "
		   "%s/mk/initrd.img-6.1.0-measured-amd64 && rm -f %s/mk/EFI/debian/grubenv",
		   dir, dir, dir, dir),
		0);
	snprintf(f0, sizeof(f0), "%s/tests/data/grub-mkconfig.cfg",
		 getenv("MEASURED_SRCDIR") ? getenv("MEASURED_SRCDIR") : ".");
	snprintf(f1, sizeof(f1), "%s/mk/vmlinuz-6.1.0-measured-amd64", dir);
	snprintf(f2, sizeof(f2), "%s/mk/initrd.img-6.1.0-measured-amd64", dir);
	check_mkconfig(
		"grub-mkconfig.cfg", "", cmds, files,
		"kernel_cmdline: /vmlinuz-6.1.0-measured-amd64 root=/dev/vda ro console=ttyS0 "
		"panic=-1");
}

/*
 * GRUB_DEFAULT=saved with a grubenv: [ -s ] and load_env each read (measure)
 * it, $saved_entry walks into the submenu to the recovery entry; with --entry 0
 * the first entry's savedefault writes $chosen back (save_env: not measured);
 * the quoted argument is one word, quoted again on the kernel command line.
 */
static void test_grub_mkconfig_saved(void **state)
{
	static const char *const cmds[] = {
		"[ -s (hd0)/EFI/debian/grubenv ]",
		"set have_grubenv=true",
		"load_env",
		"[  ]",
		"set "
		"default=gnulinux-advanced-6D65-6173>gnulinux-6.1.0-measured-amd64-recovery-6D65-"
		"6173",
		HEADER_TAIL,
		CUSTOM,
		"setparams Advanced options for Debian GNU/Linux",
		"setparams Debian GNU/Linux, with Linux 6.1.0-measured-amd64 (recovery mode)",
		LOAD_VIDEO,
		ENTRY_COMMON, /* 10_linux puts no savedefault in recovery entries */
		"linux /vmlinuz-6.1.0-measured-amd64 root=/dev/vda ro single console=ttyS0 "
		"panic=-1 "
		"measured.note=a b",
		"echo Loading initial ramdisk ...",
		"initrd /initrd.img-6.1.0-measured-amd64",
		NULL,
	};
	static const char *const cmds_entry0[] = {
		"[ -s (hd0)/EFI/debian/grubenv ]",
		"set have_grubenv=true",
		"load_env",
		"[  ]",
		"set "
		"default=gnulinux-advanced-6D65-6173>gnulinux-6.1.0-measured-amd64-recovery-6D65-"
		"6173",
		HEADER_TAIL,
		CUSTOM,
		"setparams Debian GNU/Linux",
		"savedefault",
		"[ -z  ]",
		"saved_entry=gnulinux-simple-6D65-6173",
		"save_env saved_entry",
		LOAD_VIDEO,
		ENTRY_COMMON,
		"linux /vmlinuz-6.1.0-measured-amd64 root=/dev/vda ro console=ttyS0 panic=-1 "
		"measured.note=a b quiet",
		"echo Loading initial ramdisk ...",
		"initrd /initrd.img-6.1.0-measured-amd64",
		NULL,
	};
	char f0[128], f1[128], f2[128], f3[128];
	const char *files[] = {f0, f1, f1, f2, f3, NULL};
	const char *src = getenv("MEASURED_SRCDIR") ? getenv("MEASURED_SRCDIR") : ".";

	(void)state;
	assert_int_equal(sh(NULL,
			    "mkdir -p %s/mk/EFI/debian && head -c 100000 /dev/urandom > "
			    "%s/mk/vmlinuz-6.1.0-measured-amd64 && head -c 50000 /dev/urandom > "
			    "%s/mk/initrd.img-6.1.0-measured-amd64 && cp "
			    "%s/tests/data/grub-mkconfig-saved.grubenv "
			    "%s/mk/EFI/debian/grubenv",
			    dir, dir, dir, src, dir),
			 0);
	snprintf(f0, sizeof(f0), "%s/tests/data/grub-mkconfig-saved.cfg", src);
	snprintf(f1, sizeof(f1), "%s/mk/EFI/debian/grubenv", dir);
	snprintf(f2, sizeof(f2), "%s/mk/vmlinuz-6.1.0-measured-amd64", dir);
	snprintf(f3, sizeof(f3), "%s/mk/initrd.img-6.1.0-measured-amd64", dir);
	check_mkconfig("grub-mkconfig-saved.cfg", "", cmds, files,
		       "kernel_cmdline: /vmlinuz-6.1.0-measured-amd64 root=/dev/vda ro single "
		       "console=ttyS0 panic=-1 \\\"measured.note=a b\\\"");
	check_mkconfig(
		"grub-mkconfig-saved.cfg", "--entry 0", cmds_entry0, files,
		"kernel_cmdline: /vmlinuz-6.1.0-measured-amd64 root=/dev/vda ro console=ttyS0 "
		"panic=-1 \\\"measured.note=a b\\\" quiet");
	/* the same grubenv given with --env instead of on the modelled ESP */
	assert_int_equal(
		sh(NULL, "rm %s/mk/EFI/debian/grubenv && touch %s/mk/EFI/debian/grubenv", dir, dir),
		0);
	snprintf(f1, sizeof(f1), "%s/tests/data/grub-mkconfig-saved.grubenv", src);
	char opt[200];
	snprintf(opt, sizeof(opt), "--env %s/tests/data/grub-mkconfig-saved.grubenv", src);
	check_mkconfig("grub-mkconfig-saved.cfg", opt, cmds, files,
		       "kernel_cmdline: /vmlinuz-6.1.0-measured-amd64 root=/dev/vda ro single");
}

/* The script language: functions with $1 $#, for, while/until with break, elif, !, quoting */
static void test_script_language(void **state)
{
	char *out = NULL;
	static const char cfg[] =
		"function f {\n echo \"$#:$1:$2\" ${1}x\n return 1\n}\n"
		"if f 'a b' c; then echo no; elif ! false; then echo elif; else echo else; fi\n"
		"for i in 1 2 3; do if [ $i -eq 2 ]; then continue; fi; echo i=$i; done\n"
		"n=x; until [ \"$n\" = xxx ]; do n=${n}x; done; echo $n\n"
		"while true; do break; done\n"
		"v=\"p  q\"; echo $v \"$v\" '$v' \\$v a\\ b\n"
		"[ 10 -gt 9 -a abc \\< abd -a -n x -a -z '' -a ( ! -e /nope -o -d / ) ]; echo $?\n"
		"test -f /vmlinuz; echo $?\n"
		"menuentry 'e' --unrestricted --id ID x { echo $1 $2 $#; boot; }\n";

	(void)state;
	assert_int_equal(grub_on(&out, cfg, ""), 0);
	static const char *const want[] = {
		"grub_cmd: f a b c",
		"grub_cmd: echo 2:a b:c a",
		"grub_cmd: return 1",
		"grub_cmd: ! false",
		"grub_cmd: echo elif",
		"grub_cmd: [ 1 -eq 2 ]",
		"grub_cmd: echo i=1",
		"grub_cmd: [ 2 -eq 2 ]",
		"grub_cmd: continue",
		"grub_cmd: [ 3 -eq 2 ]",
		"grub_cmd: echo i=3",
		"grub_cmd: n=x",
		"grub_cmd: [ x = xxx ]",
		"grub_cmd: n=xx",
		"grub_cmd: [ xx = xxx ]",
		"grub_cmd: n=xxx",
		"grub_cmd: [ xxx = xxx ]",
		"grub_cmd: echo xxx",
		"grub_cmd: true",
		"grub_cmd: break",
		"grub_cmd: v=p  q",
		"grub_cmd: echo p q p  q $v $v a b",
		"grub_cmd: [ 10 -gt 9 -a abc < abd -a -n x -a -z  -a ( ! -e /nope -o -d / ) ]",
		"grub_cmd: echo 0",
		"grub_cmd: test -f /vmlinuz",
		"grub_cmd: echo 0",
		"grub_cmd: setparams e x",
		"grub_cmd: echo e x 2",
		"grub_cmd: boot",
		NULL,
	};
	const char *p = out;
	for (int i = 0; want[i]; i++) {
		const char *q = strstr(p, want[i]);

		if (!q)
			fail_msg("\"%s\" missing after offset %td in:\n%s", want[i], p - out, out);
		p = q + strlen(want[i]);
	}
	assert_null(strstr(out, "echo no"));
	assert_null(strstr(out, "echo i=2"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_entry_events),
		cmocka_unit_test(test_tboot_entry_events),
		cmocka_unit_test(test_pcrs_equal_tpm_extends),
		cmocka_unit_test(test_insmod_reads_modules),
		cmocka_unit_test(test_unmodelled_input),
		cmocka_unit_test(test_grub_mkconfig),
		cmocka_unit_test(test_grub_mkconfig_saved),
		cmocka_unit_test(test_script_language),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
