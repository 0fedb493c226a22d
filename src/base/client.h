/*
 * client.h - the client side of rfd's control protocol (docs/protocol.md).
 *
 * Used by rfm, RFcom, rfbench and tests: connect to a socket, send one
 * request (a struct base_request, or a raw object for tests of the parser),
 * read one answer object.  Blocking, one request in flight.
 */
#ifndef RF_BASE_CLIENT_H
#define RF_BASE_CLIENT_H

#include <json-c/json.h>
#include "base/proto.h"

#define RF_DEFAULT_SOCKET "/run/rfd.sock"
#define RF_PROTO_VERSION  1
#define RF_PROTO_MAX_LINE 65536

struct base_client {
	int fd;
	long next_id;
	char *buf;      /* bytes received past the last answer */
	size_t len, cap;
};

/* The socket to use: `explicit_path` if set, else $RF_SOCKET, else the default. */
const char *base_client_socket_path(const char *explicit_path);

/* Returns 0, or -errno (connect failure) with c->fd = -1. */
int base_client_connect(struct base_client *c, const char *path);
void base_client_close(struct base_client *c);

/*
 * Send `req` (this function adds "version" and "id"; it does not take
 * ownership of req) and wait for the answer.  Returns the parsed answer
 * object (caller puts it), or NULL with errno set on an I/O or parse error.
 */
struct json_object *base_client_call(struct base_client *c, struct json_object *req);

/* The same, also receiving a descriptor rfd passes with the answer
 * (SCM_RIGHTS, close-on-exec): *fd gets it, or -1 if none came.  The
 * caller closes it. */
struct json_object *base_client_call_fd(struct base_client *c, struct json_object *req, int *fd);

/* The same for a typed request (encoded by base/proto.c): the way every
 * client sends one.  fd may be NULL when no descriptor is expected. */
struct json_object *base_client_request(struct base_client *c, const struct base_request *req,
					int *fd);

/* Convenience accessors for an answer. */
int base_answer_ok(struct json_object *ans);
const char *base_answer_error(struct json_object *ans);   /* "" if none */
const char *base_answer_message(struct json_object *ans); /* "" if none */
struct json_object *base_answer_result(struct json_object *ans);

#endif
