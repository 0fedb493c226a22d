/*
 * top.c - `rfm top`: every subOS's activity over an interval, live in the
 * manner of top (refreshed in place with ANSI escapes, `q` quits) or once
 * for scripts (`--once`, `--json`).
 *
 * rfm only talks to rfd: each refresh is one `stats` request, whose
 * histograms and counters are cumulative; the view is the difference of two
 * answers (requests/s, p50 and p99 of the requests that ended in the
 * interval, queueing-delay p99, core busy %).  A subOS whose pid changed
 * between the two (a restart) is compared with nothing, so its counters
 * never go backwards.  The terminal is put in non-canonical, no-echo mode
 * only while the live view runs and restored on every way out (q, SIGINT,
 * SIGTERM, an error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/client.h"
#include "base/lathist.h"
#include "base/time.h"
#include "rfm/args.h"
#include "rfm/rfm.h"
#include "rfm/table.h"

#define DEFAULT_INTERVAL 1.0

/* The answer's `result` to a stats request, or NULL (reported). */
static struct json_object *fetch(struct base_client *c)
{
	struct base_request req;
	base_request_init(&req, RF_VERB_STATS);
	struct json_object *ans = base_client_request(c, &req, NULL), *res = NULL;
	if (!ans)
		fprintf(stderr, "rfm: top: talking to rfd: %s\n", strerror(errno));
	else if (!base_answer_ok(ans))
		fprintf(stderr, "rfm: %s (%s)\n", base_answer_message(ans), base_answer_error(ans));
	else
		res = json_object_get(base_answer_result(ans));
	json_object_put(ans);
	return res;
}

/* A histogram as `stats` carries it; pairs outside the geometry are
 * skipped (rfd's answer is checked like any input). */
static void lat_read(struct json_object *s, const char *key, struct base_lat *h)
{
	struct json_object *o = rfm_field(s, key, json_type_object);
	struct json_object *b = rfm_field(o, "buckets", json_type_array), *sum;
	memset(h, 0, sizeof(*h));
	if (o && json_object_object_get_ex(o, "sum_ns", &sum))
		h->sum_ns = json_object_get_double(sum); /* a double, or an int if whole */
	for (size_t i = 0; b && i < json_object_array_length(b); i++) {
		struct json_object *p = json_object_array_get_idx(b, i);
		int64_t idx = json_object_get_int64(json_object_array_get_idx(p, 0));
		int64_t n = json_object_get_int64(json_object_array_get_idx(p, 1));
		if (idx >= 0 && idx < RF_LAT_BUCKETS && n > 0) {
			h->bucket[idx] += (uint64_t)n;
			h->count += (uint64_t)n;
		}
	}
}

/* The same subOS (name and pid) in an earlier answer, or NULL. */
static struct json_object *earlier(struct json_object *before, struct json_object *s)
{
	struct json_object *arr = rfm_field(before, "subos", json_type_array);
	int64_t pid = -1, p2 = -2;
	rfm_int(s, "pid", &pid);
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		if (strcmp(rfm_str(o, "name", ""), rfm_str(s, "name", "")) == 0 &&
		    rfm_int(o, "pid", &p2) && p2 == pid)
			return o;
	}
	return NULL;
}

static int64_t int_of(struct json_object *s, const char *key)
{
	int64_t v = 0;
	rfm_int(s, key, &v);
	return v;
}

static void add_ns(struct json_object *row, const char *key, const struct base_lat *h, double q)
{
	json_object_object_add(row, key, h->count ? json_object_new_int64(
					(int64_t)base_lat_quantile(h, q)) : NULL);
}

/* Busy % of its cores over the interval (libos: librf's accounting;
 * linux: the kernel's). */
static void busy_field(struct json_object *row, struct json_object *s, struct json_object *was,
		       double dt)
{
	int64_t busy = int_of(s, "busy_ns") - int_of(was, "busy_ns"), n = int_of(s, "ncores");
	double pct = n > 0 && busy > 0 ? 100.0 * (double)busy / 1e9 / dt / (double)n : 0;
	json_object_object_add(row, "busy_pct", json_object_new_double(pct > 100 ? 100 : pct));
}

/* Rates and quantiles of the interval: a libos subOS's stats page, or a
 * linux subOS's probe (no queueing delay: null). */
static void interval_fields(struct json_object *row, struct json_object *s,
			    struct json_object *was, double dt)
{
	struct base_lat *h = calloc(4, sizeof(*h));
	if (!h)
		return;
	lat_read(s, "lat", &h[0]);
	lat_read(was, "lat", &h[1]);
	base_lat_diff(&h[2], &h[0], &h[1]);
	json_object_object_add(row, "requests", json_object_new_int64((int64_t)h[0].count));
	json_object_object_add(row, "requests_per_s", json_object_new_double(
					       (double)h[2].count / dt));
	add_ns(row, "p50_ns", &h[2], 0.50);
	add_ns(row, "p99_ns", &h[2], 0.99);
	lat_read(s, "wait", &h[0]);
	lat_read(was, "wait", &h[1]);
	base_lat_diff(&h[3], &h[0], &h[1]);
	add_ns(row, "wait_p99_ns", &h[3], 0.99);
	free(h);
}

static struct json_object *row_of(struct json_object *s, struct json_object *before, double dt)
{
	static const char *const copied[] = { "name", "kind", "state", "pid", "cores", "ncores",
					      "mem", "policy", "recent" };
	struct json_object *row = json_object_new_object(), *v;
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		if (json_object_object_get_ex(s, copied[i], &v))
			json_object_object_add(row, copied[i], json_object_get(v));
	if (rfm_field(s, "lat", json_type_object))
		interval_fields(row, s, earlier(before, s), dt);
	if (json_object_object_get_ex(s, "busy_ns", &v))
		busy_field(row, s, earlier(before, s), dt);
	return row;
}

/* The view of the interval between two answers. */
static struct json_object *view(struct json_object *before, struct json_object *now, double dt)
{
	struct json_object *v = json_object_new_object(), *rows = json_object_new_array();
	struct json_object *arr = rfm_field(now, "subos", json_type_array);
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
		json_object_array_add(rows, row_of(json_object_array_get_idx(arr, i), before, dt));
	json_object_object_add(v, "interval_s", json_object_new_double(dt));
	json_object_object_add(v, "subos", rows);
	return v;
}

/* "resize 3s, create 5m": the subOS's last records, newest first. */
static void recent_text(struct json_object *row, char *buf, size_t len)
{
	struct json_object *r = rfm_field(row, "recent", json_type_array);
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = r ? json_object_array_length(r) : 0; i-- > 0 && used + 1 < len;) {
		struct json_object *rec = json_object_array_get_idx(r, i);
		char age[64];
		rfm_fmt_age(rfm_str(rec, "time", ""), age, sizeof(age));
		used += (size_t)snprintf(buf + used, len - used, "%s%s %s", used ? ", " : "",
					 rfm_str(rec, "op", "?"), age);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void cell_ns(struct rfm_table *t, struct json_object *row, const char *key)
{
	char b[64];
	int64_t ns;
	if (!rfm_int(row, key, &ns))
		rfm_table_cell(t, "-");
	else {
		rfm_fmt_ns((uint64_t)ns, b, sizeof(b));
		rfm_table_cell(t, "%s", b);
	}
}

static void print_view(struct json_object *v, FILE *f)
{
	static const char *const h[] = { "NAME", "KIND", "CORES", "MEM", "REQ/S", "P50", "P99",
					 "QWAIT-P99", "BUSY%", "POLICY", "RECENT" };
	struct rfm_table *t = rfm_table_new(11, h);
	struct json_object *rows = rfm_field(v, "subos", json_type_array), *x;
	if (!t)
		return;
	for (int c = 4; c <= 8; c++)
		rfm_table_right(t, c);
	for (size_t i = 0; rows && i < json_object_array_length(rows); i++) {
		struct json_object *row = json_object_array_get_idx(rows, i);
		char mem[64], recent[256], pol[64];
		bool libos = json_object_object_get_ex(row, "requests_per_s", &x);
		rfm_fmt_size(row, "mem", mem, sizeof(mem));
		recent_text(row, recent, sizeof(recent));
		rfm_table_cell(t, "%s", rfm_str(row, "name", "?"));
		rfm_table_cell(t, "%s", rfm_str(row, "kind", "?"));
		rfm_table_cell(t, "%s", rfm_cores(row));
		rfm_table_cell(t, "%s", mem);
		if (libos)
			rfm_table_cell(t, "%.1f", json_object_get_double(x));
		else
			rfm_table_cell(t, "-");
		cell_ns(t, row, "p50_ns");
		cell_ns(t, row, "p99_ns");
		cell_ns(t, row, "wait_p99_ns");
		if (json_object_object_get_ex(row, "busy_pct", &x))
			rfm_table_cell(t, "%.1f", json_object_get_double(x));
		else
			rfm_table_cell(t, "-");
		rfm_policy_cell(rfm_field(row, "policy", json_type_object), pol, sizeof(pol));
		rfm_table_cell(t, "%s", pol);
		rfm_table_cell(t, "%s", recent);
	}
	rfm_table_print(t, f);
	rfm_table_free(t);
}

/* ---- the live view ------------------------------------------------------- */

static struct termios saved_tty;
static bool tty_raw;
static volatile sig_atomic_t stop_asked;

static void tty_restore(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_raw = false;
}

static void on_signal(int sig)
{
	stop_asked = sig;
}

/* Keys without Enter, no echo; signals (^C) still arrive, as SIGINT. */
static void tty_setup(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return;
	struct termios raw = saved_tty;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0) {
		tty_raw = true;
		atexit(tty_restore);
	}
}

/* Wait up to secs for a key; true when it is time to quit. */
static bool wait_key(double secs)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	uint64_t end = base_now_ns() + (uint64_t)(secs * 1e9);
	for (;;) {
		uint64_t now = base_now_ns();
		if (stop_asked)
			return true;
		if (now >= end)
			return false;
		int n = poll(&p, 1, (int)((end - now) / 1000000) + 1);
		char k;
		if (n > 0 && (p.revents & (POLLHUP | POLLERR)))
			p.fd = -1; /* stdin gone: keep refreshing until a signal */
		else if (n > 0 && read(STDIN_FILENO, &k, 1) == 1 && (k == 'q' || k == 'Q'))
			return true;
	}
}

static void draw(struct json_object *v, double dt)
{
	char when[32];
	time_t t = time(NULL);
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	printf("\033[H\033[2J"); /* home, clear */
	printf("rfm top - %s, every %.2gs (q quits)\n\n", when, dt);
	print_view(v, stdout);
	fflush(stdout);
}

static int live(struct base_client *c, double secs)
{
	struct json_object *before = fetch(c), *now;
	uint64_t t0 = base_now_ns();
	int status = before ? 0 : 1;
	tty_setup();
	printf("\033[H\033[2Jrfm top: first figures in %.2gs (q quits)\n", secs);
	fflush(stdout);
	while (before && !wait_key(secs)) {
		if (!(now = fetch(c))) {
			status = 1; /* reported */
			break;
		}
		uint64_t t1 = base_now_ns();
		struct json_object *v = view(before, now, (double)(t1 - t0) / 1e9);
		draw(v, secs);
		json_object_put(v);
		json_object_put(before);
		before = now;
		t0 = t1;
	}
	tty_restore();
	json_object_put(before);
	return status;
}

/* --once: two answers `secs` apart, one view. */
static int once(struct base_client *c, double secs, bool json)
{
	struct json_object *before = fetch(c), *now = NULL;
	uint64_t t0 = base_now_ns();
	if (before) {
		struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
		nanosleep(&ts, NULL);
		now = fetch(c);
	}
	if (!now) {
		json_object_put(before);
		return 1;
	}
	struct json_object *v = view(before, now, (double)(base_now_ns() - t0) / 1e9);
	if (json)
		puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_view(v, stdout);
	json_object_put(v);
	json_object_put(before);
	json_object_put(now);
	return 0;
}

int rfm_top(const struct rfm_cmd *cmd)
{
	struct base_client c;
	const char *path = base_client_socket_path(cmd->socket);
	double secs = cmd->top_interval > 0 ? cmd->top_interval : DEFAULT_INTERVAL;
	int rc = base_client_connect(&c, path);
	if (rc < 0) {
		fprintf(stderr, "rfm: cannot connect to rfd at %s: %s (is rfd running?)\n", path,
			strerror(-rc));
		return 1;
	}
	rc = cmd->top_once || cmd->json ? once(&c, secs, cmd->json) : live(&c, secs);
	base_client_close(&c);
	return rc;
}
