/*
 * fuzz_rfd_conn.c - libFuzzer target: a control connection's bytes in
 * random chunks through rfd's framing (src/rfd/conn.c), each line through
 * the protocol parser (base_proto_parse) and its answer into the output
 * queue, which is drained in random pieces, as server_conn.c does.
 *
 * The first byte of each chunk picks its size and how much of the queue
 * to drain, so that lines split anywhere, several come in one read, and
 * answers pile up or go out partly.  Checks: a line never holds a newline
 * and never exceeds RF_PROTO_LINE_MAX; the queue's byte count matches
 * what went in and out; a buffer full without a newline is refused and
 * ends the connection, as rfd ends it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/proto.h"
#include "rfd/conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_fd(int fd)
{
	(void)fd;
	abort(); /* the target queues no descriptor */
}

/* Each complete line: parse, answer, queue.  -1: the connection ends. */
static int serve(struct rfd_conn *c, size_t *queued)
{
	const char *line;
	size_t len;
	int r;
	while ((r = rfd_conn_next_line(c, &line, &len)) == 1) {
		struct base_request req;
		struct base_err err;
		struct json_object *ans;
		if (len > RF_PROTO_LINE_MAX || memchr(line, '\n', len))
			abort();
		if (base_proto_parse(line, len, &req, &err) == 0) {
			ans = base_answer_new_ok(&req, NULL);
			base_request_free(&req);
		} else {
			ans = base_answer_new_err(req.has_id, req.id, err.code, "%s", err.msg);
		}
		size_t alen;
		const char *s = json_object_to_json_string_length(ans, JSON_C_TO_STRING_PLAIN, &alen);
		if (rfd_conn_queue(c, s, alen, -1, no_fd) == 0)
			*queued += alen + 1;
		json_object_put(ans);
		rfd_conn_line_done(c);
	}
	return r;
}

static void drain(struct rfd_conn *c, size_t n, size_t *queued)
{
	const char *buf;
	int fd;
	size_t avail;
	while (n > 0 && (avail = rfd_conn_out_peek(c, &buf, &fd)) > 0) {
		size_t take = n < avail ? n : avail;
		if (fd != -1)
			abort();
		rfd_conn_out_advance(c, take);
		*queued -= take;
		n -= take;
	}
	if (c->outbytes != *queued)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfd_conn c;
	size_t queued = 0;
	if (rfd_conn_init(&c))
		return 0;
	while (size > 0) {
		size_t chunk = 1 + (size_t)(data[0] % 64) * (data[0] & 0x80 ? 1024 : 1);
		size_t out = (size_t)(data[0] & 0x0f) * 97;
		data++, size--;
		if (chunk > size)
			chunk = size;
		char *where;
		size_t room = rfd_conn_in_space(&c, &where);
		if (chunk > room)
			chunk = room;
		memcpy(where, data, chunk);
		rfd_conn_in_commit(&c, chunk);
		data += chunk, size -= chunk;
		if (serve(&c, &queued) < 0)
			break; /* a line too long: rfd closes the connection */
		drain(&c, out, &queued);
	}
	rfd_conn_fini(&c, no_fd);
	return 0;
}
