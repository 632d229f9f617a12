// SPDX-License-Identifier: MIT
/*
 * The unlock path cmld runs, timed: unseal the LUKS passphrase (transient
 * SRK, load, a policy session salted with the SRK, PolicyPCR, PolicyNV on the
 * key's revocation counter, Unseal with its output encrypted) and open the
 * volume's key slot.
 *   unlock TCTI IMAGE PCRS PASSFILE N
 * First makes IMAGE a LUKS2 volume (pbkdf2, 1000 iterations: the KDF is not
 * what is compared) with a random passphrase, written to PASSFILE so the
 * peers seal the same one; seals it to the PCRs now and a new NV counter
 * (deleted at the end); then prints the milliseconds of N unlocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/rand.h>

#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "luks.h"
#include "policy_digest.h"
#include "seal.h"
#include "tpm.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	const struct luks_kdf kdf = {.type = "pbkdf2", .iterations = 1000};
	struct pcr_selection sel;
	struct pcr_banks values;
	struct sealed_object obj;
	struct seal_counter counter = {0};
	struct policy pol;
	struct tpm *tpm;
	uint8_t random[32], out[SEAL_SECRET_MAX];
	char pass[65];
	size_t len;

	if (argc != 6) {
		fprintf(stderr, "usage: unlock TCTI IMAGE PCRS PASSFILE N\n");
		return 2;
	}
	RAND_bytes(random, sizeof(random));
	hex_encode(random, sizeof(random), pass);
	if (tpm_open(argv[1], 0, &tpm) < 0 || pcr_selection_parse(argv[3], &sel) < 0 ||
	    luks_format(argv[2], (uint8_t *)pass, 64, &kdf) < 0 ||
	    file_write_atomic(argv[4], pass, 64, 0600) < 0 ||
	    tpm_pcr_read(tpm, &sel, &values, NULL) < 0)
		goto fail;
	policy_init(&pol, hash_alg_by_name("sha256"));
	if (seal_counter_create(tpm, &counter) < 0 || policy_pcr(&pol, &sel, &values) < 0 ||
	    policy_seal_counter(&pol, &counter) < 0 ||
	    tpm_seal(tpm, (uint8_t *)pass, 64, pol.digest, NULL, &obj) < 0)
		goto fail;
	int n = atoi(argv[5]);
	double start = now_ms();
	for (int i = 0; i < n; i++)
		if (tpm_unseal(tpm, &obj, &sel, NULL, &counter, NULL, out, &len) < 0 ||
		    luks_check_passphrase(argv[2], out, len) < 0)
			goto fail;
	printf("%.0f\n", now_ms() - start);
	seal_counter_remove(tpm, counter.index);
	tpm_close(tpm);
	return 0;
fail:
	fprintf(stderr, "unlock: %s\n", err_msg());
	if (counter.index)
		seal_counter_remove(tpm, counter.index);
	return 1;
}
