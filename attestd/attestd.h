/* SPDX-License-Identifier: MIT */
/*
 * attestd: serves TPM quotes and logs to verifiers (docs/PROTOCOL.md), as
 * two processes.  The privileged one (ad_parent.c) holds the TPM and runs
 * Quote, ReadPublic and ActivateCredential on typed, length-checked messages;
 * the engine (ad_engine.c), unprivileged and sandboxed, does TLS, framing,
 * CBOR, batching and the logs, over descriptors it inherited.
 */
#ifndef ATTESTD_H
#define ATTESTD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "attest_proto.h"
#include "pcr.h"
#include "tpm_attest.h"

#define AD_BATCH_MAX NONCE_TREE_MAX_LEAVES

struct ad_config {
	const char *tcti;
	const char *listen; /* HOST:PORT, or NULL */
	const char *socket; /* a Unix socket path, or NULL */
	const char *log_path[ATTEST_LOGS];
	const char *txt_heap; /* a TXT heap image to take the DRTM log from (instead of drtm-log) */
	unsigned batch_ms;    /* how long a quote request waits for company */
	unsigned batch_max;   /* at most this many share a quote (1: one quote per request) */
	unsigned read_timeout_ms;  /* a whole request must arrive within this */
	unsigned write_timeout_ms; /* and its whole reply must be taken within this */
	unsigned tpm_timeout_ms;   /* the engine gives up on a TPM answer after this */
	unsigned max_conns;	   /* in total (kept below RLIMIT_NOFILE) */
	unsigned max_conns_per_peer;
	unsigned keys_per_minute; /* keys and activate requests, per peer */
	const char *user;	  /* both processes drop to this user after setup */
	const char *engine_user;  /* the engine's user when running as root */
	const char *tls_cert, *tls_key, *tls_client_ca; /* TLS on the TCP listener */
	const char *config_path;			/* where this came from */
};

void ad_config_defaults(struct ad_config *cfg);
/* Reads "key = value" lines (the long options' names) into @cfg. */
int ad_config_load(const char *path, struct ad_config *cfg);
/* Applies one option by its long name; the config file and getopt share it. */
int ad_config_set(struct ad_config *cfg, const char *key, const char *value);
void ad_config_free(void);
/* The settings' names of the logs: "firmware-log", ..., "drtm-log". */
extern const char *const ad_log_names[ATTEST_LOGS];

/* What the privileged process set up and the engine inherits. */
struct ad_setup {
	const struct ad_config *cfg;
	int listen_fd[2];	    /* TCP, Unix; -1 when not configured */
	int log_fd[ATTEST_LOGS];    /* opened before any privilege drop; -1 when absent */
	void *tls;		    /* SSL_CTX *, or NULL */
	struct pcr_selection banks; /* the TPM's allocated PCR banks */
	unsigned max_conns;	    /* max_conns after the descriptor limit */
};

int ad_setup_open(struct ad_setup *setup, const struct ad_config *cfg);
void ad_setup_close(struct ad_setup *setup);
/* What -n prints: the settings in force, and what could not be opened. */
void ad_config_print(const struct ad_config *cfg, const struct ad_setup *setup, FILE *out);

/* The privileged process: starts the engine, restarts it, answers it, until SIGTERM. */
int ad_parent_run(struct ad_setup *setup, struct tpm *tpm);
/* The engine's life, in the child; never returns. */
__attribute__((noreturn)) void ad_engine_main(const struct ad_setup *setup, int chan);

/*
 * Messages between the two processes (lib/chan.h).  Bodies are fixed-size
 * structs; each side refuses a body whose length is not its type's.  The
 * engine's words are not trusted: every field is range-checked by the parent.
 */
enum ad_msg_type {
	AD_MSG_QUOTE = 1,     /* engine -> parent: struct ad_msg_quote */
	AD_MSG_QUOTE_DONE,    /* parent -> engine: struct ad_msg_quote_done */
	AD_MSG_KEYS,	      /* engine -> parent: no body */
	AD_MSG_KEYS_DONE,     /* parent -> engine: struct ad_msg_keys_done */
	AD_MSG_ACTIVATE,      /* engine -> parent: struct ad_msg_activate */
	AD_MSG_ACTIVATE_DONE, /* parent -> engine: struct ad_msg_activate_done */
};

struct ad_wire_sel {
	uint32_t count;
	struct {
		uint16_t alg; /* TPM_ALG_ID */
		uint16_t pad;
		uint32_t mask;
	} bank[PCR_BANKS_MAX];
};

struct ad_msg_status {
	int32_t status; /* 0, or a positive errno value */
	char error[256];
};

struct ad_msg_quote {
	uint8_t nonce_root[NONCE_HASH_LEN];
	struct ad_wire_sel sel;
};

struct ad_msg_quote_done {
	struct ad_msg_status st;
	uint32_t attest_len, sig_len;
	uint8_t attest[TPM_ATTEST_MAX];
	uint8_t sig[TPM_SIG_MAX];
	struct ad_wire_sel sel;
	uint8_t pcr[PCR_BANKS_MAX][PCR_COUNT][DIGEST_MAX]; /* bank b as sel.bank[b] */
};

#define AD_EK_CERT_MAX 4096

struct ad_msg_keys_done {
	struct ad_msg_status st;
	uint32_t ek_public_len, ak_public_len, ak_name_len;
	uint8_t ek_public[sizeof(TPM2B_PUBLIC)];
	uint8_t ak_public[sizeof(TPM2B_PUBLIC)];
	uint8_t ak_name[sizeof(TPM2B_NAME)];
	uint32_t ek_cert_len[ATTEST_EK_CERTS]; /* 0: no certificate in that slot */
	uint8_t ek_cert[ATTEST_EK_CERTS][AD_EK_CERT_MAX];
};

struct ad_msg_activate {
	uint32_t blob_len, secret_len;
	uint8_t blob[ATTEST_CRED_MAX], secret[ATTEST_CRED_MAX];
};

struct ad_msg_activate_done {
	struct ad_msg_status st;
	uint32_t credential_len;
	uint8_t credential[64];
};

void ad_sel_to_wire(const struct pcr_selection *sel, struct ad_wire_sel *ret);
/* -EBADMSG for a count, algorithm or mask that no honest peer sends. */
int ad_sel_from_wire(const struct ad_wire_sel *wire, struct pcr_selection *ret);

struct chan_hdr;
/*
 * The parent's one check of a message from the engine: its type, its
 * length, and every field it will use; a quote's selection into @sel.
 * -EBADMSG means the engine is broken or taken: it is killed.
 */
int ad_msg_from_engine(const struct chan_hdr *hdr, const void *body, struct pcr_selection *sel);

#endif
