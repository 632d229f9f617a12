# Shared by the e2e suites: pass/fail bookkeeping over boot/qemu-lib.sh.
# Sourced; expects to run from the repository root.
set -u
. boot/qemu-lib.sh

e2e_passed=0
e2e_failed=0

ok() { e2e_passed=$((e2e_passed + 1)); echo "ok - $*"; }
fail() { e2e_failed=$((e2e_failed + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}
same() { # same DESCRIPTION A B: equal, case-insensitively, and not empty
	a=$(echo "$2" | tr 'A-F' 'a-f')
	b=$(echo "$3" | tr 'A-F' 'a-f')
	if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "$1"; else fail "$1 ($a vs $b)"; fi
}
e2e_summary() {
	echo "e2e: $e2e_passed passed, $e2e_failed failed"
	[ "$e2e_failed" -eq 0 ]
}

