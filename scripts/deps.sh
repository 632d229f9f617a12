#!/bin/sh
# Installs what measured needs to build and test on Debian 12; safe to run again.
# Packages already present are not touched; apt runs only when something is missing.
set -eu

BUILD="gcc make pkg-config libtss2-dev libssl-dev libcbor-dev libcryptsetup-dev
libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libjson-c-dev zlib1g-dev scdoc libseccomp-dev liblzma-dev
libsqlite3-dev libpq-dev libmicrohttpd-dev libcurl4-openssl-dev"
TEST="swtpm swtpm-tools tpm2-tools cryptsetup-bin ima-evm-utils tboot openssl e2fsprogs jq xxd python3-jsonschema python3-yaml protobuf-compiler iproute2 busybox-static util-linux"
E2E="qemu-system-x86 busybox-static cpio ovmf grub-efi-amd64-bin mtools dosfstools kmod fdisk"
FUZZ="clang libclang-rt-14-dev"
BENCH="clevis clevis-tpm2" # peers measured by make bench
FLEET="postgresql chromium sqlite3 curl" # attest serve: a real PostgreSQL server and a browser, started by the tests
PE="pesign"                # pcrpredict pe is checked against pesign -h
PKG="debhelper lintian fakeroot dpkg-dev initramfs-tools systemd-container" # make pkg: the Debian packages

missing=""
for p in $BUILD $TEST $FUZZ $E2E $BENCH $FLEET $PE $PKG; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
