/*
 * libos.c - rfd's half of the librf handshakes (see include/rf/desc.h).
 *
 * rfd writes the description under a seqlock, sends a command on the
 * control ring (libos_msg.c) and then rings each core's doorbell; librf
 * applies the change and sends its acknowledgement on the reply ring.  rfd
 * polls the reply ring for a few microseconds (a busy subOS answers within
 * a scheduler loop) before sleeping on the ring's futex, so the common
 * case costs no kernel wake-up on either side.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/libos.h"
#include "rfd/spare.h"
#include "rfd/subos.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "base/fdpass.h"
#include "base/units.h"

#define SPIN_NS 100000ull /* poll the reply ring this long before sleeping */
#define SLEEP_NS 500000ull /* or, where rfd cannot spin, sleep on it this long */

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/*
 * A shared page rfd writes through the mapping returned.  The size never
 * changes (librf may rely on it) and nobody adds a seal later (SEAL: a
 * subOS could otherwise stop a restarted rfd mapping its status page or
 * rings).  read_only: the subOS must only read it: F_SEAL_FUTURE_WRITE,
 * added after rfd's own writable mapping exists, refuses every new
 * writable shared mapping, mprotect to write, write(2), for every holder of
 * the memfd, root included (an O_RDONLY reopen would not do: the subOS
 * could reopen /proc/self/fd/N read-write).  The first `populate` bytes
 * are faulted in now (rfd's handshakes must not fault); the rest (the
 * status mapping's stats slots, one page per CPU) only when a core of the
 * subOS touches its own slot, so a CPU it never ran on costs nothing.
 */
static void *map_memfd(const char *name, size_t size, size_t populate, bool read_only,
		       int *fd_out)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	if (read_only)
		seals |= F_SEAL_FUTURE_WRITE;
	void *m = MAP_FAILED;
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)size) == 0)
		m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED)
		memset(m, 0, populate); /* a new memfd reads as zeros: this only faults */
	if (m != MAP_FAILED && fcntl(fd, F_ADD_SEALS, seals) < 0) {
		munmap(m, size);
		m = MAP_FAILED;
	}
	if (m == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	*fd_out = fd;
	return m;
}

struct rf_desc *rfd_libos_new_desc(int *fd)
{
	return map_memfd("rf-desc", RF_DESC_SIZE, RF_DESC_SIZE, true, fd);
}

int rfd_libos_setup(struct rfd *d, struct rfd_subos *s, struct base_err *err)
{
	int sv[2];
	/* a spare's, made before its shim was forked (spare.h), else a new one */
	s->desc = s->spare ? rfd_spare_take_desc(s->spare, &s->desc_fd) : NULL;
	if (!s->desc)
		s->desc = rfd_libos_new_desc(&s->desc_fd);
	s->status = map_memfd("rf-status", RF_STATUS_SIZE, RF_STATS_OFF, false, &s->status_fd);
	s->msgs = map_memfd("rf-msgs", RF_MSGS_SIZE, RF_MSGS_SIZE, false, &s->msgs_fd);
	if (!s->desc || !s->status || !s->msgs || rfd_libos_msgs_attach(s, true) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		base_errf(err, BASE_E_INTERNAL, "cannot create the description of \"%s\": %s",
			  s->name, strerror(errno));
		rfd_libos_teardown(s);
		return -1;
	}
	s->ctl_fd = sv[0];
	s->ctl_peer_fd = sv[1];
	struct rf_desc *desc = s->desc;
	desc->magic = RF_DESC_MAGIC;
	desc->abi = RF_DESC_ABI;
	snprintf(desc->name, sizeof(desc->name), "%s", s->name);
	desc->tsc_hz = d->tsc_hz;
	desc->deadline_ns = d->deadline_ns;
	desc->gen = 1;
	s->sent_gen = 1;
	return 0;
}

void rfd_libos_teardown(struct rfd_subos *s)
{
	rfd_libos_desc_drop(s);
	if (s->status)
		munmap(s->status, RF_STATUS_SIZE);
	s->status = NULL;
	rfd_libos_msgs_close(s);
	int *fds[] = { &s->desc_fd, &s->status_fd, &s->ctl_fd, &s->ctl_peer_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

void rfd_desc_begin(struct rfd_subos *s)
{
	atomic_fetch_add_explicit((_Atomic uint32_t *)&s->desc->seq, 1, memory_order_acq_rel);
	atomic_thread_fence(memory_order_seq_cst);
	rfd_libos_desc_push(s, false);
}

uint32_t rfd_desc_end(struct rfd_subos *s, enum rf_ctl_type cmd)
{
	atomic_thread_fence(memory_order_seq_cst);
	atomic_fetch_add_explicit((_Atomic uint32_t *)&s->desc->seq, 1, memory_order_acq_rel);
	uint32_t gen = atomic_fetch_add_explicit((_Atomic uint32_t *)&s->desc->gen, 1,
						 memory_order_seq_cst) + 1;
	rfd_libos_desc_push(s, true);
	/* After the desc: librf reads it when the command arrives. */
	rfd_libos_send(s, cmd, gen);
	return gen;
}

/* Wake every core of the subOS that sleeps: the new ones and the leaving
 * ones included, since any of them may apply the change.  A paused subOS
 * (it holds no CPU) has only parked cores, which hold its work: they apply
 * a resume or a shutdown (librf core.c, hold_paused), so they are rung. */
void rfd_libos_ring(struct rfd_subos *s)
{
	bool paused = base_cpuset_empty(&s->cpus);
	for (int c = 0; c < RF_MAX_CPUS; c++) {
		_Atomic uint32_t *state = (_Atomic uint32_t *)&s->status->core[c].state;
		bool parked = paused && atomic_load_explicit(state, memory_order_acquire) ==
						RF_CORE_PARKED;
		if (s->desc->cpu[c] == RF_CPU_NONE && !parked)
			continue;
		struct rf_status_core *sc = &s->status->core[c];
		atomic_fetch_add_explicit((_Atomic uint32_t *)&sc->doorbell, 1, memory_order_seq_cst);
		/* A parked thread (a core given back) sleeps on its doorbell
		 * without setting `sleeping`: wake it too. */
		if (atomic_load_explicit((_Atomic uint32_t *)&sc->sleeping, memory_order_seq_cst) ||
		    atomic_load_explicit((_Atomic uint32_t *)&sc->state, memory_order_acquire) !=
			    RF_CORE_RUNNING)
			futex(&sc->doorbell, FUTEX_WAKE, 1, NULL);
	}
}

static bool alive(struct rfd_subos *s)
{
	struct pollfd p = { .fd = s->pidfd, .events = POLLIN };
	/* No pidfd: pidfd_open failed, typically because the program had
	 * already ended and been reaped by its shim (/bin/true as a libos
	 * program); then it must not count as alive until the timeout. */
	if (s->pidfd < 0)
		return s->pid > 0 && kill(s->pid, 0) == 0;
	return poll(&p, 1, 0) == 0;
}

/* Spinning saves a kernel wake-up (about 20-40 us on a VM) but pays only
 * when rfd does not sit on a core whose librf thread must act on this
 * change (a new core's thread, a leaving one's): there the spin would take
 * the very time slice that thread needs.  On a dedicated host core this
 * always spins. */
/*
 * Before publishing a change: if rfd sits on one of the subOS's CPUs, move
 * it, preferably to a CPU outside the subOS, else to one whose librf thread
 * need not act on this change (`acting`: the cores being added or taken).
 * Moving before publishing matters: rfd then spins at real-time priority on
 * a thread that has not yet seen the change, so it cannot be holding
 * librf's reconfiguration lock, and the acting thread finds its own CPU
 * free.  Where no such CPU exists rfd does not spin but sleeps on the
 * reply ring's futex, for up to SLEEP_NS: the acting thread gets rfd's CPU
 * at once and its acknowledgement wakes rfd directly (on a tick of the
 * loop, it would be seen up to a tick late).
 */
void rfd_libos_step_aside(struct rfd_subos *s, const struct base_cpuset *acting,
			  struct rfd_aside *a)
{
	struct base_cpuset mine = s->cpus;
	cpu_set_t outside, idle;
	int cpu = sched_getcpu();

	a->moved = false;
	a->spin = 0;
	a->sleep = SLEEP_NS; /* where it cannot spin */
	base_cpuset_or(&mine, acting);
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return;
	if (!base_cpuset_has(&mine, cpu)) {
		a->spin = SPIN_NS;
		return;
	}
	if (sched_getaffinity(0, sizeof(a->saved), &a->saved))
		return;
	outside = idle = a->saved;
	for (int c = 0; c < CPU_SETSIZE && c < RF_MAX_CPUS; c++) {
		if (base_cpuset_has(&mine, c))
			CPU_CLR(c, &outside);
		if (base_cpuset_has(acting, c))
			CPU_CLR(c, &idle);
	}
	cpu_set_t *to = CPU_COUNT(&outside) ? &outside : CPU_COUNT(&idle) ? &idle : NULL;
	if (!to || sched_setaffinity(0, sizeof(*to), to))
		return;
	a->moved = true;
	a->spin = SPIN_NS;
}

/* Generic wait: until cond(s, arg) holds, the subOS dies, or timeout.
 * Every reply on the ring wakes it; it polls the ring for the first `spin`
 * ns (the budget step_aside granted, spent once), then sleeps on the
 * ring's futex for at most a millisecond at a time to re-check liveness. */
static int wait_for(struct rfd_subos *s, bool (*cond)(struct rfd_subos *, uint32_t), uint32_t arg,
		    uint64_t timeout_ns, uint64_t spin)
{
	uint64_t start = base_now_ns(), now = start;
	rfd_libos_take_replies(s);
	for (;;) {
		if (cond(s, arg))
			return 0;
		if (!alive(s))
			return -ESRCH;
		now = base_now_ns();
		if (now - start >= timeout_ns)
			return -ETIMEDOUT;
		uint64_t left = timeout_ns - (now - start);
		uint64_t spin_left = spin > now - start ? spin - (now - start) : 0;
		if (left > 1000000 + spin_left)
			left = 1000000 + spin_left; /* re-check liveness every millisecond */
		rfd_libos_wait_reply(s, spin_left, left);
	}
}

static bool applied(struct rfd_subos *s, uint32_t gen)
{
	return (int32_t)(s->acked_gen - gen) >= 0;
}

int rfd_libos_kick_and_spin(struct rfd_subos *s, uint32_t gen, const struct rfd_aside *a)
{
	uint64_t spin = a ? a->spin : 0, sleep = a ? a->sleep : 0;
	rfd_libos_ring(s);
	int rc = wait_for(s, applied, gen, spin + sleep, spin);
	return rc == -ETIMEDOUT ? -EAGAIN : rc;
}

void rfd_libos_step_back(struct rfd_aside *a)
{
	if (a->moved)
		sched_setaffinity(0, sizeof(a->saved), &a->saved);
	a->moved = false;
}

int rfd_libos_acked(struct rfd_subos *s, uint32_t gen)
{
	rfd_libos_take_replies(s);
	if (applied(s, gen))
		return 0;
	return alive(s) ? -EAGAIN : -ESRCH;
}

int rfd_libos_send_region(struct rfd_subos *s, int slot, int fd)
{
	struct rf_ctl_msg m = {
		.magic = RF_DESC_MAGIC, .type = RF_CTL_REGION, .region = (uint32_t)slot,
		.id = s->desc->region[slot].id, .size = s->desc->region[slot].size,
	};
	return base_send_fd(s->ctl_fd, &m, sizeof(m), fd, MSG_DONTWAIT) == sizeof(m) ? 0 : -errno;
}

int rfd_libos_attached(struct rfd_subos *s)
{
	char buf[16];
	/* librf's wake-up byte (attach.c): taken, so the socket goes quiet */
	while (s->ctl_fd >= 0 && recv(s->ctl_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	rfd_libos_take_replies(s);
	uint32_t st = atomic_load((_Atomic uint32_t *)&s->status->state);
	/* EXITING comes only after RUNNING: a program quick to finish (it may
	 * talk to rfd meanwhile) attached all the same, and its end is an
	 * exit like any other. */
	if (st == RF_SUBOS_RUNNING || st == RF_SUBOS_EXITING)
		return 0;
	return st == RF_SUBOS_FAILED || !alive(s) ? -ESRCH : -EAGAIN;
}
