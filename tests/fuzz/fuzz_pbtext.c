// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the protobuf text-format reader on container configs (the
 * deepest message), and the writer on whatever it accepts: a config that
 * parses must format and parse again.
 */
#include <stdint.h>
#include <stdlib.h>

#include "container.pb-c.h"
#include "pbtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *msg = NULL, *again = NULL;
	char *text = NULL;
	size_t len;

	if (pbtext_parse(&container_config__descriptor, (const char *)data, size, "fuzz", &msg) < 0)
		return 0;
	if (pbtext_format(msg, &text, &len) < 0 ||
	    pbtext_parse(&container_config__descriptor, text, len, "formatted", &again) < 0)
		abort(); /* what we write, we must read */
	protobuf_c_message_free_unpacked(again, NULL);
	protobuf_c_message_free_unpacked(msg, NULL);
	free(text);
	return 0;
}
