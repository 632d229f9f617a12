/* SPDX-License-Identifier: MIT */
/*
 * Protocol buffers text format ("name: \"core0\"", "mounts { ... }") for any
 * protobuf-c message, driven by its descriptor: the format trust|me keeps its
 * container and GuestOS configs in.
 *
 * The reader takes fields as `name: value`, `name { ... }`, `name: { ... }`
 * or `name < ... >`, lists `name: [a, b]`, `#` comments, enums by name or
 * number, strings in single or double quotes with C escapes (adjacent
 * strings join).  A string where a message is expected stands for that
 * message with its one required string field set, when it has exactly one
 * and it is a string (`net_ifaces: "eth2"`, the form trust|me's configs had
 * before net_ifaces became ContainerPnetConfig); the writer prints the
 * message form.  It refuses unknown fields, a non-repeated field given
 * twice, values out of range, and missing required fields, naming the line
 * and the field.  The writer prints what the reader reads back unchanged.
 */
#ifndef MEASURED_PBTEXT_H
#define MEASURED_PBTEXT_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/*
 * Parses @len bytes of @text as a @desc message.  @source names the input in
 * errors ("core0.conf:12: ...").  The result is freed with
 * protobuf_c_message_free_unpacked(msg, NULL).
 */
int pbtext_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
		 const char *source, ProtobufCMessage **ret);

/* Reads and parses a file (at most 1 MiB). */
int pbtext_parse_file(const ProtobufCMessageDescriptor *desc, const char *path,
		      ProtobufCMessage **ret);

struct jw;
/*
 * Writes @msg as a JSON object: field names as keys, enums by name, bytes as
 * hex, repeated fields as arrays; absent optional fields are left out.
 */
void pbtext_json(const ProtobufCMessage *msg, struct jw *j);

/* Prints @msg in text format into a new NUL-terminated buffer. */
int pbtext_format(const ProtobufCMessage *msg, char **ret, size_t *ret_len);

#endif
