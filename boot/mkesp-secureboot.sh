#!/bin/sh
# Builds an EFI system partition for a distribution's Secure Boot chain:
# a signed shim as the removable-media BOOTX64.EFI, the signed GRUB next to it
# (grubx64.efi, which shim loads), grub.cfg where Debian's signed GRUB looks
# for it (/EFI/debian), the signed kernel and the initramfs.
#
# usage: mkesp-secureboot.sh --shim SHIM.efi --grub GRUB.efi --kernel VMLINUZ
#                            --initrd INITRD --cmdline "..." --out ESP.img
set -eu
shim= grub= kernel= initrd= cmdline= out=
while [ $# -gt 0 ]; do
	case $1 in
	--shim) shim=$2; shift 2 ;;
	--grub) grub=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--cmdline) cmdline=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "mkesp-secureboot: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$shim" ] && [ -n "$grub" ] && [ -n "$kernel" ] && [ -n "$initrd" ] && [ -n "$out" ] ||
	{ echo "mkesp-secureboot: needs --shim, --grub, --kernel, --initrd, --out" >&2; exit 2; }
cfg=${out%.img}.grub.cfg
sed "s|@CMDLINE@|$cmdline|g" "$(dirname "$0")/grub-secureboot.cfg.in" >"$cfg"
rm -f "$out.tmp"
truncate -s 64M "$out.tmp"
mkfs.vfat -F 32 -i 6d656173 -n MEASURED "$out.tmp" >/dev/null
mmd -i "$out.tmp" ::/EFI ::/EFI/BOOT ::/EFI/debian
mcopy -i "$out.tmp" "$shim" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out.tmp" "$grub" ::/EFI/BOOT/grubx64.efi
mcopy -i "$out.tmp" "$cfg" ::/EFI/debian/grub.cfg
mcopy -i "$out.tmp" "$kernel" ::/vmlinuz
mcopy -i "$out.tmp" "$initrd" ::/initrd.img
mv "$out.tmp" "$out"
