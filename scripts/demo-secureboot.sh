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

say "2/4 prediction, before the boot"
pred() { printf '%s' "$1" | jq -r ".pcrs.$2[\"$3\"] // empty"; }
sb=$("$pp" secureboot --banks sha256,sha1 --json --vars "$vars" --shim "$shim" --grub "$grub" --kernel "$E2E_VMLINUZ") || exit 1
gr=$("$pp" grub --banks sha256,sha1 --json --config "$E2E_WORK/esp.grub.cfg" --root "$E2E_WORK/root" \
	--config-name '(hd0)/EFI/debian/grub.cfg' --preamble policies/grub-debian-signed.preamble) || exit 1
rf=$("$pp" rootfs --banks sha256,sha1 --json "$E2E_WORK/rootfs.img") || exit 1
printf '%s\n' "$sb" | jq -r '.events[] | "    PCR \(.pcr)  \(.type)  \(.what)"'
"$pp" pe "$shim" "$grub" "$E2E_VMLINUZ" | sed 's/^/    PCR 4  Authenticode /'

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
	for row in "7 secureboot" "8 grub" "9 grub" "13 rootfs" "14 secureboot"; do
		pcr=${row% *} src=${row#* }
		case $src in secureboot) want=$(pred "$sb" $bank $pcr) ;; grub) want=$(pred "$gr" $bank $pcr) ;;
		rootfs) want=$(printf '%s' "$rf" | jq -r ".banks.$bank.pcr") ;; esac
		have=$(guest_pcr "$E2E_REP" $bank $pcr)
		v=MATCH
		[ -n "$want" ] && [ "$want" = "$have" ] || { v=DIFFERS; bad=$((bad + 1)); }
		printf '%-4s %-7s %.16s.. %.16s.. %-8s %s\n' "$pcr" $bank "$want" "$have" $v "pcrpredict $src"
	done
done
apps=$("$E2E_BIN/attest" log --json "$E2E_REP/firmware.log" | jq -r '.events[] | select(.type_name == "EV_EFI_BOOT_SERVICES_APPLICATION") | .digests.sha256' | tr '\n' ' ')
want=$("$pp" pe --json "$shim" "$grub" "$E2E_VMLINUZ" | jq -r '.[].sha256' | tr '\n' ' ')
want="$want$(printf '%s' "$want" | cut -d' ' -f3) "
if [ "$apps" = "$want" ]; then echo "4    sha256  PCR 4's applications are shim, GRUB, the kernel (twice), by pcrpredict pe: MATCH"; else echo "4    PCR 4's applications differ: $apps"; bad=$((bad + 1)); fi
echo "    PCR 0-3, 5, 6 come from the platform (OVMF's firmware volumes, QEMU's tables): not predicted here"
if [ $bad -eq 0 ]; then echo "VERDICT: every PCR the artifacts determine was predicted before the boot and holds"; else echo "VERDICT: $bad differ"; exit 1; fi
