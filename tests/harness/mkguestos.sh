#!/bin/sh
# Makes a signed test GuestOS for cmld: a CA and a signing certificate, an
# ext4 root image (busybox + an init that stops on SIGTERM), and
# NAME.conf/.sig/.cert whose update_base_url points at the images.
#   mkguestos.sh OUT [NAME] [VERSION]
# Reuses OUT/ca.* and OUT/sign.* when present, so several versions share a CA.
# GOS_CA_SUBJECT names a new CA otherwise (an attacker's CA in the tests).
# GOS_URL: the folder update_base_url names, where the device will find OUT
# (default OUT itself).  GOS_INIT: a file to use as /init instead of ours.
set -eu
out=$1
name=${2:-testos}
version=${3:-1}
mkdir -p "$out/images-$name-$version"
cd "$out"

if [ ! -f ca.pem ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.pem -days 3650 -subj "${GOS_CA_SUBJECT:-/CN=measured test GuestOS CA for $name}" \
		-addext basicConstraints=critical,CA:true -addext keyUsage=keyCertSign 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sign.key \
		-out sign.csr -subj "/CN=measured test GuestOS signer" 2>/dev/null
	openssl x509 -req -in sign.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out sign.pem \
		-days 3650 2>/dev/null
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/data" "$root/etc" "$root/setup"
mkdir -m 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for app in $(/bin/busybox --list); do
	[ "$app" = busybox ] || ln -s busybox "$root/bin/$app"
done
if [ -n "${GOS_INIT:-}" ]; then
	cp "$GOS_INIT" "$root/init"
else
	cat >"$root/init" <<'INIT'
#!/bin/sh
# test GuestOS init: says it runs, stops cleanly on SIGTERM
trap 'exit 0' TERM
echo "$$" > /tmp/init.pid
while :; do sleep 1 & wait $!; done
INIT
fi
chmod 0755 "$root/init"
echo "$name $version" >"$root/etc/guestos-release"
img="images-$name-$version/root.img"
rm -f "$img"
E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -t ext4 -d "$root" -U clear -E hash_seed=0b0c0d0e-0000-4000-8000-000000000000 "$img" 8M >/dev/null
size=$(stat -c %s "$img")
sha=$(sha256sum "$img" | cut -d' ' -f1)

cat >"$name.conf" <<CONF
name: "$name"
hardware: "x86"
version: $version
mounts {
  image_file: "root"
  mount_point: "/"
  fs_type: "ext4"
  mount_type: SHARED
  image_size: $size
  image_sha2_256: "$sha"
}
mounts {
  image_file: "rootdata"
  mount_point: "/"
  fs_type: "ext4"
  mount_type: OVERLAY_RW
  def_size: 16
}
mounts {
  image_file: "data"
  mount_point: "/data"
  fs_type: "ext4"
  mount_type: EMPTY
  def_size: 16
}
init_path: "/init"
description { en: "measured test GuestOS" }
update_base_url: "file://${GOS_URL:-$out}/images-$name-$version"
CONF
openssl dgst -sha256 -sign sign.key -out "$name.sig" "$name.conf"
cp sign.pem "$name.cert"
