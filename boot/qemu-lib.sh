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

# An OVMF + GRUB boot from an ESP image: boot_uefi NAME ESP ROOTFS
boot_uefi() {
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$E2E_WORK/$1.vars.fd"
	boot "$1" -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,file="$E2E_WORK/$1.vars.fd" \
		-drive file="$2",if=none,id=esp,format=raw -device ide-hd,drive=esp,bootindex=0 \
		-drive file="$3",if=none,id=root,format=raw,readonly=on -device virtio-blk-pci,drive=root
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
