/* SPDX-License-Identifier: MIT */
/*
 * PCR values from files: the raw concatenation that `tpm2_pcrread -o`
 * writes, or any JSON document with a "pcrs" object in the shape of
 * `attest log --json` and pcrpredict's reference document
 * ({"pcrs":{"sha256":{"0":"hex",...}}}).
 */
#ifndef MEASURED_PCR_VALUES_H
#define MEASURED_PCR_VALUES_H

#include "pcr.h"

/*
 * Loads the PCRs of @sel from @path.  Raw files must hold exactly the
 * selected values (banks in selection order, PCRs ascending); JSON documents
 * must name every selected PCR.  Loaded PCRs are marked extended.
 */
int pcr_values_load(const char *path, const struct pcr_selection *sel, struct pcr_banks *ret);

/* Parses the "pcrs" member of a JSON document in @text (NUL-terminated). */
int pcr_values_from_json(const char *text, const char *what, struct pcr_banks *ret);
/* The same for a document json-c already parsed. */
struct json_object;
int pcr_values_from_json_object(const struct json_object *doc, const char *what,
				struct pcr_banks *ret);

#endif
