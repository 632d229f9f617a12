#!/bin/sh
# measured.run= program of e2e-attacks.sh. The attacker is root on the booted
# device: after measured-init measured the root device, it writes its own
# block over a file's data on that device, drops the caches and reads the
# file again. With the rootfs mapped through dm-verity that read must fail
# (EIO); in flat mode nothing stands in the way (the window FORMATS/README
# describe). Kernel command line: e2e.block=N, the file's first 4 KiB block.
# usage: verity-attack.sh REPORT_DIR
r=$1
block=
for w in $(cat /proc/cmdline); do
	case $w in e2e.block=*) block=${w#e2e.block=} ;; esac
done
victim=/etc/e2e/victim
cat /proc/mounts >"$r/mounts"
for d in /sys/block/dm-*; do
	[ -d "$d" ] && echo "$(cat "$d/dm/name") $(ls "$d/slaves" | tr '\n' ' ')"
done >"$r/dm"
sha256sum $victim | cut -d' ' -f1 >"$r/before"
dd if=/etc/e2e/evil of=/dev/vda bs=4096 seek="$block" count=1 conv=notrunc 2>"$r/dd.err"
echo $? >"$r/dd.rc"
sync
echo 3 >/proc/sys/vm/drop_caches
# the device itself now holds the attacker's block
dd if=/dev/vda bs=4096 skip="$block" count=1 2>/dev/null | sha256sum | cut -d' ' -f1 >"$r/device-now"
cat $victim >"$r/after" 2>"$r/after.err"
echo $? >"$r/after.rc"
dmesg | grep -i verity >"$r/dmesg-verity"
