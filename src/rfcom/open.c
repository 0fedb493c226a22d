/*
 * open.c - RFcom's way to a channel: ask rfd for it by name, receive its
 * memory as a descriptor, map it; and the process's table of open
 * channels and mapped regions.
 *
 * rfd (docs/protocol.md, chan_open) decides from the caller's pid which
 * subOS it runs in, and answers with the channel's geometry and the memfd
 * as SCM_RIGHTS.  rfd is trusted, but the answer is still checked against
 * the descriptor (its real size, its seal against shrinking, ring offsets
 * inside it), and the rings themselves are validated by the FICM attach.
 * The descriptor is closed once mapped: the mapping keeps the memory.
 *
 * Handles are small integers indexing a table guarded by a mutex (taken
 * by open and close only; reads and writes go straight to the handle).
 */
#define _GNU_SOURCE
#include "rfcom/rfcom_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/client.h"
#include "base/err.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rfcom_chan *handles[RFCOM_MAX_HANDLES];
static struct {
	void *addr;
	size_t len;
} maps[RFCOM_MAX_HANDLES];

/* rfd's refusal as a negative errno (the table in base/err.c). */
static int errno_of(const char *code)
{
	return -base_errc_errno(base_errc_parse(code));
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* Ask rfd for channel `name` of kind `kind`.  On success returns a mapping
 * of it, its size in *size and the answer's result in *res (put it). */
static void *ask(const char *name, const char *kind, size_t *size, struct json_object **res,
		 int *err)
{
	struct base_client c;
	struct base_request req;
	struct json_object *ans = NULL, *v;
	struct stat st;
	void *mem = NULL;
	int fd = -1;

	*res = NULL;
	if (!name || !*name || strlen(name) >= 48) {
		*err = -EINVAL;
		return NULL;
	}
	const char *path = getenv("RF_SOCKET");
	if (!path || !*path || base_client_connect(&c, path) < 0) {
		*err = -ECONNREFUSED;
		return NULL;
	}
	base_request_init(&req, RF_VERB_CHAN_OPEN);
	req.name = name; /* the caller's, alive for the call */
	ans = base_client_request(&c, &req, &fd);
	*err = -EPROTO;
	if (!ans)
		goto out;
	if (!base_answer_ok(ans)) {
		*err = errno_of(base_answer_error(ans));
		goto out;
	}
	struct json_object *r = base_answer_result(ans);
	int64_t sz = num(r, "size");
	if (fd < 0 || !r || sz <= 0 || fstat(fd, &st) < 0 || st.st_size < sz ||
	    !(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK) ||
	    !json_object_object_get_ex(r, "kind", &v) || !json_object_is_type(v, json_type_string))
		goto out;
	if (strcmp(json_object_get_string(v), kind) != 0) {
		*err = -EPROTOTYPE;
		goto out;
	}
	mem = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		*err = -errno;
		mem = NULL;
		goto out;
	}
	*size = (size_t)sz;
	*res = json_object_get(r);
	*err = 0;
out:
	if (fd >= 0)
		close(fd);
	json_object_put(ans);
	base_client_close(&c);
	return mem;
}

int rfcom_open(const char *name, int flags)
{
	struct json_object *res;
	size_t size = 0;
	int err, h = -EMFILE;

	if (flags & ~RFCOM_NONBLOCK)
		return -EINVAL;
	void *mem = ask(name, "msg", &size, &res, &err);
	if (!mem)
		return err;
	struct rfcom_chan *ch = calloc(1, sizeof(*ch));
	int64_t slots = num(res, "slots"), tx = num(res, "tx_offset"), rx = num(res, "rx_offset");
	if (!ch) {
		err = -ENOMEM;
		goto fail;
	}
	err = -EPROTO;
	if (slots <= 0 || slots > RF_FICM_SLOTS_MAX || tx < 0 || rx < 0 ||
	    (err = rfcom__attach(ch, mem, size, (uint32_t)slots, (size_t)tx, (size_t)rx, flags)))
		goto fail;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < RFCOM_MAX_HANDLES; i++)
		if (!handles[i]) {
			handles[i] = ch;
			h = i;
			break;
		}
	pthread_mutex_unlock(&lock);
	if (h < 0) { /* leave the channel open: another handle may free up */
		free(ch->asm_.stage);
		err = h;
		goto fail;
	}
	json_object_put(res);
	return h;
fail:
	free(ch);
	munmap(mem, size);
	json_object_put(res);
	return err;
}

static struct rfcom_chan *get(int h)
{
	return h >= 0 && h < RFCOM_MAX_HANDLES ? handles[h] : NULL;
}

int rfcom_close(int h)
{
	pthread_mutex_lock(&lock);
	struct rfcom_chan *ch = get(h);
	if (ch)
		handles[h] = NULL;
	pthread_mutex_unlock(&lock);
	if (!ch)
		return -EBADF;
	rfcom__detach(ch);
	munmap(ch->mem, ch->size);
	free(ch);
	return 0;
}

ssize_t rfcom_read(int h, void *buf, size_t len)
{
	struct rfcom_chan *ch = get(h);
	return ch ? rfcom__read(ch, buf, len) : -EBADF;
}

ssize_t rfcom_write(int h, const void *buf, size_t len)
{
	struct rfcom_chan *ch = get(h);
	return ch ? rfcom__write(ch, buf, len) : -EBADF;
}

int rfcom_set_flags(int h, int flags)
{
	struct rfcom_chan *ch = get(h);
	if (!ch)
		return -EBADF;
	if (flags & ~RFCOM_NONBLOCK)
		return -EINVAL;
	ch->flags = flags;
	return 0;
}

void *rfcom_map(const char *name, size_t *len)
{
	struct json_object *res;
	size_t size = 0;
	int err, slot = -1;

	void *mem = ask(name, "map", &size, &res, &err);
	json_object_put(res);
	if (!mem) {
		errno = -err;
		return NULL;
	}
	pthread_mutex_lock(&lock);
	for (int i = 0; i < RFCOM_MAX_HANDLES && slot < 0; i++)
		if (!maps[i].addr) {
			maps[i].addr = mem;
			maps[i].len = size;
			slot = i;
		}
	pthread_mutex_unlock(&lock);
	if (slot < 0) {
		munmap(mem, size);
		errno = EMFILE;
		return NULL;
	}
	if (len)
		*len = size;
	return mem;
}

int rfcom_unmap(void *addr)
{
	size_t len = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; addr && i < RFCOM_MAX_HANDLES && !len; i++)
		if (maps[i].addr == addr) {
			len = maps[i].len;
			maps[i].addr = NULL;
		}
	pthread_mutex_unlock(&lock);
	if (!len)
		return -EINVAL;
	munmap(addr, len);
	return 0;
}
