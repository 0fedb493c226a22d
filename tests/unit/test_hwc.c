/*
 * test_hwc.c - per-subOS performance counters (src/rfd/hwc.c): the
 * baselines (a core counts from when the subOS was first seen with it, a
 * core it gave up is forgotten and starts again, a core nobody could read
 * counts nothing), and the real counters of this host: an event either
 * reads and never goes backwards, or is refused with a reason that
 * `info` reports (hardware counters are missing on many VMs; the
 * kernel's software counts are everywhere perf_event_open is allowed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rfd/hwc.h"

static struct rfd_hwc_now now;

static void at(int c, uint64_t cycles, uint64_t cs)
{
	base_cpuset_set(&now.have, c);
	now.v[RFD_HWC_CYCLES][c] = cycles;
	now.v[RFD_HWC_CSWITCHES][c] = cs;
}

static void test_baselines(void **state)
{
	struct rfd_hwc_base *b = NULL;
	struct base_cpuset held;
	(void)state;
	memset(&now, 0, sizeof(now));
	base_cpuset_zero(&held);
	base_cpuset_set(&held, 1);
	at(1, 1000, 10);
	assert_int_equal(rfd_hwc_track(&b, &held, &now), 0);
	assert_true(rfd_hwc_since(b, &now, RFD_HWC_CYCLES) == 0); /* counts from now */
	at(1, 1500, 13);
	assert_true(rfd_hwc_since(b, &now, RFD_HWC_CYCLES) == 500);
	assert_true(rfd_hwc_since(b, &now, RFD_HWC_CSWITCHES) == 3);
	/* a second core joins: its counts start when it is first seen */
	base_cpuset_set(&held, 2);
	at(2, 7000, 70);
	assert_int_equal(rfd_hwc_track(&b, &held, &now), 0);
	at(2, 7100, 71);
	assert_true(rfd_hwc_since(b, &now, RFD_HWC_CYCLES) == 600);
	/* core 1 leaves: forgotten; if it comes back, it starts again */
	base_cpuset_clr(&held, 1);
	assert_int_equal(rfd_hwc_track(&b, &held, &now), 0);
	assert_true(rfd_hwc_since(b, &now, RFD_HWC_CYCLES) == 100);
	base_cpuset_set(&held, 1);
	at(1, 9000, 20);
	assert_int_equal(rfd_hwc_track(&b, &held, &now), 0);
	assert_true(rfd_hwc_since(b, &now, RFD_HWC_CYCLES) == 100);
	/* a core whose counters could not be read counts nothing */
	base_cpuset_set(&held, 5);
	assert_int_equal(rfd_hwc_track(&b, &held, &now), 0);
	assert_false(base_cpuset_has(&b->have, 5));
	assert_true(rfd_hwc_since(b, &now, RFD_HWC_CSWITCHES) == 1);
	assert_true(rfd_hwc_since(NULL, &now, RFD_HWC_CYCLES) == 0);
	free(b);
}

static void test_this_host(void **state)
{
	struct base_cpuset cpu0;
	uint64_t first[RFD_HWC_N];
	bool ok[RFD_HWC_N];
	(void)state;
	base_cpuset_zero(&cpu0);
	base_cpuset_set(&cpu0, 0);
	const struct rfd_hwc_now *n = rfd_hwc_read(&cpu0);
	for (int e = 0; e < RFD_HWC_N; e++) {
		ok[e] = n && n->ok[e];
		first[e] = ok[e] ? n->v[e][0] : 0;
	}
	n = rfd_hwc_read(&cpu0);
	struct json_object *info = rfd_hwc_info_json(), *no, *why;
	assert_true(json_object_object_get_ex(info, "unavailable", &no));
	for (int e = 0; e < RFD_HWC_N; e++) {
		const char *name = rfd_hwc_name((enum rfd_hwc_event)e);
		if (ok[e]) {
			assert_non_null(n);
			assert_true(n->v[e][0] >= first[e]);
			assert_false(json_object_object_get_ex(no, name, &why));
		} else {
			assert_true(json_object_object_get_ex(no, name, &why));
			assert_true(strlen(json_object_get_string(why)) > 0);
		}
		printf("hwc %s: %s\n", name, ok[e] ? "counted" : json_object_get_string(why));
	}
	json_object_put(info);
	rfd_hwc_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baselines),
		cmocka_unit_test(test_this_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
