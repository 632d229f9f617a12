// SPDX-License-Identifier: MIT
/* Growing arrays; pages for secrets; the cleanup helpers. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "mem.h"

void erase_and_free(void *p)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

void closep(const int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void closedirp(DIR **dir)
{
	if (*dir)
		closedir(*dir);
}

int array_grow(void **array, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return err_set(-ENOMEM, "array of %zu elements too large", ncap);
	p = realloc(*array, ncap * elem);
	if (!p)
		return err_set(-ENOMEM, "out of memory for %zu elements", ncap);
	*array = p;
	*cap = ncap;
	return 0;
}

void *secret_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		err_set(-ENOMEM, "no memory for a secret of %zu bytes", size);
		return NULL;
	}
	/* best effort: a low RLIMIT_MEMLOCK must not stop an unlock */
	(void)mlock(p, size);
	(void)madvise(p, size, MADV_DONTDUMP);
	return p;
}

void secret_free(void *p, size_t size)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, size);
	munlock(p, size);
	munmap(p, size);
}
