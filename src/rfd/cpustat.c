/*
 * cpustat.c - per-core busy time from /proc/stat for linux subOSes (see
 * cpustat.h).  Reading the file is a procfs read, answered from the
 * kernel's counters without I/O: it never holds rfd's loop for long, and
 * it is done only for a `stats` answer or a /metrics scrape, never on the
 * policy's tick.
 */
#define _GNU_SOURCE
#include "rfd/cpustat.h"
#include "rfd/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/time.h"

/* One "cpuN f1 f2 ..." line into out; -1 if malformed. */
static int cpu_line(const char *l, long hz, struct rfd_cpustat *out)
{
	unsigned long long f[10] = { 0 };
	int cpu, n = 0, used;
	if (sscanf(l, "cpu%d%n", &cpu, &used) != 1 || cpu < 0 || cpu >= RF_MAX_CPUS)
		return -1;
	for (l += used; n < 10 && sscanf(l, " %llu%n", &f[n], &used) == 1; n++)
		l += used;
	if (n < 4 || (n < 10 && *l && *l != '\n')) /* a later field: ignored */
		return -1;
	/* user nice system idle iowait irq softirq steal (guest is in user) */
	unsigned long long busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7], idle = f[3] + f[4];
	uint64_t ns_per_tick = BASE_NS_PER_SEC / (uint64_t)hz;
	out->busy_ns[cpu] = busy * ns_per_tick;
	out->idle_ns[cpu] = idle * ns_per_tick;
	base_cpuset_set(&out->have, cpu);
	return 0;
}

int rfd_cpustat_parse(const char *text, long hz, struct rfd_cpustat *out)
{
	base_cpuset_zero(&out->have);
	if (hz <= 0)
		return -1;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "cpu", 3) || l[3] < '0' || l[3] > '9')
			continue; /* the total "cpu " line, intr, ctxt, ... */
		if (cpu_line(l, hz, out))
			return -1;
	}
	return base_cpuset_empty(&out->have) ? -1 : 0;
}

/* The whole file into a buffer of our own (procfs sizes are not known
 * ahead: read until the end). */
static char *slurp(const char *path, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, len = 0;
	char *buf = fd < 0 ? NULL : malloc(cap), *nb;
	if (!buf)
		goto fail;
	for (;;) {
		if (len + 1 == cap) {
			if (!(nb = realloc(buf, cap *= 2))) {
				errno = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	*err = errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

int rfd_cpustat_read(const char *path, struct rfd_cpustat *out)
{
	int err = 0;
	char *text = slurp(path, &err);
	if (!text)
		return -err;
	int rc = rfd_cpustat_parse(text, sysconf(_SC_CLK_TCK), out);
	free(text);
	return rc ? -EINVAL : 0;
}

const struct rfd_cpustat *rfd_cpustat_now(void)
{
	static struct rfd_cpustat cs;
	static uint64_t at;
	static bool ok, said;
	uint64_t now = base_now_ns();
	if (at && now - at < BASE_NS_PER_MS)
		return ok ? &cs : NULL;
	int rc = rfd_cpustat_read("/proc/stat", &cs);
	at = now;
	ok = rc == 0;
	if (!ok && !said) {
		rfd_log("/proc/stat: %s: linux subOSes get no busy time", strerror(-rc));
		said = true;
	}
	return ok ? &cs : NULL;
}

int rfd_cpustat_track(struct rfd_cpu_base **base, const struct base_cpuset *held,
		      const struct rfd_cpustat *now)
{
	struct rfd_cpu_base *b = *base;
	struct base_cpuset joining;
	if (!b && !(b = *base = calloc(1, sizeof(*b))))
		return -1;
	base_cpuset_follow(&b->have, held, &now->have, &joining);
	for_each_cpu(c, &joining) {
		b->busy_ns[c] = now->busy_ns[c];
		b->idle_ns[c] = now->idle_ns[c];
	}
	return 0;
}

void rfd_cpustat_since(const struct rfd_cpu_base *base, const struct rfd_cpustat *now, int c,
		       uint64_t *busy, uint64_t *idle)
{
	*busy = *idle = 0;
	if (!base || !now || c < 0 || c >= RF_MAX_CPUS || !base_cpuset_has(&base->have, c) ||
	    !base_cpuset_has(&now->have, c))
		return;
	if (now->busy_ns[c] > base->busy_ns[c])
		*busy = now->busy_ns[c] - base->busy_ns[c];
	if (now->idle_ns[c] > base->idle_ns[c])
		*idle = now->idle_ns[c] - base->idle_ns[c];
}
