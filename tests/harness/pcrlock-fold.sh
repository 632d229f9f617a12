#!/bin/sh
# pcrlock-fold.sh PCR BANK FILE...: what a TPM holds in PCR after the records
# of the .pcrlock files (in the order given, as systemd-pcrlock sorts them)
# are extended into it from zero -- with jq, xxd and openssl, none of our code.
set -eu
pcr=$1 bank=$2
shift 2
size=$(printf '' | openssl dgst -"$bank" -r | cut -d' ' -f1 | tr -d '\n' | wc -c)
v=$(printf "%0${size}d" 0)
for d in $(jq -r --argjson p "$pcr" --arg b "$bank" '.records[] | select(.pcr == $p) | .digests[] | select(.hashAlg == $b) | .digest' "$@"); do
	v=$(printf '%s%s' "$v" "$d" | xxd -r -p | openssl dgst -"$bank" -r | cut -d' ' -f1)
done
echo "$v"
