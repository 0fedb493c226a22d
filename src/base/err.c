/*
 * err.c - the names of the protocol error codes and the errno each maps to.
 *
 * One table, indexed by the code, so adding a code is one line here and
 * one row in docs/protocol.md (a unit test checks the two agree).  The
 * errnos are what RFcom returns when rfd refuses a chan_open; codes that
 * verb can bring keep the values RFcom always gave (internal is EPROTO:
 * the fault is rfd's side of the protocol, not the caller's).
 */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int err;
} codes[BASE_E_COUNT] = {
	[BASE_E_BAD_REQUEST]       = { "bad_request", EINVAL },
	[BASE_E_REQUEST_TOO_LARGE] = { "request_too_large", EMSGSIZE },
	[BASE_E_BAD_VERSION]       = { "bad_version", EPROTO },
	[BASE_E_PERMISSION_DENIED] = { "permission_denied", EACCES },
	[BASE_E_NAME_EXISTS]       = { "name_exists", EEXIST },
	[BASE_E_NO_SUCH_SUBOS]     = { "no_such_subos", ESRCH },
	[BASE_E_NO_SUCH_CHANNEL]   = { "no_such_channel", ENOENT },
	[BASE_E_UNKNOWN_CORE]      = { "unknown_core", EINVAL },
	[BASE_E_CORES_BUSY]        = { "cores_busy", EBUSY },
	[BASE_E_MEM_UNAVAILABLE]   = { "mem_unavailable", ENOMEM },
	[BASE_E_MEM_BUSY]          = { "mem_busy", EBUSY },
	[BASE_E_SPAWN_FAILED]      = { "spawn_failed", ENOEXEC },
	[BASE_E_NOT_RUNNING]       = { "not_running", ESRCH },
	[BASE_E_TIMEOUT]           = { "timeout", ETIMEDOUT },
	[BASE_E_INTERNAL]          = { "internal", EPROTO },
};

const char *base_errc_name(enum base_errc c)
{
	return c > BASE_E_OK && c < BASE_E_COUNT ? codes[c].name : NULL;
}

enum base_errc base_errc_parse(const char *name)
{
	for (int c = BASE_E_OK + 1; name && c < BASE_E_COUNT; c++)
		if (strcmp(name, codes[c].name) == 0)
			return (enum base_errc)c;
	return BASE_E_OK;
}

int base_errc_errno(enum base_errc c)
{
	return c > BASE_E_OK && c < BASE_E_COUNT ? codes[c].err : EPROTO;
}

int base_errf(struct base_err *e, enum base_errc code, const char *fmt, ...)
{
	va_list ap;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}
