/*
 * rfcom_echo - a plain Linux program (not linked with librf) that talks
 * over RFcom channels through librfcom.so, for tests/integration/85-chan.sh.
 * It uses the paper's names (rf_open, rf_read, ...), as an unmodified
 * program would.
 *
 *   rfcom_echo serve CHAN [MAPCHAN]   echo every message back until the
 *                                     channel closes; with MAPCHAN first
 *                                     write "rfcom map ok" into that region
 *   rfcom_echo client CHAN N [MAPCHAN]
 *                                     send N messages of many sizes (0 to
 *                                     4000 bytes: one slot and fragmented),
 *                                     check each echo byte for byte; then
 *                                     check MAPCHAN's text
 *   rfcom_echo open CHAN              try to open CHAN once
 *
 * serve and client wait up to 10 s for the channel to exist (the test
 * creates it after the subOSes).  Lines go to stdout (the subOS's log).
 * Exit status: 0 done; open: 3 permission denied, 4 no such channel;
 * 1 anything else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rf/rfcom.h>

#define MAXMSG 4096

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("rfcom_echo: ");
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static int open_wait(const char *name)
{
	for (int i = 0; i < 1000; i++) {
		int h = rf_open(name, 0);
		if (h != -ENOENT)
			return h;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static void fill(unsigned char *b, size_t len, long seq)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(seq * 31 + (long)i * 7);
}

static int serve(const char *chan, const char *mapchan)
{
	static unsigned char buf[MAXMSG];
	if (mapchan) {
		size_t len = 0;
		char *m = NULL;
		for (int i = 0; i < 1000 && !m; i++)
			if (!(m = rf_map(mapchan, &len)) && errno == ENOENT)
				usleep(10000);
		if (!m) {
			say("map %s: %s", mapchan, strerror(errno));
			return 1;
		}
		snprintf(m, len, "rfcom map ok (%zu bytes)", len);
		rf_unmap(m);
	}
	int h = open_wait(chan);
	if (h < 0) {
		say("open %s: %s", chan, strerror(-h));
		return 1;
	}
	long n = 0;
	for (;;) {
		ssize_t r = rf_read(h, buf, sizeof(buf));
		if (r == -EPIPE)
			break;
		if (r < 0 || r > (ssize_t)sizeof(buf)) {
			say("read on %s: %ld", chan, (long)r);
			return 1;
		}
		ssize_t w = rf_write(h, buf, (size_t)r);
		if (w == -EPIPE)
			break;
		if (w != r) {
			say("write on %s: %ld", chan, (long)w);
			return 1;
		}
		n++;
	}
	say("served %s: %ld messages, then the channel closed", chan, n);
	rf_close(h);
	return 0;
}

static int client(const char *chan, long count, const char *mapchan)
{
	static unsigned char out[MAXMSG], in[MAXMSG];
	int h = open_wait(chan);
	if (h < 0) {
		say("open %s: %s", chan, strerror(-h));
		return 1;
	}
	/* Nothing was sent yet: a non-blocking read has nothing to return. */
	rfcom_set_flags(h, RFCOM_NONBLOCK);
	ssize_t r = rf_read(h, in, sizeof(in));
	if (r != -EAGAIN) {
		say("non-blocking read on %s gave %ld, not -EAGAIN", chan, (long)r);
		return 1;
	}
	rfcom_set_flags(h, 0);
	for (long i = 0; i < count; i++) {
		size_t len = (size_t)(i * 997 % 4001); /* 0, 997, 1994, ... and small ones */
		if (i % 3 == 1)
			len = (size_t)(i % 57);         /* 0..56: one slot each */
		fill(out, len, i);
		if (rf_write(h, out, len) != (ssize_t)len) {
			say("write %s failed at message %ld", chan, i);
			return 1;
		}
		r = rf_read(h, in, sizeof(in));
		if (r != (ssize_t)len || memcmp(in, out, len) != 0) {
			say("echo on %s wrong at message %ld", chan, i);
			return 1;
		}
	}
	say("client %s ok: %ld messages", chan, count);
	rf_close(h);
	if (mapchan) {
		size_t len = 0;
		char *m = rf_map(mapchan, &len);
		if (!m || strncmp(m, "rfcom map ok", 12) != 0) {
			say("map %s: not the server's text (%s)", mapchan, m ? m : strerror(errno));
			return 1;
		}
		say("map %s ok: %ld bytes", mapchan, (long)len);
		rf_unmap(m);
	}
	return 0;
}

static int try_open(const char *chan)
{
	int h = rf_open(chan, 0);
	if (h >= 0) {
		say("open %s: ok", chan);
		rf_close(h);
		return 0;
	}
	say("open %s: %s", chan, strerror(-h));
	return h == -EACCES ? 3 : h == -ENOENT ? 4 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argc > 3 ? argv[3] : NULL);
	if (argc >= 4 && strcmp(argv[1], "client") == 0)
		return client(argv[2], atol(argv[3]), argc > 4 ? argv[4] : NULL);
	if (argc == 3 && strcmp(argv[1], "open") == 0)
		return try_open(argv[2]);
	fprintf(stderr, "usage: rfcom_echo serve CHAN [MAPCHAN] | client CHAN N [MAPCHAN] | open CHAN\n");
	return 2;
}
