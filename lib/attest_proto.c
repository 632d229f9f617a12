// SPDX-License-Identifier: MIT
/* attestd protocol: CBOR requests and responses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_proto.h"
#include "frame.h"
#include "cborutil.h"
#include "cbw.h"
#include "mem.h"
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

static cbor_item_t *bytes(const uint8_t *p, size_t n)
{
	return cbor_build_bytestring(p ? p : (const uint8_t *)"", n);
}

int attest_request_encode(const struct attest_request *req, uint8_t **ret, size_t *ret_len)
{
	bool activate = req->type == ATTEST_ACTIVATE;
	_cleanup_cbor_ cbor_item_t *m = cbor_new_definite_map(activate ? 8 : 6);
	/* 3 offsets unless the DRTM log is asked for: an older attestd takes only 3 */
	int n_offsets = req->logs & (1u << ATTEST_LOG_DRTM) ? ATTEST_LOGS : ATTEST_LOGS_V1;
	cbor_item_t *offsets = cbor_new_definite_array(n_offsets);
	char sel[256];
	bool ok;

	if (pcr_selection_format(&req->sel, sel, sizeof(sel)) < 0)
		sel[0] = '\0';
	for (int i = 0; offsets && i < n_offsets; i++) {
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
		if (rc == 0 && (rc = get_uint(m, K_LOGS, "logs", &logs)) == 0 &&
		    logs >= 1u << ATTEST_LOGS)
			rc = err_set(-EBADMSG, "unknown logs 0x%llx", (unsigned long long)logs);
		req.logs = (unsigned)logs;
		/* 3 offsets from a verifier that predates the DRTM log, else 4 */
		if (rc == 0 && (!offs || !cbor_isa_array(offs) ||
				(cbor_array_size(offs) != ATTEST_LOGS_V1 &&
				 cbor_array_size(offs) != ATTEST_LOGS)))
			rc = err_set(-EBADMSG, "offsets is not an array of %d or %d",
				     ATTEST_LOGS_V1, ATTEST_LOGS);
		if (rc == 0 && (req.logs & (1u << ATTEST_LOG_DRTM)) &&
		    cbor_array_size(offs) != ATTEST_LOGS)
			rc = err_set(-EBADMSG, "the DRTM log asked for without its offset");
		for (int i = 0; rc == 0 && i < (int)cbor_array_size(offs); i++)
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

static void encode_quote_parts(const struct attest_response *r, struct cbw *w,
			       size_t split[ATTEST_LOGS])
{
	char sel[256];
	unsigned n = 0;

	if (pcr_selection_format(&r->sel, sel, sizeof(sel)) < 0)
		sel[0] = '\0';
	cbw_head(w, CBW_UINT, K_ATTEST);
	cbw_bytes(w, r->attest, r->attest_len);
	cbw_head(w, CBW_UINT, K_SIG);
	cbw_bytes(w, r->sig, r->sig_len);
	cbw_head(w, CBW_UINT, K_SEL);
	cbw_text(w, sel);
	for (unsigned b = 0; b < r->sel.count; b++)
		n += (unsigned)__builtin_popcount(r->sel.bank[b].mask);
	cbw_head(w, CBW_UINT, K_VALUES);
	cbw_head(w, CBW_ARRAY, n);
	for (unsigned b = 0; b < r->sel.count; b++) {
		const struct pcr_bank *bank = pcr_banks_get(&r->pcrs, r->sel.bank[b].alg);

		for (unsigned i = 0; i < PCR_COUNT; i++) {
			if (!(r->sel.bank[b].mask & (1u << i)))
				continue;
			if (bank)
				cbw_bytes(w, bank->value[i], bank->alg->size);
			else /* the count above promised an item */
				cbw_bytes(w, NULL, 0);
		}
	}
	cbw_head(w, CBW_UINT, K_PATH);
	cbw_head(w, CBW_ARRAY, r->path.len);
	for (unsigned i = 0; i < r->path.len; i++) {
		cbw_head(w, CBW_ARRAY, 2);
		cbw_bool(w, r->path.step[i].right);
		cbw_bytes(w, r->path.step[i].hash, NONCE_HASH_LEN);
	}
	/* 4 entries only with a DRTM log, which only a newer verifier asks for */
	int n_logs = r->has_log[ATTEST_LOG_DRTM] ? ATTEST_LOGS : ATTEST_LOGS_V1;

	cbw_head(w, CBW_UINT, K_LOGDATA);
	cbw_head(w, CBW_ARRAY, (uint64_t)n_logs);
	for (int i = 0; i < ATTEST_LOGS; i++) {
		if (i >= n_logs) {
			split[i] = SIZE_MAX;
			continue;
		}
		if (!r->has_log[i]) {
			cbw_null(w);
			split[i] = SIZE_MAX;
			continue;
		}
		cbw_head(w, CBW_ARRAY, 2);
		cbw_head(w, CBW_UINT, r->log_offset[i]);
		cbw_head(w, CBW_BYTES, r->log_len[i]);
		split[i] = w->len; /* the log's bytes go here, by reference */
	}
}

int attest_response_frame(const struct attest_response *r, uint8_t **ret_own,
			  struct iovec iov[ATTEST_RESPONSE_IOV], unsigned *ret_n)
{
	bool quote = r->status == 0 && r->attest;
	bool keys = r->status == 0 && r->ak_public;
	bool cred = r->status == 0 && r->credential_len;
	bool cert = keys && r->ek_cert[ATTEST_EK_CERT_RSA];
	bool cert_ecc = keys && r->ek_cert[ATTEST_EK_CERT_ECC];
	size_t n = 3 + (quote ? 6 : 0) + (keys ? 1 : 0) + (cred ? 1 : 0) + (cert ? 1 : 0) +
		   (cert_ecc ? 1 : 0);
	size_t split[ATTEST_LOGS] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX}, body = 0, from = 0;
	struct cbw w = {0};
	unsigned k = 0;
	int rc;

	cbw_raw(&w, "\0\0\0\0", 4); /* the frame's length, once known */
	cbw_head(&w, CBW_MAP, n);
	cbw_head(&w, CBW_UINT, K_VERSION);
	cbw_head(&w, CBW_UINT, ATTEST_PROTO_VERSION);
	cbw_head(&w, CBW_UINT, K_STATUS);
	cbw_head(&w, CBW_UINT, r->status);
	cbw_head(&w, CBW_UINT, K_ERROR);
	cbw_text(&w, r->error);
	if (quote)
		encode_quote_parts(r, &w, split);
	if (keys) {
		cbw_head(&w, CBW_UINT, K_KEYS);
		cbw_head(&w, CBW_ARRAY, 3);
		cbw_bytes(&w, r->ek_public, r->ek_public_len);
		cbw_bytes(&w, r->ak_public, r->ak_public_len);
		cbw_bytes(&w, r->ak_name, r->ak_name_len);
	}
	if (cred) {
		cbw_head(&w, CBW_UINT, K_CREDENTIAL);
		cbw_bytes(&w, r->credential, r->credential_len);
	}
	if (cert) {
		cbw_head(&w, CBW_UINT, K_EK_CERT);
		cbw_bytes(&w, r->ek_cert[ATTEST_EK_CERT_RSA], r->ek_cert_len[ATTEST_EK_CERT_RSA]);
	}
	if (cert_ecc) {
		cbw_head(&w, CBW_UINT, K_EK_CERT_ECC);
		cbw_bytes(&w, r->ek_cert[ATTEST_EK_CERT_ECC], r->ek_cert_len[ATTEST_EK_CERT_ECC]);
	}
	rc = cbw_finish(&w);
	if (rc < 0)
		return rc;
	for (int i = 0; i < ATTEST_LOGS; i++) {
		if (split[i] == SIZE_MAX)
			continue;
		iov[k++] = (struct iovec){w.buf + from, split[i] - from};
		iov[k++] = (struct iovec){r->log[i], r->log_len[i]};
		from = split[i];
	}
	iov[k++] = (struct iovec){w.buf + from, w.len - from};
	for (unsigned i = 0; i < k; i++)
		body += iov[i].iov_len;
	frame_hdr_put(body - 4, w.buf);
	*ret_own = w.buf;
	*ret_n = k;
	return 0;
}

int attest_response_encode(const struct attest_response *r, uint8_t **ret, size_t *ret_len)
{
	struct iovec iov[ATTEST_RESPONSE_IOV];
	_cleanup_free_ uint8_t *own = NULL;
	size_t len = 0, at = 0;
	unsigned n;
	uint8_t *buf;
	int rc = attest_response_frame(r, &own, iov, &n);

	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < n; i++)
		len += iov[i].iov_len;
	buf = malloc(len);
	if (!buf)
		return err_set(-ENOMEM, "out of memory encoding a response");
	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len)
			memcpy(buf + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	/* the body, without the frame's length */
	memmove(buf, buf + 4, len - 4);
	*ret = buf;
	*ret_len = len - 4;
	return 0;
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
	    (cbor_array_size(logs) != ATTEST_LOGS_V1 && cbor_array_size(logs) != ATTEST_LOGS))
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
	/* an older attestd sends 3 logs: the DRTM log is then absent */
	for (int i = 0; i < (int)cbor_array_size(logs); i++) {
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
