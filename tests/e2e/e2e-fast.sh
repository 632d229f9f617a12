#!/bin/sh
# Fast tier: SeaBIOS direct kernel boot -> measured-init -> rootfs, with swtpm.
# The guest's PCRs must be exactly what pcrpredict computed from the images.
. tests/e2e/lib.sh

e2e_artifacts
img=$E2E_WORK/rootfs.img
pp=$E2E_BIN/pcrpredict
attest=$E2E_BIN/attest

# --- flat mode
if boot_direct flat "$img" "measured.mode=flat"; then ok "flat: boots through measured-init to the rootfs (${E2E_BOOT_MS} ms)"; else fail "flat: boot (see $E2E_WORK/flat/console.log)"; fi
rep=$E2E_REP
for bank in sha256 sha1; do
	want=$("$pp" rootfs --mode flat --banks $bank --json "$img" | jq -r ".banks.$bank.pcr")
	same "flat: guest $bank PCR 13 equals pcrpredict rootfs" "$(guest_pcr "$rep" $bank 13)" "$want"
done
cel=$("$attest" log --json "$rep/measurements.cel")
for bank in sha1 sha256 sha384 sha512; do
	[ -f "$rep/pcrs-$bank" ] || continue
	same "flat: CEL log replays to the guest's $bank PCR 13" "$(printf "%s\n" "$cel" | jq -r ".pcrs.$bank[\"13\"]")" "$(guest_pcr "$rep" $bank 13)"
done
same "flat: CEL record names the root device" "$(printf "%s\n" "$cel" | jq -r '.events[0].type + " " + .events[0].name')" "rootfs /dev/vda"

# --- the firmware log and IMA, on the same boot
fw=$("$attest" log --json "$rep/firmware.log")
for i in 0 1 2 3 4 5 6 7; do
	v=$(printf "%s\n" "$fw" | jq -r ".pcrs.sha256[\"$i\"] // empty")
	[ -n "$v" ] || continue
	same "firmware log replays to the guest's sha256 PCR $i" "$v" "$(guest_pcr "$rep" sha256 $i)"
done
check "IMA list did not change while the PCRs were read" cmp -s "$rep/ima.log" "$rep/ima-after.log"
ima=$("$attest" log --json --format ima --banks sha1,sha256 "$rep/ima.log")
for bank in sha1 sha256; do
	same "IMA list replays to the guest's $bank PCR 10" "$(printf "%s\n" "$ima" | jq -r ".pcrs.$bank[\"10\"]")" "$(guest_pcr "$rep" $bank 10)"
done
ref=$("$pp" ima --json --rootfs "$img")
missing=$(printf "%s\n" "$ima" | jq -r '.events[] | select(.path != "boot_aggregate") | "\(.path) \(.digest)"' |
	while read -r path digest; do
		r=$(printf "%s\n" "$ref" | jq -r --arg p "$path" '.files[$p] // empty')
		[ "$r" = "$digest" ] || echo "$path"
	done)
n=$(printf "%s\n" "$ima" | jq '[.events[] | select(.path != "boot_aggregate")] | length')
if [ -z "$missing" ] && [ "$n" -gt 0 ]; then ok "IMA: all $n measured rootfs files are in pcrpredict ima's reference"; else fail "IMA: not in the reference: $missing"; fi
printf '{"pcrs":{"sha256":{' >"$E2E_WORK/pcr0-9.json"
for i in 0 1 2 3 4 5 6 7 8 9; do
	printf '"%s":"%s"%s' $i "$(guest_pcr "$rep" sha256 $i)" "$([ $i -lt 9 ] && echo ,)" >>"$E2E_WORK/pcr0-9.json"
done
printf '}}}\n' >>"$E2E_WORK/pcr0-9.json"
agg=$("$pp" ima --boot-aggregate --values "$E2E_WORK/pcr0-9.json" --json | jq -r .sha256)
same "IMA boot_aggregate equals pcrpredict's from the guest's PCR 0-9" "$(printf "%s\n" "$ima" | jq -r '.events[0].digest')" "$agg"

# --- one byte changed: another PCR 13, the one predicted for the changed image
cp "$img" "$E2E_WORK/rootfs-changed.img"
printf 'X' | dd of="$E2E_WORK/rootfs-changed.img" bs=1 seek=40000000 conv=notrunc status=none
if boot_direct changed "$E2E_WORK/rootfs-changed.img" "measured.mode=flat"; then ok "changed image: boots"; else fail "changed image: boot"; fi
got=$(guest_pcr "$E2E_REP" sha256 13)
same "changed image: guest PCR 13 equals pcrpredict of the changed image" "$got" "$("$pp" rootfs --mode flat --json "$E2E_WORK/rootfs-changed.img" | jq -r .banks.sha256.pcr)"
check "changed image: PCR 13 differs from the original's" [ "$got" != "$(guest_pcr "$rep" sha256 13)" ]

# --- measured.expect with a wrong value never reaches the rootfs
wrong=0000000000000000000000000000000000000000000000000000000000000001
if boot_direct expect "$img" "measured.expect=$wrong"; then fail "expect: a wrong measured.expect reached the rootfs"; else ok "expect: a wrong measured.expect stops the boot"; fi
check "expect: the console names the mismatch" grep -q "does not match measured.expect=$wrong" "$E2E_WORK/expect/console.log"
check "expect: then halts" grep -q "halting" "$E2E_WORK/expect/console.log"
right=$("$pp" rootfs --json "$img" | jq -r .banks.sha256.digest)
if boot_direct expect-ok "$img" "measured.expect=$right"; then ok "expect: the right measured.expect boots"; else fail "expect: the right value did not boot"; fi

# --- verity mode (the default: no measured.mode), with a salt
if boot_direct verity "$img" "measured.salt=00c0ffee"; then ok "verity: boots"; else fail "verity: boot"; fi
check "verity: the default mode, the root mounted through /dev/mapper/measured-root" grep -q "mapped through dm-verity as /dev/mapper/measured-root" "$E2E_WORK/verity/console.log"
same "verity: guest PCR 13 equals pcrpredict rootfs --mode verity" "$(guest_pcr "$E2E_REP" sha256 13)" "$("$pp" rootfs --mode verity --salt 00c0ffee --json "$img" | jq -r .banks.sha256.pcr)"
same "verity: guest sha1 PCR 13 too" "$(guest_pcr "$E2E_REP" sha1 13)" "$("$pp" rootfs --banks sha1 --mode verity --salt 00c0ffee --json "$img" | jq -r .banks.sha1.pcr)"

e2e_summary
