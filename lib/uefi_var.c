// SPDX-License-Identifier: MIT
/* OVMF varstore, UEFI_VARIABLE_DATA, EFI_SIGNATURE_LIST. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "reader.h"
#include "uefi_var.h"

/* 8BE4DF61-93CA-11D2-AA0D-00E098032B8C */
const uint8_t EFI_GLOBAL_VARIABLE_GUID[16] = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
					      0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
/* D719B2CB-3D3A-4596-A3BC-DAD00E67656F */
const uint8_t EFI_IMAGE_SECURITY_DATABASE_GUID[16] = {0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d,
						      0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0,
						      0x0e, 0x67, 0x65, 0x6f};
/* A5C059A1-94E4-4AA7-87B5-AB155C2BF072 */
const uint8_t EFI_CERT_X509_GUID[16] = {0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
					0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72};
/* 605DAB50-E046-4300-ABB6-3DD810DD8B23 */
const uint8_t SHIM_LOCK_GUID[16] = {0x50, 0xab, 0x5d, 0x60, 0x46, 0xe0, 0x00, 0x43,
				    0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23};

/* EFI_SYSTEM_NV_DATA_FV_GUID FFF12B8D-7696-4C8B-A985-2747075B4F50 */
static const uint8_t nvdata_fv_guid[16] = {0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
					   0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50};
/* gEfiAuthenticatedVariableGuid AAF32C78-947B-439A-A180-2E144EC37792 */
static const uint8_t auth_store_guid[16] = {0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
					    0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92};

#define VAR_START_ID	   0x55aa
#define VAR_ADDED	   0x3f
#define VAR_ADDED_DELETING 0x3e /* VAR_ADDED & VAR_IN_DELETED_TRANSITION: still live */
#define AUTH_VAR_HEADER	   60

static int utf16_to_ascii(const uint8_t *p, size_t n, char *out, size_t size)
{
	size_t k = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		if (!p[i] && !p[i + 1])
			break;
		if (p[i + 1] || p[i] < 0x20 || p[i] > 0x7e || k + 1 >= size)
			return -1;
		out[k++] = (char)p[i];
	}
	out[k] = '\0';
	return 0;
}

static struct uefi_var *find_mut(struct uefi_varstore *vs, const uint8_t guid[16], const char *name)
{
	for (size_t i = 0; i < vs->n; i++)
		if (!memcmp(vs->var[i].guid, guid, 16) && !strcmp(vs->var[i].name, name))
			return &vs->var[i];
	return NULL;
}

/* One variable at r->off; *ret_live when it is the live copy. */
static int read_var(struct reader *r, struct uefi_var *v, bool *ret_live, bool *ret_end)
{
	const uint8_t *h, *name;
	uint32_t name_size;
	uint16_t start;
	int rc;

	*ret_end = reader_left(r) < AUTH_VAR_HEADER;
	if (*ret_end)
		return 0;
	start = (uint16_t)(r->data[r->off] | r->data[r->off + 1] << 8);
	if (start != VAR_START_ID) {
		*ret_end = true; /* the free space (0xff) after the last variable */
		return 0;
	}
	if ((rc = reader_bytes(r, "variable header", AUTH_VAR_HEADER, &h)) < 0)
		return rc;
	name_size = le32_at(h + 36);
	v->len = le32_at(h + 40);
	v->attributes = le32_at(h + 4);
	memcpy(v->guid, h + 44, 16);
	if ((rc = reader_bytes(r, "variable name", name_size, &name)) < 0 ||
	    (rc = reader_bytes(r, "variable data", v->len, &v->data)) < 0)
		return rc;
	r->off = (r->off + 3) & ~(size_t)3; /* HEADER_ALIGN */
	*ret_live = (h[2] == VAR_ADDED || h[2] == VAR_ADDED_DELETING) &&
		    utf16_to_ascii(name, name_size, v->name, sizeof(v->name)) == 0;
	return 0;
}

static int read_store(struct reader *r, struct uefi_varstore *vs)
{
	size_t cap = 0;
	bool end = false;
	int rc;

	while (!end) {
		struct uefi_var v = {0}, *old;
		bool live = false;

		if ((rc = read_var(r, &v, &live, &end)) < 0)
			return rc;
		if (end || !live)
			continue;
		/* the newest copy wins (a variable rewritten is appended again) */
		if ((old = find_mut(vs, v.guid, v.name))) {
			*old = v;
			continue;
		}
		if ((rc = array_grow((void **)&vs->var, &cap, vs->n, sizeof(v), 32)) < 0)
			return rc;
		vs->var[vs->n++] = v;
	}
	return 0;
}

int uefi_varstore_read(const uint8_t *buf, size_t len, const char *what, struct uefi_varstore *ret)
{
	struct uefi_varstore vs = {0};
	struct reader r;
	uint16_t hlen;
	uint32_t store_size;
	int rc;

	reader_init(&r, buf, len, what);
	if (len < 56 || memcmp(buf + 16, nvdata_fv_guid, 16) || memcmp(buf + 40, "_FVH", 4))
		return reader_fail(&r, 16, "not an EDK2 NV variable firmware volume");
	r.off = 48;
	if ((rc = reader_le16(&r, "firmware volume header length", &hlen)) < 0)
		return rc;
	r.off = hlen;
	if (reader_left(&r) < 28 || memcmp(buf + hlen, auth_store_guid, 16))
		return reader_fail(&r, hlen, "no authenticated variable store");
	store_size = le32_at(buf + hlen + 16);
	if ((uint64_t)hlen + store_size > len || store_size < 28)
		return reader_fail(&r, hlen + 16, "variable store of %u bytes", store_size);
	reader_init(&r, buf, hlen + store_size, what);
	r.off = hlen + 28;
	if ((rc = read_store(&r, &vs)) < 0) {
		free(vs.var);
		return rc;
	}
	*ret = vs;
	return 0;
}

void uefi_varstore_free(struct uefi_varstore *vs)
{
	free(vs->var);
	vs->var = NULL;
	vs->n = 0;
}

const struct uefi_var *uefi_var_find(const struct uefi_varstore *vs, const uint8_t guid[16],
				     const char *name)
{
	return find_mut((struct uefi_varstore *)vs, guid, name);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int uefi_variable_data(const uint8_t guid[16], const char *name, const uint8_t *data, size_t len,
		       uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(name), total = 32 + 2 * n + len;
	uint8_t *out = malloc(total ? total : 1);

	if (!out)
		return err_set(-ENOMEM, "out of memory");
	memcpy(out, guid, 16);
	put_le64(out + 16, n);
	put_le64(out + 24, len);
	for (size_t i = 0; i < n; i++) {
		out[32 + 2 * i] = (uint8_t)name[i];
		out[33 + 2 * i] = 0;
	}
	if (len)
		memcpy(out + 32 + 2 * n, data, len);
	*ret = out;
	*ret_len = total;
	return 0;
}

int uefi_esl_foreach(const uint8_t *esl, size_t len, const uint8_t type[16],
		     int (*fn)(const uint8_t *entry, size_t entry_len, void *arg), void *arg)
{
	size_t off = 0;

	while (off < len) {
		uint32_t list, hdr, sig;

		if (len - off < 28)
			return err_set(-EBADMSG, "EFI_SIGNATURE_LIST at %zu: truncated header",
				       off);
		list = le32_at(esl + off + 16);
		hdr = le32_at(esl + off + 20);
		sig = le32_at(esl + off + 24);
		if (list > len - off || (uint64_t)28 + hdr > list || sig < 16 ||
		    (list - 28 - hdr) % sig)
			return err_set(-EBADMSG, "EFI_SIGNATURE_LIST at %zu: sizes %u/%u/%u", off,
				       list, hdr, sig);
		if (!type || !memcmp(esl + off, type, 16))
			for (size_t e = off + 28 + hdr; e < off + list; e += sig) {
				int r = fn(esl + e, sig, arg);

				if (r)
					return r;
			}
		off += list;
	}
	return 0;
}
