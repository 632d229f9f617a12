#!/bin/sh
# Runs cmocka test binaries with TAP output and prints one closing line:
# "N passed, N failed, N skipped" (skipped: tests that need MEASURED_TESTDATA
# without it; each says why). A binary that dies without reporting counts as a failure.
set -u
passed=0
failed=0
skipped=0
failed_names=""
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
	name=$(basename "$t")
	echo "== $name"
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	ok=$(grep -c '^ok ' "$out")
	skip=$(grep -c '^not ok .* # SKIP' "$out")
	bad=$(($(grep -c '^not ok ' "$out") - skip))
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
		echo "!! $name exited with status $rc"
	fi
	passed=$((passed + ok))
	skipped=$((skipped + skip))
	failed=$((failed + bad))
	[ "$bad" -eq 0 ] || failed_names="$failed_names $name"
done
[ -z "$failed_names" ] || echo "failing:$failed_names"
echo "${MEASURED_LABEL:-tests}: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
