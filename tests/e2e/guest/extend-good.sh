#!/bin/sh
# measured.run= program of e2e-attacks.sh. The attacker's rootfs, booted past
# a failed measurement (measured.onfail=continue), extends into PCR 13 the
# digest measured-init would have extended for the genuine image
# (e2e.digest=HEX, what pcrpredict rootfs says), hoping for the sealed value.
# usage: extend-good.sh REPORT_DIR
d=
for w in $(cat /proc/cmdline); do
	case $w in e2e.digest=*) d=${w#e2e.digest=} ;; esac
done
TPM2TOOLS_TCTI=device:/dev/tpmrm0 tpm2_pcrextend "13:sha256=$d" >"$1/extend.out" 2>&1
echo $? >"$1/extend.rc"
