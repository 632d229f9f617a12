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

/* insmod of a module not built in reads $prefix/x86_64-efi/NAME.mod, then its dependencies. */
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
		   "printf 'insmod ext2\\ninsmod ext2\\nmenuentry x {\\n boot\\n}\\n' > ins.cfg",
		   dir),
		0);
	assert_int_equal(sh(&out, "%s grub --config %s/ins.cfg --root %s --memdisk %s/md",
			    bin_path("pcrpredict"), dir, dir, dir),
			 0);
	const char *a = strstr(out, "PCR 9  (memdisk)/boot/grub/x86_64-efi/ext2.mod");
	const char *b = strstr(out, "PCR 9  (memdisk)/boot/grub/x86_64-efi/fshelp.mod");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_null(strstr(b + 1, "ext2.mod")); /* loaded once */
	assert_non_null(strstr(out, "grub_cmd: boot"));
	free(out);
}

static void test_unmodelled_input(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(
		sh(NULL, "printf 'set a=1\\nif [ $a = 1 ]; then echo; fi\\n' > %s/if.cfg", dir), 0);
	assert_int_equal(sh(&out, "%s grub --config %s/if.cfg --root %s 2>&1",
			    bin_path("pcrpredict"), dir, dir),
			 2);
	assert_non_null(strstr(out, "if.cfg:2"));
	assert_non_null(strstr(out, "\"if\" is not modelled"));
	free(out);
	assert_int_equal(
		sh(NULL, "printf 'menuentry x {\\n chainloader /x.efi\\n}\\n' > %s/c.cfg", dir), 0);
	assert_int_equal(sh(&out, "%s grub --config %s/c.cfg --root %s 2>&1",
			    bin_path("pcrpredict"), dir, dir),
			 2);
	assert_non_null(strstr(out, "chainloader"));
	free(out);
	assert_int_equal(
		sh(NULL, "printf 'menuentry x {\\n linux /missing\\n}\\n' > %s/m.cfg", dir), 0);
	assert_int_equal(sh(&out, "%s grub --config %s/m.cfg --root %s 2>&1",
			    bin_path("pcrpredict"), dir, dir),
			 2);
	assert_non_null(strstr(out, "/missing"));
	free(out);
	assert_int_equal(sh(NULL, "printf 'menuentry x {\\n echo \"open\\n' > %s/q.cfg", dir), 0);
	assert_int_equal(sh(&out, "%s grub --config %s/q.cfg --root %s 2>&1",
			    bin_path("pcrpredict"), dir, dir),
			 2);
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
