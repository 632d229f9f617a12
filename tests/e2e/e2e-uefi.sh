#!/bin/sh
# UEFI tier: OVMF -> standalone GRUB (tpm module) -> linuxefi -> measured-init -> rootfs,
# and the tboot stanza: GRUB multiboot2 -> tboot -> kernel (no TXT under emulation).
. tests/e2e/lib.sh

e2e_artifacts
pp=$E2E_BIN/pcrpredict
attest=$E2E_BIN/attest
img=$E2E_WORK/rootfs.img
cmdline=$E2E_CMDLINE

# --- linuxefi
boot/mkesp.sh --kernel "$E2E_VMLINUZ" --initrd "$E2E_WORK/initrd.gz" --out "$E2E_WORK/esp.img" \
	--cmdline "$cmdline" --default 0
if boot_uefi uefi "$E2E_WORK/esp.img" "$img"; then ok "uefi: OVMF + GRUB linuxefi boots to the rootfs (${E2E_BOOT_MS} ms)"; else fail "uefi: boot (see $E2E_WORK/uefi/console.log)"; fi
rep=$E2E_REP
pred=$("$pp" grub --banks sha256,sha1 --json --config "$E2E_WORK/esp.grub.cfg" --root "$E2E_WORK/esp.root" \
	--memdisk "$E2E_WORK/esp.memdisk")
for bank in sha256 sha1; do
	for i in 8 9; do
		same "uefi: guest $bank PCR $i equals pcrpredict grub" "$(guest_pcr "$rep" $bank $i)" "$(printf "%s\n" "$pred" | jq -r ".pcrs.$bank[\"$i\"]")"
	done
done
fw=$("$attest" log --json "$rep/firmware.log")
# one byte of grub.cfg changed: pcrpredict diff names the command that differs, from the boot's log
sed 's/panic=-1/panic=-2/' "$E2E_WORK/esp.grub.cfg" >"$E2E_WORK/esp-changed.grub.cfg"
"$pp" grub --json --config "$E2E_WORK/esp-changed.grub.cfg" --root "$E2E_WORK/esp.root" \
	--memdisk "$E2E_WORK/esp.memdisk" >"$E2E_WORK/changed.json"
check "uefi: pcrpredict diff names the GRUB command that a one-byte change in grub.cfg makes differ" \
	sh -c "'$pp' diff '$E2E_WORK/changed.json' '$rep/firmware.log' | grep -q \"sha256 PCR 8 differs: PCR 8 event .* EV_IPL: predicted 'grub_cmd: .*panic=-2.*, the log has 'grub_cmd: .*panic=-1\""

for bank in sha1 sha256 sha384 sha512; do
	[ -f "$rep/pcrs-$bank" ] || continue
	bad=
	for i in 0 1 2 3 4 5 6 7 8 9; do
		[ "$(printf "%s\n" "$fw" | jq -r ".pcrs.$bank[\"$i\"] // \"0\"")" = "$(guest_pcr "$rep" $bank $i)" ] || bad="$bad $i"
	done
	if [ -z "$bad" ]; then ok "uefi: attest log of the firmware log replays to the guest's $bank PCR 0-9"; else fail "uefi: $bank PCRs$bad differ from the firmware log's replay"; fi
done
# PCR 4: OVMF measured the Authenticode digest of the GRUB it loaded
same "uefi: the PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION digest equals pcrpredict pe of BOOTX64.EFI" \
	"$(printf "%s\n" "$fw" | jq -r '[.events[] | select(.type_name == "EV_EFI_BOOT_SERVICES_APPLICATION")][0].digests.sha256')" \
	"$("$pp" pe --json "$E2E_WORK/esp.BOOTX64.EFI" | jq -r '.[].sha256')"
same "uefi: guest PCR 13 equals pcrpredict rootfs" "$(guest_pcr "$rep" sha256 13)" "$("$pp" rootfs --json "$img" | jq -r .banks.sha256.pcr)"
ima=$("$attest" log --json --format ima --banks sha1,sha256 "$rep/ima.log")
for bank in sha1 sha256; do
	same "uefi: IMA list replays to the guest's $bank PCR 10" "$(printf "%s\n" "$ima" | jq -r ".pcrs.$bank[\"10\"]")" "$(guest_pcr "$rep" $bank 10)"
done
ref=$("$pp" ima --json --rootfs "$img")
missing=$(printf "%s\n" "$ima" | jq -r '.events[] | select(.path != "boot_aggregate") | "\(.path) \(.digest)"' |
	while read -r path digest; do
		[ "$(printf "%s\n" "$ref" | jq -r --arg p "$path" '.files[$p] // empty')" = "$digest" ] || echo "$path"
	done)
if [ -z "$missing" ]; then ok "uefi: every IMA entry for a rootfs file is in pcrpredict ima's reference"; else fail "uefi: not in the reference: $missing"; fi
# boot_aggregate from the PCR 0-9 that the firmware log (and GRUB's events in it) replay to
printf "%s\n" "$fw" | jq '{pcrs: {sha256: (.pcrs.sha256 | with_entries(select(.key | tonumber < 10)))}}' >"$E2E_WORK/uefi-pcr0-9.json"
same "uefi: boot_aggregate equals the one computed from the replayed PCR 0-9" "$(printf "%s\n" "$ima" | jq -r '.events[0].digest')" "$("$pp" ima --boot-aggregate --values "$E2E_WORK/uefi-pcr0-9.json" --json | jq -r .sha256)"

# --- the same chain from a GPT disk (as installers make it): PCR 5 gets the EV_EFI_GPT_EVENT
boot/mkesp.sh --kernel "$E2E_VMLINUZ" --initrd "$E2E_WORK/initrd.gz" --out "$E2E_WORK/esp-gpt.img" \
	--cmdline "$cmdline" --default 0 --gpt
if boot_uefi uefi-gpt "$E2E_WORK/esp-gpt.img" "$img"; then ok "gpt: OVMF boots GRUB from the GPT disk (${E2E_BOOT_MS} ms)"; else fail "gpt: boot (see $E2E_WORK/uefi-gpt/console.log)"; fi
gpt=$("$pp" gpt --banks sha256,sha1 --json "$E2E_WORK/esp-gpt.img")
same "gpt: the firmware's EV_EFI_GPT_EVENT digest equals pcrpredict gpt's" \
	"$("$attest" log --json "$E2E_REP/firmware.log" | jq -r '[.events[] | select(.type_name == "EV_EFI_GPT_EVENT")][0].digests.sha256')" \
	"$(printf "%s\n" "$gpt" | jq -r .gpt_event.sha256)"
for bank in sha256 sha1; do
	same "gpt: guest $bank PCR 5 equals pcrpredict gpt" "$(guest_pcr "$E2E_REP" $bank 5)" "$(printf "%s\n" "$gpt" | jq -r ".pcrs.$bank[\"5\"]")"
done

# --- the tboot stanza
boot/mkesp.sh --kernel "$E2E_VMLINUZ" --initrd "$E2E_WORK/initrd.gz" --out "$E2E_WORK/esp-tboot.img" \
	--cmdline "$cmdline" --default 1
if boot_uefi tboot "$E2E_WORK/esp-tboot.img" "$img"; then ok "tboot: GRUB multiboot2 -> tboot -> kernel boots through (${E2E_BOOT_MS} ms)"; else fail "tboot: boot (see $E2E_WORK/tboot/console.log)"; fi
check "tboot: tboot ran, with the command line GRUB measured" grep -aq "TBOOT: command line: logging=serial,memory,vga" "$E2E_WORK/tboot/console.log"
pred=$("$pp" grub --banks sha256,sha1 --json --config "$E2E_WORK/esp-tboot.grub.cfg" --root "$E2E_WORK/esp-tboot.root" \
	--memdisk "$E2E_WORK/esp-tboot.memdisk")
for bank in sha256 sha1; do
	for i in 8 9; do
		same "tboot: guest $bank PCR $i equals pcrpredict grub for the tboot stanza" "$(guest_pcr "$E2E_REP" $bank $i)" "$(printf "%s\n" "$pred" | jq -r ".pcrs.$bank[\"$i\"]")"
	done
done
same "tboot: guest PCR 13 equals pcrpredict rootfs" "$(guest_pcr "$E2E_REP" sha256 13)" "$("$pp" rootfs --json "$img" | jq -r .banks.sha256.pcr)"

e2e_summary
