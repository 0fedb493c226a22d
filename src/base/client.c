/*
 * client.c - the client side of rfd's control protocol (docs/protocol.md).
 *
 * One JSON object per line each way over a Unix stream socket.  The client
 * stamps every request with "version" and an increasing "id", writes it with
 * MSG_NOSIGNAL (a dead rfd must give EPIPE, not kill rfm), and reads until a
 * whole line has arrived.  Bytes past that line stay in c->buf for the next
 * call.  An answer longer than RF_PROTO_MAX_LINE is refused and the
 * connection closed: like rfd, we cannot find its end reliably.  A request
 * that long is not sent at all (E2BIG).  base_client_call_fd also takes a
 * descriptor rfd passes with an answer (chan_open) from the ancillary data.
 */
#define _GNU_SOURCE
#include "base/client.h"
#include "base/fdpass.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RECV_CHUNK 4096

const char *base_client_socket_path(const char *explicit_path)
{
	if (explicit_path && *explicit_path)
		return explicit_path;
	const char *env = getenv("RF_SOCKET");
	if (env && *env)
		return env;
	return RF_DEFAULT_SOCKET;
}

static void client_reset(struct base_client *c)
{
	c->fd = -1;
	c->next_id = 1;
	c->buf = NULL;
	c->len = c->cap = 0;
}

int base_client_connect(struct base_client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err;

	client_reset(c);
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EISCONN) /* an interrupted connect that completed */
			break;
		err = -errno;
		goto fail;
	}
	c->fd = fd;
	return 0;
fail:
	close(fd);
	return err;
}

void base_client_close(struct base_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	client_reset(c);
}

/* Write all of buf, retrying on EINTR and short writes. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A copy of req with "version" and "id" first; req itself is untouched. */
static struct json_object *stamp_request(struct base_client *c, struct json_object *req)
{
	struct json_object *out = json_object_new_object();
	if (!out)
		return NULL;
	json_object_object_add(out, "version", json_object_new_int(RF_PROTO_VERSION));
	json_object_object_add(out, "id", json_object_new_int64(c->next_id));
	json_object_object_foreach(req, key, val) {
		if (strcmp(key, "version") == 0 || strcmp(key, "id") == 0)
			continue;
		json_object_object_add(out, key, json_object_get(val));
	}
	return out;
}

static int send_request(struct base_client *c, struct json_object *req)
{
	int ret = -1;
	struct json_object *msg = stamp_request(c, req);
	if (!msg) {
		errno = ENOMEM;
		return -1;
	}
	size_t len;
	const char *text = json_object_to_json_string_length(
		msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!text) {
		errno = ENOMEM;
		goto out;
	}
	if (len > RF_PROTO_MAX_LINE) { /* rfd would refuse it: do not send it */
		errno = E2BIG;
		goto out;
	}
	if (send_all(c->fd, text, len) < 0 || send_all(c->fd, "\n", 1) < 0)
		goto out;
	c->next_id++;
	ret = 0;
out:
	json_object_put(msg);
	return ret;
}

/* Make room for at least RECV_CHUNK more bytes.  Returns 0 or -1 (ENOMEM). */
static int grow_buffer(struct base_client *c)
{
	if (c->cap - c->len >= RECV_CHUNK)
		return 0;
	size_t cap = c->cap ? c->cap * 2 : RECV_CHUNK;
	while (cap - c->len < RECV_CHUNK)
		cap *= 2;
	char *nb = realloc(c->buf, cap);
	if (!nb) {
		errno = ENOMEM;
		return -1;
	}
	c->buf = nb;
	c->cap = cap;
	return 0;
}

/* recv, also taking at most one descriptor passed with SCM_RIGHTS into
 * *fd: an answer's line may arrive in several reads, so *fd keeps the
 * first descriptor and any later one is closed.  fd NULL: plain recv. */
static ssize_t recv_fd(int sock, char *buf, size_t len, int *fd)
{
	if (!fd)
		return recv(sock, buf, len, 0);
	int got = -1;
	ssize_t n = base_recv_fd(sock, buf, len, &got, 0);
	if (got >= 0 && *fd < 0)
		*fd = got;
	else if (got >= 0)
		close(got);
	return n;
}

/*
 * Read until c->buf holds a newline; return its offset, or -1 with errno
 * (ECONNRESET on end of file, EMSGSIZE for an over-long line).
 */
static ssize_t read_line(struct base_client *c, int *fd)
{
	size_t scanned = 0;
	for (;;) {
		char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
		if (nl && (size_t)(nl - c->buf) <= RF_PROTO_MAX_LINE)
			return nl - c->buf;
		if (nl || c->len > RF_PROTO_MAX_LINE) {
			errno = EMSGSIZE;
			return -1;
		}
		scanned = c->len;
		if (grow_buffer(c) < 0)
			return -1;
		ssize_t n = recv_fd(c->fd, c->buf + c->len, c->cap - c->len, fd);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		c->len += (size_t)n;
	}
}

/* Parse the line buf[0..end) as one JSON object and drop it from buf. */
static struct json_object *take_answer(struct base_client *c, size_t end)
{
	struct json_object *ans = NULL;
	struct json_tokener *tok = json_tokener_new();
	if (!tok) {
		errno = ENOMEM;
		goto out;
	}
	ans = json_tokener_parse_ex(tok, c->buf, (int)end);
	size_t used = ans ? json_tokener_get_parse_end(tok) : 0;
	while (used < end && (c->buf[used] == ' ' || c->buf[used] == '\t' || c->buf[used] == '\r'))
		used++;
	if (!ans || json_tokener_get_error(tok) != json_tokener_success || used != end ||
	    !json_object_is_type(ans, json_type_object)) {
		json_object_put(ans);
		ans = NULL;
		errno = EBADMSG;
	}
	json_tokener_free(tok);
out:
	memmove(c->buf, c->buf + end + 1, c->len - end - 1);
	c->len -= end + 1;
	return ans;
}

/* An answer with an "id" must carry the id we sent. */
static int check_id(struct json_object *ans, long id)
{
	struct json_object *v;
	if (!json_object_object_get_ex(ans, "id", &v))
		return 0;
	if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) == id)
		return 0;
	errno = EPROTO;
	return -1;
}

struct json_object *base_client_call(struct base_client *c, struct json_object *req)
{
	return base_client_call_fd(c, req, NULL);
}

struct json_object *base_client_call_fd(struct base_client *c, struct json_object *req, int *fd)
{
	if (fd)
		*fd = -1;
	if (c->fd < 0) {
		errno = ENOTCONN;
		return NULL;
	}
	if (!req || !json_object_is_type(req, json_type_object)) {
		errno = EINVAL;
		return NULL;
	}
	long id = c->next_id;
	if (send_request(c, req) < 0)
		return NULL;
	ssize_t end = read_line(c, fd);
	if (end < 0) {
		int err = errno;
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		if (err == EMSGSIZE) /* the stream is out of step for good */
			base_client_close(c);
		errno = err;
		return NULL;
	}
	struct json_object *ans = take_answer(c, (size_t)end);
	if (ans && check_id(ans, id) < 0) {
		json_object_put(ans);
		ans = NULL;
	}
	if (!ans && fd && *fd >= 0) {
		int err = errno;
		close(*fd);
		*fd = -1;
		errno = err;
	}
	return ans;
}

struct json_object *base_client_request(struct base_client *c, const struct base_request *req,
					int *fd)
{
	if (fd)
		*fd = -1;
	struct json_object *o = base_request_encode(req);
	if (!o)
		return NULL;
	struct json_object *ans = base_client_call_fd(c, o, fd);
	int err = errno;
	json_object_put(o);
	errno = err;
	return ans;
}

int base_answer_ok(struct json_object *ans)
{
	struct json_object *v;
	return ans && json_object_object_get_ex(ans, "ok", &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static const char *answer_string(struct json_object *ans, const char *key)
{
	struct json_object *v;
	if (ans && json_object_object_get_ex(ans, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

const char *base_answer_error(struct json_object *ans)
{
	return answer_string(ans, "error");
}

const char *base_answer_message(struct json_object *ans)
{
	return answer_string(ans, "message");
}

struct json_object *base_answer_result(struct json_object *ans)
{
	struct json_object *v;
	if (ans && json_object_object_get_ex(ans, "result", &v))
		return v;
	return NULL;
}
