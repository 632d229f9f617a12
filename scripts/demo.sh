#!/bin/sh
# make demo: build the chain, predict every PCR from the artifacts, boot it
# (OVMF -> GRUB -> kernel -> measured-init -> rootfs, swtpm as the TPM) and
# print predicted against observed, PCR by PCR.
set -u
E2E_WORK=build/demo
. boot/qemu-lib.sh
pp=$E2E_BIN/pcrpredict
attest=$E2E_BIN/attest
say() { printf '\n== %s\n' "$*"; }

say "1/5 artifacts: Debian's kernel, the measured initramfs, a reproducible rootfs, the ESP"
e2e_artifacts || exit 1
img=$E2E_WORK/rootfs.img
boot/mkesp.sh --kernel "$E2E_VMLINUZ" --initrd "$E2E_WORK/initrd.gz" --out "$E2E_WORK/esp.img" \
	--cmdline "$E2E_CMDLINE" --default 0 || exit 1

say "2/5 platform reference: what this platform's firmware measures (PCR 0-7) comes from one"
echo "    reference boot's event log -- no build artifact holds it"
boot_uefi reference "$E2E_WORK/esp.img" "$img" || { echo "demo: reference boot failed, see $E2E_WORK/reference/console.log"; exit 1; }
cp "$E2E_WORK/reference/rep/firmware.log" "$E2E_WORK/platform-firmware.log"

say "3/5 prediction: pcrpredict build"
cat >"$E2E_WORK/build.manifest" <<MANIFEST
banks = sha256,sha1
rootfs = rootfs.img
firmware.log = platform-firmware.log
grub.config = esp.grub.cfg
grub.root = esp.root
grub.memdisk = esp.memdisk
seal.profile = ../../policies/seal-boot.profile
MANIFEST
"$pp" build --manifest "$E2E_WORK/build.manifest" --out "$E2E_WORK/reference.json" \
	--out-cbor "$E2E_WORK/reference.cbor" || exit 1
echo "    $E2E_WORK/reference.json"

say "4/5 boot: the device"
boot_uefi device "$E2E_WORK/esp.img" "$img" || { echo "demo: boot failed, see $E2E_WORK/device/console.log"; exit 1; }
rep=$E2E_REP

say "5/5 chain report"
ref=$E2E_WORK/reference.json
bad=0
printf '%-4s %-7s %-18s %-18s %s\n' PCR bank predicted observed verdict
for bank in sha256 sha1; do
	for pcr in $(jq -r ".pcrs.$bank | keys[]" "$ref" | sort -n); do
		want=$(jq -r ".pcrs.$bank[\"$pcr\"]" "$ref")
		got=$(guest_pcr "$rep" $bank "$pcr")
		case $pcr in
		[0-7]) from="firmware (platform reference)" ;;
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
ima=$("$attest" log --json --format ima --banks sha256 "$rep/ima.log")
n=$(printf '%s\n' "$ima" | jq '[.events[] | select(.path != "boot_aggregate")] | length')
known=$(printf '%s\n' "$ima" | jq -r '.events[] | select(.path != "boot_aggregate") | "\(.path) \(.digest)"' |
	while read -r path digest; do
		[ "$(jq -r --arg p "$path" '.ima.files[$p] // empty' "$ref")" = "$digest" ] && echo y
	done | wc -l)
replay=$(printf '%s\n' "$ima" | jq -r '.pcrs.sha256["10"]')
agg_ok=no
[ "$(printf '%s\n' "$ima" | jq -r '.events[0].digest')" = "$(jq -r .ima.boot_aggregate.sha256 "$ref")" ] && agg_ok=yes
if [ "$replay" = "$(guest_pcr "$rep" sha256 10)" ] && [ "$known" -eq "$n" ] && [ $agg_ok = yes ]; then v=MATCH; else v=MISMATCH; bad=$((bad + 1)); fi
printf '%-4s %-7s %-37s %-8s %s\n' 10 sha256 "IMA: $known/$n files in the reference" $v "log replays to PCR 10, boot_aggregate as predicted: $agg_ok"
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
  guest report  $rep/ (PCRs, firmware log, IMA list, CEL log)
  console       $E2E_WORK/device/console.log
TEXT
[ $bad -eq 0 ]
