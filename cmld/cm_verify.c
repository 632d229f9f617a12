// SPDX-License-Identifier: MIT
/*
 * cmld's verify process (cm_verify.h): the protobuf text parser, X.509 and
 * PKCS#12, away from root.  The CA files are read once, before the sandbox,
 * and parsed inside it (a ca_register makes the parent start a new
 * process); the process then reads requests from its channel, answers
 * each, and can open nothing.  Errors are the texts the parent used to make itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>

#include "cm_verify.h"
#include "container.pb-c.h"
#include "err.h"
#include "evloop.h"
#include "fileio.h"
#include "guestos.pb-c.h"
#include "mem.h"
#include "pbtext.h"
#include "sandbox.h"

struct cm_vstate {
	X509_STORE *anchors; /* --trust-anchors */
	X509_STORE *any;     /* and the registered CAs */
	int n_anchors;
	char *anchors_path;
};

/* PEM files read as bytes: read while root, parsed only once the process is confined. */
struct pem_files {
	uint8_t *buf[256];
	size_t len[256];
	size_t n;
};

static void pem_files_free(struct pem_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->buf[i]);
	f->n = 0;
}

static void read_pem_file(struct pem_files *f, const char *path)
{
	if (f->n < sizeof(f->buf) / sizeof(f->buf[0]) &&
	    file_read_all(path, 1 << 20, &f->buf[f->n], &f->len[f->n]) == 0)
		f->n++;
}

/* A PEM file, or every *.pem in a folder. */
static void read_pem_path(struct pem_files *f, const char *path)
{
	struct dirent *e;
	struct stat st;
	DIR *dir;

	if (stat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		read_pem_file(f, path);
		return;
	}
	if (!(dir = opendir(path)))
		return;
	while ((e = readdir(dir))) {
		char sub[4096 + 256];
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".pem"))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		read_pem_file(f, sub);
	}
	closedir(dir);
}

/* Adds every certificate of @f to @store; the number added. */
static int store_add(X509_STORE *store, const struct pem_files *f)
{
	int n = 0;
	X509 *x;

	for (size_t i = 0; i < f->n; i++) {
		BIO *bio = BIO_new_mem_buf(f->buf[i], (int)f->len[i]);
		while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			n += X509_STORE_add_cert(store, x) == 1;
			X509_free(x);
		}
		BIO_free(bio);
	}
	return n;
}

static struct cm_vstate *vstate_build(const char *anchors, const struct pem_files *a,
				      const struct pem_files *cas)
{
	struct cm_vstate *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->anchors = X509_STORE_new();
	s->any = X509_STORE_new();
	s->anchors_path = anchors ? strdup(anchors) : NULL;
	if (!s->anchors || !s->any || (anchors && !s->anchors_path)) {
		cm_vstate_free(s);
		return NULL;
	}
	s->n_anchors = store_add(s->anchors, a);
	store_add(s->any, a);
	store_add(s->any, cas);
	return s;
}

struct cm_vstate *cm_vstate_new(const char *anchors, const char *ca_dir)
{
	static struct pem_files a, cas;
	struct cm_vstate *s;

	if (anchors)
		read_pem_path(&a, anchors);
	if (ca_dir)
		read_pem_path(&cas, ca_dir);
	s = vstate_build(anchors, &a, &cas);
	pem_files_free(&a);
	pem_files_free(&cas);
	return s;
}

void cm_vstate_free(struct cm_vstate *s)
{
	if (!s)
		return;
	X509_STORE_free(s->anchors);
	X509_STORE_free(s->any);
	free(s->anchors_path);
	free(s);
}

/* ---- certificates and signatures ---- */

static X509 *pem_cert(const uint8_t *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

/* Verifies @pem (a leaf, intermediates after it) chains to a CA of @trust; the leaf in *@ret. */
static int cert_verify(struct cm_vstate *s, enum cm_vtrust trust, const uint8_t *pem, size_t len,
		       X509 **ret)
{
	X509 *leaf = pem_cert(pem, len), *extra;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE *store = trust == CM_VTRUST_ANCHORS ? s->anchors : s->any;
	X509_STORE_CTX *ctx;
	BIO *bio;
	int r = 0;

	if (!leaf || !chain) {
		X509_free(leaf);
		sk_X509_free(chain);
		return err_set(-EINVAL, "not a PEM certificate");
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	X509_free(PEM_read_bio_X509(bio, NULL, NULL, NULL));
	while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		sk_X509_push(chain, extra);
	BIO_free(bio);
	ctx = X509_STORE_CTX_new();
	if (!ctx || X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) {
		r = err_set(-ENOMEM, "out of memory");
	} else if (X509_verify_cert(ctx) != 1) {
		const char *why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
		if (trust == CM_VTRUST_ANCHORS)
			r = err_set(-EPERM,
				    "certificate not trusted by the trust anchors (%s, %d CAs): %s",
				    s->anchors_path ? s->anchors_path : "none given", s->n_anchors,
				    why);
		else
			r = err_set(-EPERM, "certificate not trusted: %s", why);
	}
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(chain, X509_free);
	if (r == 0)
		*ret = leaf;
	else
		X509_free(leaf);
	return r;
}

/* A detached SHA-256 signature (RSA or ECDSA) of @data by a certificate of @trust. */
static int signature_verify(struct cm_vstate *s, enum cm_vtrust trust, const uint8_t *data,
			    size_t len, const uint8_t *sig, size_t sig_len, const uint8_t *cert,
			    size_t cert_len)
{
	X509 *leaf = NULL;
	EVP_MD_CTX *md;
	EVP_PKEY *key;
	int r = cert_verify(s, trust, cert, cert_len, &leaf);

	if (r < 0)
		return r;
	key = X509_get0_pubkey(leaf);
	md = EVP_MD_CTX_new();
	if (!md || !key || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1)
		r = err_set(-EINVAL, "cannot verify with this certificate's key");
	else if (EVP_DigestVerify(md, sig, sig_len, data, len) != 1)
		r = err_set(-EPERM, "signature does not verify");
	EVP_MD_CTX_free(md);
	X509_free(leaf);
	return r;
}

static int sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	unsigned n = 32;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		return err_set(-EIO, "SHA-256 failed");
	return 0;
}

/* ---- softtokens (trust|me's: an EC P-256 key and its self-signed certificate) ---- */

static int token_encode(const char *uuid, EVP_PKEY *key, X509 *cert, const char *pin, uint8_t **ret,
			size_t *ret_len)
{
	PKCS12 *p12 = PKCS12_create(pin, uuid, key, cert, NULL, 0, 0, 0, 0, 0);
	unsigned char *der = NULL;
	int len;

	if (!p12)
		return err_set(-EIO, "cannot create the PKCS#12 token");
	len = i2d_PKCS12(p12, &der);
	PKCS12_free(p12);
	if (len <= 0)
		return err_set(-EIO, "cannot encode the PKCS#12 token");
	*ret = malloc((size_t)len);
	if (*ret) {
		memcpy(*ret, der, (size_t)len);
		*ret_len = (size_t)len;
	}
	OPENSSL_free(der);
	return *ret ? 0 : err_set(-ENOMEM, "out of memory");
}

static int token_new(const char *uuid, uint8_t **ret, size_t *ret_len)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_NAME *name;
	int r = -EIO;

	if (!key || !cert)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 20L * 365 * 24 * 3600);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)uuid, -1, -1,
				   0);
	X509_set_issuer_name(cert, name);
	X509_set_pubkey(cert, key);
	if (!X509_sign(cert, key, EVP_sha256()))
		goto out;
	r = token_encode(uuid, key, cert, "trustme", ret, ret_len);
out:
	if (r == -EIO)
		err_set(r, "cannot create the softtoken");
	EVP_PKEY_free(key);
	X509_free(cert);
	return r;
}

/* Opens the token @der with @pin: -EACCES for a wrong PIN; key and certificate when asked. */
static int token_open(const char *path, const uint8_t *der, size_t len, const char *pin,
		      EVP_PKEY **ret_key, X509 **ret_cert)
{
	const unsigned char *p = der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	int r = 0;

	if (!p12)
		return err_set(-EBADMSG, "%s: not a PKCS#12 file", path);
	if (!PKCS12_verify_mac(p12, pin, -1)) {
		PKCS12_free(p12);
		return err_set(-EACCES, "wrong PIN");
	}
	if (ret_key && !PKCS12_parse(p12, pin, ret_key, ret_cert, NULL))
		r = err_set(-EBADMSG, "%s: cannot open the token", path);
	PKCS12_free(p12);
	return r;
}

static int token_repin(const char *path, const uint8_t *der, size_t len, const char *pin,
		       const char *newpin, uint8_t **ret, size_t *ret_len)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int r;

	if (!*newpin)
		return err_set(-EINVAL, "the new PIN is empty");
	r = token_open(path, der, len, pin, &key, &cert);
	if (r < 0)
		return r;
	/* the friendly name trust|me gives it: the container's UUID, kept from the old token */
	char uuid[64] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, uuid, sizeof(uuid));
	r = token_encode(uuid, key, cert, newpin, ret, ret_len);
	EVP_PKEY_free(key);
	X509_free(cert);
	return r;
}

/* ---- one call ---- */

static int parse_config(struct cm_vstate *s, const struct cm_vreq *req, const uint8_t *const in[],
			struct cm_vrep *rep, uint8_t **ret_out)
{
	const ProtobufCMessageDescriptor *desc = req->op == CM_VOP_GUESTOS
							 ? &guest_osconfig__descriptor
							 : &container_config__descriptor;
	ProtobufCMessage *m = NULL;
	size_t n;
	int r;

	if (req->trust != CM_VTRUST_NONE) {
		r = signature_verify(s, req->trust, in[0], req->len[0], in[1], req->len[1], in[2],
				     req->len[2]);
		if (r < 0) {
			rep->stage = CM_VSTAGE_SIG;
			if (!(req->flags & CM_VREQ_SIG_OPTIONAL))
				return r;
			snprintf(rep->reason, sizeof(rep->reason), "%s", err_msg());
			err_clear();
		} else {
			rep->verified = 1;
		}
	}
	r = pbtext_parse(desc, (const char *)in[0], req->len[0], req->label, &m);
	if (r < 0) {
		rep->stage = CM_VSTAGE_PARSE;
		return r;
	}
	n = protobuf_c_message_get_packed_size(m);
	if (n > CM_VERIFY_OUT_MAX) {
		protobuf_c_message_free_unpacked(m, NULL);
		rep->stage = CM_VSTAGE_PARSE;
		return err_set(-EFBIG, "%s: %zu bytes packed, at most %u", req->label, n,
			       CM_VERIFY_OUT_MAX);
	}
	*ret_out = malloc(n ? n : 1);
	if (*ret_out) {
		protobuf_c_message_pack(m, *ret_out);
		rep->out_len = (uint32_t)n;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return *ret_out ? 0 : err_set(-ENOMEM, "out of memory");
}

static int run_op(struct cm_vstate *s, const struct cm_vreq *req, const uint8_t *const in[],
		  struct cm_vrep *rep, uint8_t **ret_out)
{
	size_t out_len = 0;
	X509 *x = NULL;
	int r;

	switch (req->op) {
	case CM_VOP_CONTAINER:
	case CM_VOP_GUESTOS:
		return parse_config(s, req, in, rep, ret_out);
	case CM_VOP_CA:
		rep->stage = CM_VSTAGE_PARSE;
		if (!(x = pem_cert(in[0], req->len[0])))
			return err_set(-EINVAL, "not a PEM certificate");
		if (X509_check_ca(x) < 1) {
			X509_free(x);
			return err_set(-EINVAL, "the certificate is not a CA certificate");
		}
		unsigned md_len = 32;
		X509_digest(x, EVP_sha256(), rep->cert_digest, &md_len);
		X509_free(x);
		rep->stage = CM_VSTAGE_NONE;
		return 0;
	case CM_VOP_CERT: {
		unsigned char *spki = NULL;
		int len;

		rep->stage = CM_VSTAGE_SIG;
		r = cert_verify(s, CM_VTRUST_ANY, in[0], req->len[0], &x);
		if (r < 0)
			return r;
		len = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
		X509_free(x);
		if (len <= 0)
			return err_set(-EINVAL, "the certificate's key cannot be encoded");
		r = sha256(spki, (size_t)len, rep->cert_digest);
		OPENSSL_free(spki);
		rep->stage = r < 0 ? CM_VSTAGE_SIG : CM_VSTAGE_NONE;
		return r;
	}
	case CM_VOP_TOKEN_NEW:
		rep->stage = CM_VSTAGE_PARSE;
		r = token_new(req->label, ret_out, &out_len);
		break;
	case CM_VOP_TOKEN_CHECK:
		rep->stage = CM_VSTAGE_PARSE;
		r = token_open(req->label, in[0], req->len[0], req->pin, NULL, NULL);
		break;
	case CM_VOP_TOKEN_REPIN:
		rep->stage = CM_VSTAGE_PARSE;
		r = token_repin(req->label, in[0], req->len[0], req->pin, req->newpin, ret_out,
				&out_len);
		break;
	default:
		return err_set(-EINVAL, "unknown operation %u", req->op);
	}
	if (r == 0) {
		rep->stage = CM_VSTAGE_NONE;
		rep->out_len = (uint32_t)out_len;
	}
	return r;
}

int cm_verify_run(struct cm_vstate *s, const struct cm_vreq *req, const uint8_t *in,
		  struct cm_vrep *rep, uint8_t **ret_out)
{
	const uint8_t *part[CM_VPARTS];
	size_t off = 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	*ret_out = NULL;
	for (int i = 0; i < CM_VPARTS; i++) {
		part[i] = in + off;
		off += req->len[i];
	}
	if (!memchr(req->label, '\0', sizeof(req->label)) ||
	    !memchr(req->pin, '\0', sizeof(req->pin)) ||
	    !memchr(req->newpin, '\0', sizeof(req->newpin)))
		return -EBADMSG;
	r = sha256(part[0], req->len[0], rep->digest);
	if (r < 0)
		return r;
	err_clear();
	r = run_op(s, req, part, rep, ret_out);
	if (r < 0) {
		rep->rc = r;
		if (rep->stage == CM_VSTAGE_NONE)
			rep->stage = CM_VSTAGE_PARSE;
		snprintf(rep->reason, sizeof(rep->reason), "%s", err_msg());
		rep->verified = 0;
		rep->out_len = 0;
		free(*ret_out);
		*ret_out = NULL;
	}
	return 0;
}

/* ---- the process ---- */

static void die(const char *what)
{
	log_err("verify: %s", what);
	_exit(1);
}

static void send_data(int chan, uint64_t id, const uint8_t *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		size_t n = len - off < CM_VDATA_CHUNK ? len - off : CM_VDATA_CHUNK;

		if (chan_send(chan, CM_VMSG_DATA, id, data + off, n) < 0)
			_exit(0);
		off += n;
	}
}

/* The request being received: its header, then its parts as data messages. */
struct vserver {
	struct cm_vstate *s;
	struct evloop *loop;
	int chan;
	struct cm_vreq *req; /* locked pages: it holds PINs */
	uint8_t *in;	     /* its parts, while they arrive; NULL before its header */
	size_t total, got;
	uint64_t id;
};

static void request_begin(struct vserver *v, const struct chan_hdr *hdr)
{
	if (hdr->type != CM_VMSG_REQ || hdr->len != sizeof(*v->req))
		die("a message that is not a request");
	v->id = hdr->id;
	v->total = v->got = 0;
	for (int i = 0; i < CM_VPARTS; i++) {
		if (v->req->len[i] > CM_VERIFY_PART_MAX)
			die("a part larger than allowed");
		v->total += v->req->len[i];
	}
	if (!(v->in = malloc(v->total ? v->total : 1)))
		die("out of memory");
}

static void request_answer(struct vserver *v)
{
	struct cm_vrep rep;
	uint8_t *out = NULL;

	if (cm_verify_run(v->s, v->req, v->in, &rep, &out) < 0)
		die("cannot answer");
	OPENSSL_cleanse(v->in, v->total);
	free(v->in);
	v->in = NULL;
	OPENSSL_cleanse(v->req, sizeof(*v->req));
	if (chan_send(v->chan, CM_VMSG_REP, v->id, &rep, sizeof(rep)) < 0)
		_exit(0);
	send_data(v->chan, v->id, out, rep.out_len);
	if (out) {
		OPENSSL_cleanse(out, rep.out_len);
		free(out);
	}
}

/* One request at a time, answered as soon as its last part is in; the parent gone ends it. */
static void chan_readable(void *arg, unsigned ready)
{
	struct vserver *v = arg;

	(void)ready;
	for (;;) {
		struct chan_hdr hdr;
		int rc = v->in ? chan_recv(v->chan, &hdr, v->in + v->got, v->total - v->got)
			       : chan_recv(v->chan, &hdr, v->req, sizeof(*v->req));

		if (rc == -EAGAIN)
			return;
		if (rc == -EPIPE)
			_exit(0);
		if (rc < 0)
			die(err_msg());
		if (!v->in) {
			request_begin(v, &hdr);
		} else {
			if (hdr.type != CM_VMSG_DATA || hdr.id != v->id || !hdr.len)
				die("request data out of order");
			v->got += hdr.len;
		}
		if (v->got == v->total)
			request_answer(v);
	}
}

/*
 * Everything OpenSSL loads on first use (its config file, providers, the
 * random generator's seed) loaded now, while files can still be opened.
 */
static void warm_up(void)
{
	uint8_t *der = NULL;
	size_t len = 0;

	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (token_new("00000000-0000-0000-0000-000000000000", &der, &len) == 0) {
		uint8_t *again = NULL;
		size_t again_len;

		token_repin("warm-up", der, len, "trustme", "x", &again, &again_len);
		free(again);
	}
	free(der);
	EVP_PKEY_free(EVP_RSA_gen(1024));
	err_clear();
}

void cm_verify_main(const struct cm_verify_args *a)
{
	static struct pem_files anchors, cas;
	struct vserver v = {.chan = a->chan};
	struct sandbox_report rep;
	struct ev_io chan_io;

	evloop_signals_reset();
	sandbox_close_fds_except(&a->chan, 1);
	prctl(PR_SET_NAME, "cmld-verify", 0, 0, 0);
	/*
	 * The CAs on the measured rootfs and in the data folder read while root,
	 * as bytes: the data folder's are the offline attacker's, so they are
	 * parsed only inside the sandbox.
	 */
	if (a->anchors)
		read_pem_path(&anchors, a->anchors);
	if (a->ca_dir)
		read_pem_path(&cas, a->ca_dir);
	if (!(v.req = secret_alloc(sizeof(*v.req))))
		die("out of memory");
	/* the loop before the sandbox: epoll_create1 is not among its calls */
	if (evloop_new(&v.loop) < 0)
		die(err_msg());
	if (ev_io_add(v.loop, &chan_io, a->chan, EVLOOP_READ, chan_readable, &v) < 0)
		die(err_msg());
	warm_up();
	if (geteuid() == 0 && sandbox_setuser(a->user) < 0)
		die(err_msg());
	if (sandbox_drop_caps() < 0)
		die(err_msg());
	if (sandbox_enter(SANDBOX_CMLD_CONTROL, &rep) < 0)
		die(err_msg());
	if (!(v.s = vstate_build(a->anchors, &anchors, &cas)))
		die("out of memory");
	pem_files_free(&anchors);
	pem_files_free(&cas);
	log_debug("verify %d: user %s, no capabilities, Landlock ABI %d, seccomp", (int)getpid(),
		  a->user, rep.landlock_abi);
	if (evloop_run(v.loop) < 0)
		die(err_msg());
	_exit(0);
}
