// SPDX-License-Identifier: MIT
/* attestd protocol: CBOR requests and responses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_proto.h"
#include "cborutil.h"
#include "err.h"

enum {
	K_VERSION = 0,
	K_TYPE = 1,
	K_NONCE = 2,
	K_PCRS = 3,
	K_LOGS = 4,
	K_OFFSETS = 5,
	K_BLOB = 6,
	K_SECRET = 7,
	K_STATUS = 1,
	K_ERROR = 2,
	K_ATTEST = 10,
	K_SIG = 11,
	K_SEL = 12,
	K_VALUES = 13,
	K_PATH = 14,
	K_LOGDATA = 15,
	K_KEYS = 16,
	K_CREDENTIAL = 17,
	K_EK_CERT = 18,
	K_EK_CERT_ECC = 19,
};

void attest_frame_header(size_t len, uint8_t out[4])
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

uint32_t attest_frame_length(const uint8_t hdr[4])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
}

static cbor_item_t *bytes(const uint8_t *p, size_t n)
{
	return cbor_build_bytestring(p ? p : (const uint8_t *)"", n);
}

int attest_request_encode(const struct attest_request *req, uint8_t **ret, size_t *ret_len)
{
	bool activate = req->type == ATTEST_ACTIVATE;
	_cleanup_cbor_ cbor_item_t *m = cbor_new_definite_map(activate ? 8 : 6);
	cbor_item_t *offsets = cbor_new_definite_array(ATTEST_LOGS);
	char sel[256];
	bool ok;

	if (pcr_selection_format(&req->sel, sel, sizeof(sel)) < 0)
		sel[0] = '\0';
	for (int i = 0; offsets && i < ATTEST_LOGS; i++) {
		cbor_item_t *v = cbu_build_uint(req->offset[i]);

		if (!v || !cbor_array_push(offsets, v))
			offsets = NULL; /* leaked only when out of memory */
		if (v)
			cbor_decref(&v);
	}
	ok = m && cbu_map_put(m, K_VERSION, cbu_build_uint(ATTEST_PROTO_VERSION)) &&
	     cbu_map_put(m, K_TYPE, cbu_build_uint(req->type)) &&
	     cbu_map_put(m, K_NONCE, bytes(req->nonce, req->nonce_len)) &&
	     cbu_map_put(m, K_PCRS, cbor_build_string(sel)) &&
	     cbu_map_put(m, K_LOGS, cbu_build_uint(req->logs)) &&
	     cbu_map_put(m, K_OFFSETS, offsets);
	if (ok && activate)
		ok = cbu_map_put(m, K_BLOB, bytes(req->blob, req->blob_len)) &&
		     cbu_map_put(m, K_SECRET, bytes(req->secret, req->secret_len));
	if (!ok)
		return err_set(-ENOMEM, "out of memory encoding a request");
	return cbu_serialize(m, ret, ret_len);
}

static int get_uint(const cbor_item_t *m, uint64_t key, const char *field, uint64_t *ret)
{
	return cbu_get_uint(cbu_map_get(m, key), field, ret);
}

int attest_request_decode(const uint8_t *buf, size_t len, struct attest_request *ret)
{
	struct attest_request req = {0};
	cbor_item_t *m = NULL;
	const uint8_t *nonce;
	const char *sel;
	size_t used, n, sel_len;
	uint64_t version, type, logs;
	char sel_text[256];
	int rc;

	if (len > ATTEST_REQUEST_MAX)
		return err_set(-EMSGSIZE, "request of %zu bytes (at most %d)", len,
			       ATTEST_REQUEST_MAX);
	if ((rc = cbu_load(buf, len, &m, &used)) < 0)
		return rc;
	if (used != len)
		rc = err_set(-EBADMSG, "%zu bytes after the request", len - used);
	else if (!cbor_isa_map(m))
		rc = err_set(-EBADMSG, "request is not a CBOR map");
	else if ((rc = get_uint(m, K_VERSION, "version", &version)) == 0 &&
		 version != ATTEST_PROTO_VERSION)
		rc = err_set(-EPROTO, "protocol version %llu (this is %d)",
			     (unsigned long long)version, ATTEST_PROTO_VERSION);
	if (rc == 0 && (rc = get_uint(m, K_TYPE, "type", &type)) == 0 && type != ATTEST_QUOTE &&
	    type != ATTEST_KEYS && type != ATTEST_ACTIVATE)
		rc = err_set(-EBADMSG, "unknown request type %llu", (unsigned long long)type);
	req.type = (uint32_t)type;
	if (rc == 0 && req.type == ATTEST_QUOTE) {
		const cbor_item_t *offs = cbu_map_get(m, K_OFFSETS);

		if ((rc = cbu_get_bytes(cbu_map_get(m, K_NONCE), "nonce", &nonce, &n)) == 0 &&
		    (n < ATTEST_NONCE_MIN || n > ATTEST_NONCE_MAX))
			rc = err_set(-EBADMSG, "nonce of %zu bytes (%d-%d)", n, ATTEST_NONCE_MIN,
				     ATTEST_NONCE_MAX);
		if (rc == 0) {
			memcpy(req.nonce, nonce, n);
			req.nonce_len = n;
			rc = cbu_get_text(cbu_map_get(m, K_PCRS), "pcrs", &sel, &sel_len);
		}
		if (rc == 0 && sel_len >= sizeof(sel_text))
			rc = err_set(-EBADMSG, "pcrs selection too long");
		if (rc == 0) {
			memcpy(sel_text, sel, sel_len);
			sel_text[sel_len] = '\0';
			rc = pcr_selection_parse(sel_text, &req.sel);
		}
		if (rc == 0 && (rc = get_uint(m, K_LOGS, "logs", &logs)) == 0 && logs > 7)
			rc = err_set(-EBADMSG, "unknown logs 0x%llx", (unsigned long long)logs);
		req.logs = (unsigned)logs;
		if (rc == 0 &&
		    (!offs || !cbor_isa_array(offs) || cbor_array_size(offs) != ATTEST_LOGS))
			rc = err_set(-EBADMSG, "offsets is not an array of %d", ATTEST_LOGS);
		for (int i = 0; rc == 0 && i < ATTEST_LOGS; i++)
			rc = cbu_get_uint(cbor_array_handle(offs)[i], "offset", &req.offset[i]);
	}
	if (rc == 0 && req.type == ATTEST_ACTIVATE) {
		const uint8_t *b, *e;
		size_t bl, el;

		if ((rc = cbu_get_bytes(cbu_map_get(m, K_BLOB), "credential blob", &b, &bl)) == 0 &&
		    (rc = cbu_get_bytes(cbu_map_get(m, K_SECRET), "encrypted secret", &e, &el)) ==
			    0 &&
		    (bl > ATTEST_CRED_MAX || el > ATTEST_CRED_MAX))
			rc = err_set(-EBADMSG, "credential of %zu/%zu bytes", bl, el);
		if (rc == 0) {
			memcpy(req.blob, b, bl);
			req.blob_len = bl;
			memcpy(req.secret, e, el);
			req.secret_len = el;
		}
	}
	cbor_decref(&m);
	if (rc == 0)
		*ret = req;
	return rc;
}

static cbor_item_t *encode_quote_parts(const struct attest_response *r, cbor_item_t *m)
{
	char sel[256];
	unsigned n = 0;
	cbor_item_t *values, *path, *logs;

	for (unsigned b = 0; b < r->sel.count; b++)
		n += (unsigned)__builtin_popcount(r->sel.bank[b].mask);
	values = cbor_new_definite_array(n);
	for (unsigned b = 0; values && b < r->sel.count; b++) {
		const struct pcr_bank *bank = pcr_banks_get(&r->pcrs, r->sel.bank[b].alg);

		for (unsigned i = 0; bank && i < PCR_COUNT; i++) {
			cbor_item_t *v;

			if (!(r->sel.bank[b].mask & (1u << i)))
				continue;
			v = bytes(bank->value[i], bank->alg->size);
			if (!v || !cbor_array_push(values, v))
				return NULL;
			cbor_decref(&v);
		}
	}
	path = cbor_new_definite_array(r->path.len);
	for (unsigned i = 0; path && i < r->path.len; i++) {
		cbor_item_t *step = cbor_new_definite_array(2),
			    *side = cbor_build_bool(r->path.step[i].right),
			    *h = bytes(r->path.step[i].hash, NONCE_HASH_LEN);

		if (!step || !side || !h || !cbor_array_push(step, side) ||
		    !cbor_array_push(step, h) || !cbor_array_push(path, step))
			return NULL;
		cbor_decref(&side);
		cbor_decref(&h);
		cbor_decref(&step);
	}
	logs = cbor_new_definite_array(ATTEST_LOGS);
	for (int i = 0; logs && i < ATTEST_LOGS; i++) {
		cbor_item_t *e;

		if (!r->has_log[i]) {
			e = cbor_new_null();
		} else {
			cbor_item_t *off = cbu_build_uint(r->log_offset[i]),
				    *d = bytes(r->log[i], r->log_len[i]);

			e = cbor_new_definite_array(2);
			if (!e || !off || !d || !cbor_array_push(e, off) || !cbor_array_push(e, d))
				return NULL;
			cbor_decref(&off);
			cbor_decref(&d);
		}
		if (!e || !cbor_array_push(logs, e))
			return NULL;
		cbor_decref(&e);
	}
	if (pcr_selection_format(&r->sel, sel, sizeof(sel)) < 0)
		return NULL;
	if (!cbu_map_put(m, K_ATTEST, bytes(r->attest, r->attest_len)) ||
	    !cbu_map_put(m, K_SIG, bytes(r->sig, r->sig_len)) ||
	    !cbu_map_put(m, K_SEL, cbor_build_string(sel)) || !cbu_map_put(m, K_VALUES, values) ||
	    !cbu_map_put(m, K_PATH, path) || !cbu_map_put(m, K_LOGDATA, logs))
		return NULL;
	return m;
}

int attest_response_encode(const struct attest_response *r, uint8_t **ret, size_t *ret_len)
{
	bool quote = r->status == 0 && r->attest;
	bool keys = r->status == 0 && r->ak_public;
	bool cred = r->status == 0 && r->credential_len;
	bool cert = keys && r->ek_cert[ATTEST_EK_CERT_RSA];
	bool cert_ecc = keys && r->ek_cert[ATTEST_EK_CERT_ECC];
	size_t n = 3 + (quote ? 6 : 0) + (keys ? 1 : 0) + (cred ? 1 : 0) + (cert ? 1 : 0) +
		   (cert_ecc ? 1 : 0);
	_cleanup_cbor_ cbor_item_t *m = cbor_new_definite_map(n);
	bool ok = m && cbu_map_put(m, K_VERSION, cbu_build_uint(ATTEST_PROTO_VERSION)) &&
		  cbu_map_put(m, K_STATUS, cbu_build_uint(r->status)) &&
		  cbu_map_put(m, K_ERROR, cbor_build_string(r->error));

	if (ok && quote)
		ok = encode_quote_parts(r, m) != NULL;
	if (ok && keys) {
		cbor_item_t *k = cbor_new_definite_array(3),
			    *a = bytes(r->ek_public, r->ek_public_len),
			    *b = bytes(r->ak_public, r->ak_public_len),
			    *c = bytes(r->ak_name, r->ak_name_len);

		ok = k && a && b && c && cbor_array_push(k, a) && cbor_array_push(k, b) &&
		     cbor_array_push(k, c) && cbu_map_put(m, K_KEYS, k);
		if (a)
			cbor_decref(&a);
		if (b)
			cbor_decref(&b);
		if (c)
			cbor_decref(&c);
	}
	if (ok && cred)
		ok = cbu_map_put(m, K_CREDENTIAL, bytes(r->credential, r->credential_len));
	if (ok && cert)
		ok = cbu_map_put(
			m, K_EK_CERT,
			bytes(r->ek_cert[ATTEST_EK_CERT_RSA], r->ek_cert_len[ATTEST_EK_CERT_RSA]));
	if (ok && cert_ecc)
		ok = cbu_map_put(
			m, K_EK_CERT_ECC,
			bytes(r->ek_cert[ATTEST_EK_CERT_ECC], r->ek_cert_len[ATTEST_EK_CERT_ECC]));
	if (!ok)
		return err_set(-ENOMEM, "out of memory encoding a response");
	return cbu_serialize(m, ret, ret_len);
}

static int dup_bytes(const cbor_item_t *item, const char *field, size_t max, uint8_t **ret,
		     size_t *ret_len)
{
	const uint8_t *p;
	size_t n;
	int rc = cbu_get_bytes(item, field, &p, &n);

	if (rc < 0)
		return rc;
	if (n > max)
		return err_set(-EBADMSG, "%s of %zu bytes", field, n);
	*ret = malloc(n ? n : 1);
	if (!*ret)
		return err_set(-ENOMEM, "out of memory");
	memcpy(*ret, p, n);
	*ret_len = n;
	return 0;
}

static int decode_quote_parts(const cbor_item_t *m, struct attest_response *r)
{
	const cbor_item_t *values = cbu_map_get(m, K_VALUES), *path = cbu_map_get(m, K_PATH),
			  *logs = cbu_map_get(m, K_LOGDATA);
	const char *sel;
	char sel_text[256];
	size_t sel_len, v = 0;
	int rc;

	if ((rc = dup_bytes(cbu_map_get(m, K_ATTEST), "attest", 4096, &r->attest, &r->attest_len)) <
		    0 ||
	    (rc = dup_bytes(cbu_map_get(m, K_SIG), "signature", 4096, &r->sig, &r->sig_len)) < 0 ||
	    (rc = cbu_get_text(cbu_map_get(m, K_SEL), "pcrs", &sel, &sel_len)) < 0)
		return rc;
	if (sel_len >= sizeof(sel_text))
		return err_set(-EBADMSG, "pcrs selection too long");
	memcpy(sel_text, sel, sel_len);
	sel_text[sel_len] = '\0';
	if ((rc = pcr_selection_parse(sel_text, &r->sel)) < 0)
		return rc;
	if (!values || !cbor_isa_array(values) || !path || !cbor_isa_array(path) ||
	    cbor_array_size(path) > NONCE_TREE_MAX_DEPTH || !logs || !cbor_isa_array(logs) ||
	    cbor_array_size(logs) != ATTEST_LOGS)
		return err_set(-EBADMSG, "response lacks values, path or logs");
	pcr_banks_init(&r->pcrs);
	for (unsigned b = 0; b < r->sel.count; b++) {
		struct pcr_bank *bank = pcr_banks_add(&r->pcrs, r->sel.bank[b].alg);

		for (unsigned i = 0; i < PCR_COUNT; i++) {
			const uint8_t *p;
			size_t n;

			if (!(r->sel.bank[b].mask & (1u << i)))
				continue;
			if (v >= cbor_array_size(values))
				return err_set(-EBADMSG, "fewer PCR values than selected");
			if ((rc = cbu_get_bytes(cbor_array_handle(values)[v++], "PCR value", &p,
						&n)) < 0)
				return rc;
			if (n != bank->alg->size)
				return err_set(-EBADMSG, "%s PCR %u value of %zu bytes",
					       bank->alg->name, i, n);
			memcpy(bank->value[i], p, n);
			bank->extended |= 1u << i;
		}
	}
	if (v != cbor_array_size(values))
		return err_set(-EBADMSG, "more PCR values than selected");
	r->path.len = (unsigned)cbor_array_size(path);
	for (unsigned i = 0; i < r->path.len; i++) {
		const cbor_item_t *step = cbor_array_handle(path)[i];
		const uint8_t *h;
		size_t n;

		if (!cbor_isa_array(step) || cbor_array_size(step) != 2 ||
		    !cbu_is_bool(cbor_array_handle(step)[0]))
			return err_set(-EBADMSG, "bad nonce path step %u", i);
		if ((rc = cbu_get_bytes(cbor_array_handle(step)[1], "path hash", &h, &n)) < 0)
			return rc;
		if (n != NONCE_HASH_LEN)
			return err_set(-EBADMSG, "path hash of %zu bytes", n);
		r->path.step[i].right =
			cbor_ctrl_value(cbor_array_handle(step)[0]) == CBOR_CTRL_TRUE;
		memcpy(r->path.step[i].hash, h, n);
	}
	for (int i = 0; i < ATTEST_LOGS; i++) {
		const cbor_item_t *e = cbor_array_handle(logs)[i];

		if (cbu_is_null(e))
			continue;
		if (!cbor_isa_array(e) || cbor_array_size(e) != 2)
			return err_set(-EBADMSG, "bad log entry %d", i);
		if ((rc = cbu_get_uint(cbor_array_handle(e)[0], "log offset", &r->log_offset[i])) <
			    0 ||
		    (rc = dup_bytes(cbor_array_handle(e)[1], "log", ATTEST_RESPONSE_MAX, &r->log[i],
				    &r->log_len[i])) < 0)
			return rc;
		r->has_log[i] = true;
	}
	return 0;
}

int attest_response_decode(const uint8_t *buf, size_t len, struct attest_response *ret)
{
	struct attest_response r = {0};
	cbor_item_t *m = NULL;
	const char *err;
	size_t used, err_len;
	uint64_t version, status;
	int rc;

	if ((rc = cbu_load(buf, len, &m, &used)) < 0)
		return rc;
	if (used != len || !cbor_isa_map(m))
		rc = err_set(-EBADMSG, "response is not one CBOR map");
	if (rc == 0 && (rc = get_uint(m, K_VERSION, "version", &version)) == 0 &&
	    version != ATTEST_PROTO_VERSION)
		rc = err_set(-EPROTO, "protocol version %llu", (unsigned long long)version);
	if (rc == 0 && (rc = get_uint(m, K_STATUS, "status", &status)) == 0 &&
	    (rc = cbu_get_text(cbu_map_get(m, K_ERROR), "error", &err, &err_len)) == 0) {
		r.status = (uint32_t)status;
		snprintf(r.error, sizeof(r.error), "%.*s", (int)err_len, err);
		for (char *c = r.error; *c; c++)
			if (*c < 0x20 || *c == 0x7f)
				*c = '?'; /* the daemon's text reaches a terminal */
	}
	if (rc == 0 && r.status == 0 && cbu_map_get(m, K_ATTEST))
		rc = decode_quote_parts(m, &r);
	if (rc == 0 && r.status == 0 && cbu_map_get(m, K_KEYS)) {
		const cbor_item_t *k = cbu_map_get(m, K_KEYS);

		if (!cbor_isa_array(k) || cbor_array_size(k) != 3)
			rc = err_set(-EBADMSG, "keys is not [ek, ak, name]");
		else if ((rc = dup_bytes(cbor_array_handle(k)[0], "EK", 4096, &r.ek_public,
					 &r.ek_public_len)) == 0 &&
			 (rc = dup_bytes(cbor_array_handle(k)[1], "AK", 4096, &r.ak_public,
					 &r.ak_public_len)) == 0)
			rc = dup_bytes(cbor_array_handle(k)[2], "AK name", 128, &r.ak_name,
				       &r.ak_name_len);
	}
	if (rc == 0 && r.status == 0 && cbu_map_get(m, K_EK_CERT))
		rc = dup_bytes(cbu_map_get(m, K_EK_CERT), "RSA EK certificate", 8192,
			       &r.ek_cert[ATTEST_EK_CERT_RSA], &r.ek_cert_len[ATTEST_EK_CERT_RSA]);
	if (rc == 0 && r.status == 0 && cbu_map_get(m, K_EK_CERT_ECC))
		rc = dup_bytes(cbu_map_get(m, K_EK_CERT_ECC), "ECC EK certificate", 8192,
			       &r.ek_cert[ATTEST_EK_CERT_ECC], &r.ek_cert_len[ATTEST_EK_CERT_ECC]);
	if (rc == 0 && r.status == 0 && cbu_map_get(m, K_CREDENTIAL)) {
		const uint8_t *c;

		if ((rc = cbu_get_bytes(cbu_map_get(m, K_CREDENTIAL), "credential", &c,
					&r.credential_len)) == 0 &&
		    r.credential_len > sizeof(r.credential))
			rc = err_set(-EBADMSG, "credential of %zu bytes", r.credential_len);
		else if (rc == 0)
			memcpy(r.credential, c, r.credential_len);
	}
	cbor_decref(&m);
	if (rc < 0) {
		attest_response_free(&r);
		return rc;
	}
	*ret = r;
	return 0;
}

void attest_response_free(struct attest_response *r)
{
	free(r->attest);
	free(r->sig);
	for (int i = 0; i < ATTEST_LOGS; i++)
		free(r->log[i]);
	free(r->ek_public);
	free(r->ak_public);
	free(r->ak_name);
	for (int i = 0; i < ATTEST_EK_CERTS; i++)
		free(r->ek_cert[i]);
	memset(r, 0, sizeof(*r));
}
