/* SPDX-License-Identifier: MIT */
/*
 * Errors and logging for libmeasured.
 *
 * Library functions return 0 or a negative errno-style code and record the
 * human-readable cause with err_set(); the program decides what the user sees
 * (usually "prog: <err_msg()>").  The cause is per thread.
 */
#ifndef MEASURED_ERR_H
#define MEASURED_ERR_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Records the cause of a failure and returns @code (a negative errno). */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the recorded cause with more context ("reading X: <cause>"); returns @code. */
int err_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last recorded cause, or a generic text for @code when none was recorded. */
const char *err_msg(void);
void err_clear(void);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Sets the program name used as the prefix of every log line. */
void log_set_prog(const char *prog);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
