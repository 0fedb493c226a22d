/*
 * report.c - what rfload prints: the threads' tallies merged per step and
 * over the run, as text or (--json) one JSON object holding the whole
 * configuration, the totals and every step, so that an experiment's
 * record says how its load was made.
 *
 * Latencies are in microseconds from the intended send time; percentiles
 * come from log-linear histograms (src/base/hist.h, < 1 % error).  The
 * warm-up is not in any figure but `errors`, which counts every error
 * reply and every reply that answered no request.  `send_lag_*` is how
 * late the generator itself sent (its health: if it is large, the
 * generator, not the server, was the bottleneck).
 */
#include "rfload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

/* One step, or the run, merged over the threads. */
struct sum {
	struct base_hist hist;
	uint64_t sent, errors, hits, misses, sets;
	double target, seconds;
};

static void add_tally(struct sum *s, const struct rfload_tally *t)
{
	if (t->hist)
		base_hist_merge(&s->hist, t->hist);
	s->sent += t->sent;
	s->errors += t->errors;
	s->hits += t->hits;
	s->misses += t->misses;
	s->sets += t->sets;
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static void put_d(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

static void put_u(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static void put_s(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_sum(struct json_object *o, const struct sum *s)
{
	const struct base_hist *h = &s->hist;

	put_d(o, "target_rate", s->target);
	put_d(o, "offered_rate", (double)s->sent / s->seconds);
	put_d(o, "achieved_rate", (double)h->count / s->seconds);
	put_u(o, "sent", s->sent);
	put_u(o, "measured", h->count);
	put_u(o, "hits", s->hits);
	put_u(o, "misses", s->misses);
	put_u(o, "sets", s->sets);
	put_d(o, "p50_us", us(base_hist_percentile(h, 50)));
	put_d(o, "p90_us", us(base_hist_percentile(h, 90)));
	put_d(o, "p99_us", us(base_hist_percentile(h, 99)));
	put_d(o, "p999_us", us(base_hist_percentile(h, 99.9)));
	put_d(o, "max_us", us(h->max));
	put_d(o, "mean_us", base_hist_mean(h) / 1e3);
}

static struct json_object *config(const struct rfload_opts *o)
{
	struct json_object *c = json_object_new_object(), *steps = json_object_new_array();
	const struct rfload_sched *s = &o->sched;

	put_s(c, "host", o->host);
	put_u(c, "port", (uint64_t)o->port);
	put_s(c, "arrivals", o->uniform ? "uniform" : "poisson");
	put_s(c, "schedule", o->schedule_text);
	for (int i = s->first; i < s->n; i++) {
		struct json_object *st = json_object_new_object();
		put_d(st, "start_s", (double)(s->start_ns[i] - s->start_ns[s->first]) / 1e9);
		put_d(st, "rate", s->rate[i]);
		json_object_array_add(steps, st);
	}
	json_object_object_add(c, "steps", steps);
	put_d(c, "seconds", o->seconds);
	put_d(c, "warmup_s", o->warmup);
	put_d(c, "drain_s", o->drain);
	put_u(c, "conns", (uint64_t)o->conns);
	put_u(c, "threads", (uint64_t)o->threads);
	put_d(c, "get_ratio", o->wl.get_ratio);
	put_u(c, "keys", o->wl.keys);
	put_s(c, "key_dist", o->wl.keydist == RFLOAD_KEYS_ZIPF ? "zipf" : "uniform");
	if (o->wl.keydist == RFLOAD_KEYS_ZIPF)
		put_d(c, "zipf_s", o->wl.zipf_s);
	put_s(c, "value_dist", o->wl.valdist == RFLOAD_VALS_ETC
		? "etc: generalized Pareto(15, 214.476, 0.348238), Atikoglu 2012" : "fixed");
	put_u(c, o->wl.valdist == RFLOAD_VALS_ETC ? "value_max" : "value_size",
	      o->wl.valdist == RFLOAD_VALS_ETC ? o->wl.value_max : o->wl.value_size);
	put_u(c, "seed", o->seed);
	json_object_object_add(c, "preload", json_object_new_boolean(o->preload));
	put_d(c, "spin_us", (double)o->spin_ns / 1e3);
	return c;
}

/* Step i of the schedule, merged over the threads. */
static void step_sum(struct sum *s, const struct rfload_opts *o, struct rfload_worker *w, int i)
{
	const struct rfload_sched *sc = &o->sched;
	uint64_t until = i + 1 < sc->n ? sc->start_ns[i + 1] : sc->end_ns;

	memset(s, 0, sizeof(*s));
	base_hist_init(&s->hist);
	for (int t = 0; t < o->threads; t++)
		add_tally(s, &w[t].step[i]);
	s->seconds = (double)(until - sc->start_ns[i]) / 1e9;
	s->target = sc->rate[i];
}

static void print_text(const char *what, const struct sum *s)
{
	const struct base_hist *h = &s->hist;

	printf("%s: target %.0f/s, achieved %.0f/s (%llu sent, %llu measured, %llu errors)\n"
	       "  latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (mean %.1f)\n",
	       what, s->target, (double)h->count / s->seconds, (unsigned long long)s->sent,
	       (unsigned long long)h->count, (unsigned long long)s->errors,
	       us(base_hist_percentile(h, 50)), us(base_hist_percentile(h, 90)),
	       us(base_hist_percentile(h, 99)), us(base_hist_percentile(h, 99.9)), us(h->max),
	       base_hist_mean(h) / 1e3);
}

/* The steps, into `steps` (JSON) or printed; their sum into *all. */
static void steps_out(const struct rfload_opts *o, struct rfload_worker *w,
		      struct json_object *steps, struct sum *all, struct sum *one)
{
	const struct rfload_sched *sc = &o->sched;
	char what[64];

	for (int i = 0; i < sc->n; i++) {
		step_sum(one, o, w, i);
		all->errors += one->errors;   /* the warm-up's too */
		if (i < sc->first)
			continue;
		base_hist_merge(&all->hist, &one->hist);
		all->sent += one->sent;
		all->hits += one->hits;
		all->misses += one->misses;
		all->sets += one->sets;
		all->target += one->target * one->seconds / o->seconds;
		if (steps) {
			struct json_object *st = json_object_new_object();
			put_u(st, "step", (uint64_t)(i - sc->first));
			put_d(st, "start_s", (double)(sc->start_ns[i] - sc->start_ns[sc->first]) / 1e9);
			put_d(st, "seconds", one->seconds);
			put_u(st, "errors", one->errors);
			put_sum(st, one);
			json_object_array_add(steps, st);
		} else if (sc->n - sc->first > 1) {
			snprintf(what, sizeof(what), "step %d at %.3f s", i - sc->first,
				 (double)(sc->start_ns[i] - sc->start_ns[sc->first]) / 1e9);
			print_text(what, one);
		}
	}
}

static void json_out(const struct rfload_opts *o, struct rfload_worker *w,
		     struct json_object *out, struct json_object *steps, struct sum *all,
		     const struct base_hist *lag, uint64_t unanswered)
{
	const char *pre = getenv("LD_PRELOAD");

	json_object_object_add(out, "config", config(o));
	put_s(out, "transport", pre && strstr(pre, "librfloop") ? "rfloop" : "tcp");
	put_d(out, "seconds", o->seconds);
	put_u(out, "conns", (uint64_t)o->conns);
	put_u(out, "threads", (uint64_t)o->threads);
	put_d(out, "get_ratio", o->wl.get_ratio);
	put_u(out, "errors", all->errors);
	put_u(out, "unanswered", unanswered);
	put_sum(out, all);
	put_d(out, "hit_ratio", all->hits + all->misses
		? (double)all->hits / (double)(all->hits + all->misses) : 0);
	put_d(out, "send_lag_p99_us", us(base_hist_percentile(lag, 99)));
	put_d(out, "max_send_lag_us", us(lag->max));
	json_object_object_add(out, "steps", steps);
	if (o->window_ms > 0)
		json_object_object_add(out, "windows", rfload_windows_json(o, w));
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
}

int rfload_report(const struct rfload_opts *o, struct rfload_worker *w)
{
	struct sum *all = calloc(2, sizeof(*all)), *one = all + 1;
	struct base_hist *lag = malloc(sizeof(*lag));
	struct json_object *out = o->json ? json_object_new_object() : NULL;
	struct json_object *steps = o->json ? json_object_new_array() : NULL;
	uint64_t unanswered = 0;

	if (!all || !lag) {
		free(all);
		free(lag);
		return -1;
	}
	/* Ten digits: enough for any figure, none of %.17g's noise (0.90000000000000002). */
	json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);
	base_hist_init(&all->hist);
	base_hist_init(lag);
	all->seconds = o->seconds;
	for (int t = 0; t < o->threads; t++) {
		base_hist_merge(lag, &w[t].lag);
		unanswered += w[t].unanswered;
		all->errors += w[t].stray;
	}
	steps_out(o, w, steps, all, one);
	if (out) {
		json_out(o, w, out, steps, all, lag, unanswered);
		json_object_put(out);
	} else {
		print_text("rfload", all);
		printf("  %llu unanswered; send lag us: p99 %.1f, max %.1f\n",
		       (unsigned long long)unanswered, us(base_hist_percentile(lag, 99)), us(lag->max));
	}
	free(all);
	free(lag);
	return 0;
}
