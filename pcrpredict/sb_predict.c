// SPDX-License-Identifier: MIT
/*
 * PCR 7 / PCR 14 prediction for a Secure Boot chain (firmware -> shim ->
 * GRUB -> kernel), from the varstore and the images alone.
 *
 *   PCR 7, firmware: SecureBoot, PK, KEK, db, dbx (EV_EFI_VARIABLE_DRIVER_CONFIG,
 *          UEFI_VARIABLE_DATA), the separator, then with Secure Boot on the
 *          db entry that verified shim (EV_EFI_VARIABLE_AUTHORITY)
 *   PCR 7, shim: SbatLevel (its built-in "previous" policy), then for every
 *          image it verifies the authority that did, once per authority:
 *          a db entry, or its vendor certificate as a MokListRT entry
 *   PCR 14, shim: MokList, MokListX, MokListTrusted (EV_IPL, digest of the
 *          variables' contents: the vendor certificate and dbx, trusted = 1)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "authenticode.h"
#include "err.h"
#include "eventlog_tcg.h"
#include "reader.h"
#include "sb_predict.h"
#include "uefi_var.h"

static const char *base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int add(struct sb_prediction *p, unsigned pcr, uint32_t type, const char *what,
	       uint8_t *hashed, size_t len)
{
	struct sb_event *e;

	if (p->n == SB_EVENTS_MAX) {
		free(hashed);
		return err_set(-E2BIG, "more than %d PCR 7/14 events", SB_EVENTS_MAX);
	}
	e = &p->event[p->n++];
	e->pcr = pcr;
	e->type = type;
	snprintf(e->what, sizeof(e->what), "%s", what);
	e->hashed = hashed;
	e->hashed_len = len;
	return 0;
}

static int add_variable(struct sb_prediction *p, uint32_t type, const char *what,
			const uint8_t guid[16], const char *name, const uint8_t *data, size_t len)
{
	uint8_t *ev;
	size_t ev_len;
	int rc = uefi_variable_data(guid, name, data, len, &ev, &ev_len);

	return rc < 0 ? rc : add(p, 7, type, what, ev, ev_len);
}

static int add_copy(struct sb_prediction *p, unsigned pcr, uint32_t type, const char *what,
		    const void *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return err_set(-ENOMEM, "out of memory");
	memcpy(copy, data, len);
	return add(p, pcr, type, what, copy, len);
}

/* SecureBoot is on when a PK is enrolled and SecureBootEnable is not 0 (EDK2). */
static bool secure_boot_on(const struct uefi_varstore *vs)
{
	static const uint8_t sb_enable_guid[16] = {0xc7, 0x0b, 0xa3, 0xf0, 0x08, 0xaf, 0x56, 0x45,
						   0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44};
	const struct uefi_var *pk = uefi_var_find(vs, EFI_GLOBAL_VARIABLE_GUID, "PK");
	const struct uefi_var *en = uefi_var_find(vs, sb_enable_guid, "SecureBootEnable");

	return pk && pk->len && (!en || (en->len == 1 && en->data[0] == 1));
}

static int firmware_events(const struct uefi_varstore *vs, struct sb_prediction *p)
{
	static const struct {
		const char *name;
		bool image_db;
	} vars[] = {{"PK", false}, {"KEK", false}, {"db", true}, {"dbx", true}};
	static const uint8_t separator[4] = {0};
	uint8_t sb = p->secure_boot;
	int rc;

	if ((rc = add_variable(p, EV_EFI_VARIABLE_DRIVER_CONFIG, "SecureBoot",
			       EFI_GLOBAL_VARIABLE_GUID, "SecureBoot", &sb, 1)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const uint8_t *g = vars[i].image_db ? EFI_IMAGE_SECURITY_DATABASE_GUID
						    : EFI_GLOBAL_VARIABLE_GUID;
		const struct uefi_var *v = uefi_var_find(vs, g, vars[i].name);

		if ((rc = add_variable(p, EV_EFI_VARIABLE_DRIVER_CONFIG, vars[i].name, g,
				       vars[i].name, v ? v->data : NULL, v ? v->len : 0)) < 0)
			return rc;
	}
	return add_copy(p, 7, EV_SEPARATOR, "separator", separator, sizeof(separator));
}

/* The certificates in an image's signature (the signer and its chain as shipped). */
static int image_certs(const uint8_t *pe, size_t len, const char *what, STACK_OF(X509) * *ret)
{
	const uint8_t *der, *q;
	size_t der_len;
	PKCS7 *p7;
	int rc = pe_signature(pe, len, what, &der, &der_len);

	if (rc < 0)
		return rc;
	q = der;
	p7 = d2i_PKCS7(NULL, &q, (long)der_len);
	if (!p7 || !PKCS7_type_is_signed(p7) || !p7->d.sign->cert) {
		PKCS7_free(p7);
		ERR_clear_error();
		return err_set(-EBADMSG,
			       "%s: its signature is not PKCS#7 SignedData with certificates",
			       what);
	}
	*ret = X509_chain_up_ref(p7->d.sign->cert);
	PKCS7_free(p7);
	return *ret ? 0 : err_set(-ENOMEM, "out of memory");
}

/* @anchor (DER) issued one of @certs, or is one of them. */
static bool anchors(const uint8_t *der, size_t len, STACK_OF(X509) * certs)
{
	const uint8_t *q = der;
	X509 *a = d2i_X509(NULL, &q, (long)len);
	bool ok = false;

	for (int i = 0; a && !ok && i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);

		ok = X509_cmp(a, c) == 0 || (X509_check_issued(a, c) == X509_V_OK &&
					     X509_verify(c, X509_get0_pubkey(a)) == 1);
	}
	X509_free(a);
	ERR_clear_error();
	return ok;
}

struct db_search {
	STACK_OF(X509) * certs;
	const uint8_t *entry;
	size_t entry_len;
};

static int db_entry_fn(const uint8_t *entry, size_t len, void *arg)
{
	struct db_search *s = arg;

	if (!anchors(entry + 16, len - 16, s->certs))
		return 0;
	s->entry = entry;
	s->entry_len = len;
	return 1;
}

/* The db entry (EFI_SIGNATURE_DATA: owner + certificate) that verifies @certs, or NULL. */
static int db_authority(const struct uefi_varstore *vs, STACK_OF(X509) * certs,
			struct db_search *ret)
{
	const struct uefi_var *db = uefi_var_find(vs, EFI_IMAGE_SECURITY_DATABASE_GUID, "db");
	int rc;

	ret->certs = certs;
	ret->entry = NULL;
	if (!db)
		return 0;
	rc = uefi_esl_foreach(db->data, db->len, EFI_CERT_X509_GUID, db_entry_fn, ret);
	return rc < 0 ? err_wrap(rc, "db") : 0;
}

/* shim's .vendor_cert: {u32 cert size, u32 dbx size, u32 cert offset, u32 dbx offset} + data */
struct vendor {
	const uint8_t *cert, *dbx;
	uint32_t cert_len, dbx_len;
};

static int shim_vendor(const uint8_t *pe, size_t len, const char *what, struct vendor *v)
{
	const uint8_t *s;
	size_t n;
	int rc = pe_section(pe, len, what, ".vendor_cert", &s, &n);

	if (rc < 0)
		return rc;
	if (n < 16 || (uint64_t)le32_at(s + 8) + le32_at(s) > n ||
	    (uint64_t)le32_at(s + 12) + le32_at(s + 4) > n)
		return err_set(-EBADMSG, "%s: .vendor_cert sizes run past the section", what);
	v->cert_len = le32_at(s);
	v->dbx_len = le32_at(s + 4);
	v->cert = s + le32_at(s + 8);
	v->dbx = s + le32_at(s + 12);
	return 0;
}

/* shim's built-in SBAT level, the "previous" policy it applies by default. */
static int shim_sbat_level(const uint8_t *pe, size_t len, const char *what, const uint8_t **ret,
			   size_t *ret_len)
{
	const uint8_t *s, *end;
	size_t n;
	uint32_t prev;
	int rc = pe_section(pe, len, what, ".sbatlevel", &s, &n);

	if (rc < 0)
		return rc;
	/* {u32 version, u32 previous, u32 latest}, offsets from after the version */
	/* a section shorter than its own header has no policy (and n - 4 would wrap) */
	prev = n >= 12 ? le32_at(s + 4) : UINT32_MAX;
	if (n < 12 || prev >= n - 4 || !(end = memchr(s + 4 + prev, '\0', n - 4 - prev)))
		return err_set(-EBADMSG, "%s: .sbatlevel has no previous policy string", what);
	*ret = s + 4 + prev;
	*ret_len = (size_t)(end - (s + 4 + prev));
	return 0;
}

static int shim_moklists(const struct vendor *v, struct sb_prediction *p)
{
	/* MokListRT: the vendor certificate as one X509 EFI_SIGNATURE_LIST owned by shim */
	size_t n = 28 + 16 + v->cert_len;
	uint8_t *esl = malloc(n);
	static const uint8_t trusted = 1;
	int rc;

	if (!esl)
		return err_set(-ENOMEM, "out of memory");
	memcpy(esl, EFI_CERT_X509_GUID, 16);
	for (int i = 0; i < 4; i++) {
		esl[16 + i] = (uint8_t)(n >> (8 * i));
		esl[20 + i] = 0;
		esl[24 + i] = (uint8_t)((16 + v->cert_len) >> (8 * i));
	}
	memcpy(esl + 28, SHIM_LOCK_GUID, 16);
	memcpy(esl + 44, v->cert, v->cert_len);
	if ((rc = add(p, 14, EV_IPL, "MokList", esl, n)) < 0 ||
	    (rc = add_copy(p, 14, EV_IPL, "MokListX", v->dbx, v->dbx_len)) < 0)
		return rc;
	return add_copy(p, 14, EV_IPL, "MokListTrusted", &trusted, 1);
}

/* Who verifies @image for shim: a db entry, else the vendor certificate; measured once each. */
static int shim_authority(const struct uefi_varstore *vs, const struct vendor *v, const uint8_t *pe,
			  size_t len, const char *what, bool *db_done, bool *vendor_done,
			  struct sb_prediction *p)
{
	STACK_OF(X509) *certs = NULL;
	struct db_search db;
	uint8_t *entry = NULL;
	char label[64];
	int rc;

	if ((rc = image_certs(pe, len, what, &certs)) < 0 ||
	    (rc = db_authority(vs, certs, &db)) < 0)
		goto out;
	if (db.entry && !*db_done) {
		*db_done = true;
		snprintf(label, sizeof(label), "db verified %s", base(what));
		rc = add_variable(p, EV_EFI_VARIABLE_AUTHORITY, label,
				  EFI_IMAGE_SECURITY_DATABASE_GUID, "db", db.entry, db.entry_len);
	} else if (!db.entry && anchors(v->cert, v->cert_len, certs)) {
		if (*vendor_done)
			goto out;
		*vendor_done = true;
		if (!(entry = malloc(16 + v->cert_len))) {
			rc = err_set(-ENOMEM, "out of memory");
			goto out;
		}
		memcpy(entry, SHIM_LOCK_GUID, 16);
		memcpy(entry + 16, v->cert, v->cert_len);
		snprintf(label, sizeof(label), "shim's vendor certificate verified %s", base(what));
		rc = add_variable(p, EV_EFI_VARIABLE_AUTHORITY, label, SHIM_LOCK_GUID, "MokListRT",
				  entry, 16 + v->cert_len);
	} else if (!db.entry) {
		rc = err_set(-EPERM, "%s: neither db nor shim's vendor certificate verifies it",
			     what);
	}
out:
	free(entry);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static int shim_events(const struct uefi_varstore *vs, const struct sb_inputs *in,
		       struct sb_prediction *p)
{
	const uint8_t *sbat = NULL;
	size_t sbat_len = 0;
	struct vendor v = {0};
	bool db_done = false, vendor_done = false;
	int rc;

	if ((rc = shim_vendor(in->image[0], in->image_len[0], in->image_name[0], &v)) < 0 ||
	    (rc = shim_sbat_level(in->image[0], in->image_len[0], in->image_name[0], &sbat,
				  &sbat_len)) < 0 ||
	    (rc = add_variable(p, EV_EFI_VARIABLE_AUTHORITY, "SbatLevel", SHIM_LOCK_GUID,
			       "SbatLevel", sbat, sbat_len)) < 0 ||
	    (rc = shim_moklists(&v, p)) < 0)
		return rc;
	for (int i = 1; i < 3 && rc == 0; i++)
		if (in->image[i] && p->secure_boot)
			rc = shim_authority(vs, &v, in->image[i], in->image_len[i],
					    in->image_name[i], &db_done, &vendor_done, p);
	return rc;
}

int sb_predict(const struct sb_inputs *in, struct sb_prediction *ret)
{
	struct uefi_varstore vs;
	struct sb_prediction p = {0};
	int rc = uefi_varstore_read(in->vars, in->vars_len, in->vars_name, &vs);

	if (rc < 0)
		return rc;
	p.secure_boot = secure_boot_on(&vs);
	rc = firmware_events(&vs, &p);
	/* the firmware verified shim with a db entry */
	if (rc == 0 && in->image[0] && p.secure_boot) {
		STACK_OF(X509) *certs = NULL;
		struct db_search db;

		if ((rc = image_certs(in->image[0], in->image_len[0], in->image_name[0], &certs)) ==
			    0 &&
		    (rc = db_authority(&vs, certs, &db)) == 0) {
			if (!db.entry)
				rc = err_set(-EPERM,
					     "%s: no db entry verifies it (the firmware would "
					     "refuse it)",
					     in->image_name[0]);
			else
				rc = add_variable(&p, EV_EFI_VARIABLE_AUTHORITY, "db verified shim",
						  EFI_IMAGE_SECURITY_DATABASE_GUID, "db", db.entry,
						  db.entry_len);
		}
		sk_X509_pop_free(certs, X509_free);
	}
	if (rc == 0 && in->image[0])
		rc = shim_events(&vs, in, &p);
	uefi_varstore_free(&vs);
	if (rc < 0) {
		sb_prediction_free(&p);
		return rc;
	}
	*ret = p;
	return 0;
}

void sb_prediction_free(struct sb_prediction *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->event[i].hashed);
	p->n = 0;
}

int sb_prediction_extend(const struct sb_prediction *p, struct pcr_bank *bank)
{
	for (size_t i = 0; i < p->n; i++) {
		uint8_t d[DIGEST_MAX];
		int rc;

		if ((rc = digest_buf(bank->alg, p->event[i].hashed, p->event[i].hashed_len, d)) <
			    0 ||
		    (rc = pcr_bank_extend(bank, p->event[i].pcr, d)) < 0)
			return rc;
	}
	return 0;
}
