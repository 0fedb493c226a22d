/*
 * rflat - a libos test program that records a known latency signal, for
 * the monitoring tests (60-metrics... see tests/integration/45-monitor.sh):
 * N requests of NS nanoseconds each through rf_latency_record, from a
 * fiber that yields between requests (so librf's queueing-delay histogram
 * gets samples too), then a line "rflat: recorded N" and sleep until rfd
 * ends it.  With --every MS it records N more every MS milliseconds
 * (a steady rate for rfm top's requests/s).
 *
 *   rflat N NS [--every MS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rf/rf.h>

static long n_req, ns_req, every_ms = -1;

static void record_batch(void)
{
	for (long i = 0; i < n_req; i++) {
		rf_latency_record((uint64_t)ns_req);
		rf_yield();
	}
}

static int app(int argc, char **argv)
{
	if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--every") == 0)) {
		fprintf(stderr, "usage: rflat N NS [--every MS]\n");
		return 2;
	}
	n_req = strtol(argv[1], NULL, 10);
	ns_req = strtol(argv[2], NULL, 10);
	if (argc == 5)
		every_ms = strtol(argv[4], NULL, 10);
	record_batch();
	printf("rflat: recorded %ld\n", n_req);
	fflush(stdout);
	for (;;) {
		if (every_ms <= 0) {
			rf_park();  /* nobody unparks us: sleep until shutdown */
			continue;
		}
		rf_sleep_ns((uint64_t)every_ms * 1000000ull);
		record_batch();
	}
}

int main(int argc, char **argv)
{
	rf_main(argc, argv, app);
}
