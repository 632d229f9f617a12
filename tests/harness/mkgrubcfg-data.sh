#!/bin/sh
# Regenerates tests/data/grub-mkconfig*.cfg and grub-mkconfig-saved.grubenv
# (tests/data/README.md): Debian's /etc/grub.d scripts through mkgrubcfg.sh,
# the grubenv by grub-editenv. Run from the repository root, as root.
set -eu
v=6.1.0-measured-amd64
cmdline=${1:-console=ttyS0 panic=-1}
out=${2:-tests/data}
sh tests/harness/mkgrubcfg.sh "$out/grub-mkconfig.cfg" $v "GRUB_CMDLINE_LINUX=$cmdline"
sh tests/harness/mkgrubcfg.sh "$out/grub-mkconfig-saved.cfg" $v GRUB_DEFAULT=saved GRUB_SAVEDEFAULT=true \
	"GRUB_CMDLINE_LINUX=$cmdline measured.note=\"a b\"" GRUB_CMDLINE_LINUX_DEFAULT=quiet
rm -f "$out/grub-mkconfig-saved.grubenv"
grub-editenv "$out/grub-mkconfig-saved.grubenv" create
grub-editenv "$out/grub-mkconfig-saved.grubenv" set \
	"saved_entry=gnulinux-advanced-6D65-6173>gnulinux-$v-recovery-6D65-6173"
