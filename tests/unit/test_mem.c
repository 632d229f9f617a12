// SPDX-License-Identifier: MIT
/* lib/mem.h's owners: each lets go at the end of its scope, unless handed on. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem.h"

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int opened_and_kept(int *kept)
{
	_cleanup_close_ int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int b = open("/dev/null", O_RDONLY | O_CLOEXEC);

	*kept = a;
	assert_true(a >= 0 && b >= 0);
	(void)TAKE_FD(a);
	return b; /* closed on the way out */
}

static void test_close(void **state)
{
	int kept, closed = opened_and_kept(&kept);

	(void)state;
	assert_true(fd_open(kept));
	assert_false(fd_open(closed));
	close(kept);
	{
		_cleanup_close_ int none = -1; /* nothing to close, no error */

		(void)none;
	}
}

static uint8_t *erased_and_taken(void)
{
	_cleanup_erase_ uint8_t *gone = malloc(32);
	_cleanup_erase_ uint8_t *kept = malloc(32);
	_cleanup_free_ char *also = strdup("freed");

	assert_non_null(gone);
	assert_non_null(kept);
	assert_non_null(also);
	memset(gone, 0x5a, 32);
	memset(kept, 0xa5, 32);
	return TAKE_PTR(kept);
}

static void test_erase_and_take(void **state)
{
	uint8_t *p = erased_and_taken();

	(void)state;
	for (int i = 0; i < 32; i++) /* handed on: neither wiped nor freed */
		assert_int_equal(p[i], 0xa5);
	erase_and_free(p);
	erase_and_free(NULL);
}

static void test_fclose_closedir(void **state)
{
	(void)state;
	{
		_cleanup_fclose_ FILE *f = fopen("/dev/null", "re");
		_cleanup_closedir_ DIR *d = opendir("/");
		_cleanup_fclose_ FILE *none = NULL;

		assert_non_null(f);
		assert_non_null(d);
		(void)none;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_erase_and_take),
		cmocka_unit_test(test_fclose_closedir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
