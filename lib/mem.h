/* SPDX-License-Identifier: MIT */
/* Growing arrays, and memory that holds secrets. */
#ifndef MEASURED_MEM_H
#define MEASURED_MEM_H

#include <stddef.h>

/*
 * Makes room for one more element in *@array (of @n used, *@cap allocated,
 * @elem bytes each), doubling from @first.  Returns 0 or -ENOMEM (array untouched).
 */
int array_grow(void **array, size_t *cap, size_t n, size_t elem, size_t first);

#endif
