/* SPDX-License-Identifier: MIT */
/*
 * Enrolment: the AK must be a restricted signing key in the same TPM as the
 * EK, and the EK a genuine TPM's (its certificate chains to an EK CA).
 * attest enroll and attest serve's enrol request both come through here.
 */
#ifndef ATTEST_ENROL_H
#define ATTEST_ENROL_H

#include <stddef.h>
#include <stdint.h>

#include "verify.h"

struct enrolment {
	char *ak_pem, *ek_pem;
	uint8_t ak_name[66];
	size_t ak_name_len;
	enum device_identity identity;
	char issuer[256]; /* the EK certificate's issuer, when certified */
};

/*
 * Asks @where for its keys, checks the EK certificate against @ek_ca (NULL:
 * trust on first use, recorded as such) and activates a credential for the
 * AK under the EK.  @timeout_ms bounds each exchange.
 */
int enrol_device(const char *where, const char *ek_ca, int timeout_ms, struct enrolment *ret);
void enrolment_free(struct enrolment *e);

#endif
