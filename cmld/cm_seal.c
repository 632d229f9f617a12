// SPDX-License-Identifier: MIT
/*
 * Sealed container data: the LUKS2 passphrase of a container's data images
 * is a TPM-sealed secret (lib/seal), released only when the PCRs hold what
 * it was sealed to (current or predicted values, or any chain the vendor
 * signed) and, for token type TPM, the PIN is right.
 *
 *   create: an NV counter of its own, then 32 random bytes (hex) || SHA-256(config)
 *           sealed to PCRs + counter value [+ PIN] -> containers/<uuid>.sealed
 *   start:  unseal -> the config digest must be the stored config's ->
 *           first start: LUKS2 image with an ext4 payload ->
 *           activate each as /dev/mapper/cml-<uuid>-<mount index> -> wipe
 *   reaped: deactivate the mappings
 *   change_pin: re-seal to the next counter value, then advance the counter
 *           (every older copy of the key file stops opening)
 *   remove: advance and delete the counter
 *
 * The passphrase lives in locked pages and is wiped on every path.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "authorize.h"
#include "cml_measure.h"
#include "cm_image.h"
#include "cmld.h"
#include "cm_seal.h"
#include "cm_store.h"
#include "cm_token.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "luks.h"
#include "mem.h"
#include "pcr_values.h"
#include "policy_digest.h"
#include "seal.h"
#include "sealed_file.h"

#define PASS_RANDOM_BYTES 32
#define PASS_LEN	  (2 * PASS_RANDOM_BYTES)
/* sealed: the passphrase, then the SHA-256 of the container config it opens for */
#define SEALED_LEN	(PASS_LEN + 32)
#define LUKS_HEADER_MIB 16 /* LUKS2's default metadata + key slot area */

/* The unsealed secret's pages (SEAL_SECRET_MAX, locked), wiped and unmapped at scope's end. */
static void pass_freep(uint8_t **pass)
{
	secret_free(*pass, SEAL_SECRET_MAX);
}
#define _cleanup_pass_ _cleanup_(pass_freep)

static void sealed_path(const struct cmld *d, const char *uuid, char *buf, size_t size)
{
	cm_store_path(d, buf, size, "containers/%s.sealed", uuid);
}

bool cm_seal_wanted(const struct cmld *d, const ContainerConfig *cfg)
{
	return d->seal.tcti && (cfg->token_type == CONTAINER_TOKEN_TYPE__NONE ||
				cfg->token_type == CONTAINER_TOKEN_TYPE__TPM);
}

bool cm_sealed(const struct cmld *d, const struct cm_container *c)
{
	char path[4096];

	/* a container made before cmld had a TPM keeps its plain images */
	sealed_path(d, c->uuid, path, sizeof(path));
	return cm_seal_wanted(d, c->config) && access(path, F_OK) == 0;
}

void cm_seal_mapping(const struct cm_container *c, size_t index, char *buf, size_t size)
{
	snprintf(buf, size, "cml-%s-%zu", c->uuid, index);
}

/*
 * The policy @f's fields describe: PolicyPCR(values) or PolicyAuthorize(signer),
 * then PolicyNV(counter == value), then PolicyAuthValue for a PIN.
 */
static int policy_of(const struct sealed_file *f, uint8_t out[32])
{
	struct policy pol;
	int r;

	policy_init(&pol, hash_alg_by_name("sha256"));
	if (f->authorizer_len)
		r = policy_authorize(&pol, f->authorizer, f->authorizer_len);
	else
		r = f->has_values ? policy_pcr(&pol, &f->pcrs, &f->values)
				  : err_set(-EBADMSG, "sealed key file without PCR values");
	if (r == 0 && f->counter.index)
		r = policy_seal_counter(&pol, &f->counter);
	if (r == 0 && f->pin)
		r = policy_auth_value(&pol);
	memcpy(out, pol.digest, 32);
	return r;
}

/* Whether @f's fields give the policy it says its object was sealed to (the TPM checked only that). */
static bool policy_holds(const struct sealed_file *f)
{
	uint8_t check[32];

	return policy_of(f, check) == 0 && !memcmp(check, f->policy, 32);
}

/* What a new secret is sealed to: the signer, or the values (reference or PCRs now). */
static int seal_target(struct cmld *d, struct tpm *tpm, struct sealed_file *f)
{
	struct policy_signer s;
	int r;

	if (!d->seal.signer) {
		r = d->seal.reference ? pcr_values_load(d->seal.reference, &f->pcrs, &f->values)
				      : tpm_pcr_read(tpm, &f->pcrs, &f->values, NULL);
		f->has_values = r == 0;
		return r;
	}
	r = policy_signer_load(d->seal.signer, &s);
	if (r < 0)
		return r;
	memcpy(f->authorizer, s.name, sizeof(s.name));
	f->authorizer_len = sizeof(s.name);
	policy_signer_free(&s);
	return 0;
}

/* Seals @pass to @f's policy (computed here) and writes the key file. */
static int seal_and_save(struct cmld *d, struct tpm *tpm, const char *uuid, const uint8_t *pass,
			 size_t len, const char *pin, struct sealed_file *f)
{
	char path[4096];
	int r;

	r = policy_of(f, f->policy);
	if (r < 0)
		return r;
	r = tpm_seal(tpm, pass, len, f->policy, pin, &f->obj);
	if (r < 0)
		return r;
	sealed_path(d, uuid, path, sizeof(path));
	return sealed_file_save(path, f);
}

/* A new container's key: its own counter, sealed to the counter's first value. */
static int seal_new(struct cmld *d, const char *uuid, const uint8_t *pass, size_t len,
		    const char *pin)
{
	_cleanup_free_ struct sealed_file *f = calloc(1, sizeof(*f));
	_cleanup_tpm_ struct tpm *tpm = NULL;
	int r;

	if (!f)
		return err_set(-ENOMEM, "out of memory");
	f->pcrs = d->seal.pcrs;
	f->pin = pin != NULL;
	r = tpm_open(d->seal.tcti, 0, &tpm);
	if (r < 0)
		return r;
	r = seal_target(d, tpm, f);
	if (r < 0)
		return r;
	r = seal_counter_create(tpm, &f->counter);
	if (r < 0)
		return r;
	r = seal_and_save(d, tpm, uuid, pass, len, pin, f);
	if (r < 0) {
		seal_counter_remove(tpm, f->counter.index); /* the cause stays the seal's */
		return r;
	}
	log_info("container %s: key sealed, revocation counter NV 0x%08x", uuid, f->counter.index);
	return 0;
}

/*
 * Re-seals @pass under @pin with @old's policy, at the counter's next value,
 * then advances the counter: from then on only the new file opens.  A crash
 * between the two leaves the new file one step ahead; the next unseal makes
 * the step (unseal_passphrase).  A version-1 file gets its first counter.
 */
static int reseal(struct cmld *d, const char *uuid, const uint8_t *pass, size_t len,
		  const char *pin, const struct sealed_file *old)
{
	_cleanup_free_ struct sealed_file *f = calloc(1, sizeof(*f));
	_cleanup_tpm_ struct tpm *tpm = NULL;
	struct seal_counter now;
	uint8_t check[32];
	int r;

	if (!f)
		return err_set(-ENOMEM, "out of memory");
	*f = *old;
	f->pin = pin != NULL;
	/* the fields are the file's, which the TPM did not check: they must give its policy */
	r = policy_of(old, check);
	if (r < 0)
		return r;
	if (memcmp(check, old->policy, 32))
		return err_set(-EBADMSG, "sealed key file: its fields do not give its policy");
	r = tpm_open(d->seal.tcti, 0, &tpm);
	if (r < 0)
		return r;
	if (!old->counter.index) {
		r = seal_counter_create(tpm, &f->counter);
		if (r < 0)
			return r;
		r = seal_and_save(d, tpm, uuid, pass, len, pin, f);
		if (r < 0)
			seal_counter_remove(tpm, f->counter.index);
		return r;
	}
	now = old->counter;
	f->counter.value = old->counter.value + 1;
	r = seal_and_save(d, tpm, uuid, pass, len, pin, f);
	if (r < 0)
		return r;
	r = seal_counter_advance(tpm, &now);
	if (r < 0)
		return r;
	/* someone else stepped the counter in between: seal to where it is */
	if (now.value != f->counter.value) {
		f->counter.value = now.value;
		r = seal_and_save(d, tpm, uuid, pass, len, pin, f);
	}
	return r;
}

int cm_seal_create(struct cmld *d, const char *uuid, const ContainerConfig *cfg)
{
	uint8_t random[PASS_RANDOM_BYTES];
	char *pass = secret_alloc(SEALED_LEN + 1);
	int r;

	if (!pass)
		return -ENOMEM;
	if (RAND_bytes(random, sizeof(random)) != 1) {
		r = err_set(-EIO, "no random bytes for the volume passphrase");
	} else {
		hex_encode(random, sizeof(random), pass); /* and a NUL, overwritten next */
		r = cml_config_digest(cfg, (uint8_t *)pass + PASS_LEN);
		if (r == 0)
			r = seal_new(d, uuid, (uint8_t *)pass, SEALED_LEN,
				     cfg->token_type == CONTAINER_TOKEN_TYPE__TPM
					     ? CM_TOKEN_DEFAULT_PIN
					     : NULL);
	}
	OPENSSL_cleanse(random, sizeof(random));
	secret_free(pass, SEALED_LEN + 1);
	return r;
}

/*
 * The unsealed config digest must be @cfg's: the config on disk cannot be
 * edited offline without the key refusing to open for it, since nobody but
 * the TPM can make a sealed object holding the real passphrase.
 */
static int check_config_binding(const struct cm_container *c, const ContainerConfig *cfg,
				const uint8_t *sealed)
{
	uint8_t now[32];
	char a[17], b[17];
	int r;

	r = cml_config_digest(cfg, now);
	if (r < 0)
		return r;
	if (!CRYPTO_memcmp(now, sealed + PASS_LEN, 32))
		return 0;
	hex_encode(sealed + PASS_LEN, 8, a);
	hex_encode(now, 8, b);
	return err_set(-EACCES,
		       "container %s: the config is not the one its key is bound to (bound to "
		       "config sha256 %s..., the stored config is %s...; changed outside "
		       "update_config?)",
		       c->config->name, a, b);
}

/*
 * How many PCRs of @sel differ between @want and @now, each described in
 * @buf: "sha256 PCR 13 differs (sealed to 1a2b3c4d5e6f7a8b..., now 9c8d...)".
 */
static unsigned explain_mismatch(const struct pcr_selection *sel, const struct pcr_banks *want,
				 const struct pcr_banks *now, char *buf, size_t size)
{
	size_t used = 0;
	unsigned n = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < sel->count; b++) {
		const struct hash_alg *alg = sel->bank[b].alg;
		const struct pcr_bank *w = pcr_banks_get(want, alg), *h = pcr_banks_get(now, alg);
		for (unsigned i = 0; w && h && i < PCR_COUNT; i++) {
			char a[17], z[17];
			if (!(sel->bank[b].mask & (1u << i)) ||
			    !memcmp(w->value[i], h->value[i], alg->size))
				continue;
			hex_encode(w->value[i], 8, a);
			hex_encode(h->value[i], 8, z);
			used += (size_t)snprintf(buf + used, used < size ? size - used : 0,
						 "%s%s PCR %u differs (sealed to %s..., now %s...)",
						 n++ ? "; " : "", alg->name, i, a, z);
		}
	}
	return n;
}

/*
 * The TPM's values for @sel, read once per selection: every release's
 * approval normally names the same PCRs.
 */
struct pcrs_now {
	struct pcr_selection sel;
	struct pcr_banks values;
	bool valid;
};

static const struct pcr_banks *pcrs_now(struct tpm *tpm, const struct pcr_selection *sel,
					struct pcrs_now *cache)
{
	if (cache->valid && !memcmp(&cache->sel, sel, sizeof(*sel)))
		return &cache->values;
	cache->valid = tpm_pcr_read(tpm, sel, &cache->values, NULL) == 0;
	cache->sel = *sel;
	return cache->valid ? &cache->values : NULL;
}

/*
 * The signed policy (in the signed-policy folder) that approves the PCRs as
 * they are now and verifies with the signer the object names.
 */
static int pick_signed_policy(struct cmld *d, struct tpm *tpm, const struct sealed_file *f,
			      struct policy_signer *signer, struct signed_policy *ret)
{
	char path[4096], why[1024] = "", best[1024] = "";
	_cleanup_free_ struct pcrs_now *now = calloc(1, sizeof(*now));
	_cleanup_closedir_ DIR *dir = NULL;
	const struct pcr_banks *values;
	unsigned best_n = 0, n;
	struct dirent *e;
	int r;

	if (!now)
		return err_set(-ENOMEM, "out of memory");
	r = policy_signer_load(d->seal.signer, signer);
	if (r < 0)
		return r;
	if (f->authorizer_len != sizeof(signer->name) ||
	    memcmp(f->authorizer, signer->name, sizeof(signer->name)))
		return err_set(-EACCES, "sealed to another policy signer than %s", d->seal.signer);
	dir = opendir(d->seal.signed_dir);
	if (!dir)
		return err_set(-EACCES, "PCR policy does not hold: no signed policies (%s: %s)",
			       d->seal.signed_dir, strerror(errno));
	r = -EACCES;
	while (r < 0 && (e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		int rc;

		if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->seal.signed_dir, e->d_name);
		rc = signed_policy_load(path, ret);
		if (rc == 0)
			rc = signed_policy_verify(signer, ret);
		if (rc < 0) {
			log_warn("signed policy %s skipped: %s", path, err_msg());
			continue;
		}
		values = pcrs_now(tpm, &ret->pcrs, now);
		if (!values) {
			r = err_wrap(-EIO, "reading the PCRs");
			break;
		}
		n = explain_mismatch(&ret->pcrs, &ret->values, values, why, sizeof(why));
		if (n == 0) {
			log_info("unlocking with the signed policy %s", path);
			r = 0;
		} else if (best_n == 0 || n < best_n) {
			best_n = n;
			snprintf(best, sizeof(best), "%.200s: %.800s", e->d_name, why);
		}
	}
	if (r == -EACCES)
		r = err_set(-EACCES,
			    "PCR policy does not hold: no signed policy approves these PCRs%s%s",
			    best_n ? "; closest, " : "", best);
	return r;
}

/*
 * tpm_unseal; when the counter is one step behind the file (a re-seal that
 * stopped before its counter step), the step is made and the unseal tried
 * again.  Stepping only ever revokes; the value must be the one the object's
 * policy names (so an edited file cannot make cmld step a good key away).
 */
static int unseal_healing(struct tpm *tpm, const struct sealed_file *f,
			  const struct pcr_selection *sel, const struct seal_authorization *a,
			  const char *pin, uint8_t *pass, size_t *len)
{
	struct seal_counter now = f->counter;
	int r = tpm_unseal(tpm, &f->obj, sel, a, &f->counter, f->pin ? pin : NULL, pass, len);

	if (r != -ESTALE)
		return r;
	/* only for the value the object's own policy names, not one edited into the file */
	if (!policy_holds(f))
		return err_set(-EACCES, "sealed key file: its counter value is not its policy's");
	log_warn("%s; making the step", err_msg());
	r = seal_counter_advance(tpm, &now);
	if (r < 0)
		return r;
	return tpm_unseal(tpm, &f->obj, sel, a, &f->counter, f->pin ? pin : NULL, pass, len);
}

/* Unseals @c's passphrase into @pass (PASS_LEN bytes). */
static int unseal_passphrase(struct cmld *d, const char *uuid, const char *pin, uint8_t *pass,
			     size_t *len, struct sealed_file *f)
{
	_cleanup_(policy_signer_free) struct policy_signer signer = {0};
	_cleanup_tpm_ struct tpm *tpm = NULL;
	struct signed_policy sp;
	struct seal_authorization a;
	char path[4096], why[1024];
	int r;

	sealed_path(d, uuid, path, sizeof(path));
	r = sealed_file_load(path, f);
	if (r < 0)
		return r;
	if (f->pin && (!pin || !*pin))
		return err_set(-EPERM, "the container's key needs its PIN");
	r = tpm_open(d->seal.tcti, 0, &tpm);
	if (r < 0)
		return r;
	if (f->authorizer_len) {
		if (!d->seal.signer)
			return err_set(-EACCES, "sealed to a signed policy, but cmld has no "
						"--policy-signer");
		r = pick_signed_policy(d, tpm, f, &signer, &sp);
		if (r < 0)
			return r;
		a = (struct seal_authorization){&signer, &sp};
		r = unseal_healing(tpm, f, &sp.pcrs, &a, pin, pass, len);
	} else {
		struct pcrs_now now = {0};
		const struct pcr_banks *values;
		r = unseal_healing(tpm, f, &f->pcrs, NULL, pin, pass, len);
		if (r == -EACCES && f->has_values && (values = pcrs_now(tpm, &f->pcrs, &now)) &&
		    explain_mismatch(&f->pcrs, &f->values, values, why, sizeof(why)) > 0)
			r = err_set(-EACCES, "PCR policy does not hold: %s", why);
	}
	if (r == -EKEYREVOKED)
		r = -EACCES; /* an unlock refusal: "revoked: ..." says which */
	if (r == 0 && *len != SEALED_LEN) {
		OPENSSL_cleanse(pass, *len);
		r = err_set(-EPROTO,
			    "unsealed %zu bytes, not a volume passphrase bound to a config "
			    "(sealed by an older cmld? re-create the container)",
			    *len);
	}
	return r;
}

/* A new LUKS2 data image: ext4 made in a plain file, encrypted into the payload. */
static int create_image(struct cmld *d, struct cm_container *c, const GuestOSMount *m,
			const char *path, const uint8_t *pass)
{
	struct luks_kdf kdf = {.type = d->seal.pbkdf2_iterations ? "pbkdf2" : NULL,
			       .iterations = d->seal.pbkdf2_iterations};
	uint64_t bytes = cm_data_image_mib(c->config, m) << 20;
	char tmp[4200], plain[4200];
	int r;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	snprintf(plain, sizeof(plain), "%s.plain", path);
	/* the file system first: it refuses what is not ext4 before anything is formatted */
	r = cm_data_image_mkfs(c, m, plain);
	if (r < 0)
		return r;
	r = file_create_sized(tmp, bytes + ((uint64_t)LUKS_HEADER_MIB << 20), 0600);
	if (r < 0)
		goto out;
	r = luks_format(tmp, pass, PASS_LEN, &kdf);
	if (r < 0)
		goto out;
	r = luks_write_payload(tmp, pass, PASS_LEN, plain);
	if (r < 0)
		goto out;
	r = file_commit(tmp, path);
	if (r == 0)
		log_info("container %s: created the encrypted data image %s", c->config->name,
			 m->image_file);
out:
	unlink(plain);
	if (r < 0)
		unlink(tmp);
	return r;
}

int cm_seal_open(struct cmld *d, struct cm_container *c, const GuestOSConfig *g, const char *pin)
{
	_cleanup_free_ struct sealed_file *f = calloc(1, sizeof(*f));
	_cleanup_pass_ uint8_t *pass = secret_alloc(SEAL_SECRET_MAX);
	char path[4096], name[128];
	uint64_t made = 0;
	size_t len = 0;
	int r;

	c->unlock_rc = 0;
	if (!f || !pass)
		return err_set(-ENOMEM, "out of memory");
	c->unlock_rc = r = unseal_passphrase(d, c->uuid, pin, pass, &len, f);
	if (r == 0)
		c->unlock_rc = r = check_config_binding(c, c->config, pass);
	if (r < 0)
		return r;
	/*
	 * every missing image first, so that a failing activation leaves none
	 * half-made; one that cannot be made (ENOSPC) takes those made before it
	 * with it: the folder is as before the start
	 */
	for (size_t i = 0; i < g->n_mounts && r == 0; i++) {
		if (cml_mount_has_image(g->mounts[i]) ||
		    access(cm_data_image_path(d, c->uuid, g->mounts[i], path, sizeof(path)),
			   F_OK) == 0)
			continue;
		r = create_image(d, c, g->mounts[i], path, pass);
		if (r == 0)
			made |= 1ull << i;
	}
	for (size_t i = 0; i < g->n_mounts && i < 64 && r < 0; i++)
		if (made & (1ull << i))
			unlink(cm_data_image_path(d, c->uuid, g->mounts[i], path, sizeof(path)));
	for (size_t i = 0; i < g->n_mounts && r == 0; i++) {
		if (cml_mount_has_image(g->mounts[i]))
			continue;
		cm_seal_mapping(c, i, name, sizeof(name));
		r = luks_open(cm_data_image_path(d, c->uuid, g->mounts[i], path, sizeof(path)),
			      name, pass, PASS_LEN);
	}
	if (r < 0)
		cm_seal_close(d, c);
	return r;
}

void cm_seal_close(struct cmld *d, struct cm_container *c)
{
	_cleanup_closedir_ DIR *dir = opendir("/dev/mapper");
	char prefix[64];
	struct dirent *e;

	(void)d;
	if (!dir)
		return;
	snprintf(prefix, sizeof(prefix), "cml-%s-", c->uuid);
	while ((e = readdir(dir)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && luks_close(e->d_name) < 0)
			log_warn("%s", err_msg());
}

int cm_seal_rebind(struct cmld *d, struct cm_container *c, const ContainerConfig *cfg,
		   const char *pin)
{
	_cleanup_free_ struct sealed_file *f = calloc(1, sizeof(*f));
	_cleanup_pass_ uint8_t *pass = secret_alloc(SEAL_SECRET_MAX);
	size_t len = 0;
	int r;

	if (!f || !pass)
		return err_wrap(err_set(-ENOMEM, "out of memory"),
				"re-sealing the key to the new config");
	/*
	 * The same key and PIN for the new config.  Whatever the old binding was
	 * (an earlier update that failed half way): who may unseal may re-bind.
	 */
	r = unseal_passphrase(d, c->uuid, pin, pass, &len, f);
	if (r == 0)
		r = cml_config_digest(cfg, pass + PASS_LEN);
	if (r == 0)
		r = reseal(d, c->uuid, pass, len, f->pin ? pin : NULL, f); /* older pairs revoked */
	return r < 0 ? err_wrap(r, "re-sealing the key to the new config") : 0;
}

int cm_seal_change_pin(struct cmld *d, struct cm_container *c, const char *pin, const char *newpin)
{
	_cleanup_free_ struct sealed_file *f = calloc(1, sizeof(*f));
	_cleanup_pass_ uint8_t *pass = secret_alloc(SEAL_SECRET_MAX);
	size_t len = 0;
	int r;

	if (!f || !pass)
		return err_set(-ENOMEM, "out of memory");
	if (!newpin || !*newpin)
		return err_set(-EINVAL, "the new PIN is empty");
	/* the secret comes out only if the PCRs and the old PIN allow it */
	r = unseal_passphrase(d, c->uuid, pin, pass, &len, f);
	if (r == 0)
		r = reseal(d, c->uuid, pass, len, newpin, f);
	return r;
}

int cm_seal_remove(struct cmld *d, const char *uuid)
{
	_cleanup_free_ struct sealed_file *f = calloc(1, sizeof(*f));
	_cleanup_tpm_ struct tpm *tpm = NULL;
	char path[4096];
	int r;

	if (!f)
		return err_set(-ENOMEM, "out of memory");
	sealed_path(d, uuid, path, sizeof(path));
	if (access(path, F_OK) < 0 || !d->seal.tcti)
		return 0; /* not sealed, or by a cmld with a TPM this one does not have */
	if (sealed_file_load(path, f) < 0) {
		log_warn("container %s: removing without revoking its key: %s", uuid, err_msg());
		return 0;
	}
	if (!f->counter.index)
		return 0;
	r = tpm_open(d->seal.tcti, 0, &tpm);
	if (r == 0)
		r = seal_counter_remove(tpm, f->counter.index);
	if (r < 0)
		return err_wrap(r, "revoking the key (NV counter 0x%08x)", f->counter.index);
	return 0;
}

int cm_seal_remove_ready(struct cmld *d, const char *uuid)
{
	_cleanup_tpm_ struct tpm *tpm = NULL;
	char path[4096];
	int r;

	sealed_path(d, uuid, path, sizeof(path));
	if (access(path, F_OK) < 0 || !d->seal.tcti)
		return 0;
	r = tpm_open(d->seal.tcti, 0, &tpm);
	if (r < 0)
		return err_wrap(r, "cannot revoke the key");
	return 0;
}

/* What a killed re-seal left: the counter one step behind the file is stepped. */
static void seal_recover(struct cmld *d, const char *uuid)
{
	_cleanup_free_ struct sealed_file *f = calloc(1, sizeof(*f));
	_cleanup_tpm_ struct tpm *tpm = NULL;
	struct seal_counter now;
	char path[4096];
	uint64_t value;

	sealed_path(d, uuid, path, sizeof(path));
	if (!f || !d->seal.tcti || access(path, F_OK) < 0)
		return;
	if (sealed_file_load(path, f) < 0 || !f->counter.index)
		return;
	if (tpm_open(d->seal.tcti, 0, &tpm) < 0)
		return;
	if (tpm_nv_counter_read(tpm, f->counter.index, &value) < 0)
		return;
	if (value + 1 != f->counter.value)
		return;
	/* as unseal_healing: only the value the object's own policy names */
	if (!policy_holds(f)) {
		log_warn("recovery: container %s: its key file's counter value is not its policy's",
			 uuid);
		return;
	}
	now = f->counter;
	if (seal_counter_advance(tpm, &now) == 0)
		log_warn("recovery: container %s: a re-seal (change_pin, update_config) stopped "
			 "before its counter step; step made, older key files revoked",
			 uuid);
	else
		log_warn("recovery: container %s: %s", uuid, err_msg());
}

void cm_seal_recover(struct cmld *d, const char *uuid)
{
	seal_recover(d, uuid);
	err_clear(); /* what could not be looked at is no error of the start */
}
