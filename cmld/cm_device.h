/* SPDX-License-Identifier: MIT */
/* The device identity for provisioning: a key, its CSR, the certificate pushed back. */
#ifndef MEASURED_CM_DEVICE_H
#define MEASURED_CM_DEVICE_H

#include <stddef.h>
#include <stdint.h>

struct cmld;

/* A PEM CSR for the device key (tokens/device.key, made on first use). */
int cm_device_csr(struct cmld *d, uint8_t **ret, size_t *ret_len);
/* Stores a certificate for the device key that chains to a registered CA. */
int cm_device_cert_push(struct cmld *d, const uint8_t *pem, size_t len);

#endif
