/* SPDX-License-Identifier: MIT */
/*
 * cmld's verify process ("cmld-verify"): the third process, unprivileged and
 * sandboxed like the control process, that parses and checks for the root
 * parent everything it must not parse itself: container and GuestOS configs
 * (protobuf text format), X.509 certificates and signatures (against the
 * trust anchors and the registered CAs, loaded before its sandbox) and the
 * PKCS#12 softtokens.  The parent sends it bytes (a client's or the data
 * folder's) and gets back a verdict, the SHA-256 of exactly the bytes it
 * verified and parsed, and a canonical form: a packed protobuf, which the
 * parent bounds, unpacks with protobuf-c and re-checks (cheap invariants),
 * or a certificate's digest, or a token file.
 *
 * Wire (lib/chan, one call at a time, the parent waits CM_VERIFY_TIMEOUT_MS):
 *   parent -> verify: CM_VMSG_REQ (struct cm_vreq), then CM_VMSG_DATA chunks
 *                     holding the parts back to back (len[] of them);
 *   verify -> parent: CM_VMSG_REP (struct cm_vrep), then CM_VMSG_DATA chunks
 *                     holding out_len bytes.
 * Anything else, a digest that is not the parent's bytes', a field out of
 * range or no answer in time: the parent kills it, fails that one call, and
 * the next call starts another.
 */
#ifndef MEASURED_CM_VERIFY_H
#define MEASURED_CM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"

enum cm_vmsg_type {
	CM_VMSG_REQ = 16,
	CM_VMSG_DATA,
	CM_VMSG_REP,
};

enum cm_vop {
	CM_VOP_CONTAINER = 1, /* a ContainerConfig text (and its signature): packed config */
	CM_VOP_GUESTOS,	      /* a GuestOSConfig text (and its signature): packed config */
	CM_VOP_CA,	      /* a PEM CA certificate: its SHA-256 in cert_digest */
	CM_VOP_CERT,	      /* a PEM certificate under a registered CA: its key's SHA-256 */
	CM_VOP_TOKEN_NEW,     /* a new softtoken for label (a UUID), PIN "trustme": its DER */
	CM_VOP_TOKEN_CHECK,   /* whether pin opens the token in part 0 */
	CM_VOP_TOKEN_REPIN,   /* the token of part 0 re-encrypted under newpin: its DER */
	CM_VOP_LAST = CM_VOP_TOKEN_REPIN,
};

/* Which CAs a signature or certificate must chain to. */
enum cm_vtrust {
	CM_VTRUST_NONE,	   /* no signature: parse only */
	CM_VTRUST_ANCHORS, /* --trust-anchors only */
	CM_VTRUST_ANY,	   /* the trust anchors and the CAs registered in tokens/ca */
};

enum cm_vflag {
	/* a signature that does not verify is reported (verified 0, reason), the text parsed */
	CM_VREQ_SIG_OPTIONAL = 1u << 0,
};

enum cm_vpart { CM_VPART_TEXT, CM_VPART_SIG, CM_VPART_CERT, CM_VPARTS };

enum cm_vstage {
	CM_VSTAGE_NONE,
	CM_VSTAGE_SIG,	 /* the signature or certificate failed */
	CM_VSTAGE_PARSE, /* the text (or token, or PEM) failed */
};

#define CM_VERIFY_PART_MAX   (1u << 20) /* a config, signature or certificate */
#define CM_VERIFY_OUT_MAX    (4u << 20) /* a packed config or a token */
#define CM_VERIFY_LABEL_MAX  4096
#define CM_VERIFY_PIN_MAX    256
#define CM_VERIFY_REASON_MAX 1024
#define CM_VERIFY_TIMEOUT_MS 10000
#define CM_VDATA_CHUNK	     (CHAN_MSG_MAX - sizeof(struct chan_hdr))

struct cm_vreq {
	uint32_t op;	/* enum cm_vop */
	uint32_t trust; /* enum cm_vtrust */
	uint32_t flags; /* enum cm_vflag */
	uint32_t len[CM_VPARTS];
	char label[CM_VERIFY_LABEL_MAX]; /* names the input in errors; TOKEN_NEW: the UUID */
	/* secrets: both sides hold requests in locked pages, wiped after use (lib/mem.h) */
	char pin[CM_VERIFY_PIN_MAX], newpin[CM_VERIFY_PIN_MAX];
};

struct cm_vrep {
	int32_t rc;	    /* 0 or a negative errno (-4095..-1) */
	uint32_t stage;	    /* enum cm_vstage: where rc (or an optional signature) failed */
	uint32_t verified;  /* 1: the signature verified over the text, under the trust asked */
	uint32_t out_len;   /* bytes of DATA after this */
	uint8_t digest[32]; /* SHA-256 of part 0 exactly as verified and parsed */
	uint8_t cert_digest[32]; /* CA: the certificate's SHA-256; CERT: its public key's */
	char reason[CM_VERIFY_REASON_MAX]; /* rc < 0, or a signature that did not verify */
};

/* ---- the verify process's half (cm_verify.c) ---- */

/* What it loaded before its sandbox: the CA stores, and where they came from. */
struct cm_vstate;
/* Loads @anchors (a PEM file or folder of *.pem; NULL: none) and the PEM files in @ca_dir
 * (the process itself reads these as root and parses them only once confined). */
struct cm_vstate *cm_vstate_new(const char *anchors, const char *ca_dir);
void cm_vstate_free(struct cm_vstate *s);
/*
 * One call, as the process runs it: @in holds the request's parts back to
 * back; @rep is filled, and @ret_out (malloc'd, or NULL) gets out_len bytes.
 * Returns 0 (the verdict is in @rep) or a negative code when nothing could
 * be answered (out of memory).  The fuzzer calls this directly.
 */
int cm_verify_run(struct cm_vstate *s, const struct cm_vreq *req, const uint8_t *in,
		  struct cm_vrep *rep, uint8_t **ret_out);

struct cm_verify_args {
	int chan;	     /* to the parent */
	const char *user;    /* setresuid to this when started as root */
	const char *anchors; /* --trust-anchors */
	const char *ca_dir;  /* <data>/tokens/ca */
};

/* In the forked child: loads the CAs, confines itself, serves until the parent goes. */
__attribute__((noreturn)) void cm_verify_main(const struct cm_verify_args *args);

/* ---- the parent's half (cm_vclient.c) ---- */

/*
 * The parent's check of an answer to @req over parts @in (lengths in
 * @req->len): -EBADMSG naming the field unless rc, stage, verified, out_len
 * and reason are in range and, for the ops that verify or parse part 0,
 * @rep->digest is the SHA-256 of the parent's own part 0, and verified is 1
 * only where a signature was given and asked for.  Pure: the unit test
 * plays a captured verify process against it.
 */
int cm_vrep_check(const struct cm_vreq *req, const uint8_t *const in[CM_VPARTS],
		  const struct cm_vrep *rep);

#endif
