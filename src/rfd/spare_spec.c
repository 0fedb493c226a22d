/*
 * spare_spec.c - the message that starts a spare's program (spare_spec.h).
 *
 * Layout: a fixed header, the seccomp program (8-byte aligned), then the
 * strings back to back, each NUL-terminated: hostname, exit path, argv...,
 * envp....  The header carries the counts; decode walks the strings and
 * refuses anything that does not end where the header says.
 */
#define _GNU_SOURCE
#include "rfd/spare_spec.h"

#include <errno.h>
#include <string.h>
#include <linux/filter.h>

#define SPEC_MAGIC 0x52465350u /* "RFSP" */

struct spec_hdr {
	uint32_t magic;
	uint32_t total;           /* bytes of the whole message */
	uint32_t argc, envc;
	uint64_t caps, memlock;
	cpu_set_t mask;
	uint16_t nfilter;
	uint16_t pad;
	int32_t nfds;
};

static size_t filter_bytes(uint16_t n)
{
	return (size_t)n * sizeof(struct sock_filter);
}

/* Append s (with its NUL) at *off: 0, or -1 if it does not fit. */
static int put_str(char *buf, size_t len, size_t *off, const char *s)
{
	size_t n = strlen(s) + 1;
	if (n > len - *off)
		return -1;
	memcpy(buf + *off, s, n);
	*off += n;
	return 0;
}

static int put_strv(char *buf, size_t len, size_t *off, const char *const *v, uint32_t *count)
{
	for (*count = 0; v && v[*count]; (*count)++)
		if (put_str(buf, len, off, v[*count]))
			return -1;
	return 0;
}

ssize_t rfd_spare_spec_encode(const struct rfd_spare_spec *sp, char *buf, size_t len)
{
	struct spec_hdr h = { .magic = SPEC_MAGIC, .caps = sp->caps, .memlock = sp->memlock,
			      .mask = sp->mask, .nfilter = sp->nfilter, .nfds = sp->nfds };
	size_t off = sizeof(h) + filter_bytes(sp->nfilter);
	if (off > len)
		return -E2BIG;
	memcpy(buf + sizeof(h), sp->filter, filter_bytes(sp->nfilter));
	if (put_str(buf, len, &off, sp->hostname) || put_str(buf, len, &off, sp->exit_path) ||
	    put_strv(buf, len, &off, sp->argv, &h.argc) ||
	    put_strv(buf, len, &off, sp->envp, &h.envc))
		return -E2BIG;
	h.total = (uint32_t)off;
	memcpy(buf, &h, sizeof(h));
	return (ssize_t)off;
}

/* The next string at *off, or NULL if none ends before len. */
static const char *take_str(char *buf, size_t len, size_t *off)
{
	char *s = buf + *off, *nul = *off < len ? memchr(s, '\0', len - *off) : NULL;
	if (!nul)
		return NULL;
	*off = (size_t)(nul - buf) + 1;
	return s;
}

int rfd_spare_spec_decode(char *buf, size_t len, struct rfd_spare_spec *out,
			  const char **slots, size_t nslots)
{
	struct spec_hdr h;
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	size_t off = sizeof(h) + filter_bytes(h.nfilter);
	if (h.magic != SPEC_MAGIC || h.total != len || off > len || h.nfilter == 0 ||
	    h.nfds < 2)
		return -EINVAL;
	if ((size_t)h.argc + h.envc + 2 > nslots)
		return -E2BIG;
	*out = (struct rfd_spare_spec){ .caps = h.caps, .memlock = h.memlock, .mask = h.mask,
					.nfilter = h.nfilter, .nfds = h.nfds,
					.filter = (const struct sock_filter *)(buf + sizeof(h)) };
	out->hostname = take_str(buf, len, &off);
	out->exit_path = take_str(buf, len, &off);
	size_t k = 0;
	for (uint32_t i = 0; i < h.argc + h.envc; i++) {
		if (i == h.argc)
			slots[k++] = NULL; /* argv ends */
		if (!(slots[k++] = take_str(buf, len, &off)))
			return -EINVAL;
	}
	if (h.envc == 0)
		slots[k++] = NULL;
	slots[k] = NULL;
	out->argv = slots;
	out->envp = slots + h.argc + 1;
	if (!out->hostname || !out->exit_path || h.argc == 0 || off != len)
		return -EINVAL;
	return 0;
}
