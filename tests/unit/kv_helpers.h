/*
 * kv_helpers.h - shared setup for rfkv's unit tests (test_kv_*.c): a
 * standalone librf on up to two cores with rfkv's clock, stats and
 * shards initialised on it, and a way to feed protocol bytes to rfkv's
 * parser on a core and get its answer back.
 */
#ifndef RF_TEST_KV_HELPERS_H
#define RF_TEST_KV_HELPERS_H

#include "librf_harness.h"
#include "kv.h"
#include "proto.h"

static void kvh_init_on_core(void *arg)
{
	(void)arg;
	kv_clock_init();
	kv_stats_init();
	CHECK(kv_shards_init(kv_settings.maxbytes) == 0);
}

static inline int kvh_setup(void **state)
{
	(void)state;
	if (h_standalone_two("96M") < 0)
		return -1;
	h_run_on(0, kvh_init_on_core, NULL);
	return 0;
}

static inline int kvh_teardown(void **state)
{
	(void)state;
	lrf_test_stop();
	return 0;
}

/* One exchange: bytes in, what rfkv answered, how much it used. */
struct kvh_x {
	struct kv_conn_state st;
	const char *in;
	size_t inlen, used, need;
	char *answer;           /* malloc'd, NUL-terminated */
	size_t answer_len;
};

static void kvh_feed_fiber(void *arg)
{
	struct kvh_x *x = arg;
	struct kv_out out = { 0 };
	char *buf = rf_malloc(x->inlen + 1);

	CHECK(buf != NULL);
	memcpy(buf, x->in, x->inlen);
	x->used = kv_proto_process(&x->st, buf, x->inlen, &out, &x->need);
	x->answer = malloc(out.len + 1);
	memcpy(x->answer, out.buf ? out.buf : "", out.len);
	x->answer[out.len] = 0;
	x->answer_len = out.len;
	rf_free(out.buf);
	rf_free(buf);
}

/* Feed in (len bytes) on core `core` with state x->st; the answer is
 * x->answer (free it). */
static inline void kvh_feed(struct kvh_x *x, int core, const char *in, size_t len)
{
	x->in = in;
	x->inlen = len;
	h_run_on(core, kvh_feed_fiber, x);
}

/* Feed a whole script on a fresh connection; compare the answer. */
#define KVH_EXPECT(core, in, want)                                             \
	do {                                                                  \
		struct kvh_x x_ = { 0 };                                      \
		kvh_feed(&x_, core, in, sizeof(in) - 1);                      \
		assert_int_equal(x_.answer_len, sizeof(want) - 1);            \
		assert_memory_equal(x_.answer, want, sizeof(want) - 1);       \
		free(x_.answer);                                              \
	} while (0)

#endif
