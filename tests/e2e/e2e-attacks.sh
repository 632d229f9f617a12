#!/bin/sh
# Attacks on measured-init under QEMU + swtpm (issue 13, items 7 and 8).
#  7. The root device is changed after measured-init measured it: with verity
#     (the default) the guest's read of the changed file fails with EIO and
#     the root is /dev/mapper/measured-root; in flat mode the same write is
#     read back (the documented window between hashing and mounting).
#  8. measured.pcr= naming a resettable or foreign PCR is refused and the
#     boot halts; a measurement that fails under measured.onfail=continue
#     leaves PCR 13 holding the failure event, never the predicted value.
. tests/e2e/lib.sh

e2e_artifacts
pp=$E2E_BIN/pcrpredict
attest=$E2E_BIN/attest
w=$E2E_WORK/attacks
rm -rf "$w" && mkdir -p "$w"

# --- 7: a block changed on the device after the measurement
head -c 8192 /dev/zero | tr '\0' v >"$w/victim"
head -c 4096 /dev/zero | tr '\0' X >"$w/evil"
# the attacker's tools: tpm2_pcrextend (tpm2-tools) with its libraries and the device TCTI
tcti=$(ls /usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0)
tools="--extra $(readlink -f "$(command -v tpm2_pcrextend)")=/usr/bin/tpm2_pcrextend"
for lib in $( (ldd "$(command -v tpm2_pcrextend)"; ldd "$tcti") | awk '/=>/ { print $3 } /^\t\/.*ld-linux/ { print $1 }' | sort -u) "$tcti"; do
	tools="$tools --extra $(readlink -f "$lib")=$lib"
done
# shellcheck disable=SC2086 # one word per --extra
boot/mkrootfs.sh --out "$w/rootfs.img" --size 128M --extra tests/e2e/guest/verity-attack.sh=/etc/e2e/verity-attack.sh \
	--extra tests/e2e/guest/extend-good.sh=/etc/e2e/extend-good.sh \
	--extra "$w/victim=/etc/e2e/victim" --extra "$w/evil=/etc/e2e/evil" $tools
block=$(debugfs -R "bmap /etc/e2e/victim 0" "$w/rootfs.img" 2>/dev/null)
[ -n "$block" ] && [ "$block" -gt 0 ] || { fail "attack: no block for /etc/e2e/victim"; e2e_summary; exit 1; }
attack_boot() { # attack_boot NAME MODE: the rootfs writable (the attacker's device), a fresh copy
	cp "$w/rootfs.img" "$w/$1.img"
	boot "$1" -kernel "$E2E_VMLINUZ" -initrd "$E2E_WORK/initrd.gz" \
		-append "$E2E_CMDLINE measured.mode=$2 measured.run=/etc/e2e/verity-attack.sh e2e.block=$block" \
		-drive file="$w/$1.img",if=none,id=root,format=raw -device virtio-blk-pci,drive=root
}
victim_sha=$(sha256sum "$w/victim" | cut -d' ' -f1)
evil_sha=$(sha256sum "$w/evil" | cut -d' ' -f1)

if attack_boot verity-attack verity; then ok "verity attack: boots (${E2E_BOOT_MS} ms)"; else fail "verity attack: boot (see $E2E_WORK/verity-attack/console.log)"; fi
rep=$E2E_REP
same "verity attack: guest PCR 13 equals pcrpredict rootfs (verity)" "$(guest_pcr "$rep" sha256 13)" "$("$pp" rootfs --mode verity --json "$w/rootfs.img" | jq -r .banks.sha256.pcr)"
check "verity attack: the root is mounted from /dev/mapper/measured-root" grep -q "^/dev/mapper/measured-root /run/measured/lower ext4 ro" "$rep/mounts"
root_hash=$(veritysetup format --no-superblock --salt=- "$w/rootfs.img" "$w/hash.img" | sed -n 's/^Root hash:[[:space:]]*//p')
same "verity attack: the dm-verity table holds the root hash veritysetup computes for the image" "$(sed -n 's/^measured-init: dm-verity table: 0 [0-9]* verity 1 [0-9:]* [0-9:]* 4096 4096 [0-9]* 0 sha256 \([0-9a-f]*\) -.*/\1/p' "$E2E_WORK/verity-attack/console.log" | tr -d '\r')" "$root_hash"
check "verity attack: measured-root is dm-verity over vda and the tree's loop device" grep -Eq "^measured-root (loop[0-9]+ vda|vda loop[0-9]+) $" "$rep/dm"
same "verity attack: the file reads right before the write" "$(cat "$rep/before" 2>/dev/null)" "$victim_sha"
same "verity attack: the write reached the device" "$(cat "$rep/device-now" 2>/dev/null)" "$evil_sha"
check "verity attack: then the guest's read fails" [ "$(cat "$rep/after.rc" 2>/dev/null)" != 0 ]
check "verity attack: with EIO" grep -q "Input/output error\|I/O error" "$rep/after.err"
check "verity attack: nothing of the attacker's block was read" sh -c "! grep -q X '$rep/after'"
check "verity attack: dm-verity names the corrupted block" grep -q "data block $block is corrupted" "$rep/dmesg-verity"
check "verity attack: the image file on the host changed too" sh -c "! cmp -s '$w/verity-attack.img' '$w/rootfs.img'"

if attack_boot flat-attack flat; then ok "flat: boots"; else fail "flat: boot (see $E2E_WORK/flat-attack/console.log)"; fi
rep=$E2E_REP
check "flat: the root is the raw device" grep -q "^/dev/vda /run/measured/lower ext4 ro" "$rep/mounts"
same "flat: the attacker's block is read back without complaint (the window)" "$(head -c 4096 "$rep/after" 2>/dev/null | sha256sum | cut -d' ' -f1)" "$evil_sha"

# --- 8: measured.pcr= that would weaken the measurement
img=$E2E_WORK/rootfs.img
for pcr in 16 23 10; do
	if boot_direct "pcr$pcr" "$img" "measured.pcr=$pcr"; then fail "measured.pcr=$pcr: reached the rootfs"; else ok "measured.pcr=$pcr: never reaches the rootfs"; fi
	check "measured.pcr=$pcr: refused, saying why" grep -q "measured.pcr=$pcr refused: PCR $pcr " "$E2E_WORK/pcr$pcr/console.log"
	check "measured.pcr=$pcr: then halts" grep -q "halting" "$E2E_WORK/pcr$pcr/console.log"
done

# --- 8: a failed measurement under measured.onfail=continue. The disk
# returns EIO for one sector that nothing but the measurement reads (free
# space near the end of the filesystem): the measurement fails, the rootfs
# still mounts -- and then extends the genuine image's digest into PCR 13
# itself (tpm2_pcrextend), as an attacker's rootfs would.
img=$w/rootfs.img
free_end=$(dumpe2fs "$img" 2>/dev/null | sed -n 's/^ *Free blocks: .*-\([0-9]*\)$/\1/p' | tail -1)
sector=$(((free_end - 64) * 8))
printf '[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "%s"\n' "$sector" >"$w/blkdebug.conf"
good=$("$pp" rootfs --json "$img" | jq -r .banks.sha256.digest)
pred=$("$pp" rootfs --json "$img" | jq -r .banks.sha256.pcr)
if boot_direct onfail "blkdebug:$w/blkdebug.conf:$img" "measured.onfail=continue measured.run=/etc/e2e/extend-good.sh e2e.digest=$good"; then ok "onfail=continue: a failed measurement still boots"; else fail "onfail=continue: boot (see $E2E_WORK/onfail/console.log)"; fi
rep=$E2E_REP
check "onfail=continue: the measurement failed on the read error" grep -q "FAILED to measure the root filesystem: .*Input/output error" "$E2E_WORK/onfail/console.log"
fdig=$(printf '%s' "measured-init: measurement failed" | sha256sum | cut -d' ' -f1)
failed=$({ head -c 32 /dev/zero; printf '%s' "$fdig" | xxd -r -p; } | openssl dgst -sha256 -r | cut -c1-64)
same "onfail=continue: sha1 PCR 13 = extend(0, sha1(\"measured-init: measurement failed\")), by sha1sum + openssl" "$(guest_pcr "$rep" sha1 13)" \
	"$({ head -c 20 /dev/zero; printf '%s' "measured-init: measurement failed" | sha1sum | cut -c1-40 | xxd -r -p; } | openssl dgst -sha1 -r | cut -c1-40)"
check "onfail=continue: the rootfs extended the genuine digest (tpm2_pcrextend)" [ "$(cat "$rep/extend.rc" 2>/dev/null)" = 0 ]
same "onfail=continue: sha256 PCR 13 = extend(extend(0, failure event), genuine digest), by sha256sum + openssl" "$(guest_pcr "$rep" sha256 13)" \
	"$({ printf '%s' "$failed$good" | xxd -r -p; } | openssl dgst -sha256 -r | cut -c1-64)"
check "onfail=continue: so PCR 13 is not the predicted (sealed-to) value" [ "$(guest_pcr "$rep" sha256 13)" != "$pred" ]
cel=$("$attest" log --json "$rep/measurements.cel")
same "onfail=continue: the CEL log's one record is the failure event, naming the stage" "$(printf "%s\n" "$cel" | jq -r '[.events[] | .type + ":" + .name] | join(",")')" "failure:measure the root filesystem"
same "onfail=continue: its digest is the documented one" "$(printf "%s\n" "$cel" | jq -r '.events[0].digests.sha256')" "$fdig"
same "onfail=continue: the CEL log replays to the PCR before the rootfs's extend" "$(printf "%s\n" "$cel" | jq -r '.pcrs.sha256["13"]')" "$failed"

e2e_summary
