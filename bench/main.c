/*
 * main.c - rfbench: `rfbench NAME [--json] [--quick] [--runs N] [-n N]
 * [--results DIR]`, and `rfbench --list` (the names, for make bench).
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

/* quick_n: -n under --quick, a few seconds each (make test checks shapes);
 * plot: the PNG of a CSV that is not latency series (NULL: their CDFs). */
static const struct bench benches[] = {
	{ "lifecycle", "create/destroy/resize latencies of subOSes (Table 4)", bench_lifecycle,
	  lifecycle_targets, 3, NULL },
	{ "ficm",      "FICM round trips (two processes, and two subOSes over RFcom), wake-ups and "
		       "throughput vs the cache-line floors and kernel IPC (blocking, busy-polling)",
	  bench_ficm, ficm_targets, 1, NULL },
	{ "syscalls",  "system calls and page faults per request of rfkv as a 2-core libos subOS (perf stat)",
	  bench_syscalls, syscalls_targets, 1, NULL },
	{ "rfloop",    "TCP request/response, connect and stream: RFloop vs kernel loopback",
	  bench_rfloop, rfloop_targets, 5, NULL },
	{ "isolation", "p99 of rfkv at a fixed load alone and beside each rfinterfere workload: "
		       "subOSes vs Linux vs cgroup v1 containers (Figure 9)",
	  bench_isolation, isolation_targets, 20, NULL },
	{ "microtail", "tail latency of mmap, malloc, page fault and open with a neighbour doing "
		       "the same: a libos subOS vs Linux (Figure 6)",
	  bench_microtail, microtail_targets, 10, NULL },
	{ "soak",      "10,000 create/destroy cycles, 100,000 resizes, rfd killed at random "
		       "journal points: leaks, journal size, replay time (--quick: short)",
	  bench_soak, soak_targets, 1, NULL },
	{ "kv",        "highest request rate within a p99 objective: rfkv as a libos subOS vs "
		       "memcached on the same core, over TCP and RFloop (Figure 12, EbbRT)",
	  bench_kv, kv_targets, 30, kv_plot },
	{ "dynamic",   "KV under a fluctuating load beside a batch job: rfd's elastic policy vs a "
		       "static split, Linux, cgroup cpusets (Figures 10, 11, Table 5)",
	  bench_dynamic, dynamic_targets, 1, dyn_plot },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: rfbench NAME [--json] [--quick] [--runs N] [-n ITERATIONS] "
		   "[--results DIR]\n       rfbench --list\n\nbenchmarks:\n");
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		fprintf(f, "  %-12s %s\n", benches[i].name, benches[i].what);
}

int main(int argc, char **argv)
{
	static char self[PATH_MAX];
	struct bench_opts o = { .iterations = 100, .results_dir = "results", .runs = 3 };
	const struct bench *b = NULL;
	bool n_given = false, runs_given = false;

	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	o.build_dir = dirname(self);
	/* rfbench re-executes itself as the peers of `rfbench rfloop`. */
	if (argc > 1 && strcmp(argv[1], "rfloop-peer") == 0)
		return rfloop_peer_main(argc - 2, argv + 2);
	/* ... and as the programs in the subOSes of `rfbench ficm`. */
	if (argc > 1 && strcmp(argv[1], "ficm-peer") == 0)
		return ficm_peer_main(argc - 2, argv + 2);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o.json = true;
		else if (strcmp(argv[i], "--quick") == 0)
			o.quick = true;
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			o.iterations = atoi(argv[++i]), n_given = true;
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			o.runs = atoi(argv[++i]), runs_given = true;
		else if (strcmp(argv[i], "--list") == 0) {
			for (size_t k = 0; k < sizeof(benches) / sizeof(benches[0]); k++)
				printf("%s\n", benches[k].name);
			return 0;
		}
		else if (strcmp(argv[i], "--results") == 0 && i + 1 < argc)
			o.results_dir = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (!b) {
			for (size_t k = 0; k < sizeof(benches) / sizeof(benches[0]); k++)
				if (strcmp(argv[i], benches[k].name) == 0)
					b = &benches[k];
			if (!b) {
				fprintf(stderr, "rfbench: unknown benchmark \"%s\"\n", argv[i]);
				usage(stderr);
				return 2;
			}
		} else {
			fprintf(stderr, "rfbench: unexpected argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	/* --quick: one short run, unless asked otherwise. */
	if (b && o.quick && !n_given)
		o.iterations = b->quick_n;
	if (o.quick && !runs_given)
		o.runs = 1;
	if (!b || o.iterations < 1 || o.runs < 1 || o.runs > 99) {  /* runs: kept on the stack */
		usage(stderr);
		return 2;
	}
	struct json_object *out = json_object_new_object();
	json_object_object_add(out, "bench", json_object_new_string(b->name));
	int rc = bench_runs(b, &o, out);
	printf("%s\n", json_object_to_json_string_ext(out, o.json ? JSON_C_TO_STRING_PLAIN
								   : JSON_C_TO_STRING_PRETTY));
	json_object_put(out);
	return rc ? 1 : 0;
}
