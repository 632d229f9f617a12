#!/bin/sh
# make demo DEMO=secureboot: Debian's own Secure Boot chain -- OVMF's secboot
# build with Microsoft's keys -> signed shim -> signed GRUB -> signed kernel
# -> measured-init -> rootfs -- with every PCR that the artifacts determine
# predicted before the boot, from those files alone, then booted and compared.
set -u
E2E_WORK=build/demo-secureboot
. boot/qemu-lib.sh
pp=$E2E_BIN/pcrpredict
say() { printf '\n== %s\n' "$*"; }

say "1/4 artifacts: Debian's signed shim, GRUB and kernel (downloaded, not installed), OVMF, our initramfs and rootfs"
e2e_artifacts || exit 1
efi=$(tests/harness/fetch-efi.sh build/cache) || exit 1
shim=$efi/usr/lib/shim/shimx64.efi.signed
grub=$efi/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
vars=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
boot/mkesp-secureboot.sh --shim "$shim" --grub "$grub" --kernel "$E2E_VMLINUZ" \
	--initrd "$E2E_WORK/initrd.gz" --cmdline "$E2E_CMDLINE" --out "$E2E_WORK/esp.img" || exit 1
mkdir -p "$E2E_WORK/root" && cp "$E2E_VMLINUZ" "$E2E_WORK/root/vmlinuz" && cp "$E2E_WORK/initrd.gz" "$E2E_WORK/root/initrd.img"

say "2/4 prediction, before the boot: pcrpredict build, from the files alone"
# PCR 0-3, 6 from OVMF's secboot build and, for what no file holds, the q35+SMM
# platform profile (tests/data/README.md); PCR 4 from shim, GRUB and the kernel
# (each started through LoadImage; the kernel measured twice, by shim's
# LoadImage and the EFI stub's), 5 from the ESP disk, 7 and 14 from the
# Microsoft-keys varstore and the signed images, 8 and 9 from grub.cfg after
# the signed GRUB's embedded config, 13 from the rootfs
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
cat >"$E2E_WORK/build.manifest" <<MANIFEST
banks = sha256,sha1
firmware.code = /usr/share/OVMF/OVMF_CODE_4M.secboot.fd
firmware.profile = ../../tests/data/ovmf-q35-smm.profile.json
secureboot.vars = $vars
secureboot.shim = $(abs "$shim")
secureboot.grub = $(abs "$grub")
secureboot.kernel = $E2E_VMLINUZ
boot.application = $(abs "$shim")
boot.application = $(abs "$grub")
boot.application = $E2E_VMLINUZ
boot.application = $E2E_VMLINUZ
boot.disk = esp.img
grub.config = esp.grub.cfg
grub.root = root
grub.config-name = (hd0)/EFI/debian/grub.cfg
grub.preamble = ../../policies/grub-debian-signed.preamble
rootfs = rootfs.img
MANIFEST
ref=$E2E_WORK/reference.json
rm -rf "$E2E_WORK/pcrlock"
"$pp" build --manifest "$E2E_WORK/build.manifest" --out "$ref" --pcrlock "$E2E_WORK/pcrlock" 2>/dev/null || exit 1
echo "    $ref, and as systemd .pcrlock files: $(cd "$E2E_WORK/pcrlock" && echo *)"
jq -r '.components.secureboot.events[] | "    PCR \(.pcr)  \(.type)  \(.what)"' "$ref"
jq -r '.components.boot.events[] | select(.pcr == 4) | "    PCR 4  \(.type)  \(.what)"' "$ref"
echo "    from the platform profile (no file holds it):"
jq -r '.components.firmware.events[] | select(.what | contains("platform profile")) |
	"    PCR \(.pcr) \(.type): \(.what | sub("^from [^:]*: "; "") | if length > 150 then .[0:60] + " .. " + .[-86:] else . end)"' "$ref"

say "3/4 boot"
cp "$vars" "$E2E_WORK/vars.fd"
boot secureboot -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
	-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd \
	-drive if=pflash,format=raw,file="$E2E_WORK/vars.fd" \
	-drive file="$E2E_WORK/esp.img",if=none,id=esp,format=raw -device ide-hd,drive=esp,bootindex=0 \
	-drive file="$E2E_WORK/rootfs.img",if=none,id=root,format=raw,readonly=on -device virtio-blk-pci,drive=root ||
	{ echo "demo: boot failed, see $E2E_WORK/secureboot/console.log"; exit 1; }
grep -q "Secure boot enabled" "$E2E_WORK/secureboot/console.log" && echo "    the kernel: Secure boot enabled"

say "4/4 chain report"
bad=0
printf '%-4s %-7s %-18s %-18s %-8s %s\n' PCR bank predicted observed verdict from
for bank in sha256 sha1; do
	for pcr in $(jq -r ".pcrs.$bank | keys[]" "$ref" | sort -n); do
		want=$(jq -r ".pcrs.${bank}[\"$pcr\"]" "$ref")
		have=$(guest_pcr "$E2E_REP" $bank "$pcr")
		case $pcr in
		[0-3] | 6) src="OVMF_CODE_4M.secboot.fd + q35/SMM profile" ;;
		4) src="Authenticode of shim, GRUB, the kernel (twice)" ;;
		5) src="the ESP disk (no GPT) + ExitBootServices" ;;
		7 | 14) src="Microsoft-keys varstore + signed images" ;;
		8 | 9) src="grub.cfg after the signed GRUB's embedded config" ;;
		13) src="rootfs image (measured-init)" ;;
		*) src="" ;;
		esac
		v=MATCH
		[ -n "$want" ] && [ "$want" = "$have" ] || { v=DIFFERS; bad=$((bad + 1)); }
		printf '%-4s %-7s %.16s.. %.16s.. %-8s %s\n' "$pcr" $bank "$want" "$have" $v "$src"
	done
	n=0 ok=0
	for pcr in $(jq -r ".pcrs.$bank | keys[]" "$ref"); do
		n=$((n + 1))
		# shellcheck disable=SC2046 # one word per file, in systemd-pcrlock's order
		[ "$(tests/harness/pcrlock-fold.sh "$pcr" $bank $(ls "$E2E_WORK"/pcrlock/*.pcrlock | sort))" = "$(guest_pcr "$E2E_REP" $bank "$pcr")" ] && ok=$((ok + 1))
	done
	if [ $ok -eq $n ]; then v=MATCH; else v=DIFFERS; bad=$((bad + 1)); fi
	printf '%-4s %-7s %-37s %-8s %s\n' lock $bank "$ok/$n PCRs from the .pcrlock files" $v "each PCR's records folded with openssl equal the booted PCR"
done
if [ $bad -ne 0 ]; then
	"$pp" diff "$ref" "$E2E_REP/firmware.log" | grep differs
fi
echo "    nothing from a reference boot of this chain; from the platform profile only PlatformPei's"
echo "    run-time platform info in PEIFV, BootOrder and the disk's boot option (QEMU's answers)"
if [ $bad -eq 0 ]; then echo "VERDICT: every PCR was predicted before the boot, from the files, and holds"; else echo "VERDICT: $bad differ"; exit 1; fi
