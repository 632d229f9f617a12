#!/bin/sh
# Runs every QEMU + swtpm end-to-end suite (tests/e2e/e2e-*.sh) and prints one
# closing line summing them: "e2e: N passed, N failed".
set -u
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in tests/e2e/e2e-*.sh; do
	[ -e "$t" ] || continue
	echo "== $t"
	sh "$t" | tee "$log"
	p=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log" | tail -1)
	[ -n "$p" ] || { p=0; f=1; echo "!! $t ended without a summary"; }
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
