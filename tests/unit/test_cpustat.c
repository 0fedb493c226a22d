/*
 * test_cpustat.c - a linux subOS's per-core busy time (src/rfd/cpustat.c):
 * /proc/stat's per-CPU lines parsed (busy = user nice system irq softirq
 * steal, idle = idle iowait, ticks to ns; the total line and other keys
 * skipped; old kernels' four fields), malformed text and a missing file
 * refused, and the baselines: a core counts from when the subOS was first
 * seen with it, a core it gave up is forgotten and starts again.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "rfd/cpustat.h"

static const char stat1[] =
	"cpu  100 0 50 1000 10 0 0 0 0 0\n"
	"cpu0 10 1 2 300 4 5 6 7 100 0\n"
	"cpu1 20 0 10 700 6 0 0 0 0 0\n"
	"intr 12345 0 0\n"
	"ctxt 999\n"
	"btime 1700000000\n";

static void test_parse(void **state)
{
	static struct rfd_cpustat cs;
	assert_int_equal(rfd_cpustat_parse(stat1, 100, &cs), 0);
	assert_int_equal(base_cpuset_count(&cs.have), 2);
	/* 10+1+2+5+6+7 = 31 ticks of 10 ms */
	assert_true(cs.busy_ns[0] == 310000000ull);
	assert_true(cs.idle_ns[0] == 3040000000ull);
	assert_true(cs.busy_ns[1] == 300000000ull);
	assert_true(cs.idle_ns[1] == 7060000000ull);
	assert_int_equal(rfd_cpustat_parse("cpu3 1 2 3 4\n", 100, &cs), 0); /* an old kernel */
	assert_true(base_cpuset_has(&cs.have, 3) && cs.busy_ns[3] == 60000000ull);
}

static void test_parse_bad(void **state)
{
	static struct rfd_cpustat cs;
	assert_int_equal(rfd_cpustat_parse("cpu  1 2 3 4\nintr 5\n", 100, &cs), -1); /* no cpuN */
	assert_int_equal(rfd_cpustat_parse("cpu0 1 2 x 4\n", 100, &cs), -1);
	assert_int_equal(rfd_cpustat_parse("cpu0 1 2\n", 100, &cs), -1);
	assert_int_equal(rfd_cpustat_parse("cpu99999 1 2 3 4\n", 100, &cs), -1);
	assert_int_equal(rfd_cpustat_parse(stat1, 0, &cs), -1);
	assert_int_equal(rfd_cpustat_read("/nonexistent/stat", &cs), -ENOENT);
	char path[] = "/tmp/test_cpustat.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage\n", 8), 8);
	close(fd);
	assert_int_equal(rfd_cpustat_read(path, &cs), -EINVAL);
	unlink(path);
	assert_int_equal(rfd_cpustat_read("/proc/stat", &cs), 0); /* the real one */
	assert_true(base_cpuset_count(&cs.have) >= 1);
}

static void test_baselines(void **state)
{
	static struct rfd_cpustat now;
	struct rfd_cpu_base *base = NULL;
	struct base_cpuset held;
	uint64_t busy, idle;
	assert_int_equal(rfd_cpustat_parse(stat1, 100, &now), 0);
	base_cpuset_zero(&held);
	base_cpuset_set(&held, 1);
	assert_int_equal(rfd_cpustat_track(&base, &held, &now), 0);
	rfd_cpustat_since(base, &now, 1, &busy, &idle);
	assert_true(busy == 0 && idle == 0); /* from the first sight */
	now.busy_ns[1] += 5000;
	now.idle_ns[1] += 7000;
	rfd_cpustat_since(base, &now, 1, &busy, &idle);
	assert_true(busy == 5000 && idle == 7000);
	rfd_cpustat_since(base, &now, 0, &busy, &idle);
	assert_true(busy == 0 && idle == 0); /* not held */
	base_cpuset_zero(&held); /* cpu 1 given up, then back: counts anew */
	assert_int_equal(rfd_cpustat_track(&base, &held, &now), 0);
	now.busy_ns[1] += 1000;
	base_cpuset_set(&held, 1);
	assert_int_equal(rfd_cpustat_track(&base, &held, &now), 0);
	rfd_cpustat_since(base, &now, 1, &busy, &idle);
	assert_true(busy == 0);
	rfd_cpustat_since(NULL, &now, 1, &busy, &idle);
	assert_true(busy == 0 && idle == 0);
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_baselines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
