#!/bin/sh
# Runs each libFuzzer harness for SECONDS, seeded from our own event log (and
# MEASURED_TESTDATA's real ones, when set)
# and tests/fuzz/seeds/. Fails if any harness finds a crash, leak or timeout.
set -eu
secs=$1
shift
testdata=${MEASURED_TESTDATA:-}
status=0
for bin in "$@"; do
	name=$(basename "$bin")
	corpus=build/fuzz/corpus-$name
	mkdir -p "$corpus" build/fuzz/artifacts
	case $name in
	fuzz_tcg_log)
		cp tests/data/ovmf-grub.log "$corpus"/
		[ -z "$testdata" ] || cp "$testdata"/eventlogs/*.bin "$corpus"/
		;;
	fuzz_ima_list) cp tests/fuzz/seeds/ima/* "$corpus"/ ;;
	fuzz_cel) cp tests/fuzz/seeds/cel/* "$corpus"/ ;;
	fuzz_ovmf) cp tests/fuzz/seeds/ovmf/* "$corpus"/ ;;
	fuzz_grub_cfg) cp tests/fuzz/seeds/grub/* "$corpus"/ ;;
	fuzz_manifest) cp tests/fuzz/seeds/manifest/* "$corpus"/ ;;
	fuzz_tboot) cp tests/fuzz/seeds/tboot/* "$corpus"/ ;;
	fuzz_txt_heap) cp tests/fuzz/seeds/txt_heap/* "$corpus"/ ;;
	fuzz_txt_events) cp tests/fuzz/seeds/txt_events/* tests/fuzz/seeds/txt_heap/* "$corpus"/ ;;
	fuzz_ima_policy) cp tests/fuzz/seeds/ima_policy/* "$corpus"/ ;;
	fuzz_quote) cp tests/fuzz/seeds/quote/* "$corpus"/ ;;
	fuzz_attest_proto) cp tests/fuzz/seeds/attest/* "$corpus"/ ;;
	fuzz_pbtext) cp tests/fuzz/seeds/pbtext/* "$corpus"/ ;;
	fuzz_control) cp tests/fuzz/seeds/control/* "$corpus"/ ;;
	fuzz_cm_parse) # the config seeds, each as a container config (first byte 0)
		for f in tests/fuzz/seeds/pbtext/*; do
			{ printf '\000'; cat "$f"; } >"$corpus/$(basename "$f")"
		done
		;;
	fuzz_sealed_file) cp tests/fuzz/seeds/sealed/* "$corpus"/ ;;
	fuzz_signed_policy) cp tests/fuzz/seeds/signed_policy/* "$corpus"/ ;;
	fuzz_evidence) cp tests/fuzz/seeds/evidence/* "$corpus"/ ;;
	fuzz_ear) cp tests/fuzz/seeds/ear/* "$corpus"/ ;;
	fuzz_uefi_vars) [ ! -f /usr/share/OVMF/OVMF_VARS_4M.ms.fd ] || cp /usr/share/OVMF/OVMF_VARS_4M.ms.fd "$corpus"/ ;;
	fuzz_gpt) # a disk with a GPT: its first 34 sectors are enough
		rm -f build/fuzz/gpt-seed.img && truncate -s 1M build/fuzz/gpt-seed.img &&
			printf 'label: gpt\nstart=40, size=100, type=U\n' | sfdisk -q build/fuzz/gpt-seed.img >/dev/null &&
			head -c 17408 build/fuzz/gpt-seed.img >"$corpus"/gpt.img
		;;
	fuzz_pe) # the head of a real EFI application, when a build has one (not shipped: built from GRUB)
		for efi in build/e2e/esp.BOOTX64.EFI build/cache/efi/root/usr/lib/shim/shimx64.efi.signed; do
			if [ -f "$efi" ]; then head -c 65536 "$efi" >"$corpus/$(basename "$efi")"; fi
		done
		;;
	esac
	echo "== $name: ${secs}s"
	if "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=build/fuzz/artifacts/"$name"- -print_final_stats=1 \
		"$corpus" >build/fuzz/"$name".log 2>&1; then
		grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' build/fuzz/"$name".log |
			sed "s/^/$name: /"
		grep -E '^#[0-9]+.*(DONE|cov:)' build/fuzz/"$name".log | tail -1 | sed "s/^/$name: /"
	else
		echo "$name: FAILED, see build/fuzz/$name.log and build/fuzz/artifacts/"
		tail -40 build/fuzz/"$name".log
		status=1
	fi
done
exit $status
