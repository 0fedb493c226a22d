/*
 * real.c - librfloop's plumbing: the real libc calls behind the wrappers,
 * settings from the environment, counters, and logging.
 *
 * The real calls are found with dlsym(RTLD_NEXT) once, at load time or at
 * the first wrapped call if another library's constructor calls first.
 *
 * Environment:
 *   RF_SOCKET=PATH        the rfd whose RFloop registry is used (default
 *                         /run/rfd.sock; rfd sets it in every subOS);
 *                         client and server must name the same rfd
 *   RF_LOOP_DISABLE=1     pass every call through (the kernel path)
 *   RF_LOOP_SPIN_US=N     how long a blocking call spins before it sleeps
 *                         (default 20)
 *   RF_LOOP_RING_KB=N     each direction's ring, a power of two, 4 to 16384
 *                         (default 1024: `rfbench rfloop` streams at about
 *                         35 Gb/s with 256 KiB rings and about 100 with
 *                         1 MiB on the 2-core test machines; memory is only
 *                         touched as far as a connection's data reaches)
 *   RF_LOOP_STATS=FILE    append one line of counters to FILE at exit (if
 *                         any is not zero; regions_fresh and
 *                         regions_reused count the connection regions
 *                         made or mapped anew and those taken again,
 *                         pool.c)
 *   RF_LOOP_DEBUG=1       one stderr line per connection event
 */
#define _GNU_SOURCE
#include "rfloop/rfloop.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rfl_real rfl_real;
struct rfl_config rfl_cfg = { .spin_ns = 20000, .ring_size = 1024 << 10 };
_Atomic uint64_t rfl_stats[ST_COUNT];

static const char *const stat_names[ST_COUNT] = {
	[ST_CONNECT_RFLOOP] = "connect_rfloop", [ST_CONNECT_TCP] = "connect_tcp",
	[ST_ACCEPT_RFLOOP] = "accept_rfloop",   [ST_ACCEPT_TCP] = "accept_tcp",
	[ST_LISTEN_RFLOOP] = "listen_rfloop",   [ST_TX_BYTES] = "tx_bytes",
	[ST_RX_BYTES] = "rx_bytes",             [ST_BELLS] = "bells",
	[ST_SLEEPS] = "sleeps",                 [ST_CORRUPT] = "corrupt",
	[ST_REJECTED] = "rejected",             [ST_REGION_FRESH] = "regions_fresh",
	[ST_REGION_REUSED] = "regions_reused",
};

#define FIND(name) rfl_real.name = (__typeof__(rfl_real.name))dlsym(RTLD_NEXT, #name)

void rfl_resolve(void)
{
	FIND(read); FIND(write); FIND(readv); FIND(writev);
	FIND(recv); FIND(send); FIND(recvfrom); FIND(sendto);
	FIND(recvmsg); FIND(sendmsg); FIND(sendfile);
	FIND(connect); FIND(listen); FIND(accept); FIND(accept4);
	FIND(close); FIND(shutdown); FIND(dup); FIND(dup2); FIND(dup3);
	FIND(fcntl); FIND(ioctl);
	FIND(setsockopt); FIND(getsockopt); FIND(getsockname); FIND(getpeername);
	FIND(poll); FIND(select);
	FIND(epoll_ctl); FIND(epoll_wait); FIND(epoll_pwait); FIND(epoll_pwait2);
}

void rfl_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	int saved = errno;
	if (REAL(write)(2, buf, (size_t)n) < 0)
		errno = saved;
	errno = saved;
}

static long env_num(const char *name, long def, long lo, long hi)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi) {
		rfl_log("rfloop: ignoring %s=%s (want %ld..%ld)", name, s, lo, hi);
		return def;
	}
	return v;
}

__attribute__((constructor(101))) static void rfl_init(void)
{
	const char *s;
	if (!rfl_real.read)
		rfl_resolve();
	rfl_cfg.disabled = (s = getenv("RF_LOOP_DISABLE")) && *s && strcmp(s, "0") != 0;
	rfl_cfg.debug = (s = getenv("RF_LOOP_DEBUG")) && *s && strcmp(s, "0") != 0;
	rfl_cfg.spin_ns = (uint64_t)env_num("RF_LOOP_SPIN_US", 20, 0, 10000000) * 1000;
	long kb = env_num("RF_LOOP_RING_KB", 1024, RFL_SIZE_MIN >> 10, RFL_SIZE_MAX >> 10);
	if (!rfl_region_size((uint32_t)kb << 10)) {
		rfl_log("rfloop: RF_LOOP_RING_KB=%ld is not a power of two; using 1024", kb);
		kb = 1024;
	}
	rfl_cfg.ring_size = (uint32_t)kb << 10;
	s = getenv("RF_SOCKET");
	snprintf(rfl_cfg.socket, sizeof(rfl_cfg.socket), "%s", s && *s ? s : "/run/rfd.sock");
	if (s && strlen(s) >= sizeof(rfl_cfg.socket)) {
		rfl_log("rfloop: RF_SOCKET is too long; RFloop is off (kernel TCP)");
		rfl_cfg.disabled = true;
	}
}

__attribute__((destructor)) static void rfl_fini(void)
{
	const char *path = getenv("RF_LOOP_STATS");
	if (!path || !*path)
		return;
	char line[1024], comm[64] = "?";
	bool used = false;
	for (int i = 0; i < ST_COUNT; i++)
		used |= atomic_load(&rfl_stats[i]) != 0;
	if (!used)
		return;   /* a program that never touched a socket says nothing */
	int f = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (f >= 0) {
		ssize_t n = REAL(read)(f, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n ")] = '\0';
		REAL(close)(f);
	}
	int len = snprintf(line, sizeof(line), "pid=%d comm=%s", (int)getpid(), comm);
	for (int i = 0; i < ST_COUNT && len < (int)sizeof(line) - 40; i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, " %s=%llu", stat_names[i],
				(unsigned long long)atomic_load(&rfl_stats[i]));
	line[len++] = '\n';
	f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (f < 0)
		return;
	if (REAL(write)(f, line, (size_t)len) < 0)
		rfl_log("rfloop: cannot write %s", path);
	REAL(close)(f);
}
