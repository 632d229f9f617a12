/* SPDX-License-Identifier: MIT */
/* cm_token: the per-container softtoken (PKCS#12, trust|me compatible). */
#ifndef CM_TOKEN_H
#define CM_TOKEN_H

#include "cmld.h"

#define CM_TOKEN_DEFAULT_PIN "trustme"
#define CM_TOKEN_MAX_TRIES   3
int cm_token_create(struct cmld *d, const char *uuid);
/* 0 when @pin opens the token, -EACCES when it does not. */
int cm_token_check(struct cmld *d, const char *uuid, const char *pin);
int cm_token_change_pin(struct cmld *d, const char *uuid, const char *pin, const char *newpin);

#endif
