/*
 * rfcom_fiber - the librf (libos) side of tests/integration/85-chan.sh: an
 * RFcom echo server running in a fiber, so the waiting path that keeps the
 * core free (yield, then rf_sleep_ns; src/rfcom/wait.c) is what runs.
 *
 *   rfcom_fiber serve CHAN [MAPCHAN]
 *
 * Like `rfcom_echo serve` (tests/helpers/rfcom_echo.c): with MAPCHAN, first
 * write "rfcom map ok" into that region; then echo every message on CHAN
 * until the channel closes.  While it waits, a second fiber counts its own
 * turns, to show the core was not blocked ("other fiber ran N times").
 * Waits up to 10 s for the channels to exist.  Exit status 0 when the
 * channel closed normally, 1 on any error.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <rf/rf.h>
#include <rf/rfcom.h>

static atomic_long ticks;
static atomic_int done;

static void ticker(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		atomic_fetch_add(&ticks, 1);
		rf_sleep_ns(1000000);
	}
}

static int open_wait(const char *name)
{
	for (int i = 0; i < 1000; i++) {
		int h = rfcom_open(name, 0);
		if (h != -ENOENT)
			return h;
		rf_sleep_ns(10000000);
	}
	return -ETIMEDOUT;
}

static int serve(const char *chan, const char *mapchan)
{
	static unsigned char buf[RFCOM_MSG_MAX];
	if (mapchan) {
		size_t len = 0;
		char *m = NULL;
		for (int i = 0; i < 1000 && !m; i++)
			if (!(m = rfcom_map(mapchan, &len)) && errno == ENOENT)
				rf_sleep_ns(10000000);
		if (!m) {
			printf("rfcom_fiber: map %s: %s\n", mapchan, strerror(errno));
			return 1;
		}
		snprintf(m, len, "rfcom map ok (%zu bytes, from librf)", len);
		rfcom_unmap(m);
	}
	int h = open_wait(chan);
	if (h < 0) {
		printf("rfcom_fiber: open %s: %s\n", chan, strerror(-h));
		return 1;
	}
	long n = 0;
	for (;;) {
		ssize_t r = rfcom_read(h, buf, sizeof(buf));
		if (r == -EPIPE)
			break;
		if (r < 0 || r > (ssize_t)sizeof(buf)) {
			printf("rfcom_fiber: read on %s: %ld\n", chan, (long)r);
			return 1;
		}
		ssize_t w = rfcom_write(h, buf, (size_t)r);
		if (w == -EPIPE)
			break;
		if (w != r) {
			printf("rfcom_fiber: write on %s: %ld\n", chan, (long)w);
			return 1;
		}
		n++;
	}
	rfcom_close(h);
	printf("rfcom_fiber: served %s: %ld messages, then the channel closed; "
	       "other fiber ran %ld times\n", chan, n, atomic_load(&ticks));
	return 0;
}

static int app(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "serve") != 0) {
		fprintf(stderr, "usage: rfcom_fiber serve CHAN [MAPCHAN]\n");
		return 2;
	}
	rf_spawn(ticker, NULL);
	int rc = serve(argv[2], argc > 3 ? argv[3] : NULL);
	atomic_store(&done, 1);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	rf_main(argc, argv, app);
}
