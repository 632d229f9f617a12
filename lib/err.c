// SPDX-License-Identifier: MIT
/* Per-thread error causes and a minimal stderr logger. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

#define ERR_MSG_MAX 1024

static __thread char err_buf[ERR_MSG_MAX];
static __thread int err_code;
static enum log_level log_level = LOG_LEVEL_WARN;
static const char *log_prog = "measured";

int err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	err_code = code;
	return code;
}

int err_wrap(int code, const char *fmt, ...)
{
	char prefix[ERR_MSG_MAX], old[ERR_MSG_MAX], joined[2 * ERR_MSG_MAX + 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (err_buf[0] == '\0' || err_code != code)
		snprintf(old, sizeof(old), "%s", strerror(code < 0 ? -code : code));
	else
		snprintf(old, sizeof(old), "%s", err_buf);
	snprintf(joined, sizeof(joined), "%s: %s", prefix, old);
	joined[sizeof(err_buf) - 1] = '\0'; /* truncation is fine here */
	memcpy(err_buf, joined, sizeof(err_buf));
	err_code = code;
	return code;
}

const char *err_msg(void)
{
	if (err_buf[0] == '\0')
		return err_code ? strerror(-err_code) : "unknown error";
	return err_buf;
}

void err_clear(void)
{
	err_buf[0] = '\0';
	err_code = 0;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_prog(const char *prog)
{
	log_prog = prog;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tag[] = {"error: ", "warning: ", "", "debug: "};
	va_list ap;

	if (level > log_level)
		return;
	fprintf(stderr, "%s: %s", log_prog, tag[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
