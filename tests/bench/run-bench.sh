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

# best of N runs, milliseconds
best_ms() {
	n=$1
	shift
	best=
	i=0
	while [ $i -lt "$n" ]; do
		t=$(time_n 1 "$@")
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
		i=$((i + 1))
	done
	echo "$best"
}

pp=$bin/pcrpredict
img=$tmp/rootfs.img
echo "== pcrpredict rootfs: 1 GiB image (page cache warm), best of 3"
head -c 1073741824 /dev/urandom >"$img"
cat "$img" >/dev/null
ours=$(best_ms 3 "$pp" rootfs "$img")
theirs=$(best_ms 3 openssl dgst -sha256 "$img")
want=$(openssl dgst -sha256 -r "$img" | cut -c1-64)
"$pp" rootfs --json "$img" | grep -q "\"digest\":\"$want\"" || { echo "bench: flat digest differs from openssl" >&2; exit 1; }
echo "flat:   pcrpredict ${ours} ms   openssl dgst -sha256: ${theirs} ms   throughput ratio: $(ratio $ours $theirs)x (goal >= 0.90)"
ours=$(best_ms 3 "$pp" rootfs --mode verity "$img")
theirs=$(best_ms 3 veritysetup format "$img" "$tmp/hash.img" --salt=-)
want=$(veritysetup format "$img" "$tmp/hash.img" --salt=- | sed -n 's/^Root hash:[[:space:]]*//p')
"$pp" rootfs --mode verity --json "$img" | grep -q "\"root_hash\":\"$want\"" || { echo "bench: verity root hash differs from veritysetup" >&2; exit 1; }
echo "verity: pcrpredict ${ours} ms   veritysetup format: ${theirs} ms   ratio: $(ratio $ours $theirs)x (goal > 1)"
rm -f "$img" "$tmp/hash.img"

echo "== pcrpredict ima: a tree of 20000 files, best of 3"
i=0
while [ $i -lt 200 ]; do
	mkdir -p "$tmp/tree/d$i"
	head -c 200000 /dev/urandom | split -a 3 -b 2000 - "$tmp/tree/d$i/f"
	i=$((i + 1))
done
n=$(find "$tmp/tree" -type f | wc -l)
[ "$n" -eq 20000 ] || { echo "bench: made $n files, not 20000" >&2; exit 1; }
ours=$(best_ms 3 "$pp" ima --rootfs "$tmp/tree")
theirs=$(best_ms 3 sh -c "find '$tmp/tree' -type f -print0 | xargs -0 sha256sum")
echo "ima:    pcrpredict ${ours} ms   find | xargs sha256sum: ${theirs} ms   ratio: $(ratio $ours $theirs)x (goal > 1)"
