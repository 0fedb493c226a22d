/*
 * soak.h - the pieces of `rfbench soak` (soak.c: the load and the report;
 * soak_fault.c: crashing rfd and checking what a restart finds).
 */
#ifndef RF_BENCH_SOAK_H
#define RF_BENCH_SOAK_H

#include "bench.h"

#define JOURNAL_MAX "256K"
#define JOURNAL_MAX_BYTES (256 << 10)
#define MEM_MANAGED (512ull << 20)

/* rfd's options: both cores managed, little memory (a quick start),
 * frequent journal compaction. */
static const char *const extra[] = { "--host-cores", "", "--mem", "512M", "--chunk", "64M",
				     "--journal-max", JOURNAL_MAX, NULL };

struct soak {
	struct private_rfd p;
	const struct bench_opts *o;
	char hello[300];
	char cg[2][300]; /* the instance's cpuset and memory cgroup directories */
	struct series s[2];
	int injected, survived;
};

/* a an answer (put here): true if ok, else says why on stderr. */
bool soak_answer_ok(struct json_object *a, const char *what);
/* n create/destroy cycles of "c"; the cycles done, or -1 on the first
 * failure if stop_on_error. */
int soak_cycles(struct soak *k, int n, bool stop_on_error);
/* Entries (directories only, if dirs_only) in dir, without dot files and
 * without rfd's own (a spare's cgroups: "~spare.*", src/rfd/spare.h). */
int soak_count_dir(const char *dir, bool dirs_only);
/* Fill k->cg from rfd's description of its enforcement. */
void soak_find_cgroups(struct soak *k);
/* Fault number i: kill the fault build at a random journal point during
 * cycles, restart rfd, check the table.  0 (counted in k), or -1 if the
 * benchmark itself cannot go on. */
int soak_fault(struct soak *k, int i);

#endif
