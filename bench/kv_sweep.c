/*
 * kv_sweep.c - the highest request rate one server sustains within the
 * latency objective: coarse geometric steps until a rate fails, then
 * bisection between the last rate that passed and the first that failed.
 *
 * A point passes when rfload reported it whole (no connection failed, no
 * error reply, every request answered before the drain ended), its p99
 * latency is within the objective (slo_us) and the server kept up: replies
 * measured per second at least 95 % of the offered rate.  The figure is the
 * achieved rate of the best passing point (a rate the server was seen to
 * carry, not one it was only offered).
 *
 * Noise.  The build machines are shared and virtual: a spinning thread
 * loses several percent of its time to stalls of 0.1 to 10 ms that no
 * process on the machine causes.  One such stall in a 1 s window can push
 * a p99 over the objective at a rate the server carries easily, and a
 * single unlucky point would then end the coarse phase far too early.  So
 * a failing point is measured once more (`retry`) and fails only if it
 * fails twice; both measurements go into the curve.
 *
 * Generator.  rfload is one thread on one core; when it cannot keep up
 * its own lateness (send lag) shows in every latency, and a point would
 * fail for the generator's sake, not the server's.  But lateness alone
 * proves nothing: a saturated server makes the generator late too (its
 * sends back up), and so does a stall of the generator's core (measured
 * here: 30 ms of send lag at 20000/s while other builds ran).  A
 * generator that cannot do the rate falls further behind for as long as
 * the point lasts and does not finish its schedule in time (kv_load.c
 * kills it: `timed_out`).  Such a point, while the server was busy less
 * than BUSY_SATURATED of the time (kv_server.c), ends the sweep with
 * `generator_bound` set: the figure is then a lower bound of what the
 * server sustains, and the JSON says so; so it is when
 * the search reached its highest rate (rate_max) with every point passing
 * (`rate_capped`).
 */
#include "kv.h"

#include <time.h>

#define BUSY_SATURATED 0.8     /* a server busier than this may be what failed */

bool kv_point_judge(struct kv_point *pt, double slo_us)
{
	pt->ok = !pt->failed && pt->unanswered == 0 && pt->errors == 0 &&
		 pt->p99_us <= slo_us && pt->achieved >= 0.95 * pt->rate;
	return pt->ok;
}

/* One rate, measured once more if it fails (s->retry): 1 passed, 0 failed
 * (*gen: for the generator's sake), -1 rfload gave no report. */
static int measure(struct kv_load *l, const struct kv_search *s, struct kv_curve *c,
		   double rate, bool *gen)
{
	for (int attempt = 0; attempt < (s->retry ? 2 : 1) && c->n < KV_MAX_POINTS; attempt++) {
		struct kv_point *pt = &c->pt[c->n];
		if (kv_load_point(l, rate, pt) < 0)
			return -1;
		c->n++;
		c->conn_rfloop += pt->conn_rfloop;
		c->conn_tcp += pt->conn_tcp;
		if (kv_point_judge(pt, s->slo_us)) {
			if (pt->achieved > c->max_rate)
				c->max_rate = pt->achieved;
			return 1;
		}
		*gen = pt->timed_out && pt->server_busy >= 0 && pt->server_busy < BUSY_SATURATED;
		struct timespec ts = { s->settle_ns / 1000000000L, s->settle_ns % 1000000000L };
		nanosleep(&ts, NULL);
	}
	return 0;
}

int kv_sweep(struct kv_load *l, const struct kv_search *s, struct kv_curve *c)
{
	double lo = 0, hi = 0, r = s->start;   /* hi 0: no failing rate yet */

	while (c->n < KV_MAX_POINTS) {
		bool gen = false;
		int m = measure(l, s, c, r, &gen);
		if (m < 0)
			return -1;
		if (m == 0 && gen) {
			c->generator_bound = true;
			break;
		}
		*(m ? &lo : &hi) = r;
		if (!hi) {                     /* coarse: up until a rate fails */
			if (r >= s->rate_max) {
				c->rate_capped = true;
				break;
			}
			r = r * s->factor < s->rate_max ? r * s->factor : s->rate_max;
			continue;
		}
		/* bisection; with nothing passing yet, down by halves */
		if (lo ? hi / lo <= 1 + s->precision : hi < s->start / 16)
			break;
		r = lo ? (lo + hi) / 2 : hi / 2;
	}
	return 0;
}
