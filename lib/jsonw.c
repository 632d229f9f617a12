// SPDX-License-Identifier: MIT
/* Streaming JSON writer. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "jsonw.h"

void jw_init(struct jw *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* Writes the comma that separates this value from the previous one. */
static void jw_value_start(struct jw *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth && j->has_items[j->depth - 1])
		fputc(',', j->out);
	if (j->depth)
		j->has_items[j->depth - 1] = true;
}

static void jw_open(struct jw *j, char c)
{
	jw_value_start(j);
	fputc(c, j->out);
	if (j->depth < JW_MAX_DEPTH)
		j->has_items[j->depth] = false;
	j->depth++;
}

static void jw_close(struct jw *j, char c)
{
	fputc(c, j->out);
	j->depth--;
}

void jw_object_begin(struct jw *j)
{
	jw_open(j, '{');
}

void jw_object_end(struct jw *j)
{
	jw_close(j, '}');
}

void jw_array_begin(struct jw *j)
{
	jw_open(j, '[');
}

void jw_array_end(struct jw *j)
{
	jw_close(j, ']');
}

static void jw_escaped(struct jw *j, const char *s, size_t n)
{
	fputc('"', j->out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(j->out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", j->out);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(j->out, "\\u%04x", c);
		else
			fputc(c, j->out);
	}
	fputc('"', j->out);
}

void jw_key(struct jw *j, const char *key)
{
	jw_value_start(j);
	jw_escaped(j, key, strlen(key));
	fputc(':', j->out);
	j->after_key = true;
}

void jw_string_n(struct jw *j, const char *s, size_t n)
{
	jw_value_start(j);
	jw_escaped(j, s, n);
}

void jw_string(struct jw *j, const char *s)
{
	jw_string_n(j, s, strlen(s));
}

void jw_hex(struct jw *j, const uint8_t *data, size_t n)
{
	jw_value_start(j);
	fputc('"', j->out);
	for (size_t i = 0; i < n; i++)
		fprintf(j->out, "%02x", data[i]);
	fputc('"', j->out);
}

void jw_uint(struct jw *j, uint64_t v)
{
	jw_value_start(j);
	fprintf(j->out, "%" PRIu64, v);
}

void jw_int(struct jw *j, int64_t v)
{
	jw_value_start(j);
	fprintf(j->out, "%" PRId64, v);
}

void jw_double(struct jw *j, double v)
{
	jw_value_start(j);
	if (isfinite(v))
		fprintf(j->out, "%.17g", v);
	else
		fputs("null", j->out); /* JSON has no inf/nan */
}

void jw_bool(struct jw *j, bool v)
{
	jw_value_start(j);
	fputs(v ? "true" : "false", j->out);
}

void jw_null(struct jw *j)
{
	jw_value_start(j);
	fputs("null", j->out);
}

void jw_finish(struct jw *j)
{
	fputc('\n', j->out);
	fflush(j->out);
}
