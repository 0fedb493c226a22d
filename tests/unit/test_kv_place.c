/*
 * test_kv_place.c - rfkv's placement (apps/rfkv/place.c): the starvation
 * rule on synthetic signals (a floor, a ratio to the best core, slow
 * recovery, a relapse by a single slow wake), and on two cores that a core judged starved gives
 * its shards away with the two-step hand-off while requests from it are
 * still served, that with every core starved all serve again, and that
 * the shards spread back once it recovers.
 */
#include "kv_helpers.h"

#define US 1000ull
#define MS (1000ull * 1000)

static void test_judge(void **state)
{
	uint64_t calm = 0, t = 1000 * MS;

	(void)state;
	assert_false(kv_place_judge(false, 30 * US, 30 * US, 1 * US, t, &calm)); /* floor */
	assert_false(kv_place_judge(false, 100 * US, 100 * US, 50 * US, t, &calm)); /* all slow */
	assert_true(kv_place_judge(false, 100 * US, 100 * US, 1 * US, t, &calm));
	/* Calm again: starved until it has stayed calm for a while. */
	assert_true(kv_place_judge(true, 5 * US, 5 * US, 1 * US, t, &calm));
	assert_true(kv_place_judge(true, 5 * US, 5 * US, 1 * US, t + 100 * MS, &calm));
	/* One slow wake among calm ones (median calm) restarts the clock. */
	assert_true(kv_place_judge(true, 0, 30 * US, 1 * US, t + 200 * MS, &calm));
	assert_true(kv_place_judge(true, 5 * US, 5 * US, 1 * US, t + 300 * MS, &calm));
	assert_true(kv_place_judge(true, 5 * US, 5 * US, 1 * US, t + 500 * MS, &calm));
	assert_false(kv_place_judge(true, 5 * US, 5 * US, 1 * US, t + 700 * MS, &calm));
}

/* How many shards core 0 owns once none is in transit and ok(it) holds
 * (hand-offs run asynchronously), or -1 after two seconds. */
static int settle(bool (*ok)(int on0))
{
	for (int tries = 0; tries < 2000; tries++) {
		int on0 = 0, moving = 0;
		for (int s = 0; s < kv_nshards(); s++) {
			int o = kv_shard_owner(s);
			moving += o < 0;
			on0 += o == 0;
		}
		if (!moving && ok(on0))
			return on0;
		rf_sleep_ns(MS);
	}
	return -1;
}

static bool all_on_0(int on0)
{
	return on0 == kv_nshards();
}

static bool spread(int on0)
{
	return on0 > 0 && on0 < kv_nshards();
}

static void wait_settled(void *arg)
{
	(void)arg;
	CHECK(settle(all_on_0) >= 0);
}

static void write_keys(void *arg)
{
	char k[16], v[16];

	(void)arg;
	for (int i = 0; i < 200; i++) {
		struct kv_req r = { .op = KV_SET, .key = k, .data = v };
		r.nkey = (size_t)snprintf(k, sizeof(k), "p%d", i);
		r.nbytes = (uint32_t)snprintf(v, sizeof(v), "%d\r\n", i);
		kv_run(&r);
		CHECK(r.res == KV_STORED);
	}
}

static void read_keys(void *arg)
{
	struct kv_out o = { 0 };
	char k[16];

	(void)arg;
	for (int i = 0; i < 200; i++) {
		struct kv_req r = { .op = KV_GET, .key = k, .out = &o };
		r.nkey = (size_t)snprintf(k, sizeof(k), "p%d", i);
		kv_run(&r);
		CHECK(r.res == KV_HIT);
	}
	rf_free(o.buf);
}

static void starve_and_recover(void *arg)
{
	(void)arg;
	CHECK(settle(spread) >= 0);               /* both cores own shards */
	kv_place_force(1, true);
	CHECK(settle(all_on_0) >= 0);             /* all on core 0 */
	CHECK(kv_place_serves(0, -1) && !kv_place_serves(1, -1));
	kv_place_force(0, true);                  /* everyone starved: all serve */
	CHECK(kv_place_serves(0, -1) && kv_place_serves(1, -1));
	kv_place_force(0, false);
	kv_place_force(1, false);
	CHECK(settle(spread) >= 0);               /* spread again */
}

static void test_starved_core_serves_nothing(void **state)
{
	(void)state;
	if (rf_ncores() < 2)
		skip();
	h_run_on(0, write_keys, NULL);
	h_run_on(0, starve_and_recover, NULL);
	kv_place_force(1, true);
	h_run_on(0, wait_settled, NULL);
	h_run_on(1, read_keys, NULL);             /* forwarded from the starved core */
	h_run_on(0, read_keys, NULL);
	kv_place_force(1, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test_setup_teardown(test_starved_core_serves_nothing, kvh_setup,
						kvh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
