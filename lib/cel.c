// SPDX-License-Identifier: MIT
/*
 * CEL records in CBOR: writer, reader and replay.
 *
 * A record is a definite map with integer keys in ascending order, so that
 * equal records encode to equal bytes.  The log file is the records
 * concatenated; appends happen under an exclusive lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cborutil.h"
#include "cel.h"
#include "err.h"
#include "mem.h"
#include "fileio.h"

#define CEL_FILE_MAX (256u << 20)

#define MEASURED_KEY_TYPE 0
#define MEASURED_KEY_NAME 1
#define MEASURED_KEY_DATA 2

static cbor_item_t *encode_digests(const struct cel_record *rec)
{
	cbor_item_t *arr = cbor_new_definite_array(rec->n_digests);

	if (!arr)
		return NULL;
	for (unsigned i = 0; i < rec->n_digests; i++) {
		const struct alg_digest *d = &rec->digest[i];
		cbor_item_t *pair = cbor_new_definite_array(2);
		cbor_item_t *alg = cbu_build_uint(d->alg->tpm_alg);
		cbor_item_t *val = cbor_build_bytestring(d->value, d->alg->size);
		bool ok = pair && alg && val && cbor_array_push(pair, alg) &&
			  cbor_array_push(pair, val) && cbor_array_push(arr, pair);

		if (alg)
			cbor_decref(&alg);
		if (val)
			cbor_decref(&val);
		if (pair)
			cbor_decref(&pair);
		if (!ok) {
			cbor_decref(&arr);
			return NULL;
		}
	}
	return arr;
}

static cbor_item_t *encode_measured(const struct cel_record *rec)
{
	cbor_item_t *m = cbor_new_definite_map(rec->data ? 3 : 2);

	if (!m)
		return NULL;
	if (!cbu_map_put(m, MEASURED_KEY_TYPE, cbor_build_string(rec->type)) ||
	    !cbu_map_put(m, MEASURED_KEY_NAME, cbor_build_string(rec->name ? rec->name : "")) ||
	    (rec->data &&
	     !cbu_map_put(m, MEASURED_KEY_DATA, cbor_build_bytestring(rec->data, rec->data_len)))) {
		cbor_decref(&m);
		return NULL;
	}
	return m;
}

int cel_record_encode(const struct cel_record *rec, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_cbor_ cbor_item_t *map = NULL;

	if (rec->n_digests == 0 || rec->n_digests > CEL_MAX_DIGESTS)
		return err_set(-EINVAL, "CEL record needs 1-%d digests", CEL_MAX_DIGESTS);
	if (rec->content_type != CEL_CONTENT_MEASURED)
		return err_set(-EINVAL, "can only write measured content, not type %u",
			       rec->content_type);
	map = cbor_new_definite_map(4);
	if (!map || !cbu_map_put(map, CEL_KEY_RECNUM, cbu_build_uint(rec->recnum)) ||
	    !cbu_map_put(map, CEL_KEY_PCR, cbu_build_uint(rec->pcr)) ||
	    !cbu_map_put(map, CEL_KEY_DIGESTS, encode_digests(rec)) ||
	    !cbu_map_put(map, rec->pending ? CEL_CONTENT_MEASURED_PENDING : CEL_CONTENT_MEASURED,
			 encode_measured(rec)))
		return err_set(-ENOMEM, "out of memory encoding a CEL record");
	return cbu_serialize(map, ret_buf, ret_len);
}

static int decode_digests(const cbor_item_t *item, struct cel_record *rec)
{
	cbor_item_t **pairs;
	size_t n;

	if (!item || !cbor_isa_array(item) || !cbor_array_is_definite(item))
		return err_set(-EBADMSG, "digests is not a definite array");
	n = cbor_array_size(item);
	if (n == 0 || n > CEL_MAX_DIGESTS)
		return err_set(-EBADMSG, "%zu digests (1-%d)", n, CEL_MAX_DIGESTS);
	pairs = cbor_array_handle(item);
	for (size_t i = 0; i < n; i++) {
		const struct hash_alg *alg;
		const uint8_t *value;
		uint64_t alg_id;
		size_t len;
		int rc;

		if (!cbor_isa_array(pairs[i]) || cbor_array_size(pairs[i]) != 2)
			return err_set(-EBADMSG, "digest %zu is not an [alg, digest] pair", i);
		if ((rc = cbu_get_uint(cbor_array_handle(pairs[i])[0], "digest algorithm",
				       &alg_id)) < 0 ||
		    (rc = cbu_get_bytes(cbor_array_handle(pairs[i])[1], "digest", &value, &len)) <
			    0)
			return rc;
		alg = alg_id <= 0xffff ? hash_alg_by_id((uint16_t)alg_id) : NULL;
		if (!alg)
			return err_set(-EBADMSG, "unknown digest algorithm 0x%llx",
				       (unsigned long long)alg_id);
		if (len != alg->size)
			return err_set(-EBADMSG, "%s digest of %zu bytes", alg->name, len);
		for (unsigned k = 0; k < rec->n_digests; k++)
			if (rec->digest[k].alg == alg)
				return err_set(-EBADMSG, "two %s digests", alg->name);
		rec->digest[rec->n_digests].alg = alg;
		memcpy(rec->digest[rec->n_digests].value, value, len);
		rec->n_digests++;
	}
	return 0;
}

static int decode_measured(const cbor_item_t *m, struct cel_record *rec)
{
	const cbor_item_t *data_item = cbu_map_get(m, MEASURED_KEY_DATA);
	const char *type, *name;
	size_t type_len, name_len;
	int rc;

	if (!cbor_isa_map(m))
		return err_set(-EBADMSG, "measured content is not a map");
	if ((rc = cbu_get_text(cbu_map_get(m, MEASURED_KEY_TYPE), "content type", &type,
			       &type_len)) < 0 ||
	    (rc = cbu_get_text(cbu_map_get(m, MEASURED_KEY_NAME), "content name", &name,
			       &name_len)) < 0)
		return rc;
	if (type_len > CEL_TYPE_MAX || name_len > CEL_NAME_MAX)
		return err_set(-EBADMSG, "content type or name too long");
	if (memchr(type, '\0', type_len) || memchr(name, '\0', name_len))
		return err_set(-EBADMSG, "content type or name contains a NUL byte");
	memcpy(rec->type, type, type_len);
	rec->type[type_len] = '\0';
	rec->name = strndup(name, name_len);
	if (!rec->name)
		return err_set(-ENOMEM, "out of memory");
	if (data_item) {
		const uint8_t *data;

		if ((rc = cbu_get_bytes(data_item, "content data", &data, &rec->data_len)) < 0)
			return rc;
		if (rec->data_len > CEL_DATA_MAX)
			return err_set(-EBADMSG, "content data of %zu bytes", rec->data_len);
		rec->data = malloc(rec->data_len ? rec->data_len : 1);
		if (!rec->data)
			return err_set(-ENOMEM, "out of memory");
		memcpy(rec->data, data, rec->data_len);
	}
	return 0;
}

static int decode_record(const cbor_item_t *map, struct cel_record *rec)
{
	struct cbor_pair *pairs;
	uint64_t pcr;
	size_t n;
	int rc, contents = 0;

	memset(rec, 0, sizeof(*rec));
	if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
		return err_set(-EBADMSG, "record is not a definite CBOR map");
	if ((rc = cbu_get_uint(cbu_map_get(map, CEL_KEY_RECNUM), "recnum", &rec->recnum)) < 0 ||
	    (rc = cbu_get_uint(cbu_map_get(map, CEL_KEY_PCR), "pcr", &pcr)) < 0)
		return rc;
	if (pcr >= PCR_COUNT)
		return err_set(-EBADMSG, "PCR %llu out of range", (unsigned long long)pcr);
	rec->pcr = (uint32_t)pcr;
	if ((rc = decode_digests(cbu_map_get(map, CEL_KEY_DIGESTS), rec)) < 0)
		return rc;
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++) {
		uint64_t key;

		if ((rc = cbu_get_uint(pairs[i].key, "record key", &key)) < 0)
			return rc;
		if (key == CEL_KEY_NV_INDEX)
			return err_set(-EBADMSG, "NV index records are not supported");
		if (key <= CEL_KEY_DIGESTS)
			continue;
		if (key > UINT32_MAX)
			return err_set(-EBADMSG, "content type %llu out of range",
				       (unsigned long long)key);
		contents++;
		rec->content_type = (uint32_t)key;
		rec->pending = key == CEL_CONTENT_MEASURED_PENDING;
		if ((key == CEL_CONTENT_MEASURED || rec->pending) &&
		    (rc = decode_measured(pairs[i].value, rec)) < 0)
			return rc;
	}
	if (contents != 1)
		return err_set(-EBADMSG, "record has %d contents, not one", contents);
	return 0;
}

void cel_record_clear(struct cel_record *rec)
{
	free(rec->name);
	free(rec->data);
	rec->name = NULL;
	rec->data = NULL;
}

void cel_log_free(struct cel_log *log)
{
	for (size_t i = 0; i < log->n_records; i++)
		cel_record_clear(&log->record[i]);
	free(log->record);
	log->record = NULL;
	log->n_records = 0;
}

static int parse(const uint8_t *buf, size_t len, const char *what, bool tail, struct cel_log *ret,
		 size_t *ret_last_off)
{
	struct cel_log log = {0};
	size_t off = 0, cap = 0, last_off = 0;
	int rc;

	while (off < len) {
		cbor_item_t *item = NULL;
		struct cel_record rec;
		size_t used = 0;

		if (log.n_records && log.record[log.n_records - 1].pending) {
			rc = err_set(-EBADMSG, "%s: record %zu is pending but not the last", what,
				     log.n_records - 1);
			goto fail;
		}
		if (tail && cbu_is_prefix(buf + off, len - off)) {
			log.torn = len - off;
			break;
		}
		rc = cbu_load(buf + off, len - off, &item, &used);
		if (rc < 0) {
			err_wrap(rc, "%s: offset %zu", what, off);
			goto fail;
		}
		rc = decode_record(item, &rec);
		cbor_decref(&item);
		if (rc == 0 && rec.recnum != log.n_records)
			rc = err_set(-EBADMSG, "record number %llu where %zu was due",
				     (unsigned long long)rec.recnum, log.n_records);
		if (rc == 0)
			rc = array_grow((void **)&log.record, &cap, log.n_records, sizeof(rec), 16);
		if (rc < 0) {
			cel_record_clear(&rec);
			err_wrap(rc, "%s: record at offset %zu", what, off);
			goto fail;
		}
		log.record[log.n_records++] = rec;
		last_off = off;
		off += used;
	}
	log.len = off;
	*ret = log;
	if (ret_last_off)
		*ret_last_off = last_off;
	return 0;
fail:
	cel_log_free(&log);
	return rc;
}

int cel_log_parse(const uint8_t *buf, size_t len, const char *what, struct cel_log *ret)
{
	return parse(buf, len, what, false, ret, NULL);
}

int cel_log_parse_tail(const uint8_t *buf, size_t len, const char *what, struct cel_log *ret)
{
	return parse(buf, len, what, true, ret, NULL);
}

static int sync_fd(struct cel_writer *w)
{
	if (fsync(w->fd) < 0)
		return err_set(-errno, "%s: fsync: %s", w->path, strerror(errno));
	return 0;
}

static int cut_to(struct cel_writer *w, size_t len)
{
	if (ftruncate(w->fd, (off_t)len) < 0)
		return err_set(-errno, "%s: truncating to %zu bytes: %s", w->path, len,
			       strerror(errno));
	return sync_fd(w);
}

void cel_writer_close(struct cel_writer *w)
{
	cel_log_free(&w->log);
	free(w->buf);
	w->buf = NULL;
	if (w->fd >= 0)
		close(w->fd); /* and the lock */
	w->fd = -1;
}

int cel_writer_open(const char *path, struct cel_writer *w)
{
	size_t len;
	int rc;

	memset(w, 0, sizeof(*w));
	w->path = path;
	/* not O_APPEND: settling a pending record writes in place */
	w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	if (flock(w->fd, LOCK_EX) < 0) {
		rc = err_set(-errno, "%s: lock: %s", path, strerror(errno));
		goto fail;
	}
	/* number after what is there; refuse to add to a log that no longer parses */
	if ((rc = fd_read_all(w->fd, CEL_FILE_MAX, &w->buf, &len)) < 0 ||
	    (rc = parse(w->buf, len, path, true, &w->log, &w->last_off)) < 0)
		goto fail;
	if (w->log.torn) {
		/* an append that stopped half way: its extend came after it, so never happened */
		w->truncated = w->log.torn;
		if ((rc = cut_to(w, w->log.len)) < 0)
			goto fail;
		w->log.torn = 0;
	}
	return 0;
fail:
	cel_writer_close(w);
	return rc;
}

int cel_writer_append(struct cel_writer *w, struct cel_record *rec, bool pending)
{
	_cleanup_free_ uint8_t *enc = NULL;
	struct cel_record copy, *grown;
	size_t enc_len;
	ssize_t n;
	int rc;

	if (w->log.n_records && w->log.record[w->log.n_records - 1].pending)
		return err_set(-EBUSY, "%s: its last record is still pending", w->path);
	rec->recnum = w->log.n_records;
	rec->pending = pending;
	if ((rc = cel_record_encode(rec, &enc, &enc_len)) < 0)
		return rc;
	n = pwrite(w->fd, enc, enc_len, (off_t)w->log.len);
	if (n != (ssize_t)enc_len || (rc = sync_fd(w)) < 0) {
		/* a short write is a torn record: cut back to the old log */
		rc = n < 0		     ? err_set(-errno, "%s: %s", w->path, strerror(errno))
		     : n != (ssize_t)enc_len ? err_set(-ENOSPC, "%s: %s", w->path, strerror(ENOSPC))
					     : rc;
		cut_to(w, w->log.len);
		return err_wrap(rc, "appending record %llu", (unsigned long long)rec->recnum);
	}
	/* the writer's view: a shallow copy, the names stay the caller's */
	grown = realloc(w->log.record, (w->log.n_records + 1) * sizeof(*grown));
	if (!grown)
		return err_set(-ENOMEM, "out of memory");
	w->log.record = grown;
	copy = *rec;
	copy.name = NULL;
	copy.data = NULL;
	w->log.record[w->log.n_records++] = copy;
	w->last_off = w->log.len;
	w->log.len += enc_len;
	free(w->buf);
	w->buf = NULL; /* the content key is found from the file (settle) */
	return 0;
}

/* Offset of the byte that holds the content key 65 of the record at @off (checked at parse). */
static int content_key_at(struct cel_writer *w, size_t off, size_t *ret)
{
	size_t len = w->log.len - off, p = 1;
	_cleanup_free_ uint8_t *rec = malloc(len ? len : 1);

	if (!rec)
		return err_set(-ENOMEM, "out of memory");
	if (pread(w->fd, rec, len, (off_t)off) != (ssize_t)len || !len || (rec[0] & 0xe0) != 0xa0)
		return err_set(-EIO, "%s: the record at offset %zu does not read back", w->path,
			       off);
	/* keys are small unsigned integers: one byte below 24, else 0x18 and one byte */
	while (p < len) {
		size_t key_len = rec[p] == 0x18 ? 2 : 1, value_len;
		unsigned key = key_len == 2 && p + 1 < len ? rec[p + 1] : rec[p];

		if (rec[p] > 0x18 || p + key_len > len)
			break;
		if (key == CEL_CONTENT_MEASURED_PENDING) {
			*ret = off + p + key_len - 1;
			return 0;
		}
		if (cbu_check(rec + p + key_len, len - p - key_len, &value_len) < 0)
			break;
		p += key_len + value_len;
	}
	return err_set(-EBADMSG, "%s: the record at offset %zu is not pending", w->path, off);
}

int cel_writer_settle(struct cel_writer *w, bool happened)
{
	struct cel_record *last = w->log.n_records ? &w->log.record[w->log.n_records - 1] : NULL;
	uint8_t final = CEL_CONTENT_MEASURED;
	size_t at = 0;
	int rc;

	if (!last || !last->pending)
		return 0;
	if (!happened) {
		if ((rc = cut_to(w, w->last_off)) < 0)
			return rc;
		cel_record_clear(last);
		w->log.n_records--;
		w->log.len = w->last_off;
		return 0;
	}
	if ((rc = content_key_at(w, w->last_off, &at)) < 0)
		return rc;
	if (pwrite(w->fd, &final, 1, (off_t)at) != 1)
		return err_set(-errno, "%s: %s", w->path, strerror(errno));
	if ((rc = sync_fd(w)) < 0)
		return rc;
	last->pending = false;
	last->content_type = CEL_CONTENT_MEASURED;
	return 0;
}

int cel_log_append(const char *path, struct cel_record *rec)
{
	struct cel_writer w;
	int rc;

	if ((rc = cel_writer_open(path, &w)) < 0)
		return rc;
	rc = cel_writer_append(&w, rec, false);
	cel_writer_close(&w);
	return rc;
}

int cel_record_replay(const struct cel_record *rec, struct pcr_banks *banks)
{
	for (unsigned d = 0; d < rec->n_digests; d++) {
		struct pcr_bank *bank = pcr_banks_add(banks, rec->digest[d].alg);
		int rc;

		if (!bank)
			return err_set(-ENOSPC, "too many PCR banks");
		rc = pcr_bank_extend(bank, rec->pcr, rec->digest[d].value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int cel_log_replay(const struct cel_log *log, struct pcr_banks *banks)
{
	for (size_t i = 0; i < log->n_records; i++) {
		int rc;

		if (log->record[i].pending)
			continue;
		if ((rc = cel_record_replay(&log->record[i], banks)) < 0)
			return rc;
	}
	return 0;
}
