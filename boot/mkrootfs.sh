#!/bin/sh
# Builds the root filesystem image without mounting anything (mke2fs -d), and
# reproducibly: fixed mtimes, UUID, hash seed and creation time, so two builds
# are byte-identical and measure to the same PCR 13.
#
# usage: mkrootfs.sh --out IMAGE [--size 64M] [--extra FILE=/path/in/image ...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out= size=64M extras=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--extra) extras="$extras $2"; shift 2 ;;
	*) echo "mkrootfs: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || { echo "mkrootfs: needs --out IMAGE" >&2; exit 2; }
busybox=/bin/busybox
[ -x $busybox ] && file -L $busybox 2>/dev/null | grep -q static || busybox=$(command -v busybox)
[ -x "$busybox" ] || { echo "mkrootfs: busybox-static is not installed" >&2; exit 2; }
epoch=${SOURCE_DATE_EPOCH:-1700000000}
uuid=6d656173-7572-6564-2d72-6f6f74667300

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/sbin" "$stage/etc" "$stage/proc" "$stage/sys" "$stage/dev" \
	"$stage/run" "$stage/tmp" "$stage/root" "$stage/usr/bin"
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
install -m 0755 "$here/rootfs/init" "$stage/sbin/init"
# nobody: the user cmld's control process and attestd's engine drop to
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
echo "measured" >"$stage/etc/hostname"
for e in $extras; do
	src=${e%%=*}
	dst=${e#*=}
	mkdir -p "$stage$(dirname "$dst")"
	cp "$src" "$stage$dst"
done
find "$stage" -exec touch -h -d "@$epoch" {} +
rm -f "$out.tmp"
E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -t ext4 -b 4096 -U "$uuid" -E "hash_seed=$uuid,root_owner=0:0" \
	-L measured-root -O ^metadata_csum_seed -d "$stage" "$out.tmp" "$size" >/dev/null
# mke2fs -d copies each file's ctime, which no one can set: pin them (and the
# root and lost+found directories) to the epoch too. Inodes are numbered in
# creation order from 12, so the used ones are 2, 11 and 12..used.
used=$(dumpe2fs -h "$out.tmp" 2>/dev/null | awk -F: '/^Inode count/ { n = $2 } /^Free inodes/ { f = $2 } END { print n - f }')
cmds=$(mktemp)
{
	echo "sif <2> ctime @$epoch"
	i=11
	while [ $i -le "$used" ]; do
		echo "sif <$i> ctime @$epoch"
		i=$((i + 1))
	done
} >"$cmds"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$cmds" "$out.tmp" >/dev/null 2>&1
rm -f "$cmds"
mv "$out.tmp" "$out"
