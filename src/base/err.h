/*
 * err.h - the one error type of RainForest: a stable protocol error code
 * (docs/protocol.md, the `| error | when |` table) and a message for
 * people.
 *
 * rfd's parser and handlers, its setup, the partition table, rfm's argument
 * parsing and RFcom all report failures with these codes, so a code is
 * spelled once (enum base_errc) and named once (the table in err.c, which
 * also says which errno a client library turns it into).  Negative errno is
 * left to host-facing helpers (cgroup writes, memfds, sockets).
 */
#ifndef RF_BASE_ERR_H
#define RF_BASE_ERR_H

enum base_errc {
	BASE_E_OK = 0,            /* no error; has no name on the wire */
	BASE_E_BAD_REQUEST,
	BASE_E_REQUEST_TOO_LARGE,
	BASE_E_BAD_VERSION,
	BASE_E_PERMISSION_DENIED,
	BASE_E_NAME_EXISTS,
	BASE_E_NO_SUCH_SUBOS,
	BASE_E_NO_SUCH_CHANNEL,
	BASE_E_UNKNOWN_CORE,
	BASE_E_CORES_BUSY,
	BASE_E_MEM_UNAVAILABLE,
	BASE_E_MEM_BUSY,
	BASE_E_SPAWN_FAILED,
	BASE_E_NOT_RUNNING,
	BASE_E_TIMEOUT,
	BASE_E_INTERNAL,
	BASE_E_COUNT              /* not a code: how many there are */
};

/* The code's name on the wire ("bad_request"); NULL for BASE_E_OK or a
 * value out of range. */
const char *base_errc_name(enum base_errc c);
/* The code named `name`, or BASE_E_OK if no code has that name. */
enum base_errc base_errc_parse(const char *name);
/* The errno a client library reports for the code (positive; EPROTO for
 * BASE_E_OK and unknown values). */
int base_errc_errno(enum base_errc c);

/* An error for an answer, a log line or a usage message. */
struct base_err {
	enum base_errc code;
	char msg[512];
};

/* Fill *e and return -1, so that `return base_errf(...)` reads naturally. */
int base_errf(struct base_err *e, enum base_errc code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
