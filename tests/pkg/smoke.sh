#!/bin/sh
# The Debian packages, built, checked and used as installed: builds them with
# dpkg-buildpackage in a copy of the tree under /tmp (the build writes
# ../*.deb beside the source), runs lintian on them (an E: or W: tag not
# overridden fails), installs them with dpkg -i, then runs the INSTALLED
# programs: dpkg -L / conffile / sysusers checks; systemd-analyze verify on
# the units, then both units run by systemd in a systemd-nspawn container
# booted from an overlay of this machine (attestd's user, capabilities and
# file system; cmld starting a container); against private swtpms on
# loopback, attestd --provision and serving as its user, attest enroll +
# check (and a check against a second TPM, which must be refused);
# pcrpredict rootfs against veritysetup and a PCR extended by tpm2-tools;
# the initramfs-tools hook on the e2e kernel (build/cache, after make e2e)
# and a QEMU boot of that image with rdinit=. Purges the packages at the end.
# Prints "pkg: N passed, N failed". Run as root from the repository root.
set -u

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}
summary() {
	echo "pkg: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

[ "$(id -u)" = 0 ] || { echo "pkg: needs root (dpkg -i)" >&2; fail "running as root"; summary; exit 1; }
[ -f debian/control ] || { echo "pkg: run from the repository root" >&2; exit 2; }
repo=$(pwd)
scripts/deps.sh || { fail "build and test dependencies (scripts/deps.sh)"; summary; exit 1; }

PKGS="measured-common measured-tools measured-attestd measured-cmld measured-initramfs"
for p in $PKGS; do
	# the end purges them: never someone's own installation
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		echo "pkg: $p is installed already; remove it first (dpkg --purge $PKGS)" >&2
		fail "no measured package installed before the test"
		summary
		exit 1
	fi
done
work=$(mktemp -d /tmp/measured-pkg.XXXXXX)
pids=""
user_before=$(getent passwd measured-attestd >/dev/null && echo yes || echo no)
modlink=""
libmod_before=$([ -e /lib/modules ] && echo yes || echo no)
cleanup() {
	ns_down 2>/dev/null
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	# the machine as it was: the kernel links (first, so that the purge's
	# update-initramfs sees no kernel of ours), the packages, their conffiles,
	# their user and its group go
	# shellcheck disable=SC2086 # one or two paths
	[ -z "$modlink" ] || rm -f $modlink
	[ "$libmod_before" = yes ] || rmdir /lib/modules 2>/dev/null
	# shellcheck disable=SC2086 # one word per package
	dpkg --purge $PKGS >"$work/purge.log" 2>&1 || cat "$work/purge.log"
	if [ "$user_before" = no ] && getent passwd measured-attestd >/dev/null; then
		userdel measured-attestd
		! getent group measured-attestd >/dev/null || groupdel measured-attestd
	fi
	# never follow a mount left behind (the overlay's lower is this machine's /)
	if awk -v w="$work/" 'index($2 "/", w) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
		echo "pkg: $work still has mounts; left in place" >&2
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- build, in a copy of the tree -------------------------------------------
mkdir "$work/src"
tar --exclude=./build --exclude=./.git -cf - . | tar -C "$work/src" -xf -
echo "pkg: building in $work/src (log: dpkg-buildpackage.log)"
if (cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$work/dpkg-buildpackage.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	tail -40 "$work/dpkg-buildpackage.log"
	fail "dpkg-buildpackage -us -uc -b"
	summary
	exit 1
fi
debs=""
for p in $PKGS; do
	d=$(ls "$work/${p}_"*.deb 2>/dev/null | head -1)
	if [ -n "$d" ]; then debs="$debs $d"; else fail "package $p built"; fi
done
for d in "$work"/*.deb; do
	p=$(basename "$d" | cut -d_ -f1)
	case " $PKGS " in *" ${p%-dbgsym} "*) ;; *) fail "a package beside $PKGS: $p" ;; esac
done

# --- lintian ----------------------------------------------------------------
lintian --fail-on error,warning --display-info --info "$work"/measured_*.changes >"$work/lintian.log" 2>&1
rc=$?
echo "pkg: lintian says:"
sed 's/^/  /' "$work/lintian.log"
[ -s "$work/lintian.log" ] || echo "  (nothing)"
check "lintian: no error or warning that is not overridden" [ "$rc" -eq 0 ]

# --- install ----------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if dpkg -i $debs >"$work/dpkg-i.log" 2>&1 || apt-get -f install -y -qq >>"$work/dpkg-i.log" 2>&1; then :; fi
for p in $PKGS; do
	check "$p is installed" sh -c "dpkg-query -W -f='\${Status}' $p | grep -q 'install ok installed'" ||
		cat "$work/dpkg-i.log"
done

has_file() { dpkg -L "$1" | grep -qxF "$2"; }
is_conffile() { dpkg-query -W -f='${Conffiles}\n' "$1" | awk '{print $1}' | grep -qxF "$2"; }
for f in /usr/bin/attest /usr/bin/pcrpredict /etc/measured/ek-ca \
	/lib/systemd/system/measured-fleet.service /usr/share/doc/measured-tools/FLEET.md.gz; do
	check "measured-tools has $f" has_file measured-tools "$f"
done
for f in /usr/sbin/attestd /lib/systemd/system/measured-attestd.service \
	/usr/lib/sysusers.d/measured-attestd.conf /etc/measured/attestd.conf; do
	check "measured-attestd has $f" has_file measured-attestd "$f"
done
for f in /usr/sbin/cmld /usr/bin/control /lib/systemd/system/measured-cmld.service \
	/usr/lib/tmpfiles.d/measured-cmld.conf /etc/measured/cmld.conf /etc/measured/cml/trusted-ca; do
	check "measured-cmld has $f" has_file measured-cmld "$f"
done
for f in /usr/lib/measured/measured-init /usr/lib/measured/mkinitramfs.sh \
	/usr/share/initramfs-tools/hooks/measured /etc/measured/initramfs.conf; do
	check "measured-initramfs has $f" has_file measured-initramfs "$f"
done
for f in /usr/share/measured/policies/ima-tcb.policy /usr/share/measured/policies/seal-boot.profile; do
	check "measured-common has $f" has_file measured-common "$f"
done
# the man pages and bash completion of make install, each in its program's package
for f in measured-tools:/usr/share/man/man1/attest.1.gz measured-tools:/usr/share/man/man1/pcrpredict.1.gz \
	measured-attestd:/usr/share/man/man8/attestd.8.gz measured-cmld:/usr/share/man/man8/cmld.8.gz \
	measured-cmld:/usr/share/man/man1/control.1.gz measured-initramfs:/usr/share/man/man8/measured-init.8.gz \
	measured-tools:/usr/share/bash-completion/completions/attest \
	measured-tools:/usr/share/bash-completion/completions/pcrpredict \
	measured-attestd:/usr/share/bash-completion/completions/attestd \
	measured-cmld:/usr/share/bash-completion/completions/cmld \
	measured-cmld:/usr/share/bash-completion/completions/control; do
	check "${f%%:*} has ${f#*:}" has_file "${f%%:*}" "${f#*:}"
done
check "man finds the installed attest(1)" sh -c 'man -w attest | grep -q /usr/share/man/man1/attest.1'
check "attestd.conf is a conffile" is_conffile measured-attestd /etc/measured/attestd.conf
check "cmld.conf is a conffile" is_conffile measured-cmld /etc/measured/cmld.conf
check "initramfs.conf is a conffile" is_conffile measured-initramfs /etc/measured/initramfs.conf
check "sysusers made the user measured-attestd, in group tss" \
	sh -c 'id -nG measured-attestd | tr " " "\n" | grep -qx tss'
check "measured-attestd has no login shell" \
	sh -c 'getent passwd measured-attestd | cut -d: -f7 | grep -q nologin'
check "the daemons are not enabled on installation" \
	sh -c '! ls /etc/systemd/system/multi-user.target.wants/measured-* 2>/dev/null'

# --- the units --------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	for u in measured-attestd measured-cmld measured-fleet; do
		if systemd-analyze verify "/lib/systemd/system/$u.service" >"$work/verify-$u.log" 2>&1 &&
			! grep -v -e '^$' "$work/verify-$u.log" | grep -q .; then
			ok "systemd-analyze verify $u.service: clean"
		else
			sed 's/^/  /' "$work/verify-$u.log"
			fail "systemd-analyze verify $u.service"
		fi
	done
	check "attestd's unit: NoNewPrivileges, ProtectSystem=strict, DeviceAllow=/dev/tpmrm0, its user" \
		sh -c 'u=/lib/systemd/system/measured-attestd.service
			grep -qx NoNewPrivileges=yes $u && grep -qx ProtectSystem=strict $u &&
			grep -qx "DeviceAllow=/dev/tpmrm0 rw" $u && grep -qx User=measured-attestd $u &&
			grep -qx CapabilityBoundingSet=CAP_DAC_READ_SEARCH $u'
	check "cmld's unit: ProtectSystem=strict, a bounding set without CAP_SYS_MODULE" \
		sh -c 'u=/lib/systemd/system/measured-cmld.service
			grep -qx ProtectSystem=strict $u && grep -q "^CapabilityBoundingSet=.*CAP_SYS_ADMIN" $u &&
			! grep "^CapabilityBoundingSet=" $u | grep -q -e CAP_SYS_MODULE -e CAP_SYS_RAWIO'
	check "the fleet verifier's unit: a dynamic user, no capabilities, its token as a credential" \
		sh -c 'u=/lib/systemd/system/measured-fleet.service
			grep -qx DynamicUser=yes $u && grep -qx CapabilityBoundingSet= $u &&
			grep -q "^LoadCredential=tokens:" $u'
else
	echo "pkg: skipped: systemd-analyze is not installed"
fi

# --- the installed fleet verifier answers its API ---------------------------
printf 'pkg-smoke-admin-token-0123 admin\n' > "$work/fleet-tokens"
chmod 600 "$work/fleet-tokens"
check "installed attest serve -n: settings and a new database" \
	sh -c "/usr/bin/attest serve -n --db $work/fleet.sqlite --listen 127.0.0.1:18442 --tokens $work/fleet-tokens | grep -q 'schema version 1'"
/usr/bin/attest serve --db "$work/fleet.sqlite" --listen 127.0.0.1:18442 --tokens "$work/fleet-tokens" \
	2>"$work/fleet.log" &
fleet_pid=$!
pids="$pids $fleet_pid"
for i in $(seq 50); do
	curl -s -o /dev/null http://127.0.0.1:18442/ && break
	sleep 0.1
done
check "installed attest serve: GET /api/v1/devices with the token" \
	sh -c "curl -sf -H 'Authorization: Bearer pkg-smoke-admin-token-0123' http://127.0.0.1:18442/api/v1/devices | grep -q '\"devices\"'"
check "installed attest serve: no token, 401" \
	sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18442/api/v1/devices) = 401 ]"
kill "$fleet_pid" 2>/dev/null
wait "$fleet_pid" 2>/dev/null

# --- the units, run by systemd ---------------------------------------------
# This machine's PID 1 is not systemd: the units run in a systemd-nspawn
# container booted from an overlay of this machine's root (the packages as
# installed above; every write lands in a tmpfs), on loopback only, with the
# loop and device-mapper devices that cmld needs passed through.
ns=$work/ns
ns_pid=""
ns_up() {
	mkdir -p "$ns/lower" "$ns/rw" "$ns/root"
	mount --bind / "$ns/lower" || return 1
	# read-only, or not at all
	mount -o remount,bind,ro "$ns/lower" || { umount "$ns/lower"; return 1; }
	mount -t tmpfs tmpfs "$ns/rw" && mkdir -p "$ns/rw/up" "$ns/rw/wk" &&
		mount -t overlay overlay -o "lowerdir=$ns/lower,upperdir=$ns/rw/up,workdir=$ns/rw/wk" "$ns/root" ||
		return 1
	binds=""
	for d in /dev/loop-control /dev/mapper/control /dev/loop[0-9]*; do
		[ -e "$d" ] && binds="$binds --bind=$d"
	done
	# shellcheck disable=SC2086
	systemd-nspawn -q -D "$ns/root" --register=no --keep-unit --private-network $binds \
		--property="DeviceAllow=/dev/loop-control rw" --property="DeviceAllow=block-loop rwm" \
		--property="DeviceAllow=/dev/mapper/control rw" --property="DeviceAllow=block-device-mapper rwm" \
		-b systemd.unit=basic.target >"$ns/console.log" 2>&1 </dev/null &
	ns_pid=$!
	leader=
	for _ in $(seq 100); do
		leader=$(ps -eo pid=,ppid=,comm= | awk -v p="$ns_pid" '$2 == p && $3 == "systemd" { print $1 }')
		[ -n "$leader" ] && break
		sleep 0.2
	done
	[ -n "$leader" ] || return 1
	# basic.target: none of this machine's own services, only what ours need
	for _ in $(seq 300); do
		case $(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null) in
		running | degraded) return 0 ;;
		esac
		sleep 0.2
	done
	# still starting after a minute: go on if systemd answers at all
	nsenter -t "$leader" -a systemctl list-jobs --no-pager >/dev/null 2>&1
}
ns_down() {
	if [ -z "$ns_pid" ]; then
		for m in root rw lower; do umount "$ns/$m" 2>/dev/null; done
		return 0
	fi
	nsenter -t "$leader" -a systemctl poweroff 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$ns_pid" 2>/dev/null || break
		sleep 0.2
	done
	kill "$ns_pid" 2>/dev/null
	wait "$ns_pid" 2>/dev/null
	ns_pid=""
	for m in root rw lower; do umount "$ns/$m" 2>/dev/null; done
}
cin() { nsenter -t "$leader" -a "$@"; }
has() { printf '%s\n' "$1" | grep -q "$2"; } # has TEXT PATTERN
if ! command -v systemd-nspawn >/dev/null; then
	echo "pkg: skipped: the units under systemd (no systemd-nspawn: apt-get install systemd-container)"
elif ! ns_up; then
	tail -20 "$ns/console.log"
	fail "a systemd container booted from this machine (systemd-nspawn)"
	ns_down
else
	ok "a systemd container booted from this machine (systemd-nspawn)"
	t=$ns/root/var/lib/pkgtest
	mkdir -p "$t/tpm" "$t/gos"
	cp tests/data/ovmf-grub.log "$t/bios"
	chmod 0440 "$t/bios"
	cp tests/harness/mkguestos.sh "$t/"
	# attestd: the unit as shipped, with a drop-in for the swtpm (no
	# /dev/tpmrm0 here) and a root-only firmware log, as in securityfs
	cin swtpm socket --tpm2 --tpmstate dir=/var/lib/pkgtest/tpm --flags not-need-init,startup-clear \
		--server type=tcp,port=2321,bindaddr=127.0.0.1 --ctrl type=tcp,port=2322,bindaddr=127.0.0.1 --daemon
	sleep 0.3
	cin /usr/sbin/attestd --tcti swtpm:host=127.0.0.1,port=2321 --provision >/dev/null 2>&1
	printf 'tcti = swtpm:host=127.0.0.1,port=2321\nlisten = 127.0.0.1:9505\nfirmware-log = /var/lib/pkgtest/bios\nima-log = none\ncel-log = none\n' >"$t/attestd.conf"
	check "attestd -n accepts the shipped /etc/measured/attestd.conf" cin /usr/sbin/attestd -n
	mkdir -p "$ns/root/etc/systemd/system/measured-attestd.service.d"
	printf '[Unit]\nConditionPathExists=\n[Service]\nExecStart=\nExecStart=/usr/sbin/attestd --config /var/lib/pkgtest/attestd.conf\n' \
		>"$ns/root/etc/systemd/system/measured-attestd.service.d/pkgtest.conf"
	cin systemctl daemon-reload
	cin systemctl start measured-attestd
	sleep 0.5
	check "systemd: measured-attestd.service is active" cin systemctl -q is-active measured-attestd
	apid=$(cin systemctl show -P MainPID measured-attestd)
	# MainPID is the container's: look at it from inside
	check "systemd: attestd runs as measured-attestd" \
		test "$(cin stat -c %U "/proc/$apid")" = measured-attestd
	check "systemd: attestd dropped CAP_DAC_READ_SEARCH once the logs were open, its bounding set has no other" \
		cin sh -c "grep -qx 'CapEff:	0000000000000000' /proc/$apid/status && grep -qx 'CapBnd:	0000000000000004' /proc/$apid/status"
	epid=$(cin pgrep -P "$apid")
	check "systemd: attestd's engine ($epid) holds no capability, under no_new_privs and seccomp" \
		cin sh -c "grep -qx 'CapEff:	0000000000000000' /proc/$epid/status && grep -qx 'NoNewPrivs:	1' /proc/$epid/status && grep -qx 'Seccomp:	2' /proc/$epid/status"
	check "systemd: attestd sees /usr read-only (ProtectSystem=strict)" \
		cin sh -c "! nsenter -t $apid -m touch /usr/pkgtest 2>/dev/null"
	check "systemd: attestd sees no /root (ProtectHome=yes)" \
		cin sh -c "! nsenter -t $apid -m ls /root/ 2>/dev/null | grep -q ."
	cin sh -c 'cd /var/lib/pkgtest && attest --state st enroll 127.0.0.1:9505 --trust-on-first-use' >"$work/ns-enroll.log" 2>&1
	check "systemd: attest enroll against the unit's attestd" [ $? -eq 0 ]
	r=$(cin sh -c 'cd /var/lib/pkgtest && attest --state st check 127.0.0.1:9505' 2>/dev/null |
		jq -r '.submods["measured-boot"]["ear.measured.checks"].firmware.reason // empty')
	check "systemd: the unit's attestd serves the root-only firmware log (the check reads it: $r)" \
		test -n "$r" -a "$r" != "no firmware event log in the evidence"
	# cmld: the unit as shipped; a signed GuestOS, a container started, used, stopped
	cin sh -c 'cd /var/lib/pkgtest && GOS_URL=/var/lib/pkgtest/gos sh mkguestos.sh gos testos 1 >/dev/null &&
		cp gos/ca.pem /etc/measured/cml/trusted-ca/ && echo trustme >pin && chmod 600 pin &&
		printf "name: \"hello\"\nguest_os: \"testos\"\ncolor: 0\n" >hello.conf'
	check "cmld -n accepts the shipped /etc/measured/cmld.conf" cin /usr/sbin/cmld -n
	cin systemctl start measured-cmld
	for _ in $(seq 50); do cin test -S /run/socket/cml-control && break; sleep 0.1; done
	check "systemd: measured-cmld.service is active" cin systemctl -q is-active measured-cmld
	cpid=$(cin systemctl show -P MainPID measured-cmld)
	cm() { cin sh -c "cd /var/lib/pkgtest && $*" 2>&1; }
	check "systemd: cmld installs the GuestOS" \
		has "$(cm control push_guestos_config gos/testos.conf gos/testos.sig gos/testos.cert)" GUESTOS_MGR_INSTALL_COMPLETED
	cm control create hello.conf >/dev/null
	out=$(cm control --pin-file pin start hello)
	check "systemd: cmld starts a container" has "$out" CONTAINER_START_OK
	if ! has "$out" CONTAINER_START_OK; then
		printf '%s\n' "$out" | sed 's/^/pkg:   /'
		cin journalctl -u measured-cmld --no-pager 2>/dev/null | tail -30 | sed 's/^/pkg:   /'
	fi
	out=$(cm control run hello hostname | tr -d '\r') # a pty's CRLF
	check "systemd: control run in it (hostname: $out)" has "$out" '^hello$'
	check "systemd: cmld stops it" has "$(cm control --pin-file pin stop hello)" CONTAINER_STOP_OK
	check "systemd: cmld sees /etc read-only (ProtectSystem=strict), its state folder writable" \
		cin sh -c "! nsenter -t $cpid -m touch /etc/pkgtest 2>/dev/null && nsenter -t $cpid -m touch /var/lib/measured/cml/pkgtest"
	check "systemd: cmld's bounding set lacks CAP_SYS_MODULE and CAP_SYS_RAWIO" \
		cin sh -c "b=\$(sed -n 's/^CapBnd:\t//p' /proc/$cpid/status); [ \$(( 0x\$b >> 16 & 1 )) -eq 0 ] && [ \$(( 0x\$b >> 17 & 1 )) -eq 0 ] && [ \$(( 0x\$b >> 21 & 1 )) -eq 1 ]"
	for u in measured-attestd measured-cmld measured-fleet; do
		echo "pkg: systemd-analyze security $u: $(cin systemd-analyze security "$u" --no-pager 2>/dev/null | tail -1 | sed 's/^→ //')"
	done
	ns_down
fi

# --- the installed programs against a private swtpm --------------------------
free_port() { # a port P with P and P+1 free on loopback
	p=$((20000 + $$ % 20000))
	while [ -n "$(ss -Htln "( sport = :$p or sport = :$((p + 1)) )")" ]; do p=$((p + 2)); done
	echo "$p"
}
start_swtpm() { # start_swtpm DIR -> prints its TCTI
	mkdir -p "$1"
	port=$(free_port)
	swtpm socket --tpm2 --tpmstate dir="$1" --flags not-need-init,startup-clear \
		--server type=tcp,port="$port",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 >"$1.log" 2>&1 &
	echo $! >"$1.pid"
	for _ in $(seq 50); do
		[ -n "$(ss -Htln "sport = :$port")" ] && break
		sleep 0.1
	done
	echo "swtpm:host=127.0.0.1,port=$port"
}
start_attestd() { # start_attestd TCTI LOGDIR -> prints HOST:PORT
	port=$(free_port)
	# as the package's user: --user drops to it once the TPM and the socket are open
	/usr/sbin/attestd --tcti "$1" --listen "127.0.0.1:$port" --user measured-attestd \
		--firmware-log "$2/none" --ima-log "$2/none" --cel-log "$2/none" >"$2/attestd-$port.log" 2>&1 &
	echo $! >"$2/attestd-$port.pid"
	for _ in $(seq 50); do
		[ -n "$(ss -Htln "sport = :$port")" ] && break
		sleep 0.1
	done
	echo "127.0.0.1:$port"
}

tcti_a=$(start_swtpm "$work/tpm-a")
pids="$pids $(cat "$work/tpm-a.pid")"
/usr/sbin/attestd --tcti "$tcti_a" --provision >"$work/provision.log" 2>&1
check "attestd --provision (EK and AK made)" grep -q 'EK at 0x81010001 and AK at 0x81010002' "$work/provision.log"
addr_a=$(start_attestd "$tcti_a" "$work")
pids="$pids $(cat "$work"/attestd-*.pid)"
check "attestd serves on $addr_a" [ -n "$(ss -Htln "sport = :${addr_a#*:}")" ]
check "attestd runs as measured-attestd" \
	sh -c "ps -o user= -p $(cat "$work"/attestd-*.pid) | grep -qx measured-attestd"
state=$work/attest-state
/usr/bin/attest --state "$state" enroll "$addr_a" --trust-on-first-use >"$work/enroll.log" 2>&1
check "attest enroll --trust-on-first-use: exit 0" [ $? -eq 0 ]
/usr/bin/attest --state "$state" check "$addr_a" >"$work/check.json" 2>"$work/check.err"
rc=$?
check "attest check: exit 0 or 3 (affirming or warning), got $rc" sh -c "[ $rc -eq 0 ] || [ $rc -eq 3 ]"
check "attest check: an EAR whose identity is the trust-on-first-use warning" \
	sh -c "jq -e '.submods[\"measured-boot\"][\"ear.measured.checks\"].identity.status == \"warning\"' '$work/check.json' >/dev/null"
check "attest check: the quote is affirmed" \
	sh -c "jq -e '.submods[\"measured-boot\"][\"ear.measured.checks\"].quote.status == \"affirming\"' '$work/check.json' >/dev/null"

# As the unit runs it: the user measured-attestd with CAP_DAC_READ_SEARCH and
# no other capability (setpriv does what User=, AmbientCapabilities= and
# CapabilityBoundingSet= do); the firmware log root's, mode 0440, as in
# securityfs. With the capability it goes into the evidence; without, not.
mkdir -p "$work/logs"
cp tests/data/ovmf-grub.log "$work/logs/bios"
chown root:root "$work/logs/bios" && chmod 0440 "$work/logs/bios"
chmod 0755 "$work" "$work/logs"
as_unit() { # as_unit CAPS TCTI PORT: attestd as the unit starts it, CAPS "" or "+dac_read_search"
	setpriv --reuid=measured-attestd --regid=measured-attestd --init-groups --no-new-privs \
		--bounding-set=-all${1:+,$1} --inh-caps=-all${1:+,$1} --ambient-caps=-all${1:+,$1} \
		/usr/sbin/attestd --tcti "$2" --listen "127.0.0.1:$3" --firmware-log "$work/logs/bios" \
		--ima-log "$work/logs/none" --cel-log "$work/logs/none" >"$work/logs/attestd-$3.log" 2>&1 &
	echo $! >"$work/logs/attestd-$3.pid"
	for _ in $(seq 50); do
		[ -n "$(ss -Htln "sport = :$3")" ] && break
		sleep 0.1
	done
}
fw_reason() { # fw_reason ADDR: the firmware check's reason in attest check's EAR
	/usr/bin/attest --state "$state" check "$1" 2>/dev/null |
		jq -r '.submods["measured-boot"]["ear.measured.checks"].firmware.reason // empty'
}
port=$(free_port)
as_unit +dac_read_search "$tcti_a" "$port"
pids="$pids $(cat "$work/logs/attestd-$port.pid")"
r=$(fw_reason "127.0.0.1:$port")
check "as the unit runs it (CAP_DAC_READ_SEARCH only), attestd serves the root-only firmware log" \
	test -n "$r" -a "$r" != "no firmware event log in the evidence"
port=$(free_port)
as_unit "" "$tcti_a" "$port"
pids="$pids $(cat "$work/logs/attestd-$port.pid")"
r=$(fw_reason "127.0.0.1:$port")
check "  ... and without that capability it cannot (the log is left out)" \
	test "$r" = "no firmware event log in the evidence"

cp "$state/last.json" "$work/last-a.json" 2>/dev/null
# the attack: another TPM answers at a device address enrolled with TPM A
tcti_b=$(start_swtpm "$work/tpm-b")
pids="$pids $(cat "$work/tpm-b.pid")"
/usr/sbin/attestd --tcti "$tcti_b" --provision >/dev/null 2>&1
mkdir -p "$work/b"
addr_b=$(start_attestd "$tcti_b" "$work/b")
pids="$pids $(cat "$work"/b/attestd-*.pid)"
/usr/bin/attest --state "$state" check "$addr_b" >"$work/check-b.json" 2>"$work/check-b.err"
rc=$?
check "attest check against another TPM: refused (exit 1), got $rc" [ "$rc" -eq 1 ]
check "  ... contraindicated: the quote's signature does not verify with the enrolled AK" \
	sh -c "jq -e '.submods[\"measured-boot\"] | .[\"ear.status\"] == \"contraindicated\" and
		.[\"ear.measured.checks\"][\"attestation-key\"].status == \"contraindicated\"' '$work/check-b.json' >/dev/null"
check "  ... and the state was not moved on by it" cmp -s "$work/last-a.json" "$state/last.json"

# pcrpredict rootfs on a small image, against veritysetup and a real extend
mkdir -p "$work/root/etc"
echo "measured pkg smoke" >"$work/root/etc/issue"
mke2fs -q -t ext4 -d "$work/root" -E lazy_itable_init=0,root_owner=0:0 "$work/root.img" 4M
/usr/bin/pcrpredict rootfs "$work/root.img" >"$work/predict.txt" 2>&1
check "pcrpredict rootfs: exit 0" [ $? -eq 0 ]
ours=$(sed -n 's/.*verity root hash: \([0-9a-f]*\).*/\1/p' "$work/predict.txt")
theirs=$(veritysetup format --no-superblock --salt=- "$work/root.img" "$work/root.hash" |
	sed -n 's/^Root hash:[[:space:]]*//p')
check "pcrpredict rootfs: the verity root hash is veritysetup's" test -n "$ours" -a "$ours" = "$theirs"
pcr_ours=$(sed -n 's/.*sha256  PCR 13: \([0-9a-f]*\).*/\1/p' "$work/predict.txt")
tcti_c=$(start_swtpm "$work/tpm-c")
pids="$pids $(cat "$work/tpm-c.pid")"
TPM2TOOLS_TCTI=$tcti_c tpm2_pcrextend "13:sha256=$ours" &&
	pcr_tpm=$(TPM2TOOLS_TCTI=$tcti_c tpm2_pcrread sha256:13 | sed -n 's/.*13 *: *0x//p' | tr 'A-F' 'a-f')
check "pcrpredict rootfs: PCR 13 is what a TPM shows after the extend" \
	test -n "$pcr_ours" -a "$pcr_ours" = "${pcr_tpm:-}"

# --- the initramfs-tools hook, on a real kernel, and a boot through it -------
# The e2e kernel (Debian's package, unpacked into build/cache by make e2e):
# mkinitramfs reads /lib/modules/VER and /boot/config-VER, so they are linked
# there for the run, only where nothing is, and unlinked at the end.
kdir=$(ls -d "$repo"/build/cache/linux-image-*/ 2>/dev/null | head -1)
if [ -n "$kdir" ] && command -v mkinitramfs >/dev/null; then
	kdir=${kdir%/}
	ver=$(ls "$kdir/lib/modules" | head -1)
	if [ ! -e "/lib/modules/$ver" ]; then
		mkdir -p /lib/modules
		ln -s "$kdir/lib/modules/$ver" "/lib/modules/$ver"
		modlink="/lib/modules/$ver"
	fi
	if [ ! -e "/boot/config-$ver" ]; then
		mkdir -p /boot
		ln -s "$kdir/boot/config-$ver" "/boot/config-$ver"
		modlink="$modlink /boot/config-$ver"
	fi
	# the machine's initramfs-tools config, but only the listed modules
	# (MODULES=list: a small image, quick to boot)
	cp -r /etc/initramfs-tools "$work/itconf"
	sed -i 's/^MODULES=.*/MODULES=list/' "$work/itconf/initramfs.conf"
	mkinitramfs -d "$work/itconf" -o "$work/initrd.img" "$ver" >"$work/mkinitramfs.log" 2>&1
	rc=$?
	check "mkinitramfs $ver with the hook: exit 0" [ $rc -eq 0 ] || tail -20 "$work/mkinitramfs.log"
	mkdir "$work/initrd"
	unmkinitramfs "$work/initrd.img" "$work/initrd" 2>/dev/null
	ir=$work/initrd
	[ -d "$ir/main" ] && ir=$ir/main # behind an early microcode cpio
	check "the image holds measured-init" [ -x "$ir/usr/lib/measured/measured-init" ]
	check "the image holds the device TCTI" \
		sh -c "ls '$ir'/usr/lib/*/libtss2-tcti-device.so.0 2>/dev/null | grep -q ."
	# not PID 1 it exits 2 at once; 127 would be a missing loader or library
	chroot "$ir" /usr/lib/measured/measured-init >/dev/null 2>&1
	check "measured-init runs inside the image (its libraries are there): exit 2 as not PID 1" [ $? -eq 2 ]
	check "the image's /etc/measured/modules lists loop and dm-verity, and they are there" \
		sh -c "grep -q '/loop.ko\$' '$ir/etc/measured/modules' && grep -q '/dm-verity.ko\$' '$ir/etc/measured/modules' &&
			while read -r m; do [ -f '$ir'\$m ] || exit 1; done <'$ir/etc/measured/modules'"
	check "the image's /init is still initramfs-tools'" grep -q '/scripts/functions' "$ir/init"

	# compressed modules (as later Debian kernels ship them, .ko.xz): the same
	# tree as symlinks, loop.ko compressed, depmod'ed under another version
	if command -v xz >/dev/null; then
		xver=$ver-pkgxz
		xdir=$work/kxz/lib/modules/$xver
		mkdir -p "$work/kxz/lib/modules"
		cp -rs "$kdir/lib/modules/$ver" "$xdir"
		loop=$(find "$xdir" -name loop.ko)
		rm "$loop"
		xz -c "$kdir/lib/modules/$ver/${loop#"$xdir"/}" >"$loop.xz"
		depmod -b "$work/kxz" "$xver"
		ln -s "$xdir" "/lib/modules/$xver"
		ln -s "$kdir/boot/config-$ver" "/boot/config-$xver"
		modlink="$modlink /lib/modules/$xver /boot/config-$xver"
		mkinitramfs -d "$work/itconf" -o "$work/initrd-xz.img" "$xver" >"$work/mkinitramfs-xz.log" 2>&1
		mkdir "$work/initrd-xz"
		unmkinitramfs "$work/initrd-xz.img" "$work/initrd-xz" 2>/dev/null
		irx=$work/initrd-xz
		[ -d "$irx/main" ] && irx=$irx/main
		plain=$(grep '/loop.ko$' "$irx/etc/measured/modules" 2>/dev/null)
		check "a compressed loop.ko.xz is listed, and put in the image, as plain ELF (finit_module's form)" \
			test -n "$plain" -a "$(head -c 4 "$irx$plain" 2>/dev/null | od -An -tx1 | tr -d ' ')" = 7f454c46
	else
		echo "pkg: skipped: compressed modules in the hook (no xz)"
	fi

	# the documented way to turn it on: rdinit= on the kernel command line
	if command -v qemu-system-x86_64 >/dev/null; then
		E2E_WORK=$work/e2e
		. boot/qemu-lib.sh
		mkdir -p "$E2E_WORK"
		# shellcheck disable=SC2034 # both read by boot_direct
		E2E_VMLINUZ=$(ls "$kdir"/boot/vmlinuz-* | head -1)
		# shellcheck disable=SC2034 # read by boot_direct
		E2E_INITRD=$work/initrd.img
		boot/mkrootfs.sh --out "$work/rootfs.img" >"$work/mkrootfs.log" 2>&1 ||
			tail -5 "$work/mkrootfs.log"
		if boot_direct rdinit "$work/rootfs.img" "rdinit=/usr/lib/measured/measured-init"; then
			ok "boot with rdinit=/usr/lib/measured/measured-init: measured-init of the initramfs-tools image reaches the rootfs (${E2E_BOOT_MS} ms)"
		else
			tail -20 "$E2E_WORK/rdinit/console.log"
			fail "boot with rdinit=/usr/lib/measured/measured-init (see console above)"
		fi
		check "  ... the root mapped through dm-verity" \
			grep -q "mapped through dm-verity as /dev/mapper/measured-root" "$E2E_WORK/rdinit/console.log"
		want=$(/usr/bin/pcrpredict rootfs --json "$work/rootfs.img" | jq -r .banks.sha256.pcr)
		got=$(guest_pcr "$E2E_REP" sha256 13)
		check "  ... the guest's PCR 13 is what the installed pcrpredict predicts" test -n "$want" -a "$want" = "$got"
	else
		echo "pkg: skipped: the boot through the hook's image (no qemu-system-x86_64)"
	fi
else
	echo "pkg: skipped: the initramfs hook on a real kernel (no kernel in build/cache: run make e2e first)"
fi

summary
