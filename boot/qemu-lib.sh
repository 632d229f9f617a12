# Boot helpers shared by make e2e and make demo: the artifacts, and a QEMU
# boot with a private swtpm whose report (PCRs, logs) the guest writes to a
# scratch disk. Sourced; run from the repository root.

E2E_BIN=${MEASURED_BIN:-build}
E2E_WORK=${E2E_WORK:-build/e2e}
E2E_TIMEOUT=${E2E_TIMEOUT:-120}
E2E_CMDLINE="console=ttyS0 panic=-1 ima_template=ima-ng measured.root=/dev/vda measured.report=/dev/vdb"

# Kernel (Debian's package, unpacked into a cache), initramfs, rootfs.
e2e_artifacts() {
	mkdir -p "$E2E_WORK"
	E2E_KDIR=$(boot/fetch-kernel.sh build/cache 2>/dev/null) || { echo "e2e: no kernel" >&2; exit 1; }
	E2E_VMLINUZ=$(ls "$E2E_KDIR"/boot/vmlinuz-* | head -1)
	initramfs/mkinitramfs.sh --kernel "$E2E_KDIR" --init "$E2E_BIN/measured-init" \
		--ima-policy policies/ima-tcb.policy --out "$E2E_WORK/initrd.gz"
	boot/mkrootfs.sh --out "$E2E_WORK/rootfs.img"
}

# The container device: an initramfs that also loads loop and dm-crypt
# ($E2E_INITRD), a rootfs with cmld, control, mkfs.ext4 and their libraries
# and tests/e2e/guest/cml.sh ($E2E_WORK/rootfs-cml.img), and a signed test
# GuestOS, made in $CML_GOS on the host and placed at $CML_GOS_GUEST in the
# guest, the folder its update_base_url names (not the host's path: a checkout
# under /tmp would be hidden by the guest's tmpfs /tmp).  After e2e_artifacts.
cml_artifacts() {
	w=$(cd "$E2E_WORK" && pwd)
	E2E_INITRD=$w/initrd-cml.gz
	initramfs/mkinitramfs.sh --kernel "$E2E_KDIR" --init "$E2E_BIN/measured-init" \
		--ima-policy policies/ima-tcb.policy --out "$E2E_INITRD" \
		--modules "virtio_pci virtio_blk crc32c_generic ext4 overlay loop dm_verity dm_crypt ecb xts"
	export E2E_INITRD
	CML_GOS=$w/gos
	CML_GOS_GUEST=/usr/share/e2e/gos
	rm -rf "$CML_GOS"
	GOS_URL=$CML_GOS_GUEST tests/harness/mkguestos.sh "$CML_GOS" testos 1 >/dev/null
	echo trustme >"$w/pin"
	printf 'pcrs = sha256:0,1,2,3,4,5,6,7,8,9,13\npin = no\n' >"$w/seal.profile"
	printf 'name: "vault"\nguest_os: "testos"\ncolor: 0\nnetns: false\ntoken_type: NONE\n' >"$w/vault.conf"
	extras="tests/e2e/guest/cml.sh=/etc/e2e/cml.sh $w/pin=/etc/e2e/pin $w/seal.profile=/etc/e2e/seal.profile"
	extras="$extras $w/vault.conf=/etc/e2e/vault.conf"
	extras="$extras $E2E_BIN/cmld=/usr/bin/cmld $E2E_BIN/control=/usr/bin/control"
	extras="$extras $(command -v mke2fs)=/sbin/mkfs.ext4"
	for f in $(find "$CML_GOS" -type f); do extras="$extras $f=$CML_GOS_GUEST${f#"$CML_GOS"}"; done
	tcti=$(ls /usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0)
	for lib in $( (ldd "$E2E_BIN/cmld"; ldd "$E2E_BIN/control"; ldd "$(command -v mke2fs)"; ldd "$tcti") |
		awk '/=>/ { print $3 } /^\t\/.*ld-linux/ { print $1 }' | sort -u) "$tcti"; do
		extras="$extras $(readlink -f "$lib")=$lib"
	done
	args=
	for e in $extras; do args="$args --extra $e"; done
	# shellcheck disable=SC2086 # one word per --extra
	boot/mkrootfs.sh --out "$w/rootfs-cml.img" --size 160M $args
}

# guest_pcr DIR BANK N: a PCR value from a report, lowercase
guest_pcr() {
	awk -v n="$3" '$1 == n { print tolower($2) }' "$1/pcrs-$2" 2>/dev/null
}

# Runs QEMU with a fresh swtpm -- or, with E2E_TPM_STATE=DIR, the TPM kept in
# DIR across boots (a device that reboots). boot NAME [qemu args...]; the
# report lands in $E2E_WORK/NAME/rep.
boot() {
	name=$1
	shift
	d=$E2E_WORK/$name
	rm -rf "$d" && mkdir -p "$d/rep"
	tpm=${E2E_TPM_STATE:-$d/tpm}
	mkdir -p "$tpm"
	rm -f "$tpm/sock"
	truncate -s 16M "$d/scratch.img"
	swtpm socket --tpm2 --tpmstate dir="$tpm" --ctrl type=unixio,path="$tpm/sock" \
		--terminate --log file="$d/swtpm.log" &
	swtpm_pid=$!
	i=0
	while [ ! -S "$tpm/sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	start=$(date +%s%N)
	timeout "$E2E_TIMEOUT" qemu-system-x86_64 -machine q35 -m 1024 -smp 1 -nographic -no-reboot \
		-accel tcg -chardev socket,id=chrtpm,path="$tpm/sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
		-device tpm-tis,tpmdev=tpm0 \
		-drive file="$d/scratch.img",if=none,id=scratch,format=raw \
		"$@" -device virtio-blk-pci,drive=scratch </dev/null >"$d/console.log" 2>&1
	rc=$?
	E2E_BOOT_MS=$((($(date +%s%N) - start) / 1000000))
	kill "$swtpm_pid" 2>/dev/null
	wait "$swtpm_pid" 2>/dev/null
	tar -xf "$d/scratch.img" -C "$d/rep" 2>/dev/null
	echo "# boot $name: ${E2E_BOOT_MS} ms, qemu exit $rc"
	E2E_REP=$d/rep
	[ -f "$d/rep/done" ]
}

# An OVMF + GRUB boot from an ESP image: boot_uefi NAME ESP ROOTFS [qemu args...]
boot_uefi() {
	name=$1 esp=$2 rootfs=$3
	shift 3
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$E2E_WORK/$name.vars.fd"
	boot "$name" -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,file="$E2E_WORK/$name.vars.fd" \
		-drive file="$esp",if=none,id=esp,format=raw -device ide-hd,drive=esp,bootindex=0 \
		-drive file="$rootfs",if=none,id=root,format=raw,readonly=on -device virtio-blk-pci,drive=root \
		"$@"
}

# A direct kernel boot (SeaBIOS): boot_direct NAME IMAGE EXTRA_APPEND [qemu args...]
# ($E2E_INITRD picks another initramfs)
boot_direct() {
	name=$1 image=$2 append=$3
	shift 3
	boot "$name" -kernel "$E2E_VMLINUZ" -initrd "${E2E_INITRD:-$E2E_WORK/initrd.gz}" \
		-append "$E2E_CMDLINE $append" \
		-drive file="$image",if=none,id=root,format=raw,readonly=on -device virtio-blk-pci,drive=root \
		"$@"
}
