/*
 * desc.h - the resource description shared by rfd and a libos subOS.
 *
 * This is the narrow ABI between the supervisor and librf (the paper's
 * "resource descriptions, read-only in each subOS").  Two shared pages, and
 * the control rings described further down:
 *
 *   struct rf_desc    written only by rfd, mapped read-only by the subOS.
 *                     rfd changes it under a seqlock (seq odd while writing)
 *                     and bumps `gen` after every published change.
 *   struct rf_status  written by the subOS (librf), read by rfd.  rfd treats
 *                     every value in it as untrusted input.  The only words
 *                     rfd writes there are the per-core doorbells, which
 *                     either side may ring.  The same mapping carries the
 *                     stats page (per-core latency histograms, below).
 *
 * Handshakes (core add/remove, memory add/remove, shutdown) travel as FICM
 * messages (rf/ficm.h) on two rings in a third shared mapping, the control
 * rings (RF_ENV_MSGS, layout below); the desc stays the single source of
 * truth for what the subOS owns, the messages only say "look at it":
 *
 *   rfd publishes a new desc (gen N) and sends RF_CMD_APPLY N (or
 *   RF_CMD_SHUTDOWN N) on the command ring, then rings the doorbells of the
 *   subOS's cores.  A librf core polls the command ring's tail on every
 *   scheduler loop (one load of a line only rfd writes), so a busy subOS
 *   notices within one loop; an idle one is woken by the doorbell.  The
 *   core that holds librf's reconfiguration lock consumes the messages and
 *   applies whatever the desc says (the latest generation, never an older
 *   one), then acknowledges with RF_REPLY_ACK N on the reply ring.  rfd
 *   polls the reply ring for a few microseconds and then sleeps on its
 *   futex (FICM's NAPI-style wait), validating every message: anything
 *   malformed counts as no acknowledgement (forced at the deadline).
 *   librf also reports RF_REPLY_STATE when it starts running or fails to
 *   attach, which is what rfd's create waits for.
 *
 * status.applied_gen and status.ack remain as a readable mirror of the
 * last acknowledgement (rfm show, tests); rfd no longer waits on them.
 *
 * Everything is fixed-size and made of naturally aligned integers so the
 * layout is the same for every compiler; bump RF_DESC_ABI on any change.
 */
#ifndef RF_DESC_H
#define RF_DESC_H

#include <stdint.h>

#define RF_DESC_MAGIC    0x31444652u /* "RFD1" little endian */
#define RF_STATUS_MAGIC  0x31535452u /* "RTS1" */
#define RF_DESC_ABI      3
#define RF_MAX_CPUS      1024        /* machine CPUs rfd can describe */
#define RF_MAX_REGIONS   256         /* memory regions one subOS can hold */
#define RF_NAME_MAX      48          /* subOS name, including the NUL */

/* What rfd wants for one CPU (desc.cpu[cpu]). */
enum rf_cpu_want {
	RF_CPU_NONE    = 0, /* not this subOS's */
	RF_CPU_ACTIVE  = 1, /* run the subOS's work here */
	RF_CPU_LEAVING = 2, /* move the work off, park, acknowledge */
};

/* What librf reports for one CPU (status.core[cpu].state). */
enum rf_core_state {
	RF_CORE_OFF     = 0, /* no thread here */
	RF_CORE_RUNNING = 1, /* a pinned librf thread runs here */
	RF_CORE_PARKED  = 2, /* left: work moved away, thread gone */
};

/* desc.region[i].state: what rfd wants for region i. */
enum rf_region_want {
	RF_REGION_NONE    = 0,
	RF_REGION_OFFERED = 1, /* memfd sent on the control socket; map it */
	RF_REGION_RECLAIM = 2, /* give it back if it is free */
};

/* status.region[i]: what librf did with region i. */
enum rf_region_state {
	RF_REGION_UNUSED   = 0,
	RF_REGION_MAPPED   = 1,
	RF_REGION_RETURNED = 2, /* unmapped and fd closed: rfd may take it */
	RF_REGION_BUSY     = 3, /* reclaim refused: memory in use */
};

/* status.state: the subOS's life as librf sees it. */
enum rf_subos_state {
	RF_SUBOS_STARTING = 0,
	RF_SUBOS_RUNNING  = 1, /* the application's main code runs */
	RF_SUBOS_EXITING  = 2,
	RF_SUBOS_FAILED   = 3, /* attach failed; see the program's stderr */
};

struct rf_desc_region {
	uint64_t size;  /* bytes; a multiple of 2 MiB */
	uint32_t id;    /* rfd's chunk id, stable for the region's life */
	uint32_t state; /* enum rf_region_want */
};

struct rf_desc {
	uint32_t magic;
	uint32_t abi;
	uint32_t seq;          /* seqlock: odd while rfd writes */
	uint32_t gen;          /* bumped after each published change */
	char     name[RF_NAME_MAX];
	uint64_t tsc_hz;       /* TSC frequency measured by rfd, 0 if unknown */
	uint64_t mem_bytes;    /* memory the subOS should hold */
	uint64_t deadline_ns;  /* how long rfd waits for an acknowledgement */
	uint32_t shutdown;     /* 1: exit cleanly */
	uint32_t ncpus;        /* number of RF_CPU_ACTIVE entries */
	uint8_t  cpu[RF_MAX_CPUS];              /* enum rf_cpu_want */
	struct rf_desc_region region[RF_MAX_REGIONS];
};

struct rf_status_core {
	uint32_t state;    /* enum rf_core_state */
	uint32_t doorbell; /* futex word: bumped to wake a sleeping core */
	uint32_t sleeping; /* 1 while the core sleeps on its doorbell */
	uint32_t rfloop_wakes; /* RFloop clients this core woke (a doorbell
	                        * byte, one io_uring send each; wraps) */
	uint64_t loops;    /* scheduler loop iterations */
	uint64_t events;   /* fibers run + events handled */
	uint64_t busy_ns;
	uint64_t idle_ns;
	/* RFloop connections librf accepted on this core and the bytes its
	 * fibers moved over them (src/librf/loop_conn.c): what shows that a
	 * client was served over shared memory, not kernel TCP. */
	uint64_t rfloop_conns;
	uint64_t rfloop_bytes;
} __attribute__((aligned(64)));

struct rf_status {
	uint32_t magic;
	uint32_t state;        /* enum rf_subos_state */
	uint32_t ack;          /* bumped after every acknowledgement (mirror) */
	uint32_t applied_gen;  /* highest desc.gen fully applied (mirror) */
	uint32_t pid;          /* the subOS process, as the subOS sees it */
	uint32_t pad[11];
	uint32_t region[RF_MAX_REGIONS];         /* enum rf_region_state */
	struct rf_status_core core[RF_MAX_CPUS];
};

/*
 * The stats page: RF_STATS_SLOTS slots of struct rf_stats_core after the
 * status proper, in the same mapping (at RF_STATS_OFF).  Slot c (< RF_MAX_CPUS)
 * is written only by the librf thread running on machine CPU c, with plain
 * stores (no lock, no read-modify-write shared with anyone); slot
 * RF_STATS_FOREIGN by foreign threads, with atomic adds.  rfd reads the
 * slots of the CPUs it gave the subOS and merges them; it bounds-checks
 * every word (base/lathist.h) and never trusts a count for anything but
 * reporting.  One slot is one 4 KiB page, touched by its core when the
 * core starts, so the pages of CPUs a subOS never ran on cost no memory.
 *
 * A histogram: bucket[b] counts values in bucket b of the log-linear
 * geometry below (8 buckets per power of two, 12.5 % wide, from 16 ns;
 * the last bucket takes everything from ~240 s up), sum_ns their sum.
 * The count is the sum of the buckets (there is no count word to disagree
 * with them).  See base/lathist.h for the mapping value <-> bucket.
 */
#define RF_LAT_BUCKETS   255
#define RF_LAT_UNIT_SHIFT 4   /* values are bucketed in 16 ns units */
#define RF_LAT_SUB_BITS  3    /* 2^3 linear buckets per power of two */

struct rf_stats_hist {
	uint64_t sum_ns;
	uint64_t bucket[RF_LAT_BUCKETS];
};

struct rf_stats_core {
	struct rf_stats_hist lat;  /* rf_latency_record: arrival to reply */
	struct rf_stats_hist wait; /* librf: runnable until it ran (queueing) */
};

#define RF_STATS_FOREIGN RF_MAX_CPUS
#define RF_STATS_SLOTS   (RF_MAX_CPUS + 1)

/* Mapping sizes: page-rounded, so both sides agree without sizeof games.
 * The status mapping holds struct rf_status, then the stats slots. */
#define RF_DESC_SIZE   (16u * 1024)
#define RF_STATS_OFF   (80u * 1024)
#define RF_STATUS_SIZE (RF_STATS_OFF + RF_STATS_SLOTS * 4096u)

_Static_assert(sizeof(struct rf_desc) <= RF_DESC_SIZE, "rf_desc too big");
_Static_assert(sizeof(struct rf_status) <= RF_STATS_OFF, "rf_status too big");
_Static_assert(sizeof(struct rf_stats_core) == 4096, "rf_stats_core: one page");

/* The stats slots of a status mapping. */
static inline struct rf_stats_core *rf_status_stats(void *status_map)
{
	return (struct rf_stats_core *)((char *)status_map + RF_STATS_OFF);
}

/*
 * Environment a libos subOS is started with.  Each holds a file descriptor
 * number inherited across exec, except RF_ENV_REGIONS ("id:fd,id:fd,...").
 * Memory added later arrives on RF_ENV_CTL as SCM_RIGHTS with a
 * struct rf_ctl_msg.
 */
#define RF_ENV_DESC    "RF_DESC_FD"
#define RF_ENV_STATUS  "RF_STATUS_FD"
#define RF_ENV_MSGS    "RF_MSGS_FD"
#define RF_ENV_CTL     "RF_CTL_FD"
#define RF_ENV_REGIONS "RF_REGIONS"

/*
 * The control rings (RF_ENV_MSGS): a memfd of RF_MSGS_SIZE bytes that rfd
 * creates and formats, holding two FICM single-producer single-consumer
 * rings of RF_MSGS_SLOTS 64-byte messages each (rf/ficm.h):
 *
 *   RF_MSGS_CMD_OFF  commands, rfd -> subOS.  rfd is the only producer;
 *                    the consumer is whichever librf core holds the
 *                    reconfiguration lock (one at a time).
 *   RF_MSGS_ACK_OFF  replies, subOS -> rfd.  Produced only under librf's
 *                    completion lock (one thread at a time); rfd consumes.
 *
 * A message: len 0, type one of enum rf_ctl_type, tag the desc generation
 * (RF_REPLY_STATE: the new enum rf_subos_state).  Either side checks the
 * geometry when it attaches and every index and length after (FICM does).
 */
#define RF_MSGS_SLOTS   64
#define RF_MSGS_CMD_OFF 0u
#define RF_MSGS_ACK_OFF 8192u
#define RF_MSGS_SIZE    (16u * 1024)

enum rf_ctl_type {
	RF_CMD_APPLY    = 1, /* rfd: the desc changed, apply generation tag */
	RF_CMD_SHUTDOWN = 2, /* rfd: exit cleanly (desc.shutdown is set too) */
	RF_REPLY_ACK    = 3, /* librf: generation tag is fully applied */
	RF_REPLY_STATE  = 4, /* librf: status.state became tag */
};

struct rf_ctl_msg {
	uint32_t magic;   /* RF_DESC_MAGIC */
	uint32_t type;    /* RF_CTL_REGION */
	uint32_t region;  /* slot in desc.region[] */
	uint32_t id;
	uint64_t size;
};
#define RF_CTL_REGION 1

#endif
