// SPDX-License-Identifier: MIT
/*
 * TCG PC Client Platform Firmware Profile event log reader.
 *
 * The log is untrusted: it comes from firmware memory or over the network.
 * Every count and size is bounded by the bytes left before it is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "eventlog_tcg.h"
#include "reader.h"

#define SPEC_ID_SIGNATURE_LEN 16
#define LEGACY_DIGEST_LEN     20

static const char spec_id_03[SPEC_ID_SIGNATURE_LEN] = "Spec ID Event03";
static const char startup_locality[] = "StartupLocality"; /* with its NUL: 16 bytes */

/* Digest sizes announced by the Spec ID header, including algorithms we cannot compute. */
struct spec_algs {
	unsigned n;
	uint16_t id[TCG_LOG_MAX_ALGS];
	uint16_t size[TCG_LOG_MAX_ALGS];
};

static const struct {
	uint32_t type;
	const char *name;
} event_type_names[] = {
	{EV_PREBOOT_CERT, "EV_PREBOOT_CERT"},
	{EV_POST_CODE, "EV_POST_CODE"},
	{0x2, "EV_UNUSED"},
	{EV_NO_ACTION, "EV_NO_ACTION"},
	{EV_SEPARATOR, "EV_SEPARATOR"},
	{EV_ACTION, "EV_ACTION"},
	{EV_EVENT_TAG, "EV_EVENT_TAG"},
	{EV_S_CRTM_CONTENTS, "EV_S_CRTM_CONTENTS"},
	{EV_S_CRTM_VERSION, "EV_S_CRTM_VERSION"},
	{0x9, "EV_CPU_MICROCODE"},
	{0xa, "EV_PLATFORM_CONFIG_FLAGS"},
	{0xb, "EV_TABLE_OF_DEVICES"},
	{0xc, "EV_COMPACT_HASH"},
	{EV_IPL, "EV_IPL"},
	{0xe, "EV_IPL_PARTITION_DATA"},
	{0xf, "EV_NONHOST_CODE"},
	{0x10, "EV_NONHOST_CONFIG"},
	{0x11, "EV_NONHOST_INFO"},
	{0x12, "EV_OMIT_BOOT_DEVICE_EVENTS"},
	{0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG"},
	{0x80000002, "EV_EFI_VARIABLE_BOOT"},
	{0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION"},
	{0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER"},
	{0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
	{0x80000006, "EV_EFI_GPT_EVENT"},
	{0x80000007, "EV_EFI_ACTION"},
	{0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB"},
	{0x80000009, "EV_EFI_HANDOFF_TABLES"},
	{0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"},
	{0x8000000b, "EV_EFI_HANDOFF_TABLES2"},
	{0x8000000c, "EV_EFI_VARIABLE_BOOT2"},
	{EV_EFI_HCRTM_EVENT, "EV_EFI_HCRTM_EVENT"},
	{0x800000e0, "EV_EFI_VARIABLE_AUTHORITY"},
	{0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB"},
	{0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG"},
	{0x401, "EVTYPE_TXT_PCRMAPPING"},
	{0x402, "EVTYPE_TXT_HASH_START"},
	{0x403, "EVTYPE_TXT_COMBINED_HASH"},
	{0x404, "EVTYPE_TXT_MLE_HASH"},
	{0x40a, "EVTYPE_TXT_BIOSAC_REG_DATA"},
	{0x40b, "EVTYPE_TXT_CPU_SCRTM_STAT"},
	{0x40c, "EVTYPE_TXT_LCP_CONTROL_HASH"},
	{0x40d, "EVTYPE_TXT_ELEMENTS_HASH"},
	{0x40e, "EVTYPE_TXT_STM_HASH"},
	{0x40f, "EVTYPE_TXT_OSSINITDATA_CAP_HASH"},
	{0x410, "EVTYPE_TXT_SINIT_PUBKEY_HASH"},
	{0x411, "EVTYPE_TXT_LCP_HASH"},
	{0x412, "EVTYPE_TXT_LCP_DETAILS_HASH"},
	{0x413, "EVTYPE_TXT_LCP_AUTHORITIES_HASH"},
	{0x414, "EVTYPE_TXT_NV_INFO_HASH"},
	{EV_TBOOT_MEASUREMENT, "EVTYPE_TB_MEASUREMENT"},
};

const char *tcg_event_type_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof(event_type_names) / sizeof(event_type_names[0]); i++)
		if (event_type_names[i].type == type)
			return event_type_names[i].name;
	return NULL;
}

int tcg_event_type_by_name(const char *name, uint32_t *ret)
{
	for (size_t i = 0; i < sizeof(event_type_names) / sizeof(event_type_names[0]); i++)
		if (strcmp(event_type_names[i].name, name) == 0) {
			*ret = event_type_names[i].type;
			return 0;
		}
	return -ENOENT;
}

/*
 * True when nothing but padding is left: a log read from a fixed-size area
 * (ACPI LAML) ends in 0x00 or 0xff bytes.  Like the kernel, which stops at
 * an event of type 0 and size 0, we need at least a whole empty event's
 * worth of it; fewer stray bytes are a truncated event, not padding.
 */
static bool only_padding_left(const struct reader *r, size_t min_event)
{
	const uint8_t *p = r->data + r->off;
	size_t n = reader_left(r);

	if (n == 0)
		return true;
	if (n < min_event || (p[0] != 0x00 && p[0] != 0xff))
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

static int events_push(struct tcg_log *log, size_t *cap, const struct tcg_event *ev)
{
	int rc = array_grow((void **)&log->event, cap, log->n_events, sizeof(*ev), 64);

	if (rc == 0)
		log->event[log->n_events++] = *ev;
	return rc;
}

static void note_locality(struct tcg_log *log, const struct tcg_event *ev)
{
	if (ev->type == EV_NO_ACTION && ev->pcr == 0 &&
	    ev->data_len >= sizeof(startup_locality) + 1 &&
	    memcmp(ev->data, startup_locality, sizeof(startup_locality)) == 0)
		log->startup_locality = ev->data[sizeof(startup_locality)];
	else if (ev->type == EV_EFI_HCRTM_EVENT)
		log->startup_locality = 4;
}

/* PCRIndex and EventType, which both formats' events begin with. */
static int parse_event_head(struct reader *r, struct tcg_event *ev)
{
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->offset = r->off;
	rc = reader_le32(r, "PCRIndex", &ev->pcr);
	if (rc < 0)
		return rc;
	return reader_le32(r, "EventType", &ev->type);
}

/* EventSize and the event data, which both formats' events end with. */
static int parse_event_data(struct reader *r, struct tcg_event *ev)
{
	int rc = reader_le32(r, "EventSize", &ev->data_len);

	if (rc < 0)
		return rc;
	return reader_bytes(r, "event data", ev->data_len, &ev->data);
}

/* TCG_PCR_EVENT: the SHA-1 format, also used for the crypto-agile header. */
static int parse_legacy_event(struct reader *r, struct tcg_event *ev)
{
	const uint8_t *digest;
	int rc;

	rc = parse_event_head(r, ev);
	if (rc < 0)
		return rc;
	rc = reader_bytes(r, "SHA-1 digest", LEGACY_DIGEST_LEN, &digest);
	if (rc < 0)
		return rc;
	rc = parse_event_data(r, ev);
	if (rc < 0)
		return rc;
	ev->n_digests = 1;
	ev->digest[0].alg = hash_alg_by_id(TPM_ALG_SHA1);
	memcpy(ev->digest[0].value, digest, LEGACY_DIGEST_LEN);
	return 0;
}

static int parse_spec_id(struct reader *hdr, struct tcg_log *log, struct spec_algs *algs)
{
	uint32_t n_algs;
	uint8_t vendor_len;
	const uint8_t *skip;
	int rc;

	rc = reader_bytes(hdr, "Spec ID signature", SPEC_ID_SIGNATURE_LEN, &skip);
	if (rc < 0)
		return rc;
	rc = reader_bytes(hdr, "platformClass/version/uintnSize", 8, &skip);
	if (rc < 0)
		return rc;
	rc = reader_le32(hdr, "numberOfAlgorithms", &n_algs);
	if (rc < 0)
		return rc;
	if (n_algs == 0 || n_algs > TCG_LOG_MAX_ALGS || n_algs > reader_left(hdr) / 4)
		return reader_fail(hdr, hdr->off - 4, "Spec ID header announces %u algorithms",
				   n_algs);
	algs->n = n_algs;
	for (uint32_t i = 0; i < n_algs; i++) {
		const struct hash_alg *alg;

		rc = reader_le16(hdr, "algorithmId", &algs->id[i]);
		if (rc < 0)
			return rc;
		rc = reader_le16(hdr, "digestSize", &algs->size[i]);
		if (rc < 0)
			return rc;
		if (algs->size[i] == 0 || algs->size[i] > DIGEST_MAX)
			return reader_fail(hdr, hdr->off - 2, "digest size %u for algorithm 0x%04x",
					   algs->size[i], algs->id[i]);
		alg = hash_alg_by_id(algs->id[i]);
		if (alg && alg->size != algs->size[i])
			return reader_fail(hdr, hdr->off - 2, "%s digest size given as %u, not %zu",
					   alg->name, algs->size[i], alg->size);
		if (alg)
			log->alg[log->n_algs++] = alg;
	}
	rc = reader_u8(hdr, "vendorInfoSize", &vendor_len);
	if (rc < 0)
		return rc;
	return reader_bytes(hdr, "vendorInfo", vendor_len, &skip);
}

/* TCG_PCR_EVENT2 of the crypto-agile format. */
static int parse_event2(struct reader *r, const struct spec_algs *algs, struct tcg_event *ev)
{
	uint32_t count;
	int rc;

	rc = parse_event_head(r, ev);
	if (rc < 0)
		return rc;
	rc = reader_le32(r, "digest count", &count);
	if (rc < 0)
		return rc;
	if (count > algs->n)
		return reader_fail(r, r->off - 4, "event has %u digests, header announces %u banks",
				   count, algs->n);
	for (uint32_t i = 0; i < count; i++) {
		const struct hash_alg *alg;
		const uint8_t *value;
		uint16_t id;
		unsigned k;

		rc = reader_le16(r, "digest algorithmId", &id);
		if (rc < 0)
			return rc;
		for (k = 0; k < algs->n && algs->id[k] != id; k++)
			;
		if (k == algs->n)
			return reader_fail(r, r->off - 2,
					   "digest algorithm 0x%04x is not in the Spec ID header",
					   id);
		rc = reader_bytes(r, "digest", algs->size[k], &value);
		if (rc < 0)
			return rc;
		alg = hash_alg_by_id(id);
		if (!alg)
			continue; /* announced, sized, but not one we can replay */
		ev->digest[ev->n_digests].alg = alg;
		memcpy(ev->digest[ev->n_digests].value, value, alg->size);
		ev->n_digests++;
	}
	return parse_event_data(r, ev);
}

int tcg_log_parse(const uint8_t *buf, size_t len, const char *what, struct tcg_log *ret)
{
	struct tcg_log log = {0};
	struct spec_algs algs = {0};
	struct tcg_event first, ev;
	struct reader r;
	size_t cap = 0;
	int rc;

	reader_init(&r, buf, len, what);
	if (len == 0)
		return reader_fail(&r, 0, "empty event log");
	rc = parse_legacy_event(&r, &first);
	if (rc < 0)
		return rc;
	log.crypto_agile = first.type == EV_NO_ACTION && first.pcr == 0 &&
			   first.data_len >= SPEC_ID_SIGNATURE_LEN &&
			   memcmp(first.data, spec_id_03, SPEC_ID_SIGNATURE_LEN) == 0;
	if (log.crypto_agile) {
		struct reader hdr;

		/* a reader over just the header's bytes, with offsets into the whole log */
		reader_init(&hdr, buf, (size_t)(first.data - buf) + first.data_len, what);
		hdr.off = (size_t)(first.data - buf);
		rc = parse_spec_id(&hdr, &log, &algs);
		if (rc < 0)
			return rc;
	} else {
		log.alg[log.n_algs++] = hash_alg_by_id(TPM_ALG_SHA1);
		note_locality(&log, &first);
		rc = events_push(&log, &cap, &first);
		if (rc < 0)
			goto fail;
	}
	while (!only_padding_left(&r, log.crypto_agile ? 16 : 32)) {
		rc = log.crypto_agile ? parse_event2(&r, &algs, &ev) : parse_legacy_event(&r, &ev);
		if (rc < 0)
			goto fail;
		note_locality(&log, &ev);
		rc = events_push(&log, &cap, &ev);
		if (rc < 0)
			goto fail;
	}
	*ret = log;
	return 0;
fail:
	free(log.event);
	return rc;
}

void tcg_log_free(struct tcg_log *log)
{
	free(log->event);
	log->event = NULL;
	log->n_events = 0;
}

int tcg_log_replay(const struct tcg_log *log, struct pcr_banks *banks)
{
	for (unsigned a = 0; a < log->n_algs; a++) {
		struct pcr_bank *bank = pcr_banks_add(banks, log->alg[a]);

		if (!bank)
			return err_set(-ENOSPC, "too many PCR banks");
		bank->value[0][bank->alg->size - 1] = log->startup_locality;
	}
	for (size_t i = 0; i < log->n_events; i++) {
		const struct tcg_event *ev = &log->event[i];

		if (ev->type == EV_NO_ACTION)
			continue;
		if (ev->pcr >= PCR_COUNT)
			return err_set(-EBADMSG, "event at offset %zu extends PCR %u, beyond %d",
				       ev->offset, ev->pcr, PCR_COUNT - 1);
		for (unsigned d = 0; d < ev->n_digests; d++) {
			struct pcr_bank *bank = pcr_banks_find(banks, ev->digest[d].alg);
			int rc;

			if (!bank)
				continue;
			rc = pcr_bank_extend(bank, ev->pcr, ev->digest[d].value);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}
