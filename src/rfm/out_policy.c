/*
 * out_policy.c - the elastic policy for people: `rfm policy NAME` (key:
 * value lines), the sentence `rfm log` prints for a move ("moved core 1
 * from batch to kv: p99 2.3ms > ut 1ms over 20 ms"), the Policy line of
 * `rfm show` and the POLICY cell of `rfm top`.
 */
#include "rfm/rfm.h"

#include <stdio.h>
#include <string.h>

/* Microseconds of field `key` as "1.5ms". */
static void fmt_us(struct json_object *o, const char *key, char *buf, size_t len)
{
	int64_t us = 0;
	rfm_int(o, key, &us);
	rfm_fmt_ns((uint64_t)us * 1000, buf, len);
}

void rfm_policy_summary(struct json_object *p, char *buf, size_t len)
{
	char lt[32], ut[32];
	int64_t w = 0, lo = 0, hi = 0;
	const char *prio = rfm_str(p, "priority", "-");
	rfm_int(p, "min_cores", &lo);
	rfm_int(p, "max_cores", &hi);
	if (strcmp(prio, "latency") != 0) {
		snprintf(buf, len, "%s, cores %lld-%lld", prio, (long long)lo, (long long)hi);
		return;
	}
	fmt_us(p, "lt_us", lt, sizeof(lt));
	fmt_us(p, "ut_us", ut, sizeof(ut));
	rfm_int(p, "window_ms", &w);
	snprintf(buf, len, "latency, lt %s ut %s over %lld ms of %s, cores %lld-%lld", lt, ut,
		 (long long)w, rfm_str(p, "signal", "latency"), (long long)lo, (long long)hi);
}

void rfm_policy_cell(struct json_object *p, char *buf, size_t len)
{
	if (!p || !json_object_is_type(p, json_type_object))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s:%s", rfm_str(p, "priority", "?"), rfm_str(p, "state", "?"));
}

void rfm_policy_sentence(struct json_object *rec, char *buf, size_t len)
{
	char p99[32], t[32];
	int64_t core = -1, win = 0, n = 1;
	/* p99_worse_with_core gives back a core whose p99 stayed over ut */
	bool futile = strcmp(rfm_str(rec, "rule", ""), "p99_worse_with_core") == 0;
	bool over = futile || strcmp(rfm_str(rec, "rule", ""), "p99_over_ut") == 0;
	const char *paused = rfm_str(rec, "paused", NULL), *resumed = rfm_str(rec, "resumed", NULL);
	int64_t ns = 0;
	rfm_int(rec, "core", &core);
	rfm_int(rec, "window_ms", &win);
	rfm_int(rec, "windows", &n);
	rfm_int(rec, "p99_ns", &ns);
	rfm_fmt_ns((uint64_t)ns, p99, sizeof(p99));
	fmt_us(rec, over ? "ut_us" : "lt_us", t, sizeof(t));
	int k = snprintf(buf, len, "moved core %lld from %s to %s: %s%s p99 %s %s %s %s ",
			 (long long)core, rfm_str(rec, "from", "?"), rfm_str(rec, "to", "?"),
			 rfm_str(rec, "for", "?"), strcmp(rfm_str(rec, "signal", ""), "queue") ? ""
										: " queueing",
			 p99, over ? ">" : "<", over ? "ut" : "lt", t);
	if (k < 0 || (size_t)k >= len)
		return;
	if (futile)
		k += snprintf(buf + k, len - (size_t)k, "and above the p99 that took the core "
			      "for %lld windows of %lld ms", (long long)n, (long long)win);
	else if (over)
		k += snprintf(buf + k, len - (size_t)k, "over %lld ms", (long long)win);
	else
		k += snprintf(buf + k, len - (size_t)k, "for %lld windows of %lld ms", (long long)n,
			      (long long)win);
	if (k > 0 && (size_t)k < len && (paused || resumed))
		snprintf(buf + k, len - (size_t)k, " (%s %s)", paused ? paused : resumed,
			 paused ? "paused" : "resumed");
}

/* "memcached://127.0.0.1:11211 (up; 1200 replies, 3 failures; last: ...)" */
static void print_probe(struct json_object *pr)
{
	int64_t replies = 0, failures = 0;
	const char *last = rfm_str(pr, "last_error", NULL);
	rfm_int(pr, "replies", &replies);
	rfm_int(pr, "failures", &failures);
	rfm_kv("Probe", "%s (%s; %lld replies, %lld failures%s%s)", rfm_str(pr, "url", "?"),
	       rfm_str(pr, "state", "?"), (long long)replies, (long long)failures,
	       last ? "; last: " : "", last ? last : "");
}

int rfm_print_policy(struct json_object *res)
{
	char buf[256], p99[32];
	int64_t v;
	if (!rfm_field(res, "priority", json_type_string)) {
		fprintf(stderr, "rfm: rfd's answer to policy has no priority\n");
		return 1;
	}
	rfm_kv("Name", "%s", rfm_str(res, "name", "-"));
	struct json_object *pr = rfm_field(res, "probe", json_type_object);
	if (pr)
		print_probe(pr);
	if (strcmp(rfm_str(res, "priority", ""), "off") == 0) {
		rfm_kv("Policy", "off");
		return 0;
	}
	rfm_policy_summary(res, buf, sizeof(buf));
	rfm_kv("Policy", "%s", buf);
	rfm_kv("State", "%s", rfm_str(res, "state", "-"));
	struct json_object *w = rfm_field(res, "last_window", json_type_object);
	if (w && rfm_int(w, "p99_ns", &v)) {
		rfm_fmt_ns((uint64_t)v, p99, sizeof(p99));
		rfm_int(w, "samples", &v);
		rfm_kv("Last window", "p99 %s of %lld %s samples", p99, (long long)v,
		       rfm_str(w, "signal", "?"));
	}
	struct json_object *c = rfm_field(res, "controller", json_type_object);
	if (c && rfm_int(c, "tick_ns_avg", &v)) {
		char avg[32], max[32];
		rfm_fmt_ns((uint64_t)v, avg, sizeof(avg));
		v = 0;
		rfm_int(c, "tick_ns_max", &v);
		rfm_fmt_ns((uint64_t)v, max, sizeof(max));
		rfm_int(c, "ticks", &v);
		rfm_kv("Controller", "%lld ticks, %s per tick on average, %s at most",
		       (long long)v, avg, max);
	}
	return 0;
}
