/* SPDX-License-Identifier: MIT */
/* cm_seal: TPM-sealed LUKS2 data images. */
#ifndef CM_SEAL_H
#define CM_SEAL_H

#include "cmld.h"

/* Whether a new container of @cfg gets a sealed key (cmld has a TPM, token NONE or TPM). */
bool cm_seal_wanted(const struct cmld *d, const ContainerConfig *cfg);
/* Whether @c's data images are LUKS2 with a TPM-sealed passphrase (its sealed key file exists). */
bool cm_sealed(const struct cmld *d, const struct cm_container *c);
/* Seals a new random passphrase (default PIN for token type TPM) to containers/<uuid>.sealed. */
int cm_seal_create(struct cmld *d, const char *uuid, const ContainerConfig *cfg);
/*
 * Unseals, creates missing data images, activates each as
 * /dev/mapper/cml-<uuid>-<mount index>.  -EACCES: the PCR policy does not
 * hold (the message names the PCRs that differ); -EPERM: wrong or missing
 * PIN; -ENOLCK: the TPM is locked out.  Nothing stays open on failure.
 */
int cm_seal_open(struct cmld *d, struct cm_container *c, const GuestOSConfig *g, const char *pin);
void cm_seal_close(struct cmld *d, struct cm_container *c);
void cm_seal_mapping(const struct cm_container *c, size_t index, char *buf, size_t size);
/*
 * Re-seals the passphrase bound to @cfg instead of the config it was bound to
 * (update_config; needs the PCRs to hold, and @pin for token type TPM), and
 * advances the key's NV counter: the older key file and config stop opening.
 */
int cm_seal_rebind(struct cmld *d, struct cm_container *c, const ContainerConfig *cfg,
		   const char *pin);
/*
 * Re-seals the passphrase under @newpin (needs the PCRs to hold and @pin) and
 * advances the key's NV counter: saved copies of the old key file stop opening.
 */
int cm_seal_change_pin(struct cmld *d, struct cm_container *c, const char *pin, const char *newpin);
/* Advances and deletes the key's NV counter (no saved key file opens again); 0 when not sealed. */
int cm_seal_remove(struct cmld *d, const char *uuid);
/* Whether a remove can revoke @uuid's key now (the TPM answers); 0 when not sealed. */
int cm_seal_remove_ready(struct cmld *d, const char *uuid);
/*
 * At start: a key file one counter step ahead of its counter (a change_pin or
 * update_config re-seal that stopped before the step) gets the step now.
 */
void cm_seal_recover(struct cmld *d, const char *uuid);

#endif
