#!/bin/sh
# Secure Boot tier: Debian's real chain -- OVMF's secboot build with Microsoft's
# keys (OVMF_VARS_4M.ms.fd) -> the signed shim -> the signed GRUB -> the signed
# kernel -> measured-init -> rootfs -- and pcrpredict's PCR 4, 7 and 14 for it
# from those artifacts alone.
. tests/e2e/lib.sh

e2e_artifacts
pp=$E2E_BIN/pcrpredict
attest=$E2E_BIN/attest
efi=$(tests/harness/fetch-efi.sh build/cache) || { fail "secureboot: Debian's signed shim and GRUB could not be downloaded"; e2e_summary; exit 1; }
shim=$efi/usr/lib/shim/shimx64.efi.signed
grub=$efi/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
vars=/usr/share/OVMF/OVMF_VARS_4M.ms.fd

boot/mkesp-secureboot.sh --shim "$shim" --grub "$grub" --kernel "$E2E_VMLINUZ" \
	--initrd "$E2E_WORK/initrd.gz" --cmdline "$E2E_CMDLINE" --out "$E2E_WORK/esp-sb.img"
cp "$vars" "$E2E_WORK/sb.vars.fd"
if boot secureboot -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
	-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd \
	-drive if=pflash,format=raw,file="$E2E_WORK/sb.vars.fd" \
	-drive file="$E2E_WORK/esp-sb.img",if=none,id=esp,format=raw -device ide-hd,drive=esp,bootindex=0 \
	-drive file="$E2E_WORK/rootfs.img",if=none,id=root,format=raw,readonly=on -device virtio-blk-pci,drive=root; then
	ok "secureboot: shim -> GRUB -> kernel boot to the rootfs under Secure Boot (${E2E_BOOT_MS} ms)"
else
	fail "secureboot: boot (see $E2E_WORK/secureboot/console.log)"
fi
rep=$E2E_REP
check "secureboot: the kernel says Secure Boot is enabled" grep -q "Secure boot enabled" "$E2E_WORK/secureboot/console.log"
fw=$("$attest" log --json "$rep/firmware.log")
rm -rf "$E2E_WORK/pcrlock.d" && mkdir -p "$E2E_WORK/pcrlock.d"
pred=$("$pp" secureboot --banks sha256,sha1 --json --vars "$vars" --shim "$shim" --grub "$grub" --kernel "$E2E_VMLINUZ" \
	--pcrlock "$E2E_WORK/pcrlock.d")
for bank in sha256 sha1; do
	for i in 7 14; do
		same "secureboot: guest $bank PCR $i equals pcrpredict secureboot" "$(guest_pcr "$rep" $bank $i)" \
			"$(printf "%s\n" "$pred" | jq -r ".pcrs.$bank[\"$i\"]")"
	done
done
# the same predictions as systemd .pcrlock files: their records, folded by openssl alone
for bank in sha256 sha1; do
	for i in 7 14; do
		same "secureboot: the .pcrlock records fold to the guest's $bank PCR $i" "$(guest_pcr "$rep" $bank $i)" \
			"$(tests/harness/pcrlock-fold.sh $i $bank "$E2E_WORK"/pcrlock.d/*.pcrlock)"
	done
done
# PCR 0-3 and 6 from OVMF_CODE itself, with the platform profile for what no file
# holds (PlatformPei's run-time data in PEIFV, the boot options OVMF makes)
fwpred=$("$pp" firmware --banks sha256,sha1 --json --code /usr/share/OVMF/OVMF_CODE_4M.secboot.fd \
	--platform tests/data/ovmf-q35-smm.profile.json)
for bank in sha256 sha1; do
	for i in 0 1 2 3 6; do
		same "secureboot: guest $bank PCR $i equals pcrpredict firmware (OVMF_CODE + profile)" "$(guest_pcr "$rep" $bank $i)" \
			"$(printf "%s\n" "$fwpred" | jq -r ".pcrs.$bank[\"$i\"]")"
	done
done
# Keylime's measured-boot reference state of the chain: PCR 0 from the platform's
# recorded log (tests/data), the rest from the artifacts; checked against the
# guest's log by a checker of Keylime's rules (Keylime is not packaged here)
cmdline=$(sed -n 's/^[[:space:]]*linux\(efi\)\{0,1\}[[:space:]]\{1,\}//p' "$E2E_WORK/esp-sb.grub.cfg" | head -1)
"$pp" secureboot --vars "$vars" --shim "$shim" --grub "$grub" --kernel "$E2E_VMLINUZ" \
	--initrd "$E2E_WORK/initrd.gz" --cmdline "$cmdline" --platform-log tests/data/ovmf-secureboot.log \
	--keylime "$E2E_WORK/keylime-refstate.json" >/dev/null
check "secureboot: the Keylime refstate from the artifacts accepts the guest's log (PCR 0, 4, 7, 8, 9, 14)" \
	/usr/bin/python3 tests/harness/keylime-refstate-check.py "$E2E_WORK/keylime-refstate.json" "$rep/firmware.log"
# PCR 4: each application the firmware and shim loaded, as pcrpredict pe digests it
apps=$(printf "%s\n" "$fw" | jq -r '.events[] | select(.type_name == "EV_EFI_BOOT_SERVICES_APPLICATION") | .digests.sha256' | tr '\n' ' ')
want=$("$pp" pe --json "$shim" "$grub" "$E2E_VMLINUZ" | jq -r '.[].sha256' | tr '\n' ' ')
k=$(printf "%s" "$want" | cut -d' ' -f3)
same "secureboot: PCR 4 loads shim, GRUB, then the kernel (twice, as this GRUB loads it) by their Authenticode digests" \
	"$apps" "$want$k "
# PCR 8, 9: the signed GRUB runs its embedded config (policies/grub-debian-signed.preamble), then ours
mkdir -p "$E2E_WORK/sb.root"
cp "$E2E_VMLINUZ" "$E2E_WORK/sb.root/vmlinuz"
cp "$E2E_WORK/initrd.gz" "$E2E_WORK/sb.root/initrd.img"
grubpred=$("$pp" grub --banks sha256,sha1 --json --config "$E2E_WORK/esp-sb.grub.cfg" --root "$E2E_WORK/sb.root" \
	--config-name '(hd0)/EFI/debian/grub.cfg' --preamble policies/grub-debian-signed.preamble)
for bank in sha256 sha1; do
	for i in 8 9; do
		same "secureboot: guest $bank PCR $i equals pcrpredict grub for the signed GRUB" "$(guest_pcr "$rep" $bank $i)" \
			"$(printf "%s\n" "$grubpred" | jq -r ".pcrs.$bank[\"$i\"]")"
	done
done
same "secureboot: guest PCR 13 equals pcrpredict rootfs" "$(guest_pcr "$rep" sha256 13)" "$("$pp" rootfs --json "$E2E_WORK/rootfs.img" | jq -r .banks.sha256.pcr)"
# the whole chain from one manifest (pcrpredict build), and pcrpredict diff against the boot's log
cat >"$E2E_WORK/sb.manifest" <<MANIFEST
banks = sha256,sha1
rootfs = rootfs.img
grub.config = esp-sb.grub.cfg
grub.root = sb.root
grub.config-name = (hd0)/EFI/debian/grub.cfg
grub.preamble = $(pwd)/policies/grub-debian-signed.preamble
secureboot.vars = $vars
secureboot.shim = $shim
secureboot.grub = $grub
secureboot.kernel = $E2E_VMLINUZ
MANIFEST
"$pp" build --manifest "$E2E_WORK/sb.manifest" --out "$E2E_WORK/sb-reference.json" >/dev/null
bad=
for bank in sha256 sha1; do
	for i in 7 8 9 13 14; do
		[ "$(jq -r ".pcrs.$bank[\"$i\"]" "$E2E_WORK/sb-reference.json")" = "$(guest_pcr "$rep" $bank $i)" ] || bad="$bad $bank:$i"
	done
done
if [ -z "$bad" ]; then ok "secureboot: pcrpredict build's reference predicts PCR 7, 8, 9, 13, 14 of the boot (both banks)"; else fail "secureboot: the reference differs on$bad"; fi
check "secureboot: pcrpredict diff finds every PCR of the reference as predicted in the boot's log" \
	sh -c "'$pp' diff '$E2E_WORK/sb-reference.json' '$rep/firmware.log' >'$E2E_WORK/sb-diff.out'"
# one dbx entry changed in a copy of the varstore: the first differing event is named
/usr/bin/python3 - "$vars" "$E2E_WORK/vars-dbx.fd" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
name = "dbx".encode("utf-16-le") + b"\0\0"
at = d.rindex(name) + len(name)   # the live dbx is the last copy; its data follows the name
d[at + 75] ^= 0xff                # the last byte of its one SHA-256 entry
open(sys.argv[2], "wb").write(d)
PY
sed "s|^secureboot.vars = .*|secureboot.vars = $(cd "$E2E_WORK" && pwd)/vars-dbx.fd|" "$E2E_WORK/sb.manifest" >"$E2E_WORK/sb-dbx.manifest"
"$pp" build --manifest "$E2E_WORK/sb-dbx.manifest" --out "$E2E_WORK/sb-dbx.json" >/dev/null
check "secureboot: with one dbx entry changed, pcrpredict diff names PCR 7's dbx event" \
	sh -c "'$pp' diff '$E2E_WORK/sb-dbx.json' '$rep/firmware.log' | grep -q 'sha256 PCR 7 differs: PCR 7 event 5 EV_EFI_VARIABLE_DRIVER_CONFIG: predicted .dbx.'"
# grub.cfg as Debian's /etc/grub.d scripts write it (tests/harness/mkgrubcfg.sh), booted by the
# signed GRUB: the first entry; then GRUB_DEFAULT=saved with a grubenv whose saved_entry is the
# recovery entry inside the submenu, with a quoted argument
kv=6.1.0-measured-amd64
sh tests/harness/mkgrubcfg-data.sh "$E2E_CMDLINE" "$E2E_WORK"
for variant in mkconfig mkconfig-saved; do
	esp=$E2E_WORK/esp-$variant.img
	root=$E2E_WORK/$variant.root
	rm -rf "$root" && mkdir -p "$root/EFI/debian"
	cp "$E2E_VMLINUZ" "$root/vmlinuz-$kv"
	cp "$E2E_WORK/initrd.gz" "$root/initrd.img-$kv"
	cp "$E2E_WORK/esp-sb.img" "$esp"
	mcopy -o -i "$esp" "$E2E_WORK/grub-$variant.cfg" ::/EFI/debian/grub.cfg
	mcopy -o -i "$esp" "$root/vmlinuz-$kv" "::/vmlinuz-$kv"
	mcopy -o -i "$esp" "$root/initrd.img-$kv" "::/initrd.img-$kv"
	if [ -f "$E2E_WORK/grub-$variant.grubenv" ]; then
		cp "$E2E_WORK/grub-$variant.grubenv" "$root/EFI/debian/grubenv"
		mcopy -o -i "$esp" "$root/EFI/debian/grubenv" ::/EFI/debian/grubenv
	fi
	cp "$vars" "$E2E_WORK/sb-$variant.vars.fd"
	if boot "sb-$variant" -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
		-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd \
		-drive if=pflash,format=raw,file="$E2E_WORK/sb-$variant.vars.fd" \
		-drive file="$esp",if=none,id=esp,format=raw -device ide-hd,drive=esp,bootindex=0 \
		-drive file="$E2E_WORK/rootfs.img",if=none,id=root,format=raw,readonly=on -device virtio-blk-pci,drive=root; then
		ok "secureboot: the signed GRUB boots grub-$variant.cfg (${E2E_BOOT_MS} ms)"
	else
		fail "secureboot: boot of grub-$variant.cfg (see $E2E_WORK/sb-$variant/console.log)"
	fi
	pred=$("$pp" grub --banks sha256,sha1 --json --config "$E2E_WORK/grub-$variant.cfg" --root "$root" \
		--config-name '(hd0)/EFI/debian/grub.cfg' --preamble policies/grub-debian-signed.preamble \
		--set 'prefix=(hd0)/EFI/debian' --set root=hd0 --fs-uuid 6D65-6173)
	for bank in sha256 sha1; do
		for i in 8 9; do
			same "secureboot: guest $bank PCR $i equals pcrpredict grub for grub-$variant.cfg" \
				"$(guest_pcr "$E2E_REP" $bank $i)" "$(printf "%s\n" "$pred" | jq -r ".pcrs.$bank[\"$i\"]")"
		done
	done
	[ "$variant" = mkconfig ] || check "secureboot: GRUB booted saved_entry, the recovery entry in the submenu, with the quoted argument" \
		grep -aq 'kernel_cmdline: /vmlinuz-6.1.0-measured-amd64 root=/dev/vda ro single .*"measured.note=a b"' "$E2E_REP/firmware.log"
done
e2e_summary
