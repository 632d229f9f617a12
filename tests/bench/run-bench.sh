#!/bin/sh
# Speed of our log replay against the peer tools, measured in the same run.
# Prints each pair's times and the ratio (peer time / our time: > 1 means we are faster).
set -eu
bin=${MEASURED_BIN:-build}
testdata=${MEASURED_TESTDATA:-../shared/testdata}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now_ms() { date +%s%3N; }

# runs "$@" N times, prints elapsed milliseconds
time_n() {
	n=$1
	shift
	start=$(now_ms)
	i=0
	while [ $i -lt "$n" ]; do
		"$@" >/dev/null 2>&1 || { echo "bench: '$*' failed" >&2; exit 1; }
		i=$((i + 1))
	done
	echo $(($(now_ms) - start))
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }'; }

echo "== firmware event logs: parse + replay all banks, 6 real logs x 30 runs"
ours=0
theirs=0
for log in "$testdata"/eventlogs/*.bin; do
	ours=$((ours + $(time_n 30 "$bin/attest" log --json "$log")))
	theirs=$((theirs + $(time_n 30 tpm2_eventlog "$log")))
done
echo "attest log: ${ours} ms   tpm2_eventlog: ${theirs} ms   ratio: $(ratio $ours $theirs)x"

echo "== IMA list: 100000 ima-ng entries, replay sha1 + sha256"
"$bin/tests/bench/gen_ima" 100000 "$tmp/ima.bin"
"$bin/attest" log --format ima "$tmp/ima.bin" >"$tmp/out.txt"
# evmctl checks against PCR files: give it the values we computed
for bank in sha1 sha256; do
	val=$(awk -v b="$bank:" '$1 == b { getline; print $2 }' "$tmp/out.txt")
	i=0
	while [ $i -lt 24 ]; do
		if [ $i -eq 10 ]; then v=$val; else v=$(echo "$val" | tr '0-9a-f' '0'); fi
		printf 'PCR-%02d: %s\n' $i "$v"
		i=$((i + 1))
	done >"$tmp/pcrs-$bank"
done
evmctl ima_measurement --pcrs sha1,"$tmp/pcrs-sha1" --pcrs sha256,"$tmp/pcrs-sha256" \
	"$tmp/ima.bin" >/dev/null 2>&1 || { echo "bench: evmctl disagrees with our replay" >&2; exit 1; }
ours=$(time_n 3 "$bin/attest" log --format ima "$tmp/ima.bin")
theirs=$(time_n 3 evmctl ima_measurement --pcrs sha1,"$tmp/pcrs-sha1" \
	--pcrs sha256,"$tmp/pcrs-sha256" "$tmp/ima.bin")
echo "attest log: ${ours} ms   evmctl ima_measurement: ${theirs} ms   ratio: $(ratio $ours $theirs)x"
