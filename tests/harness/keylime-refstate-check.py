#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks a boot log against a Keylime measured-boot reference state the way
Keylime's example policy (keylime/mba/elchecking/example.py) does, written
anew here from its rules; Keylime itself is not packaged for Debian 12.  The
log is read through tpm2_eventlog's YAML, the signature lists are parsed
here, so nothing of pcrpredict's code is in the check.

usage: keylime-refstate-check.py REFSTATE.json EVENTLOG [--no-initrd-cmdline]
Prints what failed and exits 1, or prints "refstate accepts the log".
"""
import json
import re
import subprocess
import sys
import uuid

import yaml

GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
SECDB = "d719b2cb-3d3a-4596-a3bc-dad00e67656f"


def sha(event, alg="sha256"):
    for d in event.get("Digests", []):
        if d["AlgorithmId"] == alg:
            return "0x" + d["Digest"].lower()
    return None


def esl_keys(hexdata):
    """EFI_SIGNATURE_LISTs -> [(owner guid text, data hex)]."""
    b = bytes.fromhex(hexdata)
    keys, off = [], 0
    while off + 28 <= len(b):
        size = int.from_bytes(b[off + 16:off + 20], "little")
        hdr = int.from_bytes(b[off + 20:off + 24], "little")
        sig = int.from_bytes(b[off + 24:off + 28], "little")
        e = off + 28 + hdr
        while e + sig <= off + size:
            keys.append((str(uuid.UUID(bytes_le=b[e:e + 16])), "0x" + b[e + 16:e + sig].hex()))
            e += sig
        off += size
    return keys


def var_name(ev):
    return ev.get("Event", {}).get("UnicodeName")


def main():
    ref = json.load(open(sys.argv[1]))
    skip_ipl = "--no-initrd-cmdline" in sys.argv
    out = subprocess.run(["tpm2_eventlog", sys.argv[2]], capture_output=True, check=True).stdout
    events = yaml.safe_load(out)["events"]
    fails = []

    def key_set(lst):
        return {(k["SignatureOwner"], k["SignatureData"]) for k in lst}

    # PCR 0: the S-CRTM version and the firmware blobs, in order
    scrtm = [sha(e) for e in events if e["PCRIndex"] == 0 and e["EventType"] == "EV_S_CRTM_VERSION"]
    blobs = [sha(e) for e in events if e["PCRIndex"] == 0 and
             e["EventType"] in ("EV_EFI_PLATFORM_FIRMWARE_BLOB", "EV_EFI_PLATFORM_FIRMWARE_BLOB2")]
    if not any(scrtm == [a["scrtm"]["sha256"]] and blobs == [p["sha256"] for p in a["platform_firmware"]]
               for a in ref["scrtm_and_bios"]):
        fails.append("scrtm_and_bios: none matches PCR 0")
    # PCR 7: SecureBoot, PK, KEK, db (subsets of the allowed), dbx (a superset of the required)
    for e in events:
        if e["PCRIndex"] != 7 or e["EventType"] != "EV_EFI_VARIABLE_DRIVER_CONFIG":
            continue
        name, data = var_name(e), e["Event"].get("VariableData", "")
        guid = e["Event"].get("VariableName")
        if name == "SecureBoot":
            on = data == "01"
            if on != ref["has_secureboot"]:
                fails.append(f"SecureBoot is {on}, the refstate says {ref['has_secureboot']}")
        elif name in ("PK", "KEK", "db") and guid in (GLOBAL, SECDB):
            if not key_set([{"SignatureOwner": o, "SignatureData": d} for o, d in esl_keys(data)]) <= key_set(ref[name.lower()]):
                fails.append(f"{name}: a key the refstate does not allow")
        elif name == "dbx":
            if not key_set(ref["dbx"]) <= {(o, d) for o, d in esl_keys(data)}:
                fails.append("dbx: lacks a required entry")
    # PCR 14: MokList and MokListX digests
    for e in events:
        if e["PCRIndex"] == 14 and e["EventType"] == "EV_IPL":
            s = e.get("Event", {}).get("String", "")
            for name, key in (("MokList\\0", "mokdig"), ("MokListX\\0", "mokxdig")):
                if s.strip('"') == name and sha(e) not in [d["sha256"] for d in ref[key]]:
                    fails.append(f"{key}: {sha(e)} not allowed")
    # PCR 4: shim, GRUB, the kernel (measured once or twice); PCR 9 initrd; PCR 8 kernel_cmdline
    apps = [sha(e) for e in events if e["PCRIndex"] == 4 and e["EventType"] == "EV_EFI_BOOT_SERVICES_APPLICATION"]
    ipl9 = [sha(e) for e in events if e["PCRIndex"] == 9 and e["EventType"] == "EV_IPL"]
    cmdlines = [e["Event"]["String"].strip('"').replace("\\0", "") for e in events
                if e["PCRIndex"] == 8 and e["EventType"] == "EV_IPL" and
                e.get("Event", {}).get("String", "").startswith('"kernel_cmdline: ')]
    ok = False
    for k in ref["kernels"]:
        want = [k["shim_authcode_sha256"], k["grub_authcode_sha256"], k["kernel_authcode_sha256"]]
        if apps not in (want, want + want[2:]):
            continue
        if not skip_ipl:
            if k["initrd_plain_sha256"] not in ipl9:
                continue
            if len(cmdlines) != 1 or not re.fullmatch("kernel_cmdline: " + k["kernel_cmdline"], cmdlines[0]):
                continue
        ok = True
    if not ok:
        fails.append(f"kernels: no entry matches PCR 4 {apps}" + ("" if skip_ipl else f", PCR 9 and {cmdlines}"))
    for f in fails:
        print("refstate refuses the log:", f)
    if fails:
        sys.exit(1)
    print("refstate accepts the log")


main()
