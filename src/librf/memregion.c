/*
 * memregion.c - bringing memory regions in and giving them back.
 *
 * rfd hands memory over as already-populated memfds (faulting fresh memory
 * is slow and noisy here), either inherited at start (RF_REGIONS) or sent
 * later on the control socket, one struct rf_ctl_msg plus one SCM_RIGHTS fd
 * per region.  A region is mapped 2 MiB aligned (the allocator finds span
 * headers by masking pointers, see pageheap.c) with MAP_POPULATE and
 * MAP_LOCKED so the hot path never faults.  Giving memory back is only
 * possible when nothing in the region is allocated; otherwise the region is
 * reported BUSY and rfd decides what to do.  All of this runs on the core
 * applying a generation, never on a hot path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "librf/internal.h"
#include "base/fdpass.h"

/* Map fd (or anonymous memory if fd < 0) at a 2 MiB aligned address. */
void *lrf_map_aligned(int fd, uint64_t size)
{
	static int warned;
	size_t span = size + RF_SEG;
	char *res, *base, *p;
	int flags = MAP_FIXED | MAP_POPULATE | MAP_LOCKED |
		    (fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED);

	res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return NULL;
	base = (char *)(((uintptr_t)res + RF_SEG - 1) & ~(uintptr_t)(RF_SEG - 1));
	p = mmap(base, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p == MAP_FAILED && (errno == EAGAIN || errno == EPERM || errno == ENOMEM)) {
		if (!warned++)
			fprintf(stderr, "librf: cannot lock memory (%s); continuing unlocked\n",
				strerror(errno));
		p = mmap(base, size, PROT_READ | PROT_WRITE, flags & ~MAP_LOCKED, fd, 0);
	}
	if (p == MAP_FAILED) {
		munmap(res, span);
		return NULL;
	}
	if (base > res)
		munmap(res, (size_t)(base - res));
	if (res + span > base + size)
		munmap(base + size, (size_t)(res + span - (base + size)));
	return base;
}

int lrf_region_map_fd(int slot, int fd, uint64_t size, uint32_t id)
{
	struct stat sb;
	char *base;

	if (fd >= 0 && (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size < size)) {
		fprintf(stderr, "librf: region %d (id %u): fd %d is not %llu bytes\n", slot,
			id, fd, (unsigned long long)size);
		return -1;
	}
	base = lrf_map_aligned(fd, size);
	if (!base) {
		fprintf(stderr, "librf: region %d (id %u): mmap: %s\n", slot, id, strerror(errno));
		return -1;
	}
	if (lrf_region_add(slot, base, size, id, fd) < 0) {
		fprintf(stderr, "librf: region %d (id %u): unusable layout\n", slot, id);
		munmap(base, size);
		return -1;
	}
	__atomic_store_n(&lrf_g.status->region[slot], RF_REGION_MAPPED, __ATOMIC_RELEASE);
	return 0;
}

/* One message from the control socket, if any.  Returns 1, 0 (nothing
 * there) or -1 (socket gone). */
static int ctl_recv_one(void)
{
	struct rf_ctl_msg msg;
	int fd;
	ssize_t n = base_recv_fd(lrf_g.ctl_fd, &msg, sizeof(msg), &fd, MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	if (n != sizeof(msg) || msg.magic != RF_DESC_MAGIC || msg.type != RF_CTL_REGION ||
	    msg.region >= RF_MAX_REGIONS || fd < 0) {
		fprintf(stderr, "librf: ignoring a malformed control message\n");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (lrf_g.region_fd[msg.region] >= 0)
		close(lrf_g.region_fd[msg.region]);
	lrf_g.region_fd[msg.region] = fd;
	return 1;
}

static bool waiting_for_fds(const struct rf_desc *d)
{
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		if (d->region[i].state == RF_REGION_OFFERED && !lrf_regions[i].base &&
		    lrf_g.region_fd[i] < 0)
			return true;
	return false;
}

static void receive_fds(const struct rf_desc *d, uint64_t deadline)
{
	while (lrf_g.ctl_fd >= 0 && waiting_for_fds(d)) {
		struct pollfd p = { lrf_g.ctl_fd, POLLIN, 0 };
		uint64_t now = rf_now_ns();
		int r;
		if (now >= deadline)
			break;
		while ((r = ctl_recv_one()) > 0)
			;
		if (r < 0)
			break;
		if (waiting_for_fds(d))
			poll(&p, 1, (int)((deadline - now) / 1000000 + 1));
	}
}

/* Wait (bounded) until every running core has trimmed its caches for this
 * generation, so empty slabs do not make a region look busy.  2 ms, or
 * 50 ms when the application registered reclaim hooks: they walk its own
 * data to free what lies in the leaving regions. */
static void wait_trims(uint32_t gen)
{
	uint64_t wait = __atomic_load_n(&lrf_g.nreclaim_hooks, __ATOMIC_ACQUIRE) ? 50000000 : 2000000;
	uint64_t until = rf_now_ns() + wait;

	if (lrf_self())
		lrf_reconfig_trim(lrf_self(), gen);
	for (int i = 0; i < rf_ncores_max(); i++) {
		struct lrf_core *c = lrf_g.cores[i];
		while (__atomic_load_n(&c->running, __ATOMIC_ACQUIRE) && c != lrf_self() &&
		       __atomic_load_n(&c->trim_gen, __ATOMIC_ACQUIRE) != gen &&
		       rf_now_ns() < until)
			base_cpu_relax();
	}
}

static void reclaim(int slot, const struct rf_desc *d, bool *trimmed)
{
	struct lrf_region *r = &lrf_regions[slot];
	uint32_t *st = &lrf_g.status->region[slot];

	if (!r->base)
		return;
	if (!*trimmed) {
		wait_trims(d->gen);
		*trimmed = true;
	}
	if (lrf_region_reclaim(slot) < 0) {
		__atomic_store_n(st, RF_REGION_BUSY, __ATOMIC_RELEASE);
		return;
	}
	munmap(r->base, r->size);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	__atomic_store_n(st, RF_REGION_RETURNED, __ATOMIC_RELEASE);
}

bool rf_mem_reclaiming(const void *p)
{
	const char *q = p;

	for (int i = 0; i < RF_MAX_REGIONS; i++) {
		const struct lrf_region *r = &lrf_regions[i];
		if (r->base && q >= r->base && q < r->base + r->size)
			return __atomic_load_n(&lrf_g.desc->region[i].state, __ATOMIC_RELAXED) ==
			       RF_REGION_RECLAIM;
	}
	return false;
}

int lrf_regions_apply(const struct rf_desc *d, uint64_t deadline)
{
	bool trimmed = false;
	int failed = 0;

	receive_fds(d, deadline);
	for (int i = 0; i < RF_MAX_REGIONS; i++) {
		const struct rf_desc_region *g = &d->region[i];
		if (g->state == RF_REGION_OFFERED && !lrf_regions[i].base) {
			int fd = lrf_g.region_fd[i];
			if (fd < 0) {
				fprintf(stderr, "librf: region %d offered but no fd arrived\n", i);
				failed++;
				continue;
			}
			lrf_g.region_fd[i] = -1;
			if (lrf_region_map_fd(i, fd, g->size, g->id) < 0) {
				close(fd);
				failed++;
			}
		} else if (g->state == RF_REGION_RECLAIM) {
			reclaim(i, d, &trimmed);
		}
	}
	return failed ? -1 : 0;
}
