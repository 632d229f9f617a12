// SPDX-License-Identifier: MIT
/*
 * pcrpredict build: the reference document's PCRs come out as the
 * independent sources say -- PCR 0-7 as recorded beside the real firmware
 * log, PCR 13 as swtpm computes from veritysetup's root hash -- and its
 * sealing policy equals tpm2_createpolicy's over those values.
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

#include "cborutil.h"
#include "fileio.h"
#include "hex.h"
#include "swtpm.h"
#include "testutil.h"

static char dir[64];
static struct json_object *doc;

static const char *pcr_of(struct json_object *d, const char *bank, const char *pcr)
{
	struct json_object *pcrs, *b, *v;

	if (!json_object_object_get_ex(d, "pcrs", &pcrs) ||
	    !json_object_object_get_ex(pcrs, bank, &b) || !json_object_object_get_ex(b, pcr, &v))
		return NULL;
	return json_object_get_string(v);
}

static int setup(void **state)
{
	char *out = NULL;
	char abs_fw[4096];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/measured-build.XXXXXX");
	/* the project's own QEMU boot log (tests/data) */
	if (!mkdtemp(dir) || !realpath("tests/data/ovmf-grub.log", abs_fw))
		return -1;
	if (sh(NULL,
	       "cd %s && mkdir -p esp root/usr/bin && head -c 200000 /dev/urandom > esp/vmlinuz && "
	       "head -c 9000 /dev/urandom > esp/initrd.img && echo tool > root/usr/bin/tool && "
	       "chmod 755 root/usr/bin/tool && mke2fs -q -t ext4 -d root rootfs.img 8M && "
	       "printf 'insmod tpm\\nmenuentry m {\\n linuxefi /vmlinuz root=/dev/vda ro\\n "
	       "initrdefi /initrd.img\\n}\\n' > esp/grub.cfg && "
	       "printf 'pcrs = sha256:0,4,7,8,9,13\\npin = yes\\n' > seal.profile && "
	       "printf '# build\\nbanks = sha256\\nrootfs = rootfs.img\\nrootfs.mode = verity\\n"
	       "rootfs.salt = 0a0b0c\\nfirmware.log = %s\\ngrub.config = esp/grub.cfg\\n"
	       "grub.root = esp\\nseal.profile = seal.profile\\n' > manifest",
	       dir, abs_fw))
		return -1;
	if (sh(&out, "%s build --manifest %s/manifest --out %s/ref.json --out-cbor %s/ref.cbor",
	       bin_path("pcrpredict"), dir, dir, dir))
		return -1;
	free(out);
	char path[128];
	snprintf(path, sizeof(path), "%s/ref.json", dir);
	doc = json_object_from_file(path);
	return doc ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_object_put(doc);
	return sh(NULL, "rm -rf %s", dir);
}

/* PCR 0-7 of the reference are what the TPM held at the end of that boot. */
static void test_firmware_pcrs_equal_recorded_replay(void **state)
{
	struct pcr_bank want;
	char hex[65];

	(void)state;
	assert_int_equal(guest_pcrs_load("tests/data/ovmf-grub.pcrs-sha256",
					 hash_alg_by_name("sha256"), &want),
			 0);
	for (unsigned i = 0; i < 8; i++) {
		char key[4];

		snprintf(key, sizeof(key), "%u", i);
		hex_encode(want.value[i], 32, hex);
		assert_non_null(pcr_of(doc, "sha256", key));
		assert_string_equal(pcr_of(doc, "sha256", key), hex);
	}
}

static void test_rootfs_pcr_equals_tpm_extend_of_veritysetup_root(void **state)
{
	struct swtpm sw;
	char *root = NULL, *pcr = NULL, *p;

	(void)state;
	assert_int_equal(swtpm_start(&sw, true), 0);
	assert_int_equal(sh(&root,
			    "veritysetup format %s/rootfs.img %s/hash.img --salt=0a0b0c | "
			    "sed -n 's/^Root hash:[[:space:]]*//p'",
			    dir, dir),
			 0);
	p = strchr(root, '\n');
	if (p)
		*p = '\0';
	assert_int_equal(strlen(root), 64);
	assert_int_equal(
		sh(&pcr,
		   "tpm2_pcrextend -T '%s' 13:sha256=%s && tpm2_pcrread -T '%s' sha256:13 -o "
		   "%s/p13 >/dev/null && xxd -p -c 32 %s/p13",
		   sw.tcti, root, sw.tcti, dir, dir),
		0);
	pcr[64] = '\0';
	assert_string_equal(pcr_of(doc, "sha256", "13"), pcr);
	free(root);
	free(pcr);
	swtpm_stop(&sw);
}

static void test_seal_policy_equals_tpm2_tools(void **state)
{
	static const char *const sel[] = {"0", "4", "7", "8", "9", "13"};
	struct json_object *seal, *policy;
	struct swtpm sw;
	uint8_t raw[6 * 32];
	char path[128], *theirs = NULL;
	size_t len;

	(void)state;
	for (int i = 0; i < 6; i++)
		assert_int_equal(hex_decode(pcr_of(doc, "sha256", sel[i]), raw + 32 * i, 32, &len),
				 0);
	snprintf(path, sizeof(path), "%s/values.bin", dir);
	assert_int_equal(file_write_atomic(path, raw, sizeof(raw), 0644), 0);
	assert_int_equal(swtpm_start(&sw, true), 0);
	assert_int_equal(
		sh(&theirs,
		   "T='%s'; tpm2_startauthsession -T $T -S %s/s.ctx && tpm2_policypcr -T $T "
		   "-S %s/s.ctx -l sha256:0,4,7,8,9,13 -f %s >/dev/null && "
		   "tpm2_policyauthvalue -T $T -S %s/s.ctx -L %s/pol >/dev/null && "
		   "tpm2_flushcontext -T $T %s/s.ctx && xxd -p -c 64 %s/pol",
		   sw.tcti, dir, dir, path, dir, dir, dir, dir),
		0);
	theirs[64] = '\0';
	assert_true(json_object_object_get_ex(doc, "seal", &seal));
	assert_true(json_object_object_get_ex(seal, "policy", &policy));
	assert_string_equal(json_object_get_string(policy), theirs);
	free(theirs);
	swtpm_stop(&sw);
}

static void test_cbor_holds_the_same(void **state)
{
	char path[128];
	uint8_t *buf;
	size_t len, used;
	cbor_item_t *item = NULL;
	const char *text;
	size_t text_len;

	(void)state;
	snprintf(path, sizeof(path), "%s/ref.cbor", dir);
	assert_int_equal(file_read_all(path, 1 << 20, &buf, &len), 0);
	assert_int_equal(cbu_load(buf, len, &item, &used), 0);
	assert_int_equal(used, len);
	/* text-keyed maps: walk pcrs -> sha256 -> 13 */
	cbor_item_t *v = NULL;
	struct cbor_pair *pairs = cbor_map_handle(item);
	for (size_t i = 0; i < cbor_map_size(item); i++)
		if (cbor_isa_string(pairs[i].key) && cbor_string_length(pairs[i].key) == 4 &&
		    memcmp(cbor_string_handle(pairs[i].key), "pcrs", 4) == 0)
			v = pairs[i].value;
	assert_non_null(v);
	v = cbor_map_handle(v)[0].value; /* the one bank */
	for (size_t i = 0; i < cbor_map_size(v); i++) {
		struct cbor_pair *p = &cbor_map_handle(v)[i];

		if (cbor_string_length(p->key) == 2 &&
		    memcmp(cbor_string_handle(p->key), "13", 2) == 0) {
			assert_int_equal(cbu_get_text(p->value, "13", &text, &text_len), 0);
			assert_int_equal(text_len, 64);
			assert_memory_equal(text, pcr_of(doc, "sha256", "13"), 64);
		}
	}
	cbor_decref(&item);
	free(buf);
}

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define GRUB_EFI  "/usr/lib/grub/x86_64-efi/monolithic/grubx64.efi"

/* pcrpredict build --manifest @manifest --out @out; the document (NULL when it failed). */
static struct json_object *build_doc(const char *manifest_text, const char *name)
{
	char path[128];

	if (sh(NULL,
	       "cd %s && printf '%%b' '%s' > %s.manifest && %s build --manifest %s.manifest "
	       "--out %s.json",
	       dir, manifest_text, name, bin_path("pcrpredict"), name, name))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	return json_object_from_file(path);
}

/* Each PCR in @pcrs of @d in @bank is what the ovmf-grub guest read from its TPM. */
static void same_as_recorded_guest(struct json_object *d, const char *bank, const unsigned *pcrs,
				   size_t n)
{
	const struct hash_alg *alg = hash_alg_by_name(bank);
	struct pcr_bank want;
	char path[128], hex[2 * DIGEST_MAX + 1], key[4];

	snprintf(path, sizeof(path), "tests/data/ovmf-grub.pcrs-%s", bank);
	assert_int_equal(guest_pcrs_load(path, alg, &want), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%u", pcrs[i]);
		hex_encode(want.value[pcrs[i]], alg->size, hex);
		if (!pcr_of(d, bank, key) || strcmp(pcr_of(d, bank, key), hex) != 0)
			fail_msg("%s PCR %u: predicted %s, the guest read %s", bank, pcrs[i],
				 pcr_of(d, bank, key) ?: "nothing", hex);
	}
}

#define SKIP_WITHOUT_OVMF()                                                            \
	do {                                                                           \
		if (access(OVMF_CODE, R_OK) || access(OVMF_VARS, R_OK) ||              \
		    access("/usr/lib/ipxe/qemu/efi-e1000e.rom", R_OK)) {               \
			print_message("skipped: needs Debian's ovmf and ipxe-qemu\n"); \
			skip();                                                        \
		}                                                                      \
	} while (0)

/*
 * No reference boot: PCR 0-3, 6 from OVMF_CODE + the platform profile, 7 from
 * the varstore, 5 from the (partitionless) boot disk -- each what the guest of
 * the recorded boot read from its TPM, sha256 and sha1.
 */
static void test_firmware_from_files_equals_the_recorded_guest(void **state)
{
	static const unsigned pcrs[] = {0, 1, 2, 3, 5, 6, 7};
	struct json_object *d, *c, *fw, *events;

	(void)state;
	SKIP_WITHOUT_OVMF();
	assert_int_equal(
		sh(NULL, "cd %s && truncate -s 8M fat.img && mkfs.vfat fat.img >/dev/null", dir),
		0);
	char cwd[4096], path[128];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(sh(NULL,
			    "cd %s && printf 'banks = sha256,sha1\\nfirmware.code = %s\\n"
			    "firmware.profile = %s/tests/data/ovmf-q35.profile.json\\n"
			    "secureboot.vars = %s\\nboot.disk = fat.img\\n' > files.manifest "
			    "&& %s build --manifest files.manifest --out files.json",
			    dir, OVMF_CODE, cwd, OVMF_VARS, bin_path("pcrpredict")),
			 0);
	snprintf(path, sizeof(path), "%s/files.json", dir);
	d = json_object_from_file(path);
	assert_non_null(d);
	same_as_recorded_guest(d, "sha256", pcrs, sizeof(pcrs) / sizeof(pcrs[0]));
	same_as_recorded_guest(d, "sha1", pcrs, sizeof(pcrs) / sizeof(pcrs[0]));
	/* PCR 4 needs the boot loader, 8, 9 GRUB's config: not predicted, and said so */
	assert_null(pcr_of(d, "sha256", "4"));
	assert_null(pcr_of(d, "sha256", "8"));
	/* the events are in the document, each saying where it came from */
	assert_true(json_object_object_get_ex(d, "components", &c));
	assert_true(json_object_object_get_ex(c, "firmware", &fw));
	assert_true(json_object_object_get_ex(fw, "events", &events));
	assert_true(json_object_is_type(events, json_type_array));
	assert_true(json_object_array_length(events) >= 10);
	assert_non_null(strstr(json_object_to_json_string(events), "PEIFV"));
	assert_non_null(strstr(json_object_to_json_string(events), "from the platform profile"));
	assert_null(strstr(json_object_to_json_string(d), "firmware.log"));
	json_object_put(d);
}

/*
 * PCR 4 from the boot loader: the action, the separator and its Authenticode
 * digest as pesign computes it, folded with openssl alone.
 */
static void test_boot_application_pcr4_equals_pesign_and_openssl(void **state)
{
	struct json_object *d;
	char *theirs = NULL;

	(void)state;
	if (access(GRUB_EFI, R_OK)) {
		print_message("skipped: needs grub-efi-amd64-bin\n");
		skip();
	}
	d = build_doc("banks = sha256\nboot.application = " GRUB_EFI "\n", "pcr4");
	assert_non_null(d);
	assert_int_equal(sh(&theirs,
			    "h() { openssl dgst -sha256 -r | cut -d\\  -f1; }; "
			    "v=$(printf %%064d 0); "
			    "for e in $(printf 'Calling EFI Application from Boot Option' | h) "
			    "$(printf '\\000\\000\\000\\000' | h) "
			    "$(pesign -h -i %s | sed 's/^hash: //'); do "
			    "v=$(printf %%s%%s $v $e | xxd -r -p | h); done; echo $v",
			    GRUB_EFI),
			 0);
	theirs[strcspn(theirs, "\n")] = '\0';
	assert_string_equal(pcr_of(d, "sha256", "4"), theirs);
	free(theirs);
	json_object_put(d);
}

/* With the reference boot's log too: the files win for PCR 0-3, 6, and the notes say so. */
static void test_files_and_log_say_which_pcr_came_from_which(void **state)
{
	static const unsigned pcrs[] = {0, 1, 2, 3, 4, 5, 6, 7};
	struct json_object *d;
	char cwd[4096];

	(void)state;
	SKIP_WITHOUT_OVMF();
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(sh(NULL,
			    "cd %s && printf 'banks = sha256\nfirmware.code = %s\n"
			    "firmware.profile = %s/tests/data/ovmf-q35.profile.json\n"
			    "firmware.log = %s/tests/data/ovmf-grub.log\n' > both.manifest "
			    "&& %s build --manifest both.manifest --out both.json",
			    dir, OVMF_CODE, cwd, cwd, bin_path("pcrpredict")),
			 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/both.json", dir);
	assert_non_null(d = json_object_from_file(path));
	same_as_recorded_guest(d, "sha256", pcrs, sizeof(pcrs) / sizeof(pcrs[0]));
	assert_non_null(strstr(json_object_to_json_string(d),
			       "PCR 0-7: PCR 0 1 2 3 6 from firmware.code; PCR 4 5 7 from "
			       "firmware.log"));
	json_object_put(d);
}

static void test_bad_firmware_manifests(void **state)
{
	char *out = NULL, never[128];

	(void)state;
	SKIP_WITHOUT_OVMF();
	assert_int_equal(sh(&out,
			    "cd %s && printf 'firmware.vars = %s\n' > fwbad1 && %s build "
			    "--manifest fwbad1 --out never.json 2>&1",
			    dir, OVMF_VARS, bin_path("pcrpredict")),
			 2);
	assert_non_null(strstr(out, "need firmware.code"));
	free(out);
	/* not an OVMF image: the file and what is wrong, nothing written */
	assert_int_equal(sh(&out,
			    "cd %s && printf 'firmware.code = %s\n' > fwbad2 && %s build "
			    "--manifest fwbad2 --out never.json 2>&1",
			    dir, OVMF_VARS, bin_path("pcrpredict")),
			 2);
	assert_non_null(strstr(out, OVMF_VARS));
	free(out);
	/* a GPT that is there but broken is refused, not taken for no GPT */
	assert_int_equal(sh(&out,
			    "cd %s && truncate -s 8M gptbad.img && "
			    "printf 'label: gpt\n,,U\n' | sfdisk -q gptbad.img && "
			    "printf X | dd of=gptbad.img bs=1 seek=600 conv=notrunc 2>/dev/null && "
			    "printf 'boot.disk = gptbad.img\n' > fwbad3 && %s build "
			    "--manifest fwbad3 --out never.json 2>&1",
			    dir, bin_path("pcrpredict")),
			 2);
	assert_non_null(strstr(out, "gptbad.img: GPT header CRC does not match"));
	free(out);
	snprintf(never, sizeof(never), "%s/never.json", dir);
	assert_int_not_equal(access(never, F_OK), 0);
}

/*
 * The same prediction as systemd .pcrlock files: every record of every file,
 * folded in systemd-pcrlock's order by jq, xxd and openssl alone
 * (tests/harness/pcrlock-fold.sh), gives the PCRs the recorded guest read.
 */
static void test_pcrlock_files_fold_to_the_recorded_guest(void **state)
{
	static const unsigned pcrs[] = {0, 1, 2, 3, 5, 6, 7};
	static const char *const banks[] = {"sha256", "sha1"};
	char cwd[4096], *out = NULL;

	(void)state;
	SKIP_WITHOUT_OVMF();
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(
		sh(NULL,
		   "cd %s && truncate -s 8M fat2.img && mkfs.vfat fat2.img >/dev/null && "
		   "printf 'banks = sha256,sha1\\nfirmware.code = %s\\n"
		   "firmware.profile = %s/tests/data/ovmf-q35.profile.json\\n"
		   "secureboot.vars = %s\\nboot.disk = fat2.img\\n' > pl.manifest && "
		   "rm -rf pl pl2 && %s build --manifest pl.manifest --out pl.json --pcrlock pl "
		   "2>/dev/null && %s pcrlock pl.json pl2 >/dev/null && diff -r pl pl2",
		   dir, OVMF_CODE, cwd, OVMF_VARS, bin_path("pcrpredict"), bin_path("pcrpredict")),
		0);
	/* systemd's well-known names where it has them */
	assert_int_equal(sh(&out, "cd %s/pl && ls", dir), 0);
	assert_string_equal(out,
			    "240-secureboot-policy.pcrlock\n250-firmware-code-early.pcrlock\n"
			    "250-firmware-config-early.pcrlock\n400-secureboot-separator.pcrlock\n"
			    "500-separator.pcrlock\n700-action-efi-exit-boot-services.pcrlock\n");
	free(out);
	for (size_t b = 0; b < 2; b++) {
		const struct hash_alg *alg = hash_alg_by_name(banks[b]);
		struct pcr_bank want;
		char path[128], hex[2 * DIGEST_MAX + 1];

		snprintf(path, sizeof(path), "tests/data/ovmf-grub.pcrs-%s", banks[b]);
		assert_int_equal(guest_pcrs_load(path, alg, &want), 0);
		for (size_t i = 0; i < sizeof(pcrs) / sizeof(pcrs[0]); i++) {
			assert_int_equal(
				sh(&out,
				   "tests/harness/pcrlock-fold.sh %u %s $(ls %s/pl/*.pcrlock | "
				   "sort)",
				   pcrs[i], banks[b], dir),
				0);
			out[strcspn(out, "\n")] = '\0';
			hex_encode(want.value[pcrs[i]], alg->size, hex);
			if (strcmp(out, hex) != 0)
				fail_msg("%s PCR %u: folded %s, the guest read %s", banks[b],
					 pcrs[i], out, hex);
			free(out);
		}
	}
}

static void test_pcrlock_refusals(void **state)
{
	char *out = NULL, path[128];

	(void)state;
	/* PCR 0-7 of the fixture came from a reference boot's log: said, not written */
	assert_int_equal(sh(&out, "cd %s && rm -rf pl3 && %s pcrlock ref.json pl3 && ls pl3", dir,
			    bin_path("pcrpredict")),
			 0);
	assert_non_null(strstr(out, "PCR 0: not written: predicted without events"));
	/* (GRUB reads the fixture's files from its memdisk: nothing in PCR 9) */
	assert_non_null(strstr(out, "660-grub-commands.pcrlock\n760-measured-rootfs.pcrlock"));
	assert_null(strstr(out, "250-firmware"));
	free(out);
	assert_int_equal(sh(&out, "tests/harness/pcrlock-fold.sh 13 sha256 %s/pl3/*.pcrlock", dir),
			 0);
	out[strcspn(out, "\n")] = '\0';
	assert_string_equal(out, pcr_of(doc, "sha256", "13"));
	free(out);
	/* events out of the order systemd-pcrlock sorts the files in: refused, nothing written */
	assert_int_equal(sh(&out,
			    "cd %s && z=$(printf %%064d 0) && jq --arg z $z '.components.boot = "
			    "{events: [{pcr: 5, type: \"EV_EFI_ACTION\", what: \"a\", digests: "
			    "{sha256: $z}}, {pcr: 5, type: \"EV_EFI_GPT_EVENT\", what: \"b\", "
			    "digests: {sha256: $z}}]}' ref.json > order.json && "
			    "%s pcrlock order.json pl4 2>&1",
			    dir, bin_path("pcrpredict")),
			 2);
	assert_non_null(strstr(out, "order.json: components.boot event 2 (PCR 5): belongs in "
				    "600-gpt.pcrlock, which systemd-pcrlock sorts before "
				    "700-action-efi-exit-boot-services.pcrlock"));
	free(out);
	snprintf(path, sizeof(path), "%s/pl4", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(sh(&out, "%s pcrlock tests/data/ovmf-q35.profile.json %s/pl5 2>&1",
			    bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "not a reference document"));
	free(out);
}

static void test_bad_manifests(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(
		sh(NULL, "cd %s && printf 'banks = sha256\\nrootfs.size = 3\\n' > bad1", dir), 0);
	assert_int_equal(sh(&out, "%s build --manifest %s/bad1 2>&1", bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "bad1:2: unknown key \"rootfs.size\""));
	free(out);
	assert_int_equal(sh(NULL,
			    "cd %s && printf 'rootfs = rootfs.img\\nseal.pcrs = sha256:0,13\\n' > "
			    "bad2",
			    dir),
			 0);
	assert_int_equal(sh(&out, "%s build --manifest %s/bad2 2>&1", bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "sha256 PCR 0"));
	free(out);
	assert_int_equal(sh(NULL, "cd %s && printf 'rootfs = missing.img\\n' > bad3", dir), 0);
	assert_int_equal(sh(&out, "%s build --manifest %s/bad3 --out %s/never.json 2>&1",
			    bin_path("pcrpredict"), dir, dir),
			 2);
	assert_non_null(strstr(out, "missing.img"));
	char never[128];
	snprintf(never, sizeof(never), "%s/never.json", dir);
	assert_int_not_equal(access(never, F_OK), 0); /* nothing written on failure */
	free(out);
	assert_int_equal(sh(NULL, "cd %s && printf 'this line has no equals sign\\n' > bad4", dir),
			 0);
	assert_int_equal(sh(&out, "%s build --manifest %s/bad4 2>&1", bin_path("pcrpredict"), dir),
			 2);
	assert_non_null(strstr(out, "bad4:1"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_firmware_pcrs_equal_recorded_replay),
		cmocka_unit_test(test_rootfs_pcr_equals_tpm_extend_of_veritysetup_root),
		cmocka_unit_test(test_seal_policy_equals_tpm2_tools),
		cmocka_unit_test(test_cbor_holds_the_same),
		cmocka_unit_test(test_bad_manifests),
		cmocka_unit_test(test_firmware_from_files_equals_the_recorded_guest),
		cmocka_unit_test(test_boot_application_pcr4_equals_pesign_and_openssl),
		cmocka_unit_test(test_files_and_log_say_which_pcr_came_from_which),
		cmocka_unit_test(test_bad_firmware_manifests),
		cmocka_unit_test(test_pcrlock_files_fold_to_the_recorded_guest),
		cmocka_unit_test(test_pcrlock_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
