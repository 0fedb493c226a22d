/*
 * internal.h - librf's private types and the calls its files make on each
 * other.  Not installed, not for applications.
 *
 * The layout follows one rule: what a core touches on its hot path lives in
 * its own struct lrf_core, cache-line separated from the few words other
 * cores write (mailbox head, remote-free head, control requests) and the
 * few they read, so cores never contend on a line unless they are actually
 * talking (struct lrf_core says line by line who touches what).  Process-wide
 * state (struct rf_sys) is read-mostly and only written while
 * reconfiguring, under the subOS-internal reconfiguration lock.
 */
#ifndef RF_LIBRF_INTERNAL_H
#define RF_LIBRF_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "base/cpu.h"
#include "rf/desc.h"
#include "rf/ficm.h"
#include "rf/rf.h"

#define RF_CACHELINE     64
#define RF_ALIGNED       __attribute__((aligned(RF_CACHELINE)))
#define rf_likely(x)     __builtin_expect(!!(x), 1)
#define rf_unlikely(x)   __builtin_expect(!!(x), 0)

#if defined(__SANITIZE_ADDRESS__) || defined(RF_SANITIZE)
#define RF_ASAN 1
#endif

/* Fiber and core-thread stack sizes: sanitizers need far more stack. */
#ifdef RF_ASAN
#define RF_FIBER_BLOCK   (256u * 1024)
#define RF_THREAD_STACK  (1024u * 1024)
#else
#define RF_FIBER_BLOCK   (64u * 1024)
#define RF_THREAD_STACK  (256u * 1024)
#endif
#define RF_IDLE_SPIN_NS  50000u   /* spin this long before sleeping */
#define RF_MAX_HOOKS     16
#define RF_FOREIGN_HEAP  RF_MAX_CPUS  /* heap index used by foreign threads */

static inline uint64_t lrf_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* ---- spinlock: subOS-internal, never on a per-operation hot path -------- */
static inline bool lrf_spin_trylock(uint32_t *l)
{
	return !__atomic_load_n(l, __ATOMIC_RELAXED) &&
	       !__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE);
}
static inline void lrf_spin_lock(uint32_t *l)
{
	while (!lrf_spin_trylock(l))
		base_cpu_relax();
}
static inline void lrf_spin_unlock(uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* ---- futex (futex.c) ----------------------------------------------------- */
/* Shared futexes: the words live in mappings rfd maps too. */
int  lrf_futex_wait(uint32_t *word, uint32_t val, int64_t timeout_ns);
void lrf_futex_wake(uint32_t *word, int n);

/* ---- clock (clock.c) ---------------------------------------------------- */
void lrf_clock_begin(void);
void lrf_clock_init(uint64_t tsc_hz);
uint64_t lrf_clock_tsc_hz(void);
uint64_t lrf_clock_ticks_ns(uint64_t ticks);  /* a TSC interval in ns */

/* ---- the stats page (stats.c) -------------------------------------------- */
struct lrf_core;
void lrf_stats_core_up(struct lrf_core *c);  /* the core's thread, at start */
/* A fiber that became runnable at ready_tsc starts running at now_tsc. */
void lrf_stats_wait(struct lrf_core *c, uint64_t ready_tsc, uint64_t now_tsc);

/* ---- messages (mailbox.c) ----------------------------------------------- */
enum lrf_msg_kind {
	RF_MSG_EVENT = 1, /* fn(arg), then free the message */
	RF_MSG_FIBER,     /* make the containing fiber runnable here */
	RF_MSG_TIMER,     /* re-arm the containing timer here */
	RF_MSG_ADOPT,     /* take over a leaving core's slabs (alloc.c) */
};

struct lrf_msg {
	struct lrf_msg *next;
	uint32_t kind;
	void (*fn)(void *arg);
	void *arg;
};

/* The mailbox: an intrusive LIFO pushed with CAS by any thread and taken
 * whole with one exchange by its core (which reverses it into FIFO order).
 * RF_MBOX_CLOSED marks a core that left: pushes fail and go elsewhere. */
#define RF_MBOX_CLOSED ((struct lrf_msg *)1)

struct lrf_core;
int  lrf_mbox_push(struct lrf_core *c, struct lrf_msg *m);  /* 0, -1 closed */
void lrf_mbox_send(struct lrf_core *c, struct lrf_msg *m);  /* push + redirect */
struct lrf_msg *lrf_mbox_take(struct lrf_core *c, bool close);
void lrf_mbox_reopen(struct lrf_core *c);
int  lrf_mbox_drain(struct lrf_core *c);
void lrf_core_kick(struct lrf_core *c);
void lrf_msg_dispatch(struct lrf_core *c, struct lrf_msg *m);

/* ---- timers (timer.c) --------------------------------------------------- */
struct rf_timer {
	uint64_t deadline;
	void (*fn)(void *arg);
	void *arg;
	uint32_t idx;        /* position in the core's heap, or RF_TIMER_IDLE */
	uint32_t owned;      /* librf allocated it (rf_timer_add): free after */
	struct lrf_core *core;/* the core whose heap holds it */
	struct lrf_msg msg;   /* used when the timer moves to another core */
};
#define RF_TIMER_IDLE UINT32_MAX

struct lrf_timer_heap {
	struct rf_timer **h;
	uint32_t n, cap;
};
int  lrf_timer_arm(struct lrf_core *c, struct rf_timer *t);
void lrf_timer_disarm(struct lrf_core *c, struct rf_timer *t);
int  lrf_timers_fire(struct lrf_core *c, uint64_t now);
uint64_t lrf_timers_next(struct lrf_core *c);  /* UINT64_MAX if none */
void lrf_timers_move(struct lrf_core *from, struct lrf_core *to);

/* ---- fibers (fiber.c, switch.S, park.c) --------------------------------- */
enum lrf_fiber_run { RF_FIB_RUNNING = 0, RF_FIB_PARKED = 1 };
enum lrf_fiber_after { RF_AFTER_YIELD = 0, RF_AFTER_PARK, RF_AFTER_DONE };

struct rf_fiber {
	void *sp;                 /* saved stack pointer while switched out */
	struct rf_fiber *next;    /* run queue / pool link */
	struct lrf_core *core;     /* core it runs or last ran on */
	void (*fn)(void *arg);
	void *arg;
	uint32_t permit;          /* atomic: rf_unpark's permit */
	uint32_t pstate;          /* atomic: enum lrf_fiber_run */
	uint32_t after;           /* enum lrf_fiber_after, set before switching */
	uint32_t is_main;         /* app_main's fiber: its end ends the subOS */
	struct lrf_msg msg;        /* RF_MSG_FIBER, for cross-core wake-ups */
	char *block;              /* its allocation: [block, guard page, stack_lo) */
	char *stack_lo;           /* stack: [stack_lo, this struct) */
	size_t stack_size;
	void *asan_fake;          /* ASan fake-stack handle across switches */
	uint64_t canary;
	uint64_t ready_tsc;       /* when it last became runnable (stats.c) */
};

/* switch.S: save callee-saved state on the current stack, store rsp in
 * *save, load new_sp and resume whatever was saved there. */
void lrf_ctx_switch(void **save, void *new_sp);
void lrf_ctx_trampoline(void);
_Noreturn void lrf_run_on_stack(void *top, void (*fn)(void *), void *arg);

/* A fiber waiting on an rf_waitq; lives on the waiter's stack. */
struct rf_waiter {
	struct rf_waiter *next, *prev;
	struct rf_fiber *f;
	uint32_t woken;
};

struct rf_fiber *lrf_fiber_new(struct lrf_core *c, void (*fn)(void *), void *arg);
void lrf_fiber_release(struct lrf_core *c, struct rf_fiber *f);
void lrf_fiber_pool_trim(struct lrf_core *c);
void lrf_fiber_switch_in(struct lrf_core *c, struct rf_fiber *f);
void lrf_fiber_switch_out(struct rf_fiber *f, uint32_t after);

/* ---- per-core heap (alloc.c) -------------------------------------------- */
#define RF_NCLASS 36
struct lrf_slab;
struct lrf_slab_list { struct lrf_slab *head; };
struct lrf_heap {
	uint32_t index;                       /* = core index, or RF_FOREIGN_HEAP */
	struct lrf_slab_list partial[RF_NCLASS];
	struct lrf_slab_list full[RF_NCLASS];
	/* written by other cores: its own line */
	void *remote RF_ALIGNED;              /* atomic LIFO of freed objects */
};
void lrf_heap_init(struct lrf_heap *h, uint32_t index);
int  lrf_heap_drain_remote(struct lrf_heap *h);
void lrf_heap_trim(struct lrf_heap *h);
void lrf_heap_give_away(struct lrf_core *from, struct lrf_core *to);
void lrf_heap_adopt(struct lrf_core *c, struct lrf_msg *m);
extern struct lrf_heap *lrf_heaps[RF_MAX_CPUS + 1];
void lrf_alloc_reset(void);

/* ---- page heap over the regions (pageheap.c) ----------------------------- */
#define RF_PAGE       4096u
#define RF_SEG        (2u * 1024 * 1024)
#define RF_SEG_PAGES  (RF_SEG / RF_PAGE)
#define RF_LARGE_HDR  64u

struct lrf_region {
	char *base;
	uint64_t size;
	uint32_t npages, nsegs, meta_pages;
	uint32_t id;
	int fd;
	bool active;              /* allocations may come from it */
	uint64_t *bitmap;         /* 1 = page taken (metadata included) */
	uint16_t *segfree;        /* free pages per segment */
	uint64_t used_pages;      /* pages handed out (not metadata) */
};

/* The first 4 KiB of every 2 MiB segment: maps each page to the first page
 * of its span so rf_free finds a span header without a search. */
struct lrf_seg {
	uint32_t magic;
	uint16_t region;
	uint16_t pad;
	uint8_t  pad2[56];
	uint16_t pagemap[RF_SEG_PAGES];
};
#define RF_SEG_MAGIC 0x47455352u

/* Header at the start of every span. */
enum lrf_span_kind { RF_SPAN_SLAB = 1, RF_SPAN_LARGE = 2 };
struct lrf_span {
	uint32_t kind;
	uint32_t npages;
	uint16_t region;
	uint16_t huge;            /* spans whole segments */
	uint32_t pad;
};

int   lrf_region_add(int slot, char *base, uint64_t size, uint32_t id, int fd);
int   lrf_region_reclaim(int slot);   /* 0 returned, -1 busy/unknown */
void  lrf_regions_reset(void);
bool  lrf_region_busy_check(int slot);
void *lrf_pages_alloc(uint32_t npages, uint32_t kind); /* span header filled */
void  lrf_pages_free(struct lrf_span *s);
struct lrf_span *lrf_span_of(const void *p);
extern struct lrf_region lrf_regions[RF_MAX_REGIONS];

/* ---- cores (core.c, sched.c, idle.c) ------------------------------------- */
enum lrf_core_req {
	RF_REQ_LEAVE = 1u << 0,   /* move the work away and park */
	RF_REQ_STOP  = 1u << 1,   /* test teardown: leave the loop, end thread */
};

/*
 * One per owned CPU, laid out cache line by cache line by who touches what
 * (the fields' users are core.c, sched.c, idle.c, fiber.c, timer.c,
 * mailbox.c, alloc.c, io_ring.c, reconfig.c, memregion.c):
 *
 *   line 0-1  owner only, every scheduler pass and fiber switch
 *   line 2    owner only, cold (thread start; every switch under ASan)
 *   line 3    read by other cores, written rarely (create, start, leave,
 *             once per reconfiguration generation)
 *   line 4    the mailbox head: pushed by every core that sends here
 *   line 5    requests: written by the core applying a reconfiguration
 *
 * The rule is that no line another core reads or writes often holds a
 * field the owner writes often: a remote read of such a line costs the
 * owner a cache miss on its next write (and a remote write costs it on its
 * next read).  Lines 0-1, 2-3 and 4-5 also form the 128-byte pairs the
 * adjacent-line prefetcher pulls together, so the pairs keep the same
 * split.  Everything else a core owns hot (its heap, struct lrf_heap) sits
 * right after this struct in the same allocation (core.c).
 */
struct lrf_core {
	/* ---- line 0: owner only, every scheduler pass -------------------- */
	struct rf_fiber *runq_head RF_ALIGNED;
	struct rf_fiber *runq_tail;
	struct rf_fiber *current;
	void *sched_sp;
	struct lrf_heap *heap;
	struct lrf_io *io;         /* this core's io_uring (io_ring.c), or NULL */
	uint64_t seen_cmds;       /* command ring tail last acted on (rfdlink.c) */
	uint64_t loops;

	/* ---- line 1: owner only, every pass (counters, timers, fiber pool) */
	uint64_t events RF_ALIGNED;
	struct lrf_timer_heap timers;
	uint64_t acct_tsc, busy_tsc, idle_tsc;
	struct rf_fiber *pool;    /* free fibers with their stacks */
	uint32_t npool;

	/* ---- line 2: owner only, cold (loop_*: read every pass, written
	 * when a fiber starts or stops waiting on an RFloop connection or
	 * answers an RFloop client that may sleep) ----------------------- */
	void *asan_fake RF_ALIGNED;  /* written on every switch, ASan builds only */
	char *stack_lo;           /* this thread's stack, for ASan switches */
	size_t stack_size;
	struct lrf_loop_conn *loop_wait; /* RFloop connections its fibers wait on (loop.h) */
	struct lrf_loop_conn *loop_bells;/* RFloop clients it may have to wake (loop.h) */

	/* ---- line 3: read by other cores, written rarely ------------------
	 * Every core that sends this one a message reads `st` (lrf_core_kick);
	 * mailbox redirects read `running` and `heir`; a region reclaim spins
	 * on `running` and `trim_gen` (memregion.c); rf_core_cpu and
	 * rf_core_running read `cpu` and `running` from any thread.  The
	 * owner writes `running` and `heir` only when it starts, leaves or
	 * comes back and `trim_gen` once per generation; the creating core
	 * writes the rest once. */
	int index RF_ALIGNED;
	int cpu;
	struct rf_status_core *st;
	uint32_t running;         /* atomic: serving (not parked, not leaving) */
	uint32_t trim_gen;        /* atomic: gen this core trimmed at */
	struct lrf_core *heir;     /* atomic: where work went on leaving */
	char *thread_stack;       /* partition memory for pthread */
	pthread_t thread;
	uint32_t has_thread;
	uint32_t is_main_thread;
	uint32_t announce;        /* hot-added: run the cores-changed hooks */

	/* ---- line 4: written by any core sending a message ----------------- */
	struct lrf_msg *mbox RF_ALIGNED;   /* atomic */

	/* ---- line 5: written by the core applying a reconfiguration;
	 * read by the owner on every pass (lrf_core_asked) ------------------ */
	uint32_t req RF_ALIGNED;          /* atomic: enum lrf_core_req bits */
} RF_ALIGNED;

#define RF_CORE_LINE(field, n)                                                                     \
	_Static_assert(offsetof(struct lrf_core, field) == (n)*RF_CACHELINE,                       \
		       "struct lrf_core: " #field " must start line " #n)
RF_CORE_LINE(runq_head, 0);
RF_CORE_LINE(events, 1);
RF_CORE_LINE(asan_fake, 2);
RF_CORE_LINE(index, 3);
RF_CORE_LINE(mbox, 4);
RF_CORE_LINE(req, 5);
#undef RF_CORE_LINE
/* A group that outgrew its line pushes the next (aligned) group a line
 * further and fails above; the last one fails the size. */
_Static_assert(sizeof(struct lrf_core) == 6 * RF_CACHELINE, "struct lrf_core: six lines");

extern __thread struct lrf_core *lrf_self_tls;
/* The current core, re-read from TLS on every call: a fiber may resume on
 * another thread, and the compiler must not reuse an old TLS address. */
struct lrf_core *lrf_self(void);

void lrf_sched_loop(struct lrf_core *c);
void lrf_runq_push(struct lrf_core *c, struct rf_fiber *f);
void lrf_make_runnable(struct rf_fiber *f);
void lrf_idle(struct lrf_core *c);
bool lrf_core_has_work(struct lrf_core *c);
void lrf_core_account(struct lrf_core *c, bool publish);
struct lrf_core *lrf_core_get(int index);
struct lrf_core *lrf_core_any_running(struct lrf_core *not);
struct lrf_core *lrf_core_create(int cpu);
int  lrf_core_start_thread(struct lrf_core *c);
void lrf_core_resume(struct lrf_core *c);
void lrf_core_ring(struct lrf_core *c);
void lrf_core_thread_body(struct lrf_core *c);
/* The main thread becomes core c's thread, on c's thread stack. */
_Noreturn void lrf_core_run_main(struct lrf_core *c);
void lrf_core_leave(struct lrf_core *c);
void lrf_run_cores_hooks(struct lrf_core *c, bool added);
bool lrf_run_reclaim_hooks(void);   /* false if none registered */
_Noreturn void lrf_do_exit(int code);
bool lrf_run_exit_hooks(void);

/* ---- I/O over the core's own io_uring (io_ring.c, io.c; rf/io.h) -------- */
struct lrf_io;
struct lrf_loop_conn;
int  lrf_io_core_init(struct lrf_core *c);   /* core thread start; 0 or -errno */
void lrf_io_core_exit(struct lrf_core *c);   /* core thread end */
int  lrf_io_poll(struct lrf_core *c);        /* once per pass: submit + reap */
bool lrf_io_has_work(struct lrf_core *c);    /* SQEs queued, CQEs or kernel work */
bool lrf_io_sleeps_in_ring(struct lrf_core *c); /* idle must sleep in the ring */
void lrf_io_sleep(struct lrf_core *c, uint32_t bell, int64_t timeout_ns);
void lrf_io_park_sleep(struct lrf_core *c, uint32_t bell);
void lrf_io_leave(struct lrf_core *c);       /* cancel in-flight I/O, bounded wait */

/* ---- reconfiguration (reconfig.c, memregion.c) --------------------------- */
void lrf_reconfig_check(struct lrf_core *c);
void lrf_reconfig_trim(struct lrf_core *c, uint32_t gen);
int  lrf_reconfig_apply_locked(void);
void lrf_reconfig_try_complete(void);
void lrf_reconfig_set_seen(uint32_t gen);
void *lrf_map_aligned(int fd, uint64_t size);
int lrf_attach_given(const struct rf_desc *desc, struct rf_status *status, void *msgs, int ctl_fd,
		     const char *regions);
int  lrf_desc_read(struct rf_desc *out);
int  lrf_desc_validate(const struct rf_desc *d, char *why, size_t len);
int  lrf_regions_apply(const struct rf_desc *d, uint64_t deadline_ns);
int  lrf_region_map_fd(int slot, int fd, uint64_t size, uint32_t id);

/* ---- attach (attach.c, standalone.c) ------------------------------------- */
struct rf_sys {
	const struct rf_desc *desc;
	struct rf_status *status;
	const _Atomic uint64_t *cmd_tail; /* every core polls it: a hint */
	void *desc_map, *status_map;   /* our mappings, for teardown */
	void *msgs_map;                /* the control rings, if we mapped them */
	/* The control rings to rfd (rfdlink.c): commands consumed under
	 * reconfig_lock, replies produced under complete_lock, so by whichever
	 * core holds the lock, and two cores can be at it at once.  Each
	 * handle (its cached indices written on every use) has a line of its
	 * own, away from each other and from cmd_tail, which every core loads
	 * on every scheduler pass. */
	struct rf_ficm_ring cmd RF_ALIGNED;
	uint32_t cmd_said;             /* ring trouble reported */
	struct rf_ficm_ring reply RF_ALIGNED;
	uint32_t reply_said;
	bool standalone RF_ALIGNED;
	bool no_exit;                  /* tests: shutdown stops instead */
	int ctl_fd;
	int region_fd[RF_MAX_REGIONS]; /* received, not yet mapped: -1 */

	struct lrf_core *cpu_core[RF_MAX_CPUS];
	struct lrf_core *cores[RF_MAX_CPUS];
	int ncores_max;                /* atomic */
	int nrunning;                  /* atomic */

	uint32_t reconfig_lock;        /* one applier at a time */
	uint32_t complete_lock;        /* guards snap, pending_gen, reply */
	uint32_t pending_gen;
	uint32_t applied_gen;
	struct rf_desc snap;           /* the desc being applied */

	uint32_t heap_lock;            /* page heap (refill path only) */
	uint32_t foreign_lock;         /* foreign threads' heap */

	void (*shutdown_hooks[RF_MAX_HOOKS])(void);
	void (*cores_hooks[RF_MAX_HOOKS])(int, int, bool);
	void (*reclaim_hooks[RF_MAX_HOOKS])(void);
	int nshutdown_hooks, ncores_hooks, nreclaim_hooks;   /* atomic */
	uint32_t exiting;              /* atomic */
	uint32_t stopped;              /* atomic: tests' shutdown happened */
	int exit_code;

	int (*app_main)(int, char **);
	int argc;
	char **argv;
};
_Static_assert(offsetof(struct rf_sys, cmd_tail) < offsetof(struct rf_sys, cmd) &&
	       offsetof(struct rf_sys, cmd) % RF_CACHELINE == 0 &&
	       offsetof(struct rf_sys, reply) == offsetof(struct rf_sys, cmd) + RF_CACHELINE &&
	       offsetof(struct rf_sys, standalone) == offsetof(struct rf_sys, reply) + RF_CACHELINE,
	       "struct rf_sys: each control ring handle on a line of its own");
extern struct rf_sys lrf_g;

/* The command ring's tail as every core polls it (one load, a hint). */
static inline uint64_t lrf_link_tail(void)
{
	return __atomic_load_n(lrf_g.cmd_tail, __ATOMIC_RELAXED);
}

/* Has rfd sent a command this core has not acted on, or does another core
 * ask something of it (c->req)?  Checked on every scheduler pass and
 * before sleeping: two loads of lines that rarely change. */
static inline bool lrf_core_asked(const struct lrf_core *c)
{
	return lrf_link_tail() != c->seen_cmds || __atomic_load_n(&c->req, __ATOMIC_RELAXED);
}

/* ---- the control rings to rfd (rfdlink.c) -------------------------------- */
int  lrf_link_attach(void *mem, size_t len);
void lrf_link_reply(enum rf_ctl_type type, uint32_t tag);        /* takes complete_lock */
void lrf_link_reply_locked(enum rf_ctl_type type, uint32_t tag); /* holds it */
int  lrf_link_drain(bool *shutdown);                             /* under reconfig_lock */

int  lrf_attach_env(void);
int  lrf_attach_standalone(void);
/* The fd number in env `name`, or -1: unset (said on stderr if required),
 * or naming no open fd (said, and the status marked FAILED). */
int  lrf_env_fd(const char *name, bool required);
void lrf_attach_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int  lrf_start_cores(bool main_thread_is_core0);
void lrf_stop_all(void);

#endif
