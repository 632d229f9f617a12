# Sourced by the executable debian/*.install files: prints the files under
# debian/tmp that match the given patterns (quoted; expanded there), if any.
# `make install` may or may not ship man pages and bash completion: a pattern
# that matches nothing is no error.
optional() {
	(
		cd debian/tmp || exit 0
		for pattern in "$@"; do
			# shellcheck disable=SC2086 # the pattern is to be expanded here
			for f in $pattern; do
				if [ -e "$f" ]; then echo "$f"; fi
			done
		done
	)
}
