#!/bin/sh
# Runs inside the e2e guest (measured.run=/etc/e2e/cml.sh REPORT_DIR): cmld on
# the kernel's TPM (/dev/tpmrm0) with its data on the persistent disk
# /dev/vdb (the report goes to /dev/vdc).  e2e.phase=create: install the GuestOS, create the sealed
# container "vault", start it, write a secret into its LUKS2 data volume,
# stop it.  e2e.phase=start: start it and read the secret back.
# e2e.phase=demo (make demo): as create, with the key sealed to the PCR values
# pcrpredict predicted (/state/reference.json; without it, nothing is done).
r=$1
phase= gos=
for w in $(cat /proc/cmdline); do
	case $w in
	e2e.phase=*) phase=${w#e2e.phase=} ;;
	e2e.gos=*) gos=${w#e2e.gos=} ;; # the signed GuestOS (an absolute path, as signed)
	esac
done
mkdir -p /state /sys/fs/cgroup /run/socket
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts # control run: a pty
mount /dev/vdb /state || { echo "no state disk"; exit 1; }
seal_to=
if [ "$phase" = demo ]; then
	[ -f /state/reference.json ] || { umount /state; exit 0; }
	seal_to="--seal-reference /state/reference.json"
fi
# shellcheck disable=SC2086 # no option or two words
# the trust anchor is the GuestOS CA on this (measured) rootfs, not one registered on /state
cmld --data-dir /state/cml --tpm device:/dev/tpmrm0 --seal-profile /etc/e2e/seal.profile \
	--trust-anchors "$gos"/ca.pem --luks-pbkdf2-iterations 1000 $seal_to -v 2>"$r/cmld.log" &
cmld=$!
i=0
while [ ! -S /run/socket/cml-control ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
ctl() { control --pin-file /etc/e2e/pin "$@" 2>&1; }
wait_stopped() {
	i=0
	until ctl state vault | grep -q "state: STOPPED" || [ $i -ge 200 ]; do sleep 0.1; i=$((i + 1)); done
}
case $phase in
create | demo)
	ctl ca_register "$gos"/ca.pem >"$r/ca.out"
	ctl push_guestos_config "$gos"/testos.conf "$gos"/testos.sig \
		"$gos"/testos.cert >"$r/push.out"
	ctl create /etc/e2e/vault.conf >"$r/create.out"
	;;
esac
t0=$(cut -d' ' -f1 /proc/uptime)
ctl start vault >"$r/start.out"
t1=$(cut -d' ' -f1 /proc/uptime)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d\n", (b - a) * 1000 }' >"$r/start.ms"
if grep -q CONTAINER_START_OK "$r/start.out"; then
	[ "$phase" != start ] && ctl run vault /bin/sh -c 'echo TOPSECRET-e2e-0451 > /data/secret && sync' >"$r/write.out"
	ctl run vault /bin/sh -c 'cat /data/secret; grep " /data " /proc/mounts' >"$r/read.out"
	ctl stop vault >"$r/stop.out"
	wait_stopped
fi
ls /dev/mapper >"$r/mapper.after"
ctl list >"$r/list.out"
kill "$cmld"
wait "$cmld"
umount /state
dmesg >"$r/dmesg"
