#!/bin/sh
# Fetches Debian's current kernel package (linux-image-amd64's dependency) into a
# cache and unpacks it there -- downloaded, never installed. Prints the
# unpacked folder; its vmlinuz is boot/vmlinuz-*, its modules lib/modules/*.
# usage: fetch-kernel.sh CACHE_DIR
set -eu
cache=${1:?usage: fetch-kernel.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
fi
[ -n "$pkg" ] || { echo "fetch-kernel: cannot find Debian's kernel package" >&2; exit 2; }
dir=$cache/$pkg
if [ ! -f "$dir/.unpacked" ]; then
	rm -rf "$dir" && mkdir -p "$dir"
	(cd "$cache" && apt-get download -qq "$pkg" >/dev/null)
	dpkg-deb -x "$cache/${pkg}"_*.deb "$dir"
	ver=$(ls "$dir/lib/modules")
	depmod -b "$dir" "$ver"
	touch "$dir/.unpacked"
fi
echo "$dir"
