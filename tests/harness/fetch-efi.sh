#!/bin/sh
# Downloads Debian's signed EFI applications (shim-signed, grub-efi-amd64-signed)
# into a cache and unpacks them there -- downloaded, never installed. Prints
# the folder. fetch-efi.sh CACHE_DIR
set -eu
cache=${1:?usage: fetch-efi.sh CACHE_DIR}
mkdir -p "$cache/efi"
cache=$(cd "$cache/efi" && pwd)
for pkg in shim-signed grub-efi-amd64-signed; do
	ls "$cache"/${pkg}_*.deb >/dev/null 2>&1 || (cd "$cache" && apt-get download -qq "$pkg" >/dev/null 2>&1) ||
		{ apt-get update -qq >/dev/null 2>&1 && (cd "$cache" && apt-get download -qq "$pkg" >/dev/null); }
	[ -f "$cache/root/.$pkg" ] || { dpkg-deb -x "$cache"/${pkg}_*.deb "$cache/root" && touch "$cache/root/.$pkg"; }
done
echo "$cache/root"
