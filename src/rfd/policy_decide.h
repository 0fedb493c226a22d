/*
 * policy_decide.h - the elastic policy's decisions, apart from rfd's state
 * (policy_decide.c): given each subOS's settings, cores and last window's
 * p99, which core moves go where.  Pure functions over plain structs, so a
 * unit test can drive them with synthetic signals; the timer, the stats
 * reads and the resize ops that carry a decision out are policy.c's.
 *
 * The rules (the RainForest paper's scheduler, section 6.3.2, with a window
 * of milliseconds instead of ten seconds):
 *   - a latency subOS whose window p99 is above ut takes one core: a free
 *     core if there is one, else from the batch subOS with the most cores
 *     above its min_cores (a batch subOS may go to zero: paused), else from
 *     another latency subOS that is calm (its last p99 below its lt) and
 *     above its min; never beyond its own max_cores;
 *   - one whose p99 stayed below lt for RF_POLICY_HOLD_WINDOWS windows in a
 *     row gives one core back (down to its min_cores): to the batch subOS
 *     with the fewest cores below its max (a paused one first), else to
 *     the free cores;
 *   - between lt and ut nothing happens (hysteresis), and after a move the
 *     next RF_POLICY_COOLDOWN_WINDOWS windows of both sides are not acted
 *     on (cooldown): a window still full of the old allocation's samples
 *     must not cause a second move;
 *   - a subOS with an operation in flight (busy) is left alone;
 *   - flap damping: a core taken within RF_POLICY_FLAP_WINDOWS windows of
 *     giving one back doubles the hold before the next give-back (up to
 *     RF_POLICY_HOLD_WINDOWS << RF_POLICY_MAX_DOUBLINGS); a take long after
 *     the last give-back resets it.  An isolated noisy window at low load
 *     then costs the batch subOS one move pair, not one every few windows
 *     (rfbench dynamic saw 16 moves in 20 s on a shared machine);
 *   - load memory: a take that undoes a give-back within
 *     RF_POLICY_FLAP_WINDOWS windows shows that the fewer cores could not
 *     carry the requests that window ended; for RF_POLICY_NEED_WINDOWS
 *     windows after, no core is given back while a window ends at least
 *     7/8 as many (the load that needed it is still there).  Below lt
 *     with a core too many says nothing about whether one core less would
 *     do: rfkv given a second, exclusive core has a p99 of tens of us at a
 *     peak that one core serves at milliseconds, and gave the core back
 *     and took it again three times a peak (rfbench dynamic);
 *   - a futile take is undone: once the cooldown is over, if the p99 stays
 *     above ut and above the p99 that made it take the core, and the
 *     window ends no more requests than the one that took it (the core did
 *     not add throughput: a service past what even more cores serve still
 *     ends more requests with them), for RF_POLICY_FUTILE_WINDOWS windows
 *     in a row, the core goes back (rule
 *     p99_worse_with_core) and no core is taken before the
 *     RF_POLICY_BLOCK_WINDOWS-th window after, doubled for each futile
 *     take in a row (a take that helped
 *     resets it).  A service that a second core does not help (rfkv on
 *     this 2-core machine, whose second core is shared with the clients:
 *     its p99 went from ms to seconds) must not keep it from the batch
 *     subOS for the whole peak.
 */
#ifndef RF_RFD_POLICY_DECIDE_H
#define RF_RFD_POLICY_DECIDE_H

#include <stdbool.h>
#include <stdint.h>
#include "base/lathist.h"
#include "base/proto_policy.h"

#define RF_POLICY_HOLD_WINDOWS     3
#define RF_POLICY_COOLDOWN_WINDOWS 1
#define RF_POLICY_FLAP_WINDOWS     20
#define RF_POLICY_MAX_DOUBLINGS    4
#define RF_POLICY_FUTILE_WINDOWS   3
#define RF_POLICY_BLOCK_WINDOWS    20
#define RF_POLICY_NEED_WINDOWS     100

/* One window of a latency subOS, as policy_signal computed it. */
struct policy_window {
	bool fresh;            /* it ended at this tick (else: the last one, for calm) */
	bool seen;             /* there was a window at all */
	uint64_t p99_ns;       /* 0 without samples: idle counts as below lt */
	uint64_t samples;      /* in the window, of the signal used */
	enum base_signal used; /* queue when asked, or when no request ended */
};

/* The controller's memory of a latency subOS; zero to start. */
struct policy_track {
	int under;             /* windows in a row below lt */
	int cooldown;          /* windows still to ignore after a move */
	int hold_x;            /* flap damping: the hold is HOLD << hold_x */
	int gave_ago;          /* windows since it gave a core back, + 1 (0: never) */
	int judging;           /* a take is being judged (futile?) */
	uint64_t take_p99_ns;  /* the p99 that made it take */
	uint64_t take_samples; /* and the requests its window ended */
	int worse;             /* windows in a row since, above ut and take_p99 */
	int block;             /* windows left in which it takes nothing */
	int block_x;           /* the next block is BLOCK << block_x */
	uint64_t need_samples; /* load memory: requests a window ended when a
				* give-back had to be undone */
	int need_cores;        /* the cores it needed then */
	int need_left;         /* windows the memory still holds (0: none) */
};

struct policy_member {
	const struct base_policy *pol; /* priority batch or latency */
	int cores;
	bool busy;
	struct policy_window win;      /* latency only */
	struct policy_track *tr;       /* latency only; updated by policy_decide */
};

enum policy_rule { POLICY_OVER_UT = 1, POLICY_UNDER_LT = 2, POLICY_FUTILE = 3 };
#define POLICY_FREE (-1) /* the free cores, as a move's source or destination */

struct policy_move {
	int from, to;            /* member indices, or POLICY_FREE */
	int cause;               /* the latency member whose window decided it */
	enum policy_rule rule;
	struct policy_window win; /* the cause's window */
	int windows;             /* windows the rule held: 1, or the hold */
};

/* The window's signal from cumulative histograms now and at its start
 * (the requests' latency, and librf's queueing delay): the p99 of the
 * interval difference of the one p->signal names, or of the queueing delay
 * when no request ended in it.  Sets everything but `fresh`. */
void policy_signal(const struct base_policy *p, const struct base_lat *lat_now,
		   const struct base_lat *lat_before, const struct base_lat *wait_now,
		   const struct base_lat *wait_before, struct policy_window *w);

/* The moves of this tick into out (at most max_out), given n members and
 * the free cores.  Updates the members' tracks and busy flags (a member
 * moved is busy for the rest of the tick).  Returns how many. */
int policy_decide(struct policy_member *m, int n, int free_cores, struct policy_move *out,
		  int max_out);

/* "p99_over_ut" / "p99_under_lt" / "p99_worse_with_core": the rule's
 * name in the journal. */
const char *policy_rule_name(enum policy_rule r);

#endif
