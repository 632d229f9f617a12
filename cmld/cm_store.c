/* SPDX-License-Identifier: MIT */
/*
 * The data folder (default /data/cml):
 *   containers/<uuid>.conf        ContainerConfig, protobuf text format
 *   containers/<uuid>.sig/.cert   when the config came signed
 *   containers/<uuid>/            its data images; created = Unix time of create
 *   guestos/<name>/<name>.conf    GuestOSConfig + .sig + .cert, images <image_file>.img
 *   tokens/<uuid>.p12             softtoken
 *   tokens/ca/<sha256>.pem        CAs trusted for GuestOS and container signatures
 *   device.provisioned            present once set_provisioned ran
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cmld.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "pbtext.h"

int cm_store_path(const struct cmld *d, char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, size, "%s/", d->data_dir);

	if (n < 0 || (size_t)n >= size)
		return err_set(-ENAMETOOLONG, "path too long");
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= size)
		return err_set(-ENAMETOOLONG, "path too long");
	return 0;
}

const char *cm_data_image_path(const struct cmld *d, const char *uuid, const GuestOSMount *m,
			       char *buf, size_t size)
{
	cm_store_path(d, buf, size, "containers/%s/%s.img", uuid, m->image_file);
	return buf;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (len >= sizeof(tmp))
		return err_set(-ENAMETOOLONG, "%s: path too long", path);
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return err_set(-errno, "mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return err_set(-errno, "mkdir %s: %s", tmp, strerror(errno));
	return 0;
}

int cm_store_init(struct cmld *d)
{
	static const char *const dirs[] = {"containers", "guestos", "tokens", "tokens/ca"};
	char path[4096];
	int r;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if ((r = cm_store_path(d, path, sizeof(path), "%s", dirs[i])) < 0 ||
		    (r = mkdir_p(path, 0700)) < 0)
			return r;
	}
	cm_store_path(d, path, sizeof(path), "device.provisioned");
	d->provisioned = access(path, F_OK) == 0;
	return 0;
}

int cm_set_provisioned(struct cmld *d)
{
	char path[4096];

	cm_store_path(d, path, sizeof(path), "device.provisioned");
	d->provisioned = true;
	return file_write_atomic(path, "1\n", 2, 0600);
}

int cm_uuid_random(char out[CM_UUID_LEN + 1])
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return err_set(-EIO, "no random bytes");
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, CM_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != CM_UUID_LEN)
		return false;
	for (int i = 0; i < CM_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return true;
}

struct cm_container *cm_container_find(struct cmld *d, const char *uuid_or_name)
{
	struct cm_container *c, *by_name = NULL;

	for (c = d->containers; c; c = c->next) {
		if (!strcmp(c->uuid, uuid_or_name))
			return c;
		if (!by_name && !strcmp(c->config->name, uuid_or_name))
			by_name = c;
	}
	return by_name;
}

void cm_container_free(struct cm_container *c)
{
	if (!c)
		return;
	if (c->config)
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
	for (size_t i = 0; i < c->n_ifaces; i++)
		free(c->ifaces[i]);
	free(c->ifaces);
	free(c);
}

void cm_container_unlink(struct cmld *d, struct cm_container *c)
{
	for (struct cm_container **p = &d->containers; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			return;
		}
	}
}

/* The user namespace base: a stable 64 Ki block per container, from its UUID. */
static uint32_t uid_base_for(const char *uuid)
{
	unsigned v = 0;

	sscanf(uuid, "%4x", &v);
	return 0x100000u + (v % 0x3f00u) * 0x10000u;
}

static int load_one(struct cmld *d, const char *uuid, bool only_stopped)
{
	char path[4096];
	ProtobufCMessage *m;
	struct cm_container *c = cm_container_find(d, uuid);
	uint8_t *buf;
	size_t len;
	int r;

	if (c && strcmp(c->uuid, uuid))
		c = NULL; /* matched a name, not this UUID */
	if (c && only_stopped && c->state != CONTAINER_STATE__STOPPED)
		return 0;
	cm_store_path(d, path, sizeof(path), "containers/%s.conf", uuid);
	r = pbtext_parse_file(&container_config__descriptor, path, &m);
	if (r < 0)
		return r;
	if (c) {
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
		c->config = (ContainerConfig *)m;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		protobuf_c_message_free_unpacked(m, NULL);
		return err_set(-ENOMEM, "out of memory");
	}
	snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	c->config = (ContainerConfig *)m;
	c->state = CONTAINER_STATE__STOPPED;
	c->init_pidfd = -1;
	c->uid_base = uid_base_for(uuid);
	cm_store_path(d, path, sizeof(path), "containers/%s.sig", uuid);
	c->trust = access(path, F_OK) == 0 ? CONTAINER_TRUST__SIGNED : CONTAINER_TRUST__UNSIGNED;
	cm_store_path(d, path, sizeof(path), "containers/%s/created", uuid);
	if (file_read_all(path, 64, &buf, &len) == 0) {
		c->created = strtoll((char *)buf, NULL, 10);
		free(buf);
	}
	/* keep the on-disk order stable: append */
	struct cm_container **tail = &d->containers;
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	return 0;
}

static int uuid_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cm_store_load_containers(struct cmld *d, bool only_stopped)
{
	char path[4096], *names[4096];
	size_t n = 0;
	struct dirent *e;
	DIR *dir;

	cm_store_path(d, path, sizeof(path), "containers");
	dir = opendir(path);
	if (!dir)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	while ((e = readdir(dir)) && n < sizeof(names) / sizeof(names[0])) {
		size_t len = strlen(e->d_name);
		if (len != CM_UUID_LEN + 5 || strcmp(e->d_name + CM_UUID_LEN, ".conf"))
			continue;
		names[n] = strndup(e->d_name, CM_UUID_LEN);
		if (names[n] && is_uuid(names[n]))
			n++;
		else
			free(names[n]);
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), uuid_cmp);
	for (size_t i = 0; i < n; i++) {
		/* a broken config must not hide the others: report and go on */
		if (load_one(d, names[i], only_stopped) < 0)
			log_err("container %s: %s", names[i], err_msg());
		free(names[i]);
	}
	return 0;
}

int cm_store_save_config(struct cmld *d, const char *uuid, const ContainerConfig *c)
{
	char path[4096], *text;
	size_t len;
	int r;

	if ((r = pbtext_format(&c->base, &text, &len)) < 0)
		return r;
	cm_store_path(d, path, sizeof(path), "containers/%s.conf", uuid);
	r = file_write_atomic(path, text, len, 0600);
	free(text);
	return r;
}

int cm_rmtree(const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *e;
	int r = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set(-errno, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0)
			return err_set(-errno, "unlink %s: %s", path, strerror(errno));
		return 0;
	}
	dir = opendir(path);
	if (!dir)
		return err_set(-errno, "%s: %s", path, strerror(errno));
	while ((e = readdir(dir))) {
		char sub[4096 + 256];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (cm_rmtree(sub) < 0)
			r = -EIO;
	}
	closedir(dir);
	if (rmdir(path) < 0)
		return err_set(-errno, "rmdir %s: %s", path, strerror(errno));
	return r;
}

/* ---- certificates ---- */

static X509 *pem_cert(const uint8_t *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

int cm_ca_register(struct cmld *d, const uint8_t *pem, size_t len)
{
	X509 *x = pem_cert(pem, len);
	uint8_t md[32];
	unsigned md_len = sizeof(md);
	char hex[65], path[4096];
	int r;

	if (!x)
		return err_set(-EINVAL, "not a PEM certificate");
	if (X509_check_ca(x) < 1) {
		X509_free(x);
		return err_set(-EINVAL, "the certificate is not a CA certificate");
	}
	X509_digest(x, EVP_sha256(), md, &md_len);
	X509_free(x);
	hex_encode(md, sizeof(md), hex);
	cm_store_path(d, path, sizeof(path), "tokens/ca/%s.pem", hex);
	r = file_write_atomic(path, pem, len, 0644);
	return r;
}

static X509_STORE *ca_store(struct cmld *d)
{
	X509_STORE *store = X509_STORE_new();
	char dir_path[4096];
	struct dirent *e;
	DIR *dir;

	if (!store)
		return NULL;
	cm_store_path(d, dir_path, sizeof(dir_path), "tokens/ca");
	dir = opendir(dir_path);
	if (!dir)
		return store;
	while ((e = readdir(dir))) {
		char path[4096 + 256];
		uint8_t *pem;
		size_t len;
		if (!strstr(e->d_name, ".pem"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, e->d_name);
		if (file_read_all(path, 1 << 16, &pem, &len) < 0)
			continue;
		X509 *x = pem_cert(pem, len);
		if (x) {
			X509_STORE_add_cert(store, x);
			X509_free(x);
		}
		free(pem);
	}
	closedir(dir);
	return store;
}

int cm_cert_verify(struct cmld *d, const uint8_t *cert_pem, size_t len, void **ret_x509)
{
	X509 *leaf = pem_cert(cert_pem, len);
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	STACK_OF(X509) *chain = sk_X509_new_null();
	BIO *bio;
	X509 *extra;
	int r = 0;

	if (!leaf || !chain) {
		X509_free(leaf);
		sk_X509_free(chain);
		return err_set(-EINVAL, "not a PEM certificate");
	}
	/* intermediates may follow the leaf in the same PEM */
	bio = BIO_new_mem_buf(cert_pem, (int)len);
	X509_free(PEM_read_bio_X509(bio, NULL, NULL, NULL));
	while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		sk_X509_push(chain, extra);
	BIO_free(bio);
	store = ca_store(d);
	ctx = X509_STORE_CTX_new();
	if (!store || !ctx || X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) {
		r = err_set(-ENOMEM, "out of memory");
	} else if (X509_verify_cert(ctx) != 1) {
		r = err_set(-EPERM, "certificate not trusted: %s",
			    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(chain, X509_free);
	if (r == 0 && ret_x509)
		*ret_x509 = leaf;
	else
		X509_free(leaf);
	return r;
}

int cm_signature_verify(struct cmld *d, const uint8_t *data, size_t len, const uint8_t *sig,
			size_t sig_len, const uint8_t *cert_pem, size_t cert_len)
{
	void *leaf = NULL;
	EVP_MD_CTX *md;
	EVP_PKEY *key;
	int r = cm_cert_verify(d, cert_pem, cert_len, &leaf);

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
