/* SPDX-License-Identifier: MIT */
#include "pbtext.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "jsonw.h"

#define PBTEXT_MAX_DEPTH 32
#define PBTEXT_MAX_FILE	 (1u << 20)

struct cursor {
	const char *p, *end;
	const char *source;
	unsigned line;
	unsigned depth;
};

static int syntax(struct cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int syntax(struct cursor *c, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(-EINVAL, "%s:%u: %s", c->source, c->line, what);
}

static void skip_space(struct cursor *c)
{
	while (c->p < c->end) {
		if (*c->p == '\n') {
			c->line++;
			c->p++;
		} else if (isspace((unsigned char)*c->p)) {
			c->p++;
		} else if (*c->p == '#') {
			while (c->p < c->end && *c->p != '\n')
				c->p++;
		} else {
			break;
		}
	}
}

static bool at(struct cursor *c, char ch)
{
	skip_space(c);
	return c->p < c->end && *c->p == ch;
}

static bool take(struct cursor *c, char ch)
{
	if (!at(c, ch))
		return false;
	c->p++;
	return true;
}

static bool is_ident_char(char ch, bool first)
{
	return isalpha((unsigned char)ch) || ch == '_' ||
	       (!first && (isdigit((unsigned char)ch) || ch == '.'));
}

/* An identifier into @buf; 0 when there is none here. */
static size_t read_ident(struct cursor *c, char *buf, size_t size)
{
	size_t n = 0;

	skip_space(c);
	if (c->p >= c->end || !is_ident_char(*c->p, true))
		return 0;
	while (c->p < c->end && is_ident_char(*c->p, n == 0)) {
		if (n + 1 < size)
			buf[n] = *c->p;
		n++;
		c->p++;
	}
	if (n >= size)
		n = size - 1;
	buf[n] = '\0';
	return n;
}

/* A number token ([-+]digits, 0x.., decimals, exponent) into @buf. */
static size_t read_number_token(struct cursor *c, char *buf, size_t size)
{
	size_t n = 0;

	skip_space(c);
	while (c->p + n < c->end && n + 1 < size) {
		char ch = c->p[n];
		if (isalnum((unsigned char)ch) || ch == '.' || ch == '_' ||
		    ((ch == '-' || ch == '+') &&
		     (n == 0 || c->p[n - 1] == 'e' || c->p[n - 1] == 'E')))
			n++;
		else
			break;
	}
	memcpy(buf, c->p, n);
	buf[n] = '\0';
	c->p += n;
	return n;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* One quoted string (escapes decoded), appended to @out/@len/@cap. */
static int read_one_string(struct cursor *c, uint8_t **out, size_t *len, size_t *cap)
{
	char quote = *c->p++;

	for (;;) {
		uint8_t byte;

		if (c->p >= c->end || *c->p == '\n')
			return syntax(c, "unterminated string");
		if (*c->p == quote) {
			c->p++;
			return 0;
		}
		if (*c->p != '\\') {
			byte = (uint8_t)*c->p++;
		} else {
			c->p++;
			if (c->p >= c->end)
				return syntax(c, "unterminated string");
			char e = *c->p++;
			switch (e) {
			case 'n':
				byte = '\n';
				break;
			case 't':
				byte = '\t';
				break;
			case 'r':
				byte = '\r';
				break;
			case 'a':
				byte = '\a';
				break;
			case 'b':
				byte = '\b';
				break;
			case 'f':
				byte = '\f';
				break;
			case 'v':
				byte = '\v';
				break;
			case '\\':
			case '\'':
			case '"':
			case '?':
				byte = (uint8_t)e;
				break;
			case 'x': {
				int v = 0, digits = 0, h;
				while (digits < 2 && c->p < c->end && (h = hexval(*c->p)) >= 0) {
					v = v * 16 + h;
					c->p++;
					digits++;
				}
				if (digits == 0)
					return syntax(c, "\\x without hex digits");
				byte = (uint8_t)v;
				break;
			}
			default:
				if (e >= '0' && e <= '7') {
					int v = e - '0', digits = 1;
					while (digits < 3 && c->p < c->end && *c->p >= '0' &&
					       *c->p <= '7') {
						v = v * 8 + (*c->p++ - '0');
						digits++;
					}
					if (v > 0xff)
						return syntax(c, "octal escape out of range");
					byte = (uint8_t)v;
					break;
				}
				return syntax(c, "unknown escape \\%c", e);
			}
		}
		if (*len + 2 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 32;
			uint8_t *n = realloc(*out, ncap);
			if (!n)
				return err_set(-ENOMEM, "out of memory");
			*out = n;
			*cap = ncap;
		}
		(*out)[(*len)++] = byte;
	}
}

/* One or more adjacent quoted strings; the result is NUL-terminated. */
static int read_string(struct cursor *c, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out = NULL;
	size_t len = 0, cap = 0;
	int r;

	if (!at(c, '"') && !at(c, '\''))
		return syntax(c, "expected a quoted string");
	while (at(c, '"') || at(c, '\'')) {
		r = read_one_string(c, &out, &len, &cap);
		if (r < 0) {
			free(out);
			return r;
		}
	}
	if (!out) {
		out = malloc(1);
		if (!out)
			return err_set(-ENOMEM, "out of memory");
	}
	out[len] = '\0';
	*ret = out;
	*ret_len = len;
	return 0;
}

static size_t scalar_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static bool type_is_signed(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
	       t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_INT64 ||
	       t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_SFIXED64;
}

static int parse_integer(struct cursor *c, const ProtobufCFieldDescriptor *f, void *dst)
{
	char tok[80], *endp;
	size_t n = read_number_token(c, tok, sizeof(tok));
	bool neg = n > 0 && tok[0] == '-';
	uint64_t mag;
	int64_t sv = 0;
	uint64_t uv = 0;

	if (n == 0)
		return syntax(c, "field '%s': expected a number", f->name);
	errno = 0;
	mag = strtoull(tok + (tok[0] == '-' || tok[0] == '+'), &endp, 0);
	if (errno || *endp || !isdigit((unsigned char)tok[tok[0] == '-' || tok[0] == '+']))
		return syntax(c, "field '%s': '%s' is not an integer", f->name, tok);
	if (type_is_signed(f->type)) {
		if ((!neg && mag > INT64_MAX) || (neg && mag > (uint64_t)INT64_MAX + 1))
			return syntax(c, "field '%s': %s is out of range", f->name, tok);
		sv = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	} else {
		if (neg && mag)
			return syntax(c, "field '%s': %s is negative", f->name, tok);
		uv = mag;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (sv < INT32_MIN || sv > INT32_MAX)
			return syntax(c, "field '%s': %s is out of range", f->name, tok);
		*(int32_t *)dst = (int32_t)sv;
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (uv > UINT32_MAX)
			return syntax(c, "field '%s': %s is out of range", f->name, tok);
		*(uint32_t *)dst = (uint32_t)uv;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*(int64_t *)dst = sv;
		break;
	default:
		*(uint64_t *)dst = uv;
		break;
	}
	return 0;
}

static int parse_float(struct cursor *c, const ProtobufCFieldDescriptor *f, void *dst)
{
	char tok[80], *endp;
	size_t n = read_number_token(c, tok, sizeof(tok));
	double v;

	if (n == 0)
		return syntax(c, "field '%s': expected a number", f->name);
	if (n > 1 && (tok[n - 1] == 'f' || tok[n - 1] == 'F') && !strchr(tok, 'x'))
		tok[n - 1] = '\0';
	errno = 0;
	v = strtod(tok, &endp);
	if (*endp || endp == tok)
		return syntax(c, "field '%s': '%s' is not a number", f->name, tok);
	if (f->type == PROTOBUF_C_TYPE_FLOAT)
		*(float *)dst = (float)v;
	else
		*(double *)dst = v;
	return 0;
}

static int parse_bool(struct cursor *c, const ProtobufCFieldDescriptor *f, void *dst)
{
	char tok[16];

	if (!read_ident(c, tok, sizeof(tok)) && !read_number_token(c, tok, sizeof(tok)))
		return syntax(c, "field '%s': expected true or false", f->name);
	if (!strcmp(tok, "true") || !strcmp(tok, "True") || !strcmp(tok, "t") || !strcmp(tok, "1"))
		*(protobuf_c_boolean *)dst = 1;
	else if (!strcmp(tok, "false") || !strcmp(tok, "False") || !strcmp(tok, "f") ||
		 !strcmp(tok, "0"))
		*(protobuf_c_boolean *)dst = 0;
	else
		return syntax(c, "field '%s': '%s' is not true or false", f->name, tok);
	return 0;
}

static int parse_enum(struct cursor *c, const ProtobufCFieldDescriptor *f, void *dst)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	char tok[128];

	if (read_ident(c, tok, sizeof(tok))) {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(ed, tok);
		if (!v)
			return syntax(c, "field '%s': '%s' is not a %s", f->name, tok, ed->name);
		*(int *)dst = v->value;
		return 0;
	}
	int32_t num;
	ProtobufCFieldDescriptor as_int = *f;
	as_int.type = PROTOBUF_C_TYPE_INT32;
	int r = parse_integer(c, &as_int, &num);
	if (r < 0)
		return r;
	if (!protobuf_c_enum_descriptor_get_value(ed, num))
		return syntax(c, "field '%s': %d is not a %s", f->name, num, ed->name);
	*(int *)dst = num;
	return 0;
}

static int parse_message(struct cursor *c, const ProtobufCMessageDescriptor *desc, char close,
			 ProtobufCMessage **ret);

static int parse_value(struct cursor *c, const ProtobufCFieldDescriptor *f, void *dst);

/*
 * The field of @desc a bare string stands for: its only required field, when
 * that is a string and every other field is optional or repeated; else NULL.
 */
static const ProtobufCFieldDescriptor *string_shorthand(const ProtobufCMessageDescriptor *desc)
{
	const ProtobufCFieldDescriptor *key = NULL;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		if (desc->fields[i].label != PROTOBUF_C_LABEL_REQUIRED)
			continue;
		if (key || desc->fields[i].type != PROTOBUF_C_TYPE_STRING)
			return NULL;
		key = &desc->fields[i];
	}
	return key;
}

/*
 * A string where a message is expected: the older form of a field that grew
 * into a message (trust|me's net_ifaces: "eth2", now ContainerPnetConfig
 * { netif: "eth2" }) gives the message's one required string field.
 */
static int parse_string_as_message(struct cursor *c, const ProtobufCFieldDescriptor *f,
				   ProtobufCMessage **ret)
{
	const ProtobufCMessageDescriptor *desc = f->descriptor;
	const ProtobufCFieldDescriptor *key = string_shorthand(desc);
	ProtobufCMessage *msg;
	int r;

	if (!key)
		return syntax(c, "field '%s': expected '{'", f->name);
	if (!(msg = calloc(1, desc->sizeof_message)))
		return err_set(-ENOMEM, "out of memory");
	desc->message_init(msg);
	if ((r = parse_value(c, key, (char *)msg + key->offset)) < 0) {
		free(msg);
		return r;
	}
	*ret = msg;
	return 0;
}

/* One value of field @f into @dst (an element of the field's storage). */
static int parse_value(struct cursor *c, const ProtobufCFieldDescriptor *f, void *dst)
{
	uint8_t *s;
	size_t len;
	int r;

	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE: {
		char close;
		take(c, ':');
		if (at(c, '"') || at(c, '\''))
			return parse_string_as_message(c, f, (ProtobufCMessage **)dst);
		if (take(c, '{'))
			close = '}';
		else if (take(c, '<'))
			close = '>';
		else
			return syntax(c, "field '%s': expected '{'", f->name);
		return parse_message(c, f->descriptor, close, (ProtobufCMessage **)dst);
	}
	case PROTOBUF_C_TYPE_STRING:
		if (!at(c, '"') && !at(c, '\''))
			return syntax(c, "field '%s': expected a quoted string", f->name);
		r = read_string(c, &s, &len);
		if (r < 0)
			return r;
		if (memchr(s, '\0', len)) {
			free(s);
			return syntax(c, "field '%s': string contains a NUL byte", f->name);
		}
		*(char **)dst = (char *)s;
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		if (!at(c, '"') && !at(c, '\''))
			return syntax(c, "field '%s': expected a quoted string", f->name);
		r = read_string(c, &s, &len);
		if (r < 0)
			return r;
		((ProtobufCBinaryData *)dst)->data = s;
		((ProtobufCBinaryData *)dst)->len = len;
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		return parse_bool(c, f, dst);
	case PROTOBUF_C_TYPE_ENUM:
		return parse_enum(c, f, dst);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return parse_float(c, f, dst);
	default:
		return parse_integer(c, f, dst);
	}
}

/* Frees what a singular field holds before it is set (message or string/bytes). */
static void free_singular(const ProtobufCFieldDescriptor *f, void *member)
{
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		ProtobufCMessage **m = member;
		if (*m && *m != f->default_value)
			protobuf_c_message_free_unpacked(*m, NULL);
		*m = NULL;
	} else if (f->type == PROTOBUF_C_TYPE_STRING) {
		char **s = member;
		if (*s && *s != f->default_value)
			free(*s);
		*s = NULL;
	} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
		ProtobufCBinaryData *b = member;
		const ProtobufCBinaryData *def = f->default_value;
		if (b->data && (!def || b->data != def->data))
			free(b->data);
		b->data = NULL;
		b->len = 0;
	}
}

/* Appends one value to a repeated field. */
static int parse_repeated_one(struct cursor *c, ProtobufCMessage *msg,
			      const ProtobufCFieldDescriptor *f)
{
	size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
	void **array = (void **)((char *)msg + f->offset);
	size_t elem = scalar_size(f->type);
	uint8_t value[sizeof(ProtobufCBinaryData) > 8 ? sizeof(ProtobufCBinaryData) : 8] = {0};
	void *grown;
	int r;

	if (*count >= (1u << 20))
		return syntax(c, "field '%s': too many values", f->name);
	r = parse_value(c, f, value);
	if (r < 0)
		return r;
	grown = realloc(*array, (*count + 1) * elem);
	if (!grown) {
		free_singular(f, value);
		return err_set(-ENOMEM, "out of memory");
	}
	*array = grown;
	memcpy((char *)grown + *count * elem, value, elem);
	(*count)++;
	return 0;
}

static int parse_field(struct cursor *c, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
		       bool *seen)
{
	void *member = (char *)msg + f->offset;
	int r;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		/* "name: v", "name { }", "name: { }" or "name: [v, v]" */
		if (!take(c, ':') && f->type != PROTOBUF_C_TYPE_MESSAGE)
			return syntax(c, "field '%s': expected ':'", f->name);
		if (take(c, '[')) {
			if (take(c, ']'))
				return 0;
			do {
				r = parse_repeated_one(c, msg, f);
				if (r < 0)
					return r;
			} while (take(c, ','));
			if (!take(c, ']'))
				return syntax(c, "field '%s': expected ']'", f->name);
			return 0;
		}
		return parse_repeated_one(c, msg, f);
	}

	if (*seen)
		return syntax(c, "field '%s' given twice", f->name);
	if (f->type != PROTOBUF_C_TYPE_MESSAGE && !take(c, ':'))
		return syntax(c, "field '%s': expected ':'", f->name);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING ||
	    f->type == PROTOBUF_C_TYPE_BYTES) {
		uint8_t value[sizeof(ProtobufCBinaryData)] = {0};
		r = parse_value(c, f, value);
		if (r < 0)
			return r;
		free_singular(f, member);
		memcpy(member, value, scalar_size(f->type));
	} else {
		r = parse_value(c, f, member);
		if (r < 0)
			return r;
	}
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)((char *)msg + f->quantifier_offset) = f->id;
	else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
		 f->type != PROTOBUF_C_TYPE_STRING)
		*(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = 1;
	*seen = true;
	return 0;
}

static int check_required(struct cursor *c, const ProtobufCMessageDescriptor *desc,
			  const bool *seen)
{
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REQUIRED && !seen[i] && !f->default_value)
			return syntax(c, "%s: required field '%s' is missing", desc->name, f->name);
		if (f->label == PROTOBUF_C_LABEL_REQUIRED && !seen[i] &&
		    f->type == PROTOBUF_C_TYPE_STRING) {
			/* a required string with a default still needs a pointer we own */
			return syntax(c, "%s: required field '%s' is missing", desc->name, f->name);
		}
	}
	return 0;
}

/* Parses fields up to @close ('\0': end of input) into a new message. */
static int parse_message(struct cursor *c, const ProtobufCMessageDescriptor *desc, char close,
			 ProtobufCMessage **ret)
{
	ProtobufCMessage *msg;
	bool *seen;
	int r = 0;

	if (++c->depth > PBTEXT_MAX_DEPTH)
		return syntax(c, "messages nested more than %d deep", PBTEXT_MAX_DEPTH);
	msg = calloc(1, desc->sizeof_message);
	seen = calloc(desc->n_fields ? desc->n_fields : 1, sizeof(*seen));
	if (!msg || !seen) {
		free(msg);
		free(seen);
		return err_set(-ENOMEM, "out of memory");
	}
	desc->message_init(msg);

	for (;;) {
		char name[128];
		const ProtobufCFieldDescriptor *f;

		skip_space(c);
		if (close ? take(c, close) : c->p >= c->end)
			break;
		if (c->p >= c->end) {
			r = syntax(c, "%s: missing '%c'", desc->name, close);
			break;
		}
		if (!read_ident(c, name, sizeof(name))) {
			r = syntax(c, "expected a field name of %s, found '%c'", desc->name, *c->p);
			break;
		}
		f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
		if (!f) {
			r = syntax(c, "unknown field '%s' in %s", name, desc->name);
			break;
		}
		r = parse_field(c, msg, f, &seen[f - desc->fields]);
		if (r < 0)
			break;
		if (!take(c, ';'))
			take(c, ',');
	}
	if (r == 0)
		r = check_required(c, desc, seen);
	free(seen);
	c->depth--;
	if (r < 0) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return r;
	}
	*ret = msg;
	return 0;
}

int pbtext_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
		 const char *source, ProtobufCMessage **ret)
{
	struct cursor c = {
		.p = text, .end = text + len, .source = source ? source : "input", .line = 1};

	if (memchr(text, '\0', len))
		return err_set(-EINVAL, "%s: contains a NUL byte", c.source);
	return parse_message(&c, desc, '\0', ret);
}

int pbtext_parse_file(const ProtobufCMessageDescriptor *desc, const char *path,
		      ProtobufCMessage **ret)
{
	uint8_t *buf;
	size_t len;
	int r = file_read_all(path, PBTEXT_MAX_FILE, &buf, &len);

	if (r < 0)
		return r;
	r = pbtext_parse(desc, (const char *)buf, len, path, ret);
	free(buf);
	return r;
}

/* ---- writer ---- */

static void write_escaped(FILE *out, const uint8_t *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = s[i];
		switch (ch) {
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		default:
			if (ch < 0x20 || ch >= 0x7f)
				fprintf(out, "\\%03o", ch);
			else
				fputc(ch, out);
		}
	}
	fputc('"', out);
}

static void write_message(FILE *out, const ProtobufCMessage *msg, unsigned indent);

static void write_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *v,
			unsigned indent)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(out, "%" PRId32, *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(out, "%" PRIu32, *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(out, "%" PRId64, *(const int64_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(out, "%" PRIu64, *(const uint64_t *)v);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		fprintf(out, "%.9g", (double)*(const float *)v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		fprintf(out, "%.17g", *(const double *)v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)v ? "true" : "false", out);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)v);
		if (ev)
			fputs(ev->name, out);
		else
			fprintf(out, "%d", *(const int *)v);
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)v;
		write_escaped(out, (const uint8_t *)s, strlen(s));
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;
		write_escaped(out, b->data, b->len);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		fputs("{\n", out);
		write_message(out, *(ProtobufCMessage *const *)v, indent + 1);
		fprintf(out, "%*s}", (int)indent * 2, "");
		break;
	}
}

/* Whether a singular field is present (and so printed). */
static bool field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const void *member = (const char *)msg + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)((const char *)msg + f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING) {
		const void *p = *(void *const *)member;
		return p && (f->label == PROTOBUF_C_LABEL_REQUIRED || p != f->default_value);
	}
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	return *(const protobuf_c_boolean *)((const char *)msg + f->quantifier_offset);
}

static void write_message(FILE *out, const ProtobufCMessage *msg, unsigned indent)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *sep = f->type == PROTOBUF_C_TYPE_MESSAGE ? " " : ": ";

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
			const char *array = *(char *const *)((const char *)msg + f->offset);
			for (size_t k = 0; k < n; k++) {
				fprintf(out, "%*s%s%s", (int)indent * 2, "", f->name, sep);
				write_value(out, f, array + k * scalar_size(f->type), indent);
				fputc('\n', out);
			}
		} else if (field_present(msg, f)) {
			fprintf(out, "%*s%s%s", (int)indent * 2, "", f->name, sep);
			write_value(out, f, (const char *)msg + f->offset, indent);
			fputc('\n', out);
		}
	}
}

int pbtext_format(const ProtobufCMessage *msg, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		return err_set(-errno, "open_memstream: %s", strerror(errno));
	write_message(out, msg, 0);
	if (fclose(out) != 0) {
		free(buf);
		return err_set(-ENOMEM, "out of memory");
	}
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

/* ---- JSON ---- */

static void json_value(struct jw *j, const ProtobufCFieldDescriptor *f, const void *v)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		jw_int(j, *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		jw_uint(j, *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		jw_int(j, *(const int64_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		jw_uint(j, *(const uint64_t *)v);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		jw_double(j, *(const float *)v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		jw_double(j, *(const double *)v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		jw_bool(j, *(const protobuf_c_boolean *)v);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)v);
		if (ev)
			jw_string(j, ev->name);
		else
			jw_int(j, *(const int *)v);
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		jw_string(j, *(char *const *)v);
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;
		jw_hex(j, b->data, b->len);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		pbtext_json(*(ProtobufCMessage *const *)v, j);
		break;
	}
}

void pbtext_json(const ProtobufCMessage *msg, struct jw *j)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	jw_object_begin(j);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
			const char *array = *(char *const *)((const char *)msg + f->offset);
			if (!n)
				continue;
			jw_key(j, f->name);
			jw_array_begin(j);
			for (size_t k = 0; k < n; k++)
				json_value(j, f, array + k * scalar_size(f->type));
			jw_array_end(j);
		} else if (field_present(msg, f)) {
			jw_key(j, f->name);
			json_value(j, f, (const char *)msg + f->offset);
		}
	}
	jw_object_end(j);
}
