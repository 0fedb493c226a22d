/*
 * attach.c - joining the partition rfd prepared, and rf_main.
 *
 * rfd starts a libos subOS with its desc (read-only), status (read-write),
 * control rings (read-write, rfdlink.c), control socket and initial memory
 * regions as inherited fds named in the environment (rf/desc.h).
 * Attaching maps them, checks everything it can (rfd is trusted, but a
 * malformed desc must end in a clear message and
 * RF_SUBOS_FAILED, never a crash), and then starts the cores through the
 * same path a later hot-add uses.  Everything here runs once, before the
 * application gets control, and is kept short: a subOS's start-up time is
 * part of the lifecycle benchmark.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "librf/internal.h"
#include "librf/loop.h"
#include "librf/testing.h"

struct rf_sys lrf_g;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "librf: attach: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (lrf_g.status)
		__atomic_store_n(&lrf_g.status->state, RF_SUBOS_FAILED, __ATOMIC_RELEASE);
	lrf_link_reply(RF_REPLY_STATE, RF_SUBOS_FAILED); /* if the rings are up */
	return -1;
}

int lrf_env_fd(const char *name, bool required)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s)
		return required ? fail("%s is not set", name) : -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == 0 || *end || v < 0 || v > 1 << 20 || fcntl((int)v, F_GETFD) < 0)
		return fail("%s=%s is not an open file descriptor", name, s);
	return (int)v;
}

static void reset_globals(void)
{
	memset(&lrf_g, 0, sizeof(lrf_g));
	lrf_g.ctl_fd = -1;
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		lrf_g.region_fd[i] = -1;
	lrf_regions_reset();
	lrf_alloc_reset();
	lrf_loop_reset();
	lrf_reconfig_set_seen(0);
}

/* "id:fd,id:fd": map each onto the desc slot offering that id. */
static int map_env_regions(const struct rf_desc *d, const char *list)
{
	const char *p = list;

	while (p && *p) {
		char *end;
		unsigned long id = strtoul(p, &end, 10);
		long fd;
		int slot = -1;
		if (end == p || *end != ':')
			return fail("RF_REGIONS: bad entry at \"%s\"", p);
		p = end + 1;
		fd = strtol(p, &end, 10);
		if (end == p || (*end && *end != ',') || fd < 0 || fcntl((int)fd, F_GETFD) < 0)
			return fail("RF_REGIONS: bad fd at \"%s\"", p);
		p = *end ? end + 1 : end;
		for (int i = 0; i < RF_MAX_REGIONS && slot < 0; i++)
			if (d->region[i].state == RF_REGION_OFFERED && d->region[i].id == id)
				slot = i;
		if (slot < 0)
			return fail("RF_REGIONS: region id %lu is not offered in the desc", id);
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		if (lrf_region_map_fd(slot, (int)fd, d->region[slot].size, (uint32_t)id) < 0)
			return fail("cannot map region id %lu", id);
	}
	return 0;
}

/* Attach to a desc/status/control rings someone else mapped (rfd's, or a
 * test's; msgs is RF_MSGS_SIZE bytes). */
int lrf_attach_given(const struct rf_desc *desc, struct rf_status *status, void *msgs, int ctl_fd,
		     const char *regions)
{
	char why[160];
	int rc;

	lrf_g.desc = desc;
	lrf_g.status = status;
	lrf_g.ctl_fd = ctl_fd;
	if ((rc = lrf_link_attach(msgs, msgs ? RF_MSGS_SIZE : 0)) < 0)
		return fail("%s: not rfd's control rings (header or geometry do not match "
			    "rf/desc.h: %s)", RF_ENV_MSGS, strerror(-rc));
	if (lrf_desc_read(&lrf_g.snap) < 0)
		return fail("desc seqlock never settles");
	if (lrf_desc_validate(&lrf_g.snap, why, sizeof(why)) < 0)
		return fail("%s", why);
	if (lrf_g.snap.shutdown)
		return fail("desc asks for shutdown before start");
	status->magic = RF_STATUS_MAGIC;
	status->pid = (uint32_t)getpid();
	__atomic_store_n(&status->state, RF_SUBOS_STARTING, __ATOMIC_RELEASE);
	if (ctl_fd >= 0) {
		fcntl(ctl_fd, F_SETFD, FD_CLOEXEC);
		fcntl(ctl_fd, F_SETFL, fcntl(ctl_fd, F_GETFL) | O_NONBLOCK);
	}
	if (regions && map_env_regions(&lrf_g.snap, regions) < 0)
		return -1;
	lrf_clock_init(lrf_g.snap.tsc_hz);
	if (lrf_regions_apply(&lrf_g.snap, rf_now_ns() + 100000000ull) < 0)
		return fail("not every offered region could be mapped");
	if (!rf_mem_total())
		return fail("no memory region");
	return 0;
}

/* The control rings: a memfd of at least RF_MSGS_SIZE bytes (checked
 * before mapping, so a short file cannot fault later). */
static void *map_msgs(void)
{
	struct stat st;
	void *m;
	int fd = lrf_env_fd(RF_ENV_MSGS, true);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		fail("fstat %s: %s", RF_ENV_MSGS, strerror(errno));
		goto out_close;
	}
	if (st.st_size < (off_t)RF_MSGS_SIZE) {
		fail("%s: not rfd's control rings (%lld bytes, want %u)", RF_ENV_MSGS,
		     (long long)st.st_size, RF_MSGS_SIZE);
		goto out_close;
	}
	m = mmap(NULL, RF_MSGS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fail("mmap %s: %s", RF_ENV_MSGS, strerror(errno));
		return NULL;
	}
	lrf_g.msgs_map = m;
	return m;
out_close:
	close(fd);
	return NULL;
}

int lrf_attach_env(void)
{
	int dfd, sfd, cfd;
	void *d, *s, *m;

	reset_globals();
	if ((sfd = lrf_env_fd(RF_ENV_STATUS, true)) < 0)
		return -1;
	s = mmap(NULL, RF_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	if (s == MAP_FAILED)
		return fail("mmap status: %s", strerror(errno));
	lrf_g.status = s;
	lrf_g.status_map = s;
	if ((dfd = lrf_env_fd(RF_ENV_DESC, true)) < 0)
		return -1;
	d = mmap(NULL, RF_DESC_SIZE, PROT_READ, MAP_SHARED, dfd, 0);
	if (d == MAP_FAILED)
		return fail("mmap desc: %s", strerror(errno));
	lrf_g.desc_map = d;
	if (!(m = map_msgs()))
		return -1;
	cfd = lrf_env_fd(RF_ENV_CTL, false);
	if (cfd < -1)
		return -1;
	close(dfd);
	close(sfd);
	if (lrf_attach_given(d, s, m, cfd, getenv(RF_ENV_REGIONS)) < 0)
		return -1;
	/* Children we may exec are not part of this subOS. */
	unsetenv(RF_ENV_DESC);
	unsetenv(RF_ENV_STATUS);
	unsetenv(RF_ENV_MSGS);
	unsetenv(RF_ENV_CTL);
	unsetenv(RF_ENV_REGIONS);
	return 0;
}

/* ---- starting and stopping the cores --------------------------------- */

/* RUNNING, in the status page and as a reply (rfd waits for it), and a
 * byte on the control socket: rfd's event loop can wait on a socket, not
 * on the page or the ring (once per program, never on a hot path). */
static void now_running(void)
{
	__atomic_store_n(&lrf_g.status->state, RF_SUBOS_RUNNING, __ATOMIC_RELEASE);
	lrf_link_reply(RF_REPLY_STATE, RF_SUBOS_RUNNING);
	if (lrf_g.ctl_fd >= 0 && send(lrf_g.ctl_fd, "R", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* rfd still looks at the status page, on a slower tick */
	}
}

static void main_fiber(void *arg)
{
	(void)arg;
	now_running();
	lrf_g.exit_code = lrf_g.app_main(lrf_g.argc, lrf_g.argv);
}

int lrf_start_cores(bool main_thread_is_core0)
{
	const struct rf_desc *d = &lrf_g.snap;
	struct lrf_core *first = NULL;

	lrf_g.pending_gen = d->gen;
	lrf_reconfig_set_seen(d->gen);
	for (int cpu = 0; cpu < RF_MAX_CPUS; cpu++) {
		struct lrf_core *c;
		if (d->cpu[cpu] != RF_CPU_ACTIVE)
			continue;
		if (!(c = lrf_core_create(cpu)))
			return fail("no memory for core structures");
		if (!first)
			first = c;
	}
	if (main_thread_is_core0) {
		struct rf_fiber *f = lrf_fiber_new(NULL, main_fiber, NULL);
		if (!f)
			return fail("no memory for the main fiber");
		f->is_main = 1;
		f->core = first;
		lrf_runq_push(first, f);
		first->is_main_thread = 1;
		/* The main thread is this core's thread: without has_thread the
		 * next reconfiguration would start a second one for it. */
		first->thread = pthread_self();
		first->has_thread = 1;
	} else {
		now_running();
	}
	for (int i = main_thread_is_core0 ? 1 : 0; i < lrf_g.ncores_max; i++)
		if (lrf_core_start_thread(lrf_g.cores[i]) < 0)
			return fail("cannot start core threads");
	if (main_thread_is_core0)
		lrf_core_run_main(first);  /* does not return */
	return 0;
}

_Noreturn void rf_main(int argc, char **argv, int (*app_main)(int, char **))
{
	int r;

	lrf_clock_begin();
	r = getenv(RF_ENV_DESC) ? lrf_attach_env() : lrf_attach_standalone();
	if (r < 0)
		exit(127);
	lrf_g.app_main = app_main;
	lrf_g.argc = argc;
	lrf_g.argv = argv;
	if (lrf_start_cores(true) < 0)
		exit(127);
	abort();
}

/* ---- test harness entry points (librf/testing.h) ---------------------- */

int lrf_test_attach(const struct rf_desc *desc, struct rf_status *status, void *msgs, int ctl_fd,
		    const char *regions)
{
	reset_globals();
	lrf_g.no_exit = true;
	lrf_clock_begin();
	if (lrf_attach_given(desc, status, msgs, ctl_fd, regions) < 0)
		return -1;
	return lrf_start_cores(false);
}

int lrf_test_attach_standalone(void)
{
	reset_globals();
	lrf_clock_begin();
	if (lrf_attach_standalone() < 0)
		return -1;
	lrf_g.no_exit = true;
	return lrf_start_cores(false);
}

void lrf_test_stop(void)
{
	if (!lrf_g.desc)
		return;
	if (!__atomic_load_n(&lrf_g.stopped, __ATOMIC_ACQUIRE))
		lrf_stop_all();
	for (int i = 0; i < lrf_g.ncores_max; i++)
		if (lrf_g.cores[i]->has_thread)
			pthread_join(lrf_g.cores[i]->thread, NULL);
	lrf_regions_reset();
	lrf_alloc_reset();
	lrf_loop_reset();
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		if (lrf_g.region_fd[i] >= 0)
			close(lrf_g.region_fd[i]);
	if (lrf_g.desc_map)
		munmap(lrf_g.desc_map, RF_DESC_SIZE);
	if (lrf_g.status_map)
		munmap(lrf_g.status_map, RF_STATUS_SIZE);
	if (lrf_g.msgs_map)
		munmap(lrf_g.msgs_map, RF_MSGS_SIZE);
	memset(&lrf_g, 0, sizeof(lrf_g));
}
