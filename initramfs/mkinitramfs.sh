#!/bin/sh
# Builds the measured initramfs: measured-init as /init, the kernel modules it
# loads (with their dependencies from modules.dep, in load order), the shared
# libraries it needs -- including the TCTI that tpm2-tss loads at run time --
# and the IMA policy. Reproducible: fixed mtimes, sorted cpio, gzip -n.
# The default modules include loop and dm_verity: measured-init maps a verity
# root (the default mode) through dm-verity over an in-memory hash tree.
#
# usage: mkinitramfs.sh --kernel DIR --init BIN --out FILE [--modules "m1 m2"] [--ima-policy FILE]
set -eu

kernel= init= out= ima_policy=
modules="virtio_pci virtio_blk crc32c_generic ext4 overlay loop dm_verity"
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--init) init=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--modules) modules=$2; shift 2 ;;
	--ima-policy) ima_policy=$2; shift 2 ;;
	*) echo "mkinitramfs: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$kernel" ] && [ -n "$init" ] && [ -n "$out" ] || { echo "mkinitramfs: needs --kernel, --init, --out" >&2; exit 2; }
[ -x "$init" ] || { echo "mkinitramfs: $init is not an executable" >&2; exit 2; }
ver=$(ls "$kernel/lib/modules" | head -1)
moddir=$kernel/lib/modules/$ver
[ -f "$moddir/modules.dep" ] || { echo "mkinitramfs: no $moddir/modules.dep (run depmod -b)" >&2; exit 2; }
epoch=${SOURCE_DATE_EPOCH:-1700000000}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/etc/measured" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" "$stage/newroot"
mknod -m 600 "$stage/dev/console" c 5 1

# modules: dependencies first, each once
ordered=$stage/.order
: >"$ordered"
path_of() { # module name -> its modules.dep path (kernel/...)
	n=$(echo "$1" | tr '-' '_')
	awk -F: -v n="$n" '{ p = $1; b = p; sub(/.*\//, "", b); sub(/\.ko.*$/, "", b); gsub(/-/, "_", b);
		if (b == n) { print p; exit } }' "$moddir/modules.dep"
}
add_module() { # path relative to moddir
	grep -qxF "$1" "$ordered" && return 0
	deps=$(awk -F: -v p="$1" '$1 == p { print $2; exit }' "$moddir/modules.dep")
	for d in $deps; do add_module "$d"; done
	echo "$1" >>"$ordered"
}
for m in $modules; do
	p=$(path_of "$m")
	if [ -z "$p" ]; then
		# built into this kernel (modules.builtin) is fine; unknown is not
		grep -q "/$(echo "$m" | tr '-' '_').ko" "$moddir/modules.builtin" 2>/dev/null ||
			grep -q "/$m.ko" "$moddir/modules.builtin" 2>/dev/null ||
			{ echo "mkinitramfs: no module $m in $moddir" >&2; exit 2; }
		continue
	fi
	add_module "$p"
done
while read -r p; do
	mkdir -p "$stage/lib/modules/$ver/$(dirname "$p")"
	cp "$moddir/$p" "$stage/lib/modules/$ver/$p"
	echo "/lib/modules/$ver/$p" >>"$stage/etc/measured/modules"
done <"$ordered"
rm "$ordered"
touch "$stage/etc/measured/modules"

# /init and every library it (and the device TCTI, dlopen'ed by tctildr) needs
cp "$init" "$stage/init"
tcti=$(ls /usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0 /lib/x86_64-linux-gnu/libtss2-tcti-device.so.0 2>/dev/null | head -1)
[ -n "$tcti" ] || { echo "mkinitramfs: libtss2-tcti-device.so.0 not found" >&2; exit 2; }
for f in "$init" "$tcti"; do
	ldd "$f" | awk '/=>/ { print $3 } /^\t\/.*ld-linux/ { print $1 }'
	echo "$f"
done | sort -u | while read -r lib; do
	[ -e "$lib" ] || continue
	[ "$lib" = "$init" ] && continue
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done
# tctildr looks the TCTI up by its short name too
ln -sf "$(basename "$tcti")" "$stage$(dirname "$tcti")/libtss2-tcti-device.so"
[ -z "$ima_policy" ] || cp "$ima_policy" "$stage/etc/measured/ima-policy"

find "$stage" -exec touch -h -d "@$epoch" {} +
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet -R 0:0) | gzip -9 -n >"$out.tmp"
mv "$out.tmp" "$out"
