#!/bin/sh
# make demo: build the chain, predict every PCR from the artifacts, boot it
# (OVMF -> GRUB -> kernel -> measured-init -> rootfs, swtpm as the TPM) and
# print predicted against observed, PCR by PCR.  The device then runs cmld:
# a container whose LUKS2 key was sealed to the *predicted* PCRs starts.
set -u
E2E_WORK=build/demo
. boot/qemu-lib.sh
pp=$E2E_BIN/pcrpredict
attest=$E2E_BIN/attest
say() { printf '\n== %s\n' "$*"; }

say "1/4 artifacts: Debian's kernel, the measured initramfs, a reproducible rootfs with cmld, the ESP"
e2e_artifacts || exit 1
cml_artifacts || exit 1
img=$E2E_WORK/rootfs-cml.img
# the rootfs runs cmld (tests/e2e/guest/cml.sh) on a state disk, vdb; the report goes to vdc
cmdline="$E2E_CMDLINE measured.report=/dev/vdc measured.run=/etc/e2e/cml.sh e2e.gos=$CML_GOS_GUEST e2e.phase=demo"
boot/mkesp.sh --kernel "$E2E_VMLINUZ" --initrd "$E2E_INITRD" --out "$E2E_WORK/esp.img" \
	--cmdline "$cmdline" --default 0 || exit 1
state_disk() { # state_disk NAME [FILE]: an ext4 disk holding FILE, as qemu arguments
	rm -rf "$E2E_WORK/$1.files" "$E2E_WORK/$1.img" && mkdir -p "$E2E_WORK/$1.files"
	[ -z "${2:-}" ] || cp "$2" "$E2E_WORK/$1.files/"
	truncate -s 256M "$E2E_WORK/$1.img"
	mkfs.ext4 -q -F -d "$E2E_WORK/$1.files" "$E2E_WORK/$1.img"
	echo "-drive file=$E2E_WORK/$1.img,if=none,id=state,format=raw -device virtio-blk-pci,drive=state"
}

say "2/4 prediction, before any boot: pcrpredict build"
# PCR 0-3, 6 from OVMF_CODE (its firmware volumes, the boot options of its own
# applications, the NIC's option ROM) and, for what no file holds, the q35
# platform profile (tests/data/README.md); PCR 4 from GRUB's EFI image, 5 from
# the ESP disk, 7 from the varstore -- no reference boot
cat >"$E2E_WORK/build.manifest" <<MANIFEST
banks = sha256,sha1
rootfs = rootfs-cml.img
firmware.code = /usr/share/OVMF/OVMF_CODE_4M.fd
firmware.profile = ../../tests/data/ovmf-q35.profile.json
secureboot.vars = /usr/share/OVMF/OVMF_VARS_4M.fd
boot.application = esp.BOOTX64.EFI
boot.disk = esp.img
grub.config = esp.grub.cfg
grub.root = esp.root
grub.memdisk = esp.memdisk
seal.profile = ../../policies/seal-boot.profile
MANIFEST
rm -rf "$E2E_WORK/pcrlock"
"$pp" build --manifest "$E2E_WORK/build.manifest" --out "$E2E_WORK/reference.json" \
	--out-cbor "$E2E_WORK/reference.cbor" --pcrlock "$E2E_WORK/pcrlock" 2>/dev/null || exit 1
echo "    $E2E_WORK/reference.json, and as systemd .pcrlock files: $(cd "$E2E_WORK/pcrlock" && echo *)"
echo "    what comes from the platform profile (no file holds it), and why:"
jq -r '.components.firmware.events[] | select(.what | contains("platform profile")) |
	"    PCR \(.pcr) \(.type): \(.what | sub("^from [^:]*: "; "") | if length > 150 then .[0:60] + " .. " + .[-86:] else . end)"' "$E2E_WORK/reference.json"
jq -r '.notes[] | "    note: \(.)"' "$E2E_WORK/reference.json"

say "3/4 boot: the device; cmld seals a new container's key to reference.json's PCRs and starts it"
# shellcheck disable=SC2046
boot_uefi device "$E2E_WORK/esp.img" "$img" $(state_disk device-state "$E2E_WORK/reference.json") || { echo "demo: boot failed, see $E2E_WORK/device/console.log"; exit 1; }
rep=$E2E_REP

say "4/4 chain report"
ref=$E2E_WORK/reference.json
bad=0
printf '%-4s %-7s %-18s %-18s %s\n' PCR bank predicted observed verdict
for bank in sha256 sha1; do
	for pcr in $(jq -r ".pcrs.$bank | keys[]" "$ref" | sort -n); do
		want=$(jq -r ".pcrs.${bank}[\"$pcr\"]" "$ref")
		got=$(guest_pcr "$rep" $bank "$pcr")
		case $pcr in
		[0-3] | 6) from="OVMF_CODE + q35 platform profile" ;;
		4) from="Authenticode of GRUB's BOOTX64.EFI" ;;
		5) from="the ESP disk (no GPT) + ExitBootServices" ;;
		7) from="the varstore (OVMF_VARS_4M.fd)" ;;
		8) from="GRUB commands (grub.cfg)" ;;
		9) from="GRUB files (kernel, initramfs)" ;;
		13) from="rootfs image (measured-init)" ;;
		*) from="" ;;
		esac
		if [ "$want" = "$got" ]; then v=MATCH; else v=MISMATCH; bad=$((bad + 1)); fi
		printf '%-4s %-7s %-18s %-18s %-8s %s\n' "$pcr" $bank "$(echo "$want" | cut -c1-16).." \
			"$(echo "$got" | cut -c1-16).." $v "$from"
	done
done
# the .pcrlock files, folded by jq, xxd and openssl alone (none of our code)
for bank in sha256 sha1; do
	n=0 ok=0
	for pcr in $(jq -r ".pcrs.$bank | keys[]" "$ref" | sort -n); do
		n=$((n + 1))
		# shellcheck disable=SC2046 # one word per file, in systemd-pcrlock's order
		[ "$(tests/harness/pcrlock-fold.sh "$pcr" $bank $(ls "$E2E_WORK"/pcrlock/*.pcrlock | sort))" = "$(guest_pcr "$rep" $bank "$pcr")" ] && ok=$((ok + 1))
	done
	if [ $ok -eq $n ]; then v=MATCH; else v=MISMATCH; bad=$((bad + 1)); fi
	printf '%-4s %-7s %-37s %-8s %s\n' lock $bank "$ok/$n PCRs from the .pcrlock files" $v "each PCR's records folded with openssl equal the booted PCR"
done
ima=$("$attest" log --json --format ima --banks sha256 "$rep/ima.log")
n=$(printf '%s\n' "$ima" | jq '[.events[] | select(.path != "boot_aggregate")] | length')
# every file the IMA list names that the rootfs reference knows must have its
# digest; the rest were read from outside the rootfs (cmld's state disk, the
# container's GuestOS and data)
printf '%s\n' "$ima" | jq -r '.events[] | select(.path != "boot_aggregate") | "\(.path) \(.digest)"' |
	while read -r path digest; do
		r=$(jq -r --arg p "$path" '.ima.files[$p] // empty' "$ref")
		if [ -z "$r" ]; then echo other; elif [ "$r" = "$digest" ]; then echo known; else echo "wrong $path"; fi
	done >"$E2E_WORK/ima-verdicts"
known=$(grep -c '^known' "$E2E_WORK/ima-verdicts")
other=$(grep -c '^other' "$E2E_WORK/ima-verdicts")
wrong=$(grep -c '^wrong' "$E2E_WORK/ima-verdicts")
replay=$(printf '%s\n' "$ima" | jq -r '.pcrs.sha256["10"]')
agg_ok=no
[ "$(printf '%s\n' "$ima" | jq -r '.events[0].digest')" = "$(jq -r .ima.boot_aggregate.sha256 "$ref")" ] && agg_ok=yes
if [ "$replay" = "$(guest_pcr "$rep" sha256 10)" ] && [ "$wrong" -eq 0 ] && [ "$known" -gt 0 ] && [ $agg_ok = yes ]; then v=MATCH; else v=MISMATCH; bad=$((bad + 1)); fi
printf '%-4s %-7s %-37s %-8s %s\n' 10 sha256 "IMA: $known/$n rootfs files as predicted" $v "log replays to PCR 10, boot_aggregate as predicted: $agg_ok; $other read from outside the rootfs, $wrong differ"
observed=$E2E_WORK/observed.json
{
	printf '{"pcrs":{"sha256":{'
	sep=
	for i in $(seq 0 23); do printf '%s"%s":"%s"' "$sep" $i "$(guest_pcr "$rep" sha256 $i)"; sep=,; done
	printf '}}}\n'
} >"$observed"
sel=$(jq -r .seal.pcrs "$ref")
sealed=$(jq -r .seal.policy "$ref")
now=$("$pp" policy --pcrs "$sel" --values "$observed")
if [ "$sealed" = "$now" ]; then v=MATCH; else v=MISMATCH; bad=$((bad + 1)); fi
printf '%-4s %-7s %-37s %-8s %s\n' seal sha256 "$(echo "$sealed" | cut -c1-16).. ($sel)" $v "a key sealed to the prediction unseals on this boot"
if grep -q CONTAINER_START_OK "$rep/start.out" 2>/dev/null && grep -q TOPSECRET "$rep/read.out" 2>/dev/null &&
	grep -q "^/dev/mapper/cml-" "$rep/read.out"; then v=MATCH; else v=MISMATCH; bad=$((bad + 1)); fi
printf '%-4s %-7s %-37s %-8s %s\n' cml LUKS2 "$(head -1 "$rep/start.out" 2>/dev/null)" $v "container sealed to the predicted PCRs started, its dm-crypt volume mounted"
echo
if [ $bad -eq 0 ]; then
	echo "VERDICT: every predicted PCR holds on the booted chain."
else
	echo "VERDICT: $bad mismatches."
fi
cat <<TEXT

artifacts:
  kernel        $E2E_VMLINUZ
  initramfs     $E2E_WORK/initrd.gz
  rootfs        $img
  ESP (GRUB)    $E2E_WORK/esp.img   grub.cfg: $E2E_WORK/esp.grub.cfg
  manifest      $E2E_WORK/build.manifest
  reference     $ref (and .cbor)
  guest report  $rep/ (PCRs, firmware log, IMA list, CEL log, cmld.log, start.out)
  console       $E2E_WORK/device/console.log
TEXT
[ $bad -eq 0 ]
