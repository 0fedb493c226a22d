/*
 * window.c - latency over time: with --window MS, every measured request's
 * latency also goes to the window of its intended send time (MS long,
 * counted from the measured period's start), and the report gets each
 * window's p99 and count.
 *
 * Why by intended send time: a window then holds the requests that were
 * due in it, so a stall shows in the window where the load met it, not
 * spread over the windows its replies trickled into.  Why apart from the
 * steps: the steps are the rate schedule; an experiment that judges the
 * tail window by window (rfbench dynamic: the share of windows whose p99
 * exceeded a threshold, as an elastic policy sees them) needs windows of
 * its own length whatever the schedule.  The measured period's start is
 * given in CLOCK_MONOTONIC (start_mono_ns) so that the windows can be laid
 * against other programs' clocks (rfd's journal, a batch job's progress).
 */
#include "rfload.h"

#include <math.h>
#include <stdlib.h>
#include <json-c/json.h>

/* The measured period's start, absolute (CLOCK_MONOTONIC ns). */
static uint64_t measured_start(const struct rfload_worker *w)
{
	return w->start + w->o->sched.start_ns[w->o->sched.first];
}

int rfload_window_init(struct rfload_worker *w)
{
	const struct rfload_opts *o = w->o;
	if (o->window_ms <= 0)
		return 0;
	w->nwin = (int)ceil(o->seconds * 1e3 / o->window_ms);
	w->win = calloc((size_t)w->nwin, sizeof(*w->win));
	return w->win ? 0 : -1;
}

int rfload_window_record(struct rfload_worker *w, uint64_t intended, uint64_t ns)
{
	uint64_t t0 = measured_start(w);
	if (!w->win || intended < t0)
		return 0;   /* off, or the warm-up */
	uint64_t i = (uint64_t)((double)(intended - t0) / (w->o->window_ms * 1e6));
	if (i >= (uint64_t)w->nwin)
		return 0;
	if (!w->win[i]) {
		if (!(w->win[i] = malloc(sizeof(*w->win[i]))))
			return -1;
		base_hist_init(w->win[i]);
	}
	base_hist_record(w->win[i], ns);
	return 0;
}

void rfload_window_free(struct rfload_worker *w)
{
	for (int i = 0; w->win && i < w->nwin; i++)
		free(w->win[i]);
	free(w->win);
	w->win = NULL;
}

struct json_object *rfload_windows_json(const struct rfload_opts *o, struct rfload_worker *w)
{
	struct json_object *r = json_object_new_object(), *p99 = json_object_new_array();
	struct json_object *n = json_object_new_array();
	struct base_hist *h = malloc(sizeof(*h));

	json_object_object_add(r, "window_ms", json_object_new_double(o->window_ms));
	json_object_object_add(r, "start_mono_ns", json_object_new_int64((int64_t)measured_start(w)));
	for (int i = 0; h && i < w[0].nwin; i++) {
		base_hist_init(h);
		for (int t = 0; t < o->threads; t++)
			if (w[t].win[i])
				base_hist_merge(h, w[t].win[i]);
		/* a window nobody asked anything in has no p99: null */
		json_object_array_add(p99, h->count ? json_object_new_double(
					      (double)base_hist_percentile(h, 99) / 1e3) : NULL);
		json_object_array_add(n, json_object_new_int64((int64_t)h->count));
	}
	free(h);
	json_object_object_add(r, "p99_us", p99);
	json_object_object_add(r, "measured", n);
	return r;
}
