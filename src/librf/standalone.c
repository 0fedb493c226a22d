/*
 * standalone.c - a partition without rfd, for examples and unit tests.
 *
 * librf fabricates what rfd would have given it: a desc, a status and the
 * control rings (on which nobody ever sends) in private shared-anonymous
 * memory, the CPUs of RF_CORES (cpuset list syntax) or of the process's
 * affinity mask, and one region of anonymous, populated memory of RF_MEM
 * bytes (default 64M).  From then on nothing in librf can tell the
 * difference, so the standalone path exercises the same
 * code as a real subOS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "base/units.h"
#include "base/cpuset.h"
#include "ficm/ctlmsg.h"
#include "librf/internal.h"

#define RF_MEM_DEFAULT (64ull << 20)

void *lrf_map_aligned(int fd, uint64_t size);

static int choose_cpus(struct rf_desc *d)
{
	const char *env = getenv("RF_CORES");
	struct base_cpuset want;
	cpu_set_t aff;
	int n = 0;

	if (sched_getaffinity(0, sizeof(aff), &aff) < 0)
		CPU_ZERO(&aff);
	if (env) {
		if (base_cpuset_parse(&want, env) < 0 || base_cpuset_empty(&want)) {
			fprintf(stderr, "librf: RF_CORES=\"%s\" is not a cpu list\n", env);
			return -1;
		}
	} else {
		base_cpuset_zero(&want);
		for (int c = 0; c < RF_MAX_CPUS && c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &aff))
				base_cpuset_set(&want, c);
	}
	for_each_cpu(c, &want) {
		if (c >= CPU_SETSIZE || !CPU_ISSET(c, &aff)) {
			fprintf(stderr, "librf: RF_CORES: cpu %d is not in this process's "
				"affinity mask\n", c);
			return -1;
		}
		d->cpu[c] = RF_CPU_ACTIVE;
		n++;
	}
	d->ncpus = (uint32_t)n;
	return n ? 0 : -1;
}

static int choose_mem(uint64_t *bytes)
{
	const char *env = getenv("RF_MEM");

	*bytes = RF_MEM_DEFAULT;
	if (env && (base_parse_size(env, bytes) < 0 || *bytes == 0)) {
		fprintf(stderr, "librf: RF_MEM=\"%s\" is not a size\n", env);
		return -1;
	}
	*bytes = (*bytes + RF_SEG - 1) & ~(uint64_t)(RF_SEG - 1);
	return 0;
}

/* RF_TSC_HZ: a frequency measured as rfd measures the one it passes in
 * desc.tsc_hz (rfbench's baseline), so the start skips the calibration a
 * subOS skips; 0 (calibrate) without it. */
static uint64_t given_tsc_hz(void)
{
	const char *env = getenv("RF_TSC_HZ");
	char *end;
	unsigned long long v;

	if (!env)
		return 0;
	errno = 0;
	v = strtoull(env, &end, 10);
	if (errno || end == env || *end || v < 1000000ull) {
		fprintf(stderr, "librf: RF_TSC_HZ=\"%s\" is not a frequency; calibrating\n", env);
		return 0;
	}
	return v;
}

/* The optional variables, read and dropped (children we may exec are not
 * part of this partition).  RF_CTL_FD: a socket told the moment the
 * application starts (attach.c), as rfd is, so a start can be timed the
 * same way with and without rfd.  0, or -1 if it names no open fd. */
static int take_optional_env(uint64_t *tsc_hz)
{
	lrf_g.ctl_fd = -1;
	if (getenv(RF_ENV_CTL)) {
		if ((lrf_g.ctl_fd = lrf_env_fd(RF_ENV_CTL, false)) < 0)
			return -1;
		fcntl(lrf_g.ctl_fd, F_SETFD, FD_CLOEXEC);
	}
	*tsc_hz = given_tsc_hz();
	unsetenv(RF_ENV_CTL);
	unsetenv("RF_TSC_HZ");
	return 0;
}

int lrf_attach_standalone(void)
{
	struct rf_desc *d;
	struct rf_status *s;
	void *m;
	uint64_t mem, tsc_hz;
	char *base;

	d = mmap(NULL, RF_DESC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s = mmap(NULL, RF_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	m = mmap(NULL, RF_MSGS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (d == MAP_FAILED || s == MAP_FAILED || m == MAP_FAILED) {
		fprintf(stderr, "librf: standalone: mmap: %s\n", strerror(errno));
		return -1;
	}
	lrf_g.desc = lrf_g.desc_map = d;
	lrf_g.status = lrf_g.status_map = s;
	lrf_g.msgs_map = m;
	if (ficm_ctl_format(m, RF_MSGS_SIZE) < 0 || lrf_link_attach(m, RF_MSGS_SIZE) < 0) {
		fprintf(stderr, "librf: standalone: cannot set up the control rings\n");
		goto fail;
	}
	d->magic = RF_DESC_MAGIC;
	d->abi = RF_DESC_ABI;
	d->gen = 1;
	s->magic = RF_STATUS_MAGIC;
	s->pid = (uint32_t)getpid();
	if (choose_cpus(d) < 0 || choose_mem(&mem) < 0 || take_optional_env(&tsc_hz) < 0)
		goto fail;
	d->mem_bytes = mem;
	d->region[0] = (struct rf_desc_region){ .size = mem, .id = 0, .state = RF_REGION_OFFERED };
	base = lrf_map_aligned(-1, mem);
	if (!base || lrf_region_add(0, base, mem, 0, -1) < 0) {
		fprintf(stderr, "librf: standalone: cannot get %llu bytes of memory\n",
			(unsigned long long)mem);
		goto fail;
	}
	s->region[0] = RF_REGION_MAPPED;
	memcpy(&lrf_g.snap, d, sizeof(*d));
	lrf_g.standalone = true;
	lrf_clock_init(tsc_hz);
	return 0;
fail:
	s->state = RF_SUBOS_FAILED;
	return -1;
}
