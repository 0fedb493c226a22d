/*
 * rf.h - the public interface of librf, RainForest's library OS.
 *
 * A program linked with librf runs as a "libos subOS": it owns a set of CPU
 * cores and memory regions exclusively, handed over by the supervisor rfd
 * (or, with no rfd, the CPUs of its affinity mask and one anonymous region).
 * librf runs one pinned thread per owned core; each thread schedules
 * cooperative fibers and run-to-completion events and serves memory from a
 * per-core allocator over the regions.  Nothing here makes a system call on
 * the hot path: spawning, yielding, posting, timers and allocation are all
 * user-level.  A core enters the kernel only to sleep when it has nothing to
 * do, and during reconfiguration.
 *
 * Terms used below:
 *   core      one owned CPU, numbered 0.. in the order librf first ran it
 *             (a "core index"; stable for the process's life, also after
 *             the core was taken away and given back).
 *   fiber     a cooperative thread with its own stack.  Fibers migrate
 *             between cores only when their core is taken away.
 *   scheduler context
 *             code librf runs on a core outside any fiber: rf_post events,
 *             timer callbacks, hooks.  It must not block (no rf_yield,
 *             rf_park, rf_sleep_ns); it may spawn, post and unpark.
 *   core thread
 *             a librf thread (in a fiber or in scheduler context).  Any
 *             other thread is "foreign": it may call rf_post, rf_spawn_on,
 *             rf_unpark, rf_now_ns and the allocator (slower, locked path).
 */
#ifndef RF_RF_H
#define RF_RF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- life cycle ---------------------------------------------------------- */

/*
 * Attach to the partition described by the environment (RF_DESC_FD etc.,
 * see rf/desc.h) or, without it, build a standalone one (env RF_CORES: a
 * cpu list, default the affinity mask; RF_MEM: a size, default 64M;
 * RF_TSC_HZ: the TSC frequency, as rfd passes it, to skip the calibration;
 * RF_CTL_FD: a socket told one byte once app_main is called, as rfd is),
 * start one pinned thread per core and run app_main(argc, argv) in a fiber
 * on the first core.  Call it once, from main(), before any other librf
 * call.
 *
 * Never returns: when app_main returns, the shutdown hooks run and the
 * process exits with app_main's value; when rfd asks for shutdown, the
 * hooks run and the process exits with 0.  If attaching fails it prints
 * why on stderr, marks the subOS RF_SUBOS_FAILED and exits with 127.
 */
_Noreturn void rf_main(int argc, char **argv, int (*app_main)(int argc, char **argv));

/* End the subOS now with `code` (hooks run first).  From a fiber or from
 * scheduler context on a core thread. */
_Noreturn void rf_exit(int code);

/* Register fn to run once when the subOS ends (rfd's shutdown request,
 * app_main returning, rf_exit).  Hooks run in registration order in
 * scheduler context on one core; they must not block.  Up to 16; returns 0
 * or -1 when full. */
int rf_on_shutdown(void (*fn)(void));

/* Register fn to be called when a core is added after start (added=true,
 * called on the new core once it runs) or is about to be taken away
 * (added=false, called on the leaving core before its work moves away).
 * Scheduler context.  Up to 16; returns 0 or -1. */
int rf_on_cores_changed(void (*fn)(int core, int cpu, bool added));

/* ---- fibers ------------------------------------------------------------- */

typedef struct rf_fiber rf_fiber;

/* Start fn(arg) in a new fiber on the calling core (core threads only).
 * The fiber runs after the caller yields or returns to the scheduler.
 * Returns 0, or -1 when out of memory or not on a core thread. */
int rf_spawn(void (*fn)(void *arg), void *arg);

/* Start fn(arg) in a new fiber on core `core` (an index), through that
 * core's mailbox.  Any thread.  If the core is not running the fiber starts
 * on another running core.  Returns 0, or -1 (bad index, no memory). */
int rf_spawn_on(int core, void (*fn)(void *arg), void *arg);

/* Let the other ready fibers and pending events of this core run, then
 * continue.  Fibers only. */
void rf_yield(void);

/* Suspend the calling fiber for at least ns nanoseconds / until rf_now_ns()
 * >= deadline.  Fibers only. */
void rf_sleep_ns(uint64_t ns);
void rf_sleep_until(uint64_t deadline_ns);

/* The calling fiber, or NULL outside a fiber. */
rf_fiber *rf_fiber_self(void);

/* Block the calling fiber until rf_unpark() gives it a permit.  Permits do
 * not accumulate: an unpark before the park makes the park return at once;
 * two unparks before it count as one.  Callers loop on their own condition
 * because a park may also end early from a stale permit.  Fibers only. */
void rf_park(void);

/* Give fiber f a permit and make it runnable if it is parked.  Any thread,
 * any core.  f must still exist: use it only for fibers known to be parked
 * or about to park (the usual wait-queue pattern). */
void rf_unpark(rf_fiber *f);

/* A wait queue: fibers wait on it until woken.  Usable across cores
 * (a short internal spinlock guards it).  Zero-initialise or use
 * RF_WAITQ_INIT; no destroy needed when empty. */
struct rf_waiter;
typedef struct rf_waitq {
	uint32_t lock;
	struct rf_waiter *head, *tail;
} rf_waitq;
#define RF_WAITQ_INIT { 0, NULL, NULL }

/* Wait until woken (fibers only). */
void rf_wq_wait(rf_waitq *q);
/* Wait until woken or rf_now_ns() >= deadline.  Returns 0 if woken, -1 on
 * timeout (fibers only). */
int rf_wq_wait_until(rf_waitq *q, uint64_t deadline_ns);
/* Wake the oldest waiter / every waiter.  Any thread.  Return the number
 * woken. */
int rf_wq_wake_one(rf_waitq *q);
int rf_wq_wake_all(rf_waitq *q);

/* ---- events and timers ---------------------------------------------------- */

/* Run fn(arg) once on core `core` in scheduler context (not in a fiber of
 * its own).  Any thread.  If that core is not running it runs on another
 * running core.  Returns 0, or -1 (bad index, no memory). */
int rf_post(int core, void (*fn)(void *arg), void *arg);

/* Nanoseconds on the CLOCK_MONOTONIC scale, read from the TSC (no system
 * call).  Any thread, after rf_main started. */
uint64_t rf_now_ns(void);

/* Run fn(arg) in scheduler context on the calling core once rf_now_ns() >=
 * deadline (core threads only; if the core is taken away the timer moves
 * with its work).  Returns a handle for rf_timer_cancel, or NULL (no
 * memory, not a core thread). */
typedef struct rf_timer rf_timer;
rf_timer *rf_timer_add(uint64_t deadline_ns, void (*fn)(void *arg), void *arg);
/* Cancel a timer that has not fired.  Call it on the core that runs the
 * timer, before fn ran; the handle is dead once fn started or cancel
 * returned.  Returns 0, or -1 if it already fired. */
int rf_timer_cancel(rf_timer *t);

/* ---- memory --------------------------------------------------------------- */

/* The usual four, served from the partition's regions: small sizes from
 * per-core size classes, large ones as page spans.  No system call, ever;
 * NULL when the partition is out of memory.  Any thread (foreign threads
 * take a lock).  Memory from rf_malloc must be freed with rf_free, from any
 * thread or core.  Alignment: 16 bytes. */
void *rf_malloc(size_t size);
void *rf_calloc(size_t n, size_t size);
void *rf_realloc(void *p, size_t size);
void  rf_free(void *p);

/* Register fn to be called when rfd asks for memory back (a resize
 * shrinking the subOS), on every running core in scheduler context,
 * before librf checks whether the regions asked for are free: a region
 * still holding an allocation is refused (rfd reports the resize as
 * mem_busy).  fn should free what it can spare among the blocks for which
 * rf_mem_reclaiming() is true (a cache evicts them); it must not block,
 * and has about 50 ms.  Up to 16; returns 0 or -1. */
int rf_on_mem_reclaim(void (*fn)(void));

/* Does p (from rf_malloc) lie in a region rfd is asking back right now? */
bool rf_mem_reclaiming(const void *p);

/* Bytes in the partition's mapped regions / not handed out as spans. */
uint64_t rf_mem_total(void);
uint64_t rf_mem_free(void);

/* ---- the latency signal ---------------------------------------------------- */

/* Record one request that took ns nanoseconds from its arrival to its reply
 * (services call it once per request).  It counts the request and adds it
 * to the subOS's latency histogram on its stats page, which rfd reads for
 * `rfm top`, its /metrics and its policy (per core, lock-free: a few plain
 * stores, no system call).  Any thread (foreign threads use an atomic add);
 * before rf_main it does nothing.  librf itself records, with no call from
 * the application, how long runnable fibers wait before they run. */
void rf_latency_record(uint64_t ns);

/* ---- introspection -------------------------------------------------------- */

/* The calling core's index, or -1 on a foreign thread. */
int rf_core_self(void);
/* The calling core's machine CPU number, or -1 on a foreign thread. */
int rf_cpu_self(void);
/* Number of cores running now. */
int rf_ncores(void);
/* Highest core index ever used + 1 (indices are < this). */
int rf_ncores_max(void);
/* Machine CPU of core `core`, or -1. */
int rf_core_cpu(int core);
/* Is core `core` running now? */
bool rf_core_running(int core);
/* The subOS's name ("" standalone). */
const char *rf_name(void);

#endif
