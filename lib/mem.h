/* SPDX-License-Identifier: MIT */
/* Growing arrays, and memory that holds secrets. */
#ifndef MEASURED_MEM_H
#define MEASURED_MEM_H

#include <stddef.h>
#include <stdlib.h>

/* A pointer that frees itself when it goes out of scope: _cleanup_free_ char *p = NULL; */
static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

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
