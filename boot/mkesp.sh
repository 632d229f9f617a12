#!/bin/sh
# Builds the EFI system partition image: a standalone GRUB EFI binary with the
# tpm module built in and grub.cfg in its memdisk, the kernel, the initramfs
# and tboot.gz. Also writes the memdisk's tree next to it (for pcrpredict grub
# --memdisk) and the grub.cfg it used.
#
# usage: mkesp.sh --kernel VMLINUZ --initrd INITRD --out ESP.img --cmdline "..."
#                 [--default 0|1] [--tboot /boot/tboot.gz] [--gpt]
# --gpt: a whole disk with a GPT whose one partition (the EFI System
# Partition, fixed GUIDs) holds the file system, as installers make it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kernel= initrd= out= cmdline= default=0 tboot=/boot/tboot.gz gpt=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--cmdline) cmdline=$2; shift 2 ;;
	--default) default=$2; shift 2 ;;
	--tboot) tboot=$2; shift 2 ;;
	--gpt) gpt=1; shift ;;
	*) echo "mkesp: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$kernel" ] && [ -n "$initrd" ] && [ -n "$out" ] || { echo "mkesp: needs --kernel, --initrd, --out" >&2; exit 2; }
# built in, so that insmod reads no file (pcrpredict's --preloaded default)
modules="tpm part_gpt part_msdos fat linux linuxefi multiboot2 gzio chain search search_fs_file echo normal"
grubdir=/usr/lib/grub/x86_64-efi
base=${out%.img}
cfg=$base.grub.cfg
sed -e "s|@CMDLINE@|$cmdline|g" -e "s|@DEFAULT@|$default|g" "$here/grub.cfg.in" >"$cfg"
# the memdisk as GRUB sees it: (memdisk)/boot/grub/...
rm -rf "$base.memdisk"
mkdir -p "$base.memdisk/boot/grub"
cp "$cfg" "$base.memdisk/boot/grub/grub.cfg"
ln -s "$grubdir" "$base.memdisk/boot/grub/x86_64-efi"
grub-mkstandalone -O x86_64-efi --modules="$modules" --locales= --themes= --fonts= \
	-o "$base.BOOTX64.EFI" "boot/grub/grub.cfg=$cfg"
rm -f "$out.tmp"
truncate -s 64M "$out.tmp"
mkfs.vfat -F 32 -i 6d656173 -n MEASURED "$out.tmp" >/dev/null
mmd -i "$out.tmp" ::/EFI ::/EFI/BOOT
mcopy -i "$out.tmp" "$base.BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out.tmp" "$kernel" ::/vmlinuz
mcopy -i "$out.tmp" "$initrd" ::/initrd.img
[ ! -f "$tboot" ] || mcopy -i "$out.tmp" "$tboot" ::/tboot.gz
if [ -n "$gpt" ]; then
	rm -f "$out.disk"
	truncate -s 66M "$out.disk"
	printf 'label: gpt\nlabel-id: 6D656173-7572-6564-0000-000000000001\n%s\n' \
		'start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=6D656173-7572-6564-0000-0000000000E5, name="EFI System"' |
		sfdisk -q "$out.disk" >/dev/null
	dd if="$out.tmp" of="$out.disk" bs=512 seek=2048 conv=notrunc status=none
	rm -f "$out.tmp"
	mv "$out.disk" "$out.tmp"
fi
mv "$out.tmp" "$out"
# the boot partition's files as GRUB sees them, for pcrpredict grub --root
rm -rf "$base.root"
mkdir -p "$base.root"
cp "$kernel" "$base.root/vmlinuz"
cp "$initrd" "$base.root/initrd.img"
[ ! -f "$tboot" ] || cp "$tboot" "$base.root/tboot.gz"
