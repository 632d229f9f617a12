#!/bin/sh
# Runs every QEMU + swtpm end-to-end suite in tests/e2e/ (files named e2e-*.sh).
set -eu
found=0
status=0
for t in tests/e2e/e2e-*.sh; do
	[ -e "$t" ] || continue
	found=$((found + 1))
	echo "== $t"
	sh "$t" || status=1
done
echo "e2e: $found suites run"
exit $status
