// SPDX-License-Identifier: MIT
/* Growing arrays. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "mem.h"

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
