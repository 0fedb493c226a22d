/*
 * preload.c - before a run, rfload stores every key once (sizes drawn
 * like the run's sets, from their own random stream) so that gets hit and
 * the run measures a warm store, not misses.  Pipelined batches on one
 * blocking connection; any answer but STORED fails the run, since the
 * server is then not the one the experiment expects.
 */
#include "rfload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 256

/* Reads replies until `want` of them came; -1 on anything but STORED. */
static int await_stored(int fd, char *rb, int want)
{
	struct rfload_parse p = { 0 };
	size_t len = 0, used;
	int got = 0;

	while (got < want) {
		ssize_t r = recv(fd, rb + len, RFLOAD_RBUF - len, 0);
		size_t pos = 0;
		enum rfload_reply k;
		if (r <= 0 || len + (size_t)r == RFLOAD_RBUF)
			return -1;
		len += (size_t)r;
		while ((k = rfload_reply_next(&p, rb + pos, len - pos, &used)) != RFLOAD_R_MORE) {
			if (k != RFLOAD_R_STORED)
				return -1;
			pos += used;
			got++;
		}
		memmove(rb, rb + pos, len - pos);
		len -= pos;
	}
	return 0;
}

static int send_all(int fd, const char *b, size_t len)
{
	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int rfload_preload(const struct rfload_opts *o)
{
	const struct rfload_workload *wl = &o->wl;
	struct rfload_rng rng;
	int fd = rfload_connect(o), rc = -1;
	char *buf = malloc(BATCH * rfload_req_max(wl)), *rb = malloc(RFLOAD_RBUF);

	rfload_rng_seed(&rng, o->seed, 0);
	if (fd < 0 || !buf || !rb)
		goto out;
	for (uint32_t k = 0; k < wl->keys; k += BATCH) {
		uint32_t n = wl->keys - k < BATCH ? wl->keys - k : BATCH;
		size_t len = 0;
		for (uint32_t i = 0; i < n; i++)
			len += rfload_req_format(buf + len, RFLOAD_SET, k + i,
						 rfload_value_size(wl, &rng), wl->filler);
		if (send_all(fd, buf, len) < 0 || await_stored(fd, rb, (int)n) < 0)
			goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(rb);
	return rc;
}
