#!/bin/sh
# Sealed container unlock on the measured chain (QEMU + swtpm, kept across
# reboots like a device's TPM): boot 1 creates a container whose LUKS2 data
# key is sealed to the PCRs, writes a secret in it; the host finds only
# ciphertext.  Boot 2, a rootfs with one byte changed: the start is refused
# naming PCR 13.  Boot 3, the original rootfs: it opens and the secret is there.
# Boot 4, the container config edited offline on the state disk (userns: false):
# the chain is genuine, the key is not released to that config.  Boot 5, the
# GuestOS replaced by one signed under a CA the attacker registered there: refused.
. tests/e2e/lib.sh

e2e_artifacts
w=$(cd "$E2E_WORK" && pwd)
pp=$E2E_BIN/pcrpredict
attest=$E2E_BIN/attest

cml_artifacts # rootfs-cml.img with cmld, initrd-cml.gz with dm-crypt, a signed GuestOS
gos=$CML_GOS
img=$w/rootfs-cml.img

export E2E_TPM_STATE=$w/sealed-tpm
rm -rf "$E2E_TPM_STATE"
rm -f "$w/state.img"
truncate -s 256M "$w/state.img"
mkfs.ext4 -q -F "$w/state.img"
# the state disk is the guest's vdb (after the rootfs, before the report disk)
state="-drive file=$w/state.img,if=none,id=state,format=raw -device virtio-blk-pci,drive=state"

# --- boot 1: create, write the secret
# shellcheck disable=SC2086
if boot_direct sealed-create "$img" "measured.report=/dev/vdc measured.run=/etc/e2e/cml.sh e2e.gos=$CML_GOS_GUEST e2e.phase=create" $state; then
	ok "create: boots with cmld on the kernel's TPM (${E2E_BOOT_MS} ms)"
else
	fail "create: boot (see $E2E_WORK/sealed-create/console.log)"
fi
rep=$E2E_REP
check "create: the container is created" grep -q "# uuid" "$rep/create.out"
check "create: it starts (CONTAINER_START_OK)" grep -q CONTAINER_START_OK "$rep/start.out"
check "create: the secret reads back in the container" grep -q TOPSECRET-e2e-0451 "$rep/read.out"
check "create: /data is the dm-crypt mapping" grep -q "^/dev/mapper/cml-.* /data ext4" "$rep/read.out"
check "create: the mappings are closed after stop" sh -c "[ -f '$rep/mapper.after' ] && ! grep -q cml- '$rep/mapper.after'"
uuid=$(sed -n 's/^# uuid \(.*\)$/\1/p' "$rep/create.out" | head -1)
debugfs -R "dump /cml/containers/$uuid/data.img $w/data.img" "$w/state.img" 2>/dev/null
debugfs -R "dump /cml/containers/$uuid.conf $w/vault-stored.conf" "$w/state.img" 2>/dev/null
check "host: the data image is LUKS2" cryptsetup isLuks --type luks2 "$w/data.img"
check "host: the secret is nowhere on the state disk in plaintext" sh -c "! grep -aq TOPSECRET-e2e-0451 '$w/state.img'"
off=$(cryptsetup luksDump "$w/data.img" | awk '/^Data segments/ { s = 1 } s && /offset:/ { print $2; exit }')
check "host: the payload holds no plaintext ext4 (no superblock magic at $off + 1080)" \
	sh -c "[ -n '$off' ] && [ \"\$(od -An -tx2 -j \$(($off + 1080)) -N 2 '$w/data.img' | tr -d ' ')\" != ef53 ]"
# PCR 11: one start since boot, replayed from the CEL log and predicted from the configs
same "create: CEL log replays to the guest's PCR 11" \
	"$("$attest" log --json "$rep/measurements.cel" | jq -r '.pcrs.sha256["11"]')" "$(guest_pcr "$rep" sha256 11)"
v=0000000000000000000000000000000000000000000000000000000000000000
for d in $(sha256sum "$gos/images-testos-1/root.img" "$w/vault-stored.conf" | cut -c1-64); do
	v=$(printf %s%s "$v" "$d" | xxd -r -p | openssl dgst -sha256 -r | cut -c1-64)
done
same "create: guest PCR 11 = extends of sha256sum(GuestOS image), sha256sum(stored config)" "$v" "$(guest_pcr "$rep" sha256 11)"
same "create: pcrpredict cml predicts the guest's PCR 11" \
	"$("$pp" cml --guestos "$gos/testos.conf" --container "$w/vault-stored.conf" | awk '{print $3}')" \
	"$(guest_pcr "$rep" sha256 11)"

# --- boot 2: one byte of the rootfs changed
cp "$img" "$w/rootfs-cml-changed.img"
printf 'X' | dd of="$w/rootfs-cml-changed.img" bs=1 seek=150000000 conv=notrunc status=none
# shellcheck disable=SC2086
if boot_direct sealed-changed "$w/rootfs-cml-changed.img" "measured.report=/dev/vdc measured.run=/etc/e2e/cml.sh e2e.gos=$CML_GOS_GUEST e2e.phase=start" $state; then
	ok "changed rootfs: boots"
else
	fail "changed rootfs: boot (see $E2E_WORK/sealed-changed/console.log)"
fi
rep2=$E2E_REP
check "changed rootfs: start answers CONTAINER_START_UNLOCK_FAILED" grep -q CONTAINER_START_UNLOCK_FAILED "$rep2/start.out"
check "changed rootfs: the reason names PCR 13" grep -q "sha256 PCR 13 differs" "$rep2/start.out"
check "changed rootfs: nothing was read" sh -c "[ -f '$rep2/start.out' ] && [ ! -e '$rep2/read.out' ]"
check "changed rootfs: no mapping is left open" sh -c "[ -f '$rep2/mapper.after' ] && ! grep -q cml- '$rep2/mapper.after'"

# --- boot 3: the original rootfs again
# shellcheck disable=SC2086
if boot_direct sealed-again "$img" "measured.report=/dev/vdc measured.run=/etc/e2e/cml.sh e2e.gos=$CML_GOS_GUEST e2e.phase=start" $state; then
	ok "original rootfs: boots"
else
	fail "original rootfs: boot (see $E2E_WORK/sealed-again/console.log)"
fi
rep3=$E2E_REP
check "original rootfs: it starts again" grep -q CONTAINER_START_OK "$rep3/start.out"
check "original rootfs: the secret written in boot 1 is there" grep -q TOPSECRET-e2e-0451 "$rep3/read.out"
echo "# start (unseal + LUKS open + mount + init) in the guest: $(cat "$rep3/start.ms" 2>/dev/null) ms under TCG"

# --- boot 4: the original rootfs, the container config edited offline on the state disk
cp "$w/vault-stored.conf" "$w/vault-edited.conf"
echo 'userns: false' >>"$w/vault-edited.conf"
# put_state LOCAL PATH: replaces PATH on the (unmounted) state disk with LOCAL
put_state() {
	debugfs -w -R "rm $2" "$w/state.img" >/dev/null 2>&1
	debugfs -w -R "write $1 $2" "$w/state.img" >/dev/null 2>&1
}
put_state "$w/vault-edited.conf" "/cml/containers/$uuid.conf"
debugfs -R "dump /cml/containers/$uuid.conf $w/vault-check.conf" "$w/state.img" 2>/dev/null
check "edited config: the state disk holds the edit" grep -q "userns: false" "$w/vault-check.conf"
# shellcheck disable=SC2086
if boot_direct sealed-edited "$img" "measured.report=/dev/vdc measured.run=/etc/e2e/cml.sh e2e.gos=$CML_GOS_GUEST e2e.phase=start" $state; then
	ok "edited config: boots"
else
	fail "edited config: boot (see $E2E_WORK/sealed-edited/console.log)"
fi
rep4=$E2E_REP
check "edited config: start answers CONTAINER_START_UNLOCK_FAILED" grep -q CONTAINER_START_UNLOCK_FAILED "$rep4/start.out"
check "edited config: the reason names the config binding" grep -q "the config is not the one its key is bound to" "$rep4/start.out"
check "edited config: nothing was read" sh -c "[ -f '$rep4/start.out' ] && [ ! -e '$rep4/read.out' ]"
check "edited config: no mapping is left open" sh -c "[ -f '$rep4/mapper.after' ] && ! grep -q cml- '$rep4/mapper.after'"

# --- boot 5: the config restored; the GuestOS replaced by one signed under the
# attacker's own CA, registered on the state disk as ca_register would
put_state "$w/vault-stored.conf" "/cml/containers/$uuid.conf"
rm -rf "$w/evil"
GOS_CA_SUBJECT=/CN=attacker GOS_URL=$CML_GOS_GUEST tests/harness/mkguestos.sh "$w/evil" testos 2 >/dev/null
put_state "$w/evil/ca.pem" /cml/tokens/ca/evil.pem
for f in testos.conf testos.sig testos.cert; do put_state "$w/evil/$f" "/cml/guestos/testos/$f"; done
put_state "$w/evil/images-testos-2/root.img" /cml/guestos/testos/root.img
debugfs -R "dump /cml/guestos/testos/testos.cert $w/evil-check.cert" "$w/state.img" 2>/dev/null
check "attacker's GuestOS: on the state disk" cmp -s "$w/evil/testos.cert" "$w/evil-check.cert"
# shellcheck disable=SC2086
if boot_direct sealed-evil-gos "$img" "measured.report=/dev/vdc measured.run=/etc/e2e/cml.sh e2e.gos=$CML_GOS_GUEST e2e.phase=start" $state; then
	ok "attacker's GuestOS: boots"
else
	fail "attacker's GuestOS: boot (see $E2E_WORK/sealed-evil-gos/console.log)"
fi
rep5=$E2E_REP
check "attacker's GuestOS: start refused, the signer is no trust anchor" grep -q "certificate not trusted by the trust anchors" "$rep5/start.out"
check "attacker's GuestOS: nothing was read" sh -c "[ -f '$rep5/start.out' ] && [ ! -e '$rep5/read.out' ]"
check "attacker's GuestOS: no mapping is left open" sh -c "[ -f '$rep5/mapper.after' ] && ! grep -q cml- '$rep5/mapper.after'"
e2e_summary
