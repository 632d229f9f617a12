// SPDX-License-Identifier: MIT
/*
 * A control request as it crosses from cmld's control process to its root
 * parent: filled from the decoded protobuf on one side, checked field by
 * field on the other.  The parent never parses it; it points into it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "cm_msg.h"
#include "err.h"

static const char *const blob_names[CM_BLOBS] = {
	[CM_BLOB_CONFIG] = "container_config_file",
	[CM_BLOB_CONFIG_SIG] = "container_config_signature",
	[CM_BLOB_CONFIG_CERT] = "container_config_certificate",
	[CM_BLOB_GUESTOS] = "guestos_config_file",
	[CM_BLOB_GUESTOS_SIG] = "guestos_config_signature",
	[CM_BLOB_GUESTOS_CERT] = "guestos_config_certificate",
	[CM_BLOB_ROOTCERT] = "guestos_rootcert",
	[CM_BLOB_DEVICE_CERT] = "device_cert",
};

static int put_str(char *dst, size_t size, const char *src, const char *field)
{
	size_t len = strlen(src);

	if (len >= size)
		return err_set(-EMSGSIZE, "%s of %zu bytes: at most %zu", field, len, size - 1);
	memcpy(dst, src, len + 1);
	return 0;
}

/* The bytes fields of @req, each with whether it was given. */
static void blobs_of(const ControllerToDaemon *req, const ProtobufCBinaryData *ret[CM_BLOBS],
		     bool has[CM_BLOBS])
{
	ret[CM_BLOB_CONFIG] = &req->container_config_file;
	has[CM_BLOB_CONFIG] = req->has_container_config_file;
	ret[CM_BLOB_CONFIG_SIG] = &req->container_config_signature;
	has[CM_BLOB_CONFIG_SIG] = req->has_container_config_signature;
	ret[CM_BLOB_CONFIG_CERT] = &req->container_config_certificate;
	has[CM_BLOB_CONFIG_CERT] = req->has_container_config_certificate;
	ret[CM_BLOB_GUESTOS] = &req->guestos_config_file;
	has[CM_BLOB_GUESTOS] = req->has_guestos_config_file;
	ret[CM_BLOB_GUESTOS_SIG] = &req->guestos_config_signature;
	has[CM_BLOB_GUESTOS_SIG] = req->has_guestos_config_signature;
	ret[CM_BLOB_GUESTOS_CERT] = &req->guestos_config_certificate;
	has[CM_BLOB_GUESTOS_CERT] = req->has_guestos_config_certificate;
	ret[CM_BLOB_ROOTCERT] = &req->guestos_rootcert;
	has[CM_BLOB_ROOTCERT] = req->has_guestos_rootcert;
	ret[CM_BLOB_DEVICE_CERT] = &req->device_cert;
	has[CM_BLOB_DEVICE_CERT] = req->has_device_cert;
}

int cm_msg_request_from_proto(const ControllerToDaemon *req, struct cm_msg_request *m)
{
	const ContainerStartParams *sp = req->container_start_params;
	const AssignInterfaceParams *ip = req->assign_iface_params;
	const ProtobufCBinaryData *blob[CM_BLOBS];
	bool has[CM_BLOBS];
	size_t off = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	/* protobuf-c keeps an enum value it does not know: the parent would refuse it */
	if (!protobuf_c_enum_descriptor_get_value(&controller_to_daemon__command__descriptor,
						  (int)req->command))
		return err_set(-EOPNOTSUPP, "unknown command %d", (int)req->command);
	m->command = (uint32_t)req->command;
	if (req->n_container_uuids > CM_REQ_REFS_MAX)
		return err_set(-EMSGSIZE, "container_uuids: %zu containers, at most %u",
			       req->n_container_uuids, CM_REQ_REFS_MAX);
	m->n_refs = (uint32_t)req->n_container_uuids;
	for (size_t i = 0; i < req->n_container_uuids; i++) {
		rc = put_str(m->refs[i], sizeof(m->refs[i]), req->container_uuids[i],
			     "container_uuids");
		if (rc < 0)
			return rc;
	}
	if (sp) {
		m->flags |= CM_REQ_START_PARAMS | (sp->setup ? CM_REQ_SETUP : 0);
		/* trust|me's default key stands for none (cm_control.c given_key) */
		if (sp->key && sp->key != container_start_params__key__default_value) {
			m->flags |= CM_REQ_KEY;
			rc = put_str(m->key, sizeof(m->key), sp->key, "container_start_params.key");
			if (rc < 0)
				return rc;
		}
	}
	if (ip) {
		m->flags |= CM_REQ_IFACE_PARAMS | (ip->persistent ? CM_REQ_PERSISTENT : 0);
		if (ip->iface_name) {
			m->flags |= CM_REQ_IFACE;
			rc = put_str(m->iface, sizeof(m->iface), ip->iface_name,
				     "assign_iface_params.iface_name");
			if (rc < 0)
				return rc;
		}
	}
	if (req->exec_command) {
		m->flags |= CM_REQ_EXEC_COMMAND;
		rc = put_str(m->exec_command, sizeof(m->exec_command), req->exec_command,
			     "exec_command");
		if (rc < 0)
			return rc;
	}
	if (req->n_exec_args > CM_REQ_ARGS_MAX)
		return err_set(-EMSGSIZE, "exec_args: %zu arguments, at most %u", req->n_exec_args,
			       CM_REQ_ARGS_MAX);
	for (size_t i = 0; i < req->n_exec_args; i++) {
		size_t len = strlen(req->exec_args[i]) + 1;

		if (len > sizeof(m->exec_argv) - m->exec_argv_len)
			return err_set(-EMSGSIZE, "exec_args: more than %zu bytes",
				       sizeof(m->exec_argv));
		memcpy(m->exec_argv + m->exec_argv_len, req->exec_args[i], len);
		m->exec_argv_len += (uint32_t)len;
	}
	m->n_exec_args = (uint32_t)req->n_exec_args;
	if (req->exec_input) {
		m->flags |= CM_REQ_EXEC_INPUT;
		rc = put_str(m->exec_input, sizeof(m->exec_input), req->exec_input, "exec_input");
		if (rc < 0)
			return rc;
	}
	if (req->guestos_name) {
		m->flags |= CM_REQ_GUESTOS_NAME;
		rc = put_str(m->guestos_name, sizeof(m->guestos_name), req->guestos_name,
			     "guestos_name");
		if (rc < 0)
			return rc;
	}
	if (req->device_pin) {
		m->flags |= CM_REQ_PIN;
		rc = put_str(m->pin, sizeof(m->pin), req->device_pin, "device_pin");
		if (rc < 0)
			return rc;
	}
	if (req->device_newpin) {
		m->flags |= CM_REQ_NEWPIN;
		rc = put_str(m->newpin, sizeof(m->newpin), req->device_newpin, "device_newpin");
		if (rc < 0)
			return rc;
	}
	blobs_of(req, blob, has);
	for (int b = 0; b < CM_BLOBS; b++) {
		if (!has[b])
			continue;
		if (blob[b]->len > sizeof(m->blob) - off)
			return err_set(-EMSGSIZE,
				       "%s of %zu bytes: a request carries at most %u bytes of "
				       "configs and certificates",
				       blob_names[b], blob[b]->len, CM_REQ_BLOB_MAX);
		if (blob[b]->len)
			memcpy(m->blob + off, blob[b]->data, blob[b]->len);
		m->blob_present |= 1u << b;
		m->blob_len[b] = (uint32_t)blob[b]->len;
		off += blob[b]->len;
	}
	return 0;
}

/* @s holds a NUL within @size; an unset field must be empty. */
static int check_str(const char *s, size_t size, bool set, const char *field)
{
	if (!memchr(s, '\0', size))
		return err_set(-EBADMSG, "%s: not terminated", field);
	if (!set && s[0])
		return err_set(-EBADMSG, "%s: not given, yet not empty", field);
	return 0;
}

int cm_msg_request_check(struct cm_msg_request *m, struct cm_req_view *v)
{
	ControllerToDaemon *req = &v->req;
	size_t off = 0, k = 0;
	int rc;

	memset(v, 0, sizeof(*v));
	controller_to_daemon__init(req);
	container_start_params__init(&v->start);
	assign_interface_params__init(&v->iface);
	if (!protobuf_c_enum_descriptor_get_value(&controller_to_daemon__command__descriptor,
						  (int)m->command))
		return err_set(-EBADMSG, "command %u", m->command);
	if (m->flags & ~(uint32_t)CM_REQ_FLAGS_ALL)
		return err_set(-EBADMSG, "flags 0x%x", m->flags);
	if (m->blob_present >> CM_BLOBS)
		return err_set(-EBADMSG, "byte fields 0x%x", m->blob_present);
	if (m->n_refs > CM_REQ_REFS_MAX)
		return err_set(-EBADMSG, "%u containers", m->n_refs);
	if (m->n_exec_args > CM_REQ_ARGS_MAX || m->exec_argv_len > sizeof(m->exec_argv))
		return err_set(-EBADMSG, "%u arguments in %u bytes", m->n_exec_args,
			       m->exec_argv_len);
	req->command = (ControllerToDaemon__Command)m->command;
	for (uint32_t i = 0; i < m->n_refs; i++) {
		rc = check_str(m->refs[i], sizeof(m->refs[i]), true, "container_uuids");
		if (rc < 0)
			return rc;
		v->refs[i] = m->refs[i];
	}
	req->n_container_uuids = m->n_refs;
	req->container_uuids = v->refs;
#define STR(field, flag, name)                                                       \
	do {                                                                         \
		rc = check_str(m->field, sizeof(m->field), m->flags & (flag), name); \
		if (rc < 0)                                                          \
			return rc;                                                   \
	} while (0)
	STR(key, CM_REQ_KEY, "key");
	STR(iface, CM_REQ_IFACE, "iface_name");
	STR(exec_command, CM_REQ_EXEC_COMMAND, "exec_command");
	STR(exec_input, CM_REQ_EXEC_INPUT, "exec_input");
	STR(guestos_name, CM_REQ_GUESTOS_NAME, "guestos_name");
	STR(pin, CM_REQ_PIN, "device_pin");
	STR(newpin, CM_REQ_NEWPIN, "device_newpin");
#undef STR
	if ((m->flags & (CM_REQ_SETUP | CM_REQ_KEY)) && !(m->flags & CM_REQ_START_PARAMS))
		return err_set(-EBADMSG, "start flags without start parameters");
	if ((m->flags & (CM_REQ_IFACE | CM_REQ_PERSISTENT)) && !(m->flags & CM_REQ_IFACE_PARAMS))
		return err_set(-EBADMSG, "interface flags without interface parameters");
	if (m->flags & CM_REQ_START_PARAMS) {
		v->start.setup = !!(m->flags & CM_REQ_SETUP);
		v->start.has_setup = 1;
		if (m->flags & CM_REQ_KEY)
			v->start.key = m->key;
		req->container_start_params = &v->start;
	}
	if (m->flags & CM_REQ_IFACE_PARAMS) {
		v->iface.persistent = !!(m->flags & CM_REQ_PERSISTENT);
		v->iface.has_persistent = 1;
		v->iface.iface_name = m->flags & CM_REQ_IFACE ? m->iface : NULL;
		req->assign_iface_params = &v->iface;
	}
	req->exec_command = m->flags & CM_REQ_EXEC_COMMAND ? m->exec_command : NULL;
	req->exec_input = m->flags & CM_REQ_EXEC_INPUT ? m->exec_input : NULL;
	req->guestos_name = m->flags & CM_REQ_GUESTOS_NAME ? m->guestos_name : NULL;
	req->device_pin = m->flags & CM_REQ_PIN ? m->pin : NULL;
	req->device_newpin = m->flags & CM_REQ_NEWPIN ? m->newpin : NULL;
	/* exactly n_exec_args strings, back to back, filling exec_argv_len */
	for (uint32_t i = 0; i < m->n_exec_args; i++) {
		const char *end = memchr(m->exec_argv + off, '\0', m->exec_argv_len - off);

		if (!end)
			return err_set(-EBADMSG, "exec_args: argument %u not terminated", i);
		v->argv[k++] = m->exec_argv + off;
		off = (size_t)(end - m->exec_argv) + 1;
	}
	if (off != m->exec_argv_len)
		return err_set(-EBADMSG, "exec_args: %u bytes after the arguments",
			       m->exec_argv_len - (uint32_t)off);
	req->n_exec_args = k;
	req->exec_args = v->argv;

	ProtobufCBinaryData *blob[CM_BLOBS] = {
		&req->container_config_file,
		&req->container_config_signature,
		&req->container_config_certificate,
		&req->guestos_config_file,
		&req->guestos_config_signature,
		&req->guestos_config_certificate,
		&req->guestos_rootcert,
		&req->device_cert,
	};
	protobuf_c_boolean *has[CM_BLOBS] = {
		&req->has_container_config_file,
		&req->has_container_config_signature,
		&req->has_container_config_certificate,
		&req->has_guestos_config_file,
		&req->has_guestos_config_signature,
		&req->has_guestos_config_certificate,
		&req->has_guestos_rootcert,
		&req->has_device_cert,
	};

	off = 0;
	for (int b = 0; b < CM_BLOBS; b++) {
		bool present = m->blob_present >> b & 1;

		if (!present && m->blob_len[b])
			return err_set(-EBADMSG, "%s: not given, yet %u bytes", blob_names[b],
				       m->blob_len[b]);
		if (m->blob_len[b] > sizeof(m->blob) - off)
			return err_set(-EBADMSG, "%s: %u bytes past the end", blob_names[b],
				       m->blob_len[b]);
		*has[b] = present;
		blob[b]->len = m->blob_len[b];
		blob[b]->data = m->blob_len[b] ? m->blob + off : NULL;
		off += m->blob_len[b];
	}
	return 0;
}
