// SPDX-License-Identifier: MIT
/* Atomic replacement and bounded reads. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_atomic_replace(void **state)
{
	char dir[] = "/tmp/measured-fileio.XXXXXX", path[64];
	uint8_t *buf;
	size_t len;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	assert_int_equal(file_write_atomic(path, "first", 5, 0600), 0);
	assert_int_equal(file_write_atomic(path, "second!", 7, 0640), 0);
	assert_int_equal(file_read_all(path, 100, &buf, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "second!", 7);
	assert_int_equal(buf[7], '\0');
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */
	/* a directory that does not exist: error, nothing created */
	assert_true(file_write_atomic("/nonexistent-dir/x", "a", 1, 0600) < 0);
	unlink(path);
	rmdir(dir);
}

static void test_read_bound(void **state)
{
	char path[] = "/tmp/measured-big.XXXXXX";
	int fd = mkstemp(path);
	uint8_t *buf;
	size_t len;
	static uint8_t block[200000];

	(void)state;
	assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	close(fd);
	assert_int_equal(file_read_all(path, 100000, &buf, &len), -EFBIG);
	assert_int_equal(file_read_all(path, 200000, &buf, &len), 0);
	assert_int_equal(len, 200000);
	free(buf);
	assert_int_equal(file_read_all("/nonexistent", 10, &buf, &len), -ENOENT);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_replace),
		cmocka_unit_test(test_read_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
