/*
 * req.c - the listener's checks of an RFloop connection request (req.h),
 * and the rendezvous socket a listener is reached at, in one place for
 * both listeners: librfloop.so's (rendezvous.c, pool.c)
 * and librf's native one (src/librf/loop_listen.c).
 *
 * Plain libc calls: in librfloop.so they reach its own wrappers, which
 * pass descriptors that are not RFloop's (a request's, before it is
 * accepted) straight to the kernel.
 */
#define _GNU_SOURCE
#include "rfloop/req.h"
#include "rfloop/ring.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static bool addr_ok(const struct sockaddr_storage *ss, uint32_t len)
{
	return (ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
	       (ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
}

bool rfl_req_ok(const struct rfl_req *req)
{
	return req->magic == RFL_REQ_MAGIC && req->abi == RFL_ABI &&
	       addr_ok(&req->client, req->client_len) && addr_ok(&req->server, req->server_len);
}

static bool sockopt_is(int fd, int opt, int want)
{
	int v = 0;
	socklen_t len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0 && v == want;
}

bool rfl_is_stream(int fd)
{
	return sockopt_is(fd, SO_TYPE, SOCK_STREAM);
}

bool rfl_is_unix_stream(int fd)
{
	return sockopt_is(fd, SO_DOMAIN, AF_UNIX) && rfl_is_stream(fd);
}

int rfl_make_bell(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (s >= 0 && bind(s, (struct sockaddr *)&un, sizeof(sa_family_t)) == 0)
		return s;
	if (s >= 0)
		close(s);
	return -1;
}

void *rfl_region_map_fd(int memfd, uint32_t size, int mmap_flags)
{
	struct stat st;
	size_t len = rfl_region_size(size);
	int seals = fcntl(memfd, F_GET_SEALS);

	if (!len || seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(memfd, &st) ||
	    !S_ISREG(st.st_mode) || (size_t)st.st_size != len)
		return NULL;
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | mmap_flags, memfd, 0);
	if (mem == MAP_FAILED)
		return NULL;
	if (rfl_region_check(mem, len) != (long)size) {
		munmap(mem, len);
		return NULL;
	}
	return mem;
}
