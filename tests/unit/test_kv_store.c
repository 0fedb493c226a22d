/*
 * test_kv_store.c - rfkv's store and LRU (apps/rfkv/store.c, lru.c):
 * storage semantics on one shard, CAS, incr/decr in place, expiry and
 * flush_all, the memory bound evicting least recently used items first
 * (with the counts "stats" reports), a partition smaller than -m evicting
 * instead of failing, and keys spread over shards owned by two cores
 * being visible from both.
 */
#include "kv_helpers.h"

static struct kv_shard shard;

static enum kv_res run1(enum kv_op op, const char *key, const char *val, uint64_t cas)
{
	struct kv_req r = { .op = op, .key = key, .nkey = strlen(key), .cas = cas };
	char data[1024];

	if (val) {
		snprintf(data, sizeof(data), "%s\r\n", val);
		r.data = data;
		r.nbytes = (uint32_t)strlen(data);
	}
	r.hash = kv_hash(key, r.nkey);
	kv_store_exec(&shard, &r);
	return r.res;
}

/* The value of key ("" if absent) and its cas. */
static const char *value(const char *key, uint64_t *cas)
{
	static char buf[2048];
	struct kv_out o = { 0 };
	struct kv_req r = { .op = KV_GET, .key = key, .nkey = strlen(key), .want_cas = true,
			    .out = &o };
	unsigned long long c = 0;
	char *p;

	r.hash = kv_hash(key, r.nkey);
	kv_store_exec(&shard, &r);
	buf[0] = 0;
	if (r.res == KV_HIT) {
		p = memchr(o.buf, '\n', o.len);
		sscanf(o.buf, "VALUE %*s %*u %*u %llu", &c);
		snprintf(buf, sizeof(buf), "%.*s", (int)(o.len - (size_t)(p + 1 - o.buf) - 2), p + 1);
	}
	if (cas)
		*cas = c;
	rf_free(o.buf);
	return buf;
}

static void semantics(void *arg)
{
	uint64_t cas1, cas2;

	(void)arg;
	CHECK(kv_store_init(&shard, 1 << 20) == 0);
	CHECK(run1(KV_ADD, "a", "1", 0) == KV_STORED);
	CHECK(run1(KV_ADD, "a", "2", 0) == KV_NOT_STORED);
	CHECK(run1(KV_REPLACE, "b", "2", 0) == KV_NOT_STORED);
	CHECK(run1(KV_APPEND, "a", "23", 0) == KV_STORED);
	CHECK(run1(KV_PREPEND, "a", "0", 0) == KV_STORED);
	CHECK(!strcmp(value("a", &cas1), "0123"));
	CHECK(run1(KV_CAS, "a", "x", cas1 + 1) == KV_EXISTS);
	CHECK(run1(KV_CAS, "a", "x", cas1) == KV_STORED);
	CHECK(!strcmp(value("a", &cas2), "x") && cas2 > cas1);
	CHECK(run1(KV_CAS, "nokey", "x", 1) == KV_NOT_FOUND);
	CHECK(run1(KV_DELETE, "a", NULL, 0) == KV_DELETED);
	CHECK(run1(KV_DELETE, "a", NULL, 0) == KV_NOT_FOUND);
	CHECK(shard.count == 0 && shard.bytes == 0);
}

static void test_semantics(void **state)
{
	(void)state;
	h_run_on(0, semantics, NULL);
}

static void delta(void *arg)
{
	struct kv_req r = { .op = KV_INCR, .key = "n", .nkey = 1, .delta = 5 };

	(void)arg;
	CHECK(kv_store_init(&shard, 1 << 20) == 0);
	CHECK(run1(KV_SET, "n", "100", 0) == KV_STORED);
	r.hash = kv_hash("n", 1);
	r.op = KV_DECR;
	r.delta = 95;
	kv_store_exec(&shard, &r);
	CHECK(r.res == KV_NUMBER && !strcmp(r.num, "5"));
	CHECK(!strcmp(value("n", NULL), "5  "));   /* in place, padded as memcached */
	r.op = KV_DECR;
	r.delta = 6;
	kv_store_exec(&shard, &r);
	CHECK(!strcmp(r.num, "0"));                 /* decr floors at 0 */
	CHECK(run1(KV_SET, "n", "18446744073709551615", 0) == KV_STORED);
	r.op = KV_INCR;
	r.delta = 3;
	kv_store_exec(&shard, &r);
	CHECK(!strcmp(r.num, "2"));                 /* incr wraps at 2^64 */
	CHECK(run1(KV_SET, "n", "abc", 0) == KV_STORED);
	kv_store_exec(&shard, &r);
	CHECK(r.res == KV_NON_NUMERIC);
}

static void test_delta(void **state)
{
	(void)state;
	h_run_on(0, delta, NULL);
}

static void expiry(void *arg)
{
	struct kv_req r = { .op = KV_SET, .key = "e", .nkey = 1, .data = "x\r\n", .nbytes = 3 };

	(void)arg;
	CHECK(kv_store_init(&shard, 1 << 20) == 0);
	r.hash = kv_hash("e", 1);
	r.exptime = kv_realtime(-1);                /* negative: expired at once */
	kv_store_exec(&shard, &r);
	CHECK(r.res == KV_STORED && !strcmp(value("e", NULL), ""));
	r.exptime = kv_realtime(kv_unix_started() + 1000000);   /* absolute, future */
	kv_store_exec(&shard, &r);
	CHECK(!strcmp(value("e", NULL), "x"));
	r.exptime = kv_realtime(kv_unix_started() + 10);        /* absolute, past */
	kv_store_exec(&shard, &r);
	CHECK(!strcmp(value("e", NULL), ""));
	CHECK(run1(KV_SET, "f", "y", 0) == KV_STORED);
	kv_flush_all(0);
	CHECK(!strcmp(value("f", NULL), ""));
	CHECK(run1(KV_SET, "g", "z", 0) == KV_STORED);   /* stored after: lives */
	CHECK(!strcmp(value("g", NULL), "z"));
}

static void test_expiry_and_flush(void **state)
{
	(void)state;
	h_run_on(0, expiry, NULL);
}

/* 64 KiB shard, ~1 KiB values: the oldest go first, a read one stays. */
static void lru(void *arg)
{
	char key[16], val[1001];
	uint64_t evicted = 0;

	(void)arg;
	memset(val, 'v', 1000);
	val[1000] = 0;
	CHECK(kv_store_init(&shard, 64 << 10) == 0);
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK(run1(KV_SET, key, val, 0) == KV_STORED);
		if (i >= 10)
			CHECK(value("k0", NULL)[0] == 'v');   /* kept recent by reads */
	}
	CHECK(shard.bytes <= shard.limit);
	CHECK(value("k1", NULL)[0] == 0 && value("k199", NULL)[0] == 'v');
	for (int k = 0; k < KV_CLASSES; k++)
		evicted += shard.cls[k].evicted;
	CHECK(evicted == 200 - shard.count);
	kv_lru_shrink(&shard, 0);
	CHECK(shard.count == 0 && shard.bytes == 0 && !shard.lru_head);
}

static void test_lru_eviction(void **state)
{
	(void)state;
	h_run_on(0, lru, NULL);
}

/* -m far above the partition: allocation failures evict, never fail. */
static void partition_small(void *arg)
{
	static char val[100001];
	char key[16];
	uint64_t evicted = 0;

	(void)arg;
	memset(val, 'p', 100000);
	CHECK(kv_store_init(&shard, 1ull << 40) == 0);
	for (int i = 0; i < 1500; i++) {   /* 150 MB into a 96 MB partition */
		struct kv_req r = { .op = KV_SET, .nkey = (size_t)snprintf(key, sizeof(key), "p%d", i),
				    .key = key, .data = val, .nbytes = 100000 };
		memcpy(val + 99998, "\r\n", 2);
		r.hash = kv_hash(key, r.nkey);
		kv_store_exec(&shard, &r);
		CHECK(r.res == KV_STORED);
	}
	for (int k = 0; k < KV_CLASSES; k++)
		evicted += shard.cls[k].evicted;
	CHECK(evicted > 0 && evicted + shard.count == 1500);
	kv_lru_shrink(&shard, 0);
}

static void test_partition_smaller_than_limit(void **state)
{
	(void)state;
	h_run_on(0, partition_small, NULL);
}

/* Keys over every shard, written from one core, read from the other. */
static void spread_write(void *arg)
{
	char in[64];
	(void)arg;
	for (int i = 0; i < 200; i++) {
		struct kv_req r = { .op = KV_SET, .data = "v\r\n", .nbytes = 3 };
		r.nkey = (size_t)snprintf(in, sizeof(in), "s%d", i);
		r.key = in;
		kv_run(&r);
		CHECK(r.res == KV_STORED);
	}
}

static void spread_read(void *arg)
{
	char in[64];
	struct kv_out o = { 0 };
	(void)arg;
	for (int i = 0; i < 200; i++) {
		struct kv_req r = { .op = KV_GET, .out = &o };
		r.nkey = (size_t)snprintf(in, sizeof(in), "s%d", i);
		r.key = in;
		kv_run(&r);
		CHECK(r.res == KV_HIT);
	}
	rf_free(o.buf);
}

static void test_shards_across_cores(void **state)
{
	(void)state;
	h_run_on(0, spread_write, NULL);
	h_run_on(rf_ncores() > 1 ? 1 : 0, spread_read, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_semantics, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_delta, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_flush, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_lru_eviction, kvh_setup, kvh_teardown),
		cmocka_unit_test_setup_teardown(test_partition_smaller_than_limit, kvh_setup,
						kvh_teardown),
		cmocka_unit_test_setup_teardown(test_shards_across_cores, kvh_setup, kvh_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
