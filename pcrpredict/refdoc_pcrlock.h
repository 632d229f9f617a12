/* SPDX-License-Identifier: MIT */
/*
 * A reference document (pcrpredict build) as systemd .pcrlock files: one
 * file per boot component, named and ordered as systemd-pcrlock expects
 * (lib/pcrlock), holding the document's predicted events in order.  Shared
 * by `pcrpredict pcrlock REF.json DIR` and `pcrpredict build --pcrlock DIR`.
 */
#ifndef PCRPREDICT_REFDOC_PCRLOCK_H
#define PCRPREDICT_REFDOC_PCRLOCK_H

#include <stdint.h>
#include <stdio.h>

struct json_object;

/*
 * Writes DIR/NNN-component.pcrlock for every component of @doc that lists
 * events (and the rootfs measurement).  Checked before anything is written:
 * each PCR's events fall into files in the order systemd-pcrlock sorts them,
 * and the records of a PCR, folded, give the document's predicted value --
 * or the PCR is left out (a value from a reference boot's log has no
 * events).  The PCRs written in @ret_pcrs; a line per file on @out (or NULL).
 */
int refdoc_pcrlock(struct json_object *doc, const char *dir, FILE *out, uint32_t *ret_pcrs);

#endif
