/* SPDX-License-Identifier: MIT */
/*
 * A private swtpm for a test run: fresh state directory, free TCP ports on
 * loopback, killed on swtpm_stop() and, through PR_SET_PDEATHSIG, also when
 * the test process dies.
 */
#ifndef MEASURED_SWTPM_H
#define MEASURED_SWTPM_H

#include <stdbool.h>
#include <sys/types.h>

struct swtpm {
	pid_t pid;
	int port; /* server port; control is port + 1, as the swtpm TCTI expects */
	char state_dir[256];
	char tcti[128]; /* hand this to tpm_open() */
};

/* Starts swtpm. With @started, it answers as if TPM2_Startup(CLEAR) had been sent. */
int swtpm_start(struct swtpm *s, bool started);
/* The same on an existing state folder (e.g. made by swtpm_setup); it is removed at stop. */
int swtpm_start_in(struct swtpm *s, const char *state_dir, bool started);
/*
 * A TPM as a vendor ships it: swtpm_setup, with a private local CA, makes
 * the EK and writes its certificate to NV.  @dir gets ca/, state/ and
 * ca-bundle.pem (the CA chain a verifier trusts); then it is started.
 */
int swtpm_start_manufactured(struct swtpm *s, const char *dir);
/*
 * The same TPM state back on the same ports, as after a power cycle (it
 * answers as if started): kills a running one first.  0 once it listens.
 */
int swtpm_restart(struct swtpm *s);
/* Kills swtpm and removes its state. */
void swtpm_stop(struct swtpm *s);

#endif
