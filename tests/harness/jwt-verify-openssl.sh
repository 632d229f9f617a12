#!/bin/sh
# jwt-verify-openssl.sh TOKEN_FILE PUB.pem: verifies an ES256 JWS compact
# token with openssl alone (no code of ours) and prints its payload.
# Exit 0 when the signature verifies.
set -eu
token=$(cat "$1")
pub=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
b64url_decode() { # base64url (no padding) -> bytes
	s=$(printf '%s' "$1" | tr '_-' '/+')
	while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
	printf '%s\n' "$s" | openssl base64 -d -A
}
header=${token%%.*}
rest=${token#*.}
payload=${rest%%.*}
sig=${rest#*.}
printf '%s.%s' "$header" "$payload" >"$tmp/input"
b64url_decode "$sig" >"$tmp/sig.raw"
[ "$(wc -c <"$tmp/sig.raw")" -eq 64 ] || { echo "signature is not 64 bytes" >&2; exit 1; }
# JWS carries r || s; openssl wants the DER ECDSA-Sig-Value
r=$(head -c 32 "$tmp/sig.raw" | od -An -tx1 | tr -d ' \n')
s=$(tail -c 32 "$tmp/sig.raw" | od -An -tx1 | tr -d ' \n')
printf 'asn1 = SEQUENCE:sig\n[sig]\nr = INTEGER:0x%s\ns = INTEGER:0x%s\n' "$r" "$s" >"$tmp/sig.conf"
openssl asn1parse -genconf "$tmp/sig.conf" -out "$tmp/sig.der" >/dev/null
openssl dgst -sha256 -verify "$pub" -signature "$tmp/sig.der" "$tmp/input" >/dev/null
b64url_decode "$payload"
