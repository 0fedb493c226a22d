/*
 * test_rfloop_ring.c - RFloop's byte-stream rings (src/rfloop/ring.c).
 *
 * Covers: region sizes and format/check/attach argument checks; headers
 * that lie (magic, ABI, size, byte count, a region shorter than it says);
 * empty and full rings; wrap-around over many laps with odd write and read
 * sizes, every byte checked; gather/scatter through several iovecs (an
 * empty one with a NULL base, as writev allows, included); peek
 * and skip; the doorbell flags (armed taken once and counted, want_space);
 * corrupt indices seen by either side (a tail more than a ring ahead, a
 * tail behind the head, a head ahead of the tail): an error, sticky, never
 * an access outside the region (ASan and UBSan run this, and the region
 * is followed by an unmapped guard page); two threads streaming 64 MiB
 * through a small ring with every byte checked.  A region used again
 * (src/rfloop/pool.c): the token, the release words of both sides (a
 * value no side writes reads as retired), a format that starts the
 * indices and words afresh however far the old ones wrapped, and a peer
 * process killed in the middle of a message (what it published stays
 * readable and whole, what it had not published never appears, and its
 * side never reads as released).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "rfloop/ring.h"

#define SIZE 4096u

struct fx {
	void *mem;
	size_t len, map;
	struct rfl_hdr *h;
	struct rfl_ring w, r;      /* direction 0: writer and reader */
};

/* A shared mapping followed by an inaccessible guard page. */
static void *region(size_t len, size_t *map)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	*map = (len + page - 1) / page * page + page;
	char *p = mmap(NULL, *map, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mprotect(p + *map - page, page, PROT_NONE);
	return p;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->len = rfl_region_size(SIZE);
	f->mem = region(f->len, &f->map);
	if (!f->mem || rfl_region_format(f->mem, f->len, SIZE) ||
	    rfl_region_check(f->mem, f->len) != SIZE ||
	    rfl_ring_attach(&f->w, f->mem, f->len, SIZE, 0, RFL_WRITER) ||
	    rfl_ring_attach(&f->r, f->mem, f->len, SIZE, 0, RFL_READER))
		return -1;
	f->h = f->mem;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	munmap(f->mem, f->map);
	free(f);
	return 0;
}

static long put(struct rfl_ring *r, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	return rfl_ring_write(r, &iov, 1, len);
}

static long get(struct rfl_ring *r, void *buf, size_t len)
{
	struct iovec iov = { buf, len };
	return rfl_ring_read(r, &iov, 1, len, false);
}

static void test_sizes_and_args(void **state)
{
	(void)state;
	assert_int_equal(rfl_region_size(4096), RFL_DATA_OFF + 2 * 4096);
	assert_int_equal(rfl_region_size(0), 0);
	assert_int_equal(rfl_region_size(4095), 0);
	assert_int_equal(rfl_region_size(2048), 0);
	assert_int_equal(rfl_region_size(6144), 0);
	assert_int_equal(rfl_region_size(RFL_SIZE_MAX * 2u), 0);
	size_t map, len = rfl_region_size(SIZE);
	char *p = region(len, &map);
	assert_non_null(p);
	assert_int_equal(rfl_region_format(NULL, len, SIZE), -EINVAL);
	assert_int_equal(rfl_region_format(p, len - 1, SIZE), -EINVAL);
	assert_int_equal(rfl_region_format(p + 8, len - 8, SIZE), -EINVAL);
	assert_int_equal(rfl_region_format(p, len, 100), -EINVAL);
	assert_int_equal(rfl_region_check(p, len), -EINVAL);   /* never formatted */
	assert_int_equal(rfl_region_format(p, len, SIZE), 0);
	assert_int_equal(rfl_region_check(p, len), SIZE);
	assert_int_equal(rfl_region_check(p, len - 1), -EINVAL);
	assert_int_equal(rfl_region_check(p, 100), -EINVAL);
	struct rfl_ring r;
	assert_int_equal(rfl_ring_attach(&r, p, len, SIZE, 2, RFL_READER), -EINVAL);
	assert_int_equal(rfl_ring_attach(&r, p, len, SIZE, 0, 7), -EINVAL);
	assert_int_equal(rfl_ring_attach(&r, p, len - 1, SIZE, 0, RFL_READER), -EINVAL);
	assert_int_equal(rfl_ring_attach(&r, p, len, SIZE, 1, RFL_READER), 0);
	munmap(p, map);
}

/* Headers that lie are refused by rfl_region_check. */
static void test_lying_header(void **state)
{
	struct fx *f = *state;
	atomic_store(&f->h->magic, 0x12345678);
	assert_int_equal(rfl_region_check(f->mem, f->len), -EINVAL);
	atomic_store(&f->h->magic, RFL_MAGIC);
	atomic_store(&f->h->abi, RFL_ABI + 1);
	assert_int_equal(rfl_region_check(f->mem, f->len), -EINVAL);
	atomic_store(&f->h->abi, RFL_ABI);
	atomic_store(&f->h->size, SIZE * 2);   /* bigger than the mapping */
	assert_int_equal(rfl_region_check(f->mem, f->len), -EINVAL);
	atomic_store(&f->h->size, SIZE + 1);
	assert_int_equal(rfl_region_check(f->mem, f->len), -EINVAL);
	atomic_store(&f->h->size, SIZE);
	atomic_store(&f->h->bytes, 12);
	assert_int_equal(rfl_region_check(f->mem, f->len), -EINVAL);
	atomic_store(&f->h->bytes, f->len);
	assert_int_equal(rfl_region_check(f->mem, f->len), SIZE);
	/* Indices that make no sense at attach time. */
	struct rfl_ring r;
	atomic_store(&f->h->dir[1].tail, 5 * (uint64_t)SIZE);
	assert_int_equal(rfl_ring_attach(&r, f->mem, f->len, SIZE, 1, RFL_READER), -EINVAL);
}

static void test_empty_and_full(void **state)
{
	struct fx *f = *state;
	char buf[SIZE + 100], out[SIZE + 100];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	assert_int_equal(rfl_ring_ready(&f->r), 0);
	assert_int_equal(get(&f->r, out, 10), 0);
	assert_int_equal(rfl_ring_space(&f->w), SIZE);
	assert_int_equal(put(&f->w, buf, sizeof(buf)), SIZE);   /* only what fits */
	assert_int_equal(rfl_ring_space(&f->w), 0);
	assert_int_equal(put(&f->w, buf, 1), 0);
	assert_int_equal(rfl_ring_ready(&f->r), SIZE);
	assert_int_equal(get(&f->r, out, 1000), 1000);
	assert_memory_equal(out, buf, 1000);
	assert_int_equal(rfl_ring_space(&f->w), 1000);
	assert_int_equal(get(&f->r, out, sizeof(out)), SIZE - 1000);
	assert_memory_equal(out, buf + 1000, SIZE - 1000);
	assert_int_equal(rfl_ring_ready(&f->r), 0);
	assert_int_equal(rfl_ring_space(&f->w), SIZE);
}

static void test_wraparound(void **state)
{
	struct fx *f = *state;
	uint8_t in[3000], out[3000];
	uint64_t wseq = 0, rseq = 0;
	for (int round = 0; round < 20000; round++) {
		size_t wn = (size_t)(round * 37 % 2999) + 1, rn = (size_t)(round * 53 % 2999) + 1;
		for (size_t i = 0; i < wn; i++)
			in[i] = (uint8_t)((wseq + i) * 131 >> 3);
		long w = put(&f->w, in, wn);
		assert_true(w >= 0 && (size_t)w <= wn);
		wseq += (uint64_t)w;
		long r = get(&f->r, out, rn);
		assert_true(r >= 0 && (size_t)r <= rn);
		for (long i = 0; i < r; i++)
			assert_int_equal(out[i], (uint8_t)((rseq + (uint64_t)i) * 131 >> 3));
		rseq += (uint64_t)r;
		assert_true(wseq - rseq <= SIZE);
	}
	assert_true(rseq > 10 * SIZE);   /* many laps */
}

static void test_iovecs_peek_skip(void **state)
{
	struct fx *f = *state;
	char a[5] = "abcde", b[3] = "fgh", c[4] = "ijkl";
	struct iovec wv[3] = { { a, 5 }, { NULL, 0 }, { c, 4 } };  /* empty: NULL base is fine */
	assert_int_equal(rfl_ring_write(&f->w, wv, 3, 7), 7);      /* capped by max */
	wv[0] = (struct iovec){ b, 3 };
	assert_int_equal(rfl_ring_write(&f->w, wv, 1, 100), 3);
	char x[4], y[20];
	struct iovec rv[3] = { { x, 4 }, { NULL, 0 }, { y, sizeof(y) } };
	assert_int_equal(rfl_ring_read(&f->r, rv, 3, 100, true), 10);  /* peek */
	assert_memory_equal(x, "abcd", 4);
	assert_memory_equal(y, "eijfgh", 6);
	assert_int_equal(rfl_ring_ready(&f->r), 10);
	assert_int_equal(rfl_ring_skip(&f->r, 2), 2);
	assert_int_equal(rfl_ring_read(&f->r, rv, 3, 100, false), 8);
	assert_memory_equal(x, "cdei", 4);
	assert_memory_equal(y, "jfgh", 4);
	assert_int_equal(rfl_ring_ready(&f->r), 0);
}

static void test_flags(void **state)
{
	struct fx *f = *state;
	struct rfl_dir *d = &f->h->dir[0];
	/* A new ring is armed: the first write rings, once. */
	assert_true(rfl_ring_take_arm(&f->w));
	assert_false(rfl_ring_take_arm(&f->w));
	assert_int_equal(atomic_load(&d->rings), 1);
	atomic_store(&d->armed, 1);
	assert_true(rfl_ring_take_arm(&f->w));
	assert_int_equal(atomic_load(&d->rings), 2);
	assert_false(rfl_ring_take_want_space(&f->r));
	atomic_store(&d->want_space, 1);
	assert_true(rfl_ring_take_want_space(&f->r));
	assert_false(rfl_ring_take_want_space(&f->r));
}

/* A hostile peer's indices: errors, sticky, nothing touched outside. */
static void test_corrupt_tail_ahead(void **state)
{
	struct fx *f = *state;
	char out[64];
	atomic_store(&f->h->dir[0].tail, (uint64_t)SIZE + 1);
	assert_int_equal(rfl_ring_ready(&f->r), -EBADMSG);
	assert_int_equal(get(&f->r, out, sizeof(out)), -EBADMSG);
	atomic_store(&f->h->dir[0].tail, 0);   /* sticky even if repaired */
	assert_int_equal(get(&f->r, out, sizeof(out)), -EBADMSG);
}

static void test_corrupt_tail_behind(void **state)
{
	struct fx *f = *state;
	char buf[100], out[100];
	memset(buf, 1, sizeof(buf));
	assert_int_equal(put(&f->w, buf, 100), 100);
	assert_int_equal(get(&f->r, out, 100), 100);
	atomic_store(&f->h->dir[0].tail, 50);   /* behind our head */
	assert_int_equal(rfl_ring_ready(&f->r), -EBADMSG);
	assert_int_equal(rfl_ring_skip(&f->r, 10), -EBADMSG);
}

static void test_corrupt_head(void **state)
{
	struct fx *f = *state;
	char buf[SIZE];
	memset(buf, 2, sizeof(buf));
	assert_int_equal(put(&f->w, buf, SIZE), SIZE);
	atomic_store(&f->h->dir[0].head, (uint64_t)SIZE + 10);   /* ahead of the tail */
	assert_int_equal(rfl_ring_space(&f->w), -EBADMSG);
	assert_int_equal(put(&f->w, buf, 1), -EBADMSG);
	/* A head gone backwards within the ring only costs space. */
	struct fx *g = f;
	assert_int_equal(rfl_ring_attach(&g->w, g->mem, g->len, SIZE, 1, RFL_WRITER), 0);
	assert_int_equal(put(&g->w, buf, 10), 10);
	atomic_store(&f->h->dir[1].head, 0);
	assert_true(rfl_ring_space(&g->w) >= 0);
	atomic_store(&f->h->dir[1].head, UINT64_MAX - 5);   /* behind zero: only space */
	assert_true(rfl_ring_space(&g->w) >= 0);
	atomic_store(&f->h->dir[1].head, 11);               /* one past the tail */
	assert_int_equal(put(&g->w, buf, SIZE), -EBADMSG);
}

/* Random garbage in every header word, then every call: no crash, no
 * access outside the region (the guard page would fault). */
static void test_garbage(void **state)
{
	struct fx *f = *state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[SIZE];
	for (int round = 0; round < 2000; round++) {
		struct rfl_ring w, r;
		assert_int_equal(rfl_ring_attach(&w, f->mem, f->len, SIZE, 0, RFL_WRITER), 0);
		assert_int_equal(rfl_ring_attach(&r, f->mem, f->len, SIZE, 0, RFL_READER), 0);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		atomic_store(&f->h->dir[0].tail, round & 1 ? x : x % (2 * SIZE));
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		atomic_store(&f->h->dir[0].head, round & 2 ? x : x % (2 * SIZE));
		long a = put(&w, buf, (size_t)(x % SIZE) + 1);
		long b = get(&r, buf, sizeof(buf));
		assert_true(a == -EBADMSG || (a >= 0 && a <= (long)SIZE));
		assert_true(b == -EBADMSG || (b >= 0 && b <= (long)SIZE));
		atomic_store(&f->h->dir[0].tail, 0);
		atomic_store(&f->h->dir[0].head, 0);
	}
}

struct stream {
	struct rfl_ring *w;
	uint64_t total;
};

static void *producer(void *arg)
{
	struct stream *s = arg;
	uint8_t buf[1500];
	uint64_t seq = 0;
	while (seq < s->total) {
		size_t n = (size_t)(seq % 1499) + 1;
		if (n > s->total - seq)
			n = (size_t)(s->total - seq);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)((seq + i) ^ ((seq + i) >> 8));
		long w = put(s->w, buf, n);
		if (w < 0)
			return (void *)1;
		seq += (uint64_t)w;
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	struct fx *f = *state;
	struct stream s = { &f->w, 64u << 20 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer, &s), 0);
	uint8_t buf[2000];
	uint64_t seq = 0;
	while (seq < s.total) {
		long r = get(&f->r, buf, (size_t)(seq % 1999) + 1);
		assert_true(r >= 0);
		for (long i = 0; i < r; i++, seq++)
			if (buf[i] != (uint8_t)(seq ^ (seq >> 8)))
				fail_msg("byte %llu is wrong", (unsigned long long)seq);
	}
	void *rc;
	pthread_join(t, &rc);
	assert_null(rc);
}

/* A region handed over again: token, release words, a fresh format. */
static void test_release_words(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rfl_region_token(f->mem), 0);
	rfl_region_set_token(f->mem, 0x1234567890abcdefull);
	assert_int_equal(rfl_region_token(f->mem), 0x1234567890abcdefull);
	assert_int_equal(rfl_region_peer(f->mem, RFL_CREATOR), RFL_LIVE);
	assert_int_equal(rfl_region_leave(f->mem, RFL_CREATOR, RFL_RELEASED), RFL_LIVE);
	assert_int_equal(rfl_region_peer(f->mem, RFL_ATTACHER), RFL_RELEASED);
	assert_int_equal(rfl_region_leave(f->mem, RFL_ATTACHER, RFL_RELEASED), RFL_RELEASED);
	assert_int_equal(rfl_region_leave(f->mem, RFL_ATTACHER, RFL_RETIRED), RFL_RELEASED);
	assert_int_equal(rfl_region_peer(f->mem, RFL_CREATOR), RFL_RETIRED);
	/* A lying side's word is never taken for a release. */
	atomic_store(&f->h->gone[RFL_ATTACHER], 7);
	assert_int_equal(rfl_region_peer(f->mem, RFL_CREATOR), RFL_RETIRED);
	/* Formatting again clears words and token; the creator names it anew. */
	assert_int_equal(rfl_region_format(f->mem, f->len, SIZE), 0);
	assert_int_equal(rfl_region_token(f->mem), 0);
	assert_int_equal(rfl_region_peer(f->mem, RFL_CREATOR), RFL_LIVE);
	assert_int_equal(rfl_region_peer(f->mem, RFL_ATTACHER), RFL_LIVE);
	assert_int_equal(rfl_region_check(f->mem, f->len), SIZE);
}

/* Old indices many laps on, old bytes in the data: a format starts both
 * directions empty, and the new connection wraps around correctly. */
static void test_reuse_after_wrap(void **state)
{
	struct fx *f = *state;
	uint8_t buf[3000], out[3000];
	for (int lap = 0; lap < 7; lap++) {   /* 7 x 3000 bytes through 4096 */
		memset(buf, 'a' + lap, sizeof(buf));
		assert_int_equal(put(&f->w, buf, sizeof(buf)), sizeof(buf));
		assert_int_equal(get(&f->r, out, sizeof(out)), sizeof(out));
	}
	assert_int_equal(put(&f->w, "left", 4), 4);   /* unread when the connection ends */
	assert_int_equal(rfl_region_format(f->mem, f->len, SIZE), 0);
	struct rfl_ring w, r;
	assert_int_equal(rfl_ring_attach(&w, f->mem, f->len, SIZE, 0, RFL_WRITER), 0);
	assert_int_equal(rfl_ring_attach(&r, f->mem, f->len, SIZE, 0, RFL_READER), 0);
	assert_int_equal(rfl_ring_ready(&r), 0);      /* the old bytes are not data */
	assert_int_equal(rfl_ring_space(&w), SIZE);
	for (int lap = 0; lap < 5; lap++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(i * 7 + lap);
		assert_int_equal(put(&w, buf, sizeof(buf)), sizeof(buf));
		assert_int_equal(get(&r, out, sizeof(out)), sizeof(out));
		assert_memory_equal(buf, out, sizeof(buf));
	}
}

/* The writer is another process, killed in the middle of a message: it
 * published the first half and was copying the second.  The reader gets
 * the first half whole, nothing of the second, no error; the dead side
 * never said it released the region, so it is not used again. */
static void test_peer_killed_mid_message(void **state)
{
	struct fx *f = *state;
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rfl_ring w;
		if (rfl_ring_attach(&w, f->mem, f->len, SIZE, 0, RFL_WRITER) ||
		    put(&w, "first half|", 11) != 11)
			_exit(1);
		/* The second half copied in, its tail not yet published. */
		memcpy((uint8_t *)f->mem + RFL_DATA_OFF + 11, "second half", 11);
		if (write(go[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	assert_int_equal(read(go[0], &c, 1), 1);
	kill(pid, SIGKILL);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	close(go[0]);
	close(go[1]);
	char out[64];
	assert_int_equal(rfl_ring_ready(&f->r), 11);
	assert_int_equal(get(&f->r, out, sizeof(out)), 11);
	assert_memory_equal(out, "first half|", 11);
	assert_int_equal(get(&f->r, out, sizeof(out)), 0);
	assert_int_equal(f->r.err, 0);
	assert_int_equal(rfl_region_leave(f->mem, RFL_ATTACHER, RFL_RELEASED), RFL_LIVE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_and_args),
		T(test_lying_header),
		T(test_empty_and_full),
		T(test_wraparound),
		T(test_iovecs_peek_skip),
		T(test_flags),
		T(test_corrupt_tail_ahead),
		T(test_corrupt_tail_behind),
		T(test_corrupt_head),
		T(test_garbage),
		T(test_two_threads),
		T(test_release_words),
		T(test_reuse_after_wrap),
		T(test_peer_killed_mid_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
