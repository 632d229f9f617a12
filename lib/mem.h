/* SPDX-License-Identifier: MIT */
/* Owners that clean up after themselves, growing arrays, and memory that holds secrets. */
#ifndef MEASURED_MEM_H
#define MEASURED_MEM_H

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Owners that let go when they go out of scope (systemd's idiom): a
 * function's early returns cannot leak or skip a wipe.
 *   _cleanup_free_ char *p = NULL;      freed
 *   _cleanup_erase_ uint8_t *key = NULL; wiped (the whole allocation), then freed
 *   _cleanup_close_ int fd = -1;        closed when >= 0
 *   _cleanup_fclose_ FILE *f = NULL;    closed when not NULL (_cleanup_closedir_: DIR)
 *   _cleanup_(policy_signer_free) struct policy_signer s = {0};   any T_free(T *)
 * Hand one on by taking it: *ret = TAKE_PTR(p), return TAKE_FD(fd).
 */
#define _cleanup_(fn) __attribute__((cleanup(fn)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Wipes every byte malloc gave (malloc_usable_size: the length need not be known), then frees. */
void erase_and_free(void *p);
static inline void erase_and_freep(void *p)
{
	erase_and_free(*(void **)p);
}
#define _cleanup_erase_ _cleanup_(erase_and_freep)

void closep(const int *fd);
#define _cleanup_close_ _cleanup_(closep)

void fclosep(FILE **f);
#define _cleanup_fclose_ _cleanup_(fclosep)

void closedirp(DIR **dir);
#define _cleanup_closedir_ _cleanup_(closedirp)

/* The value of @p, which is then NULL: hands an owned pointer on. */
#define TAKE_PTR(p)                          \
	({                                   \
		__typeof__(p) _taken_ = (p); \
		(p) = NULL;                  \
		_taken_;                     \
	})
/* The value of @fd, which is then -1. */
#define TAKE_FD(fd)                 \
	({                          \
		int _taken_ = (fd); \
		(fd) = -1;          \
		_taken_;            \
	})

/*
 * Makes room for one more element in *@array (of @n used, *@cap allocated,
 * @elem bytes each), doubling from @first.  Returns 0 or -ENOMEM (array untouched).
 */
int array_grow(void **array, size_t *cap, size_t n, size_t elem, size_t first);

/*
 * Memory for a secret while it lives: its own pages, locked (never swapped)
 * and left out of core dumps.  secret_free() wipes before unmapping.
 * NULL (with err_set) when no memory could be mapped.  Failing to lock
 * (RLIMIT_MEMLOCK) is tolerated: an unlock must not fail for it.
 */
void *secret_alloc(size_t size);
void secret_free(void *p, size_t size);

#endif
