/*
 * fault.c - the fault points of the crash-test build (see fault.h).
 * rfd links it compiled without RFD_FAULTS, where a point does nothing;
 * the points sit beside fsync'd writes, so the call costs nothing there.
 */
#include "rfd/fault.h"

#ifdef RFD_FAULTS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const kind_names[RFD_FAULT_KINDS] = { [RFD_FAULT_JOURNAL] = "journal",
							  [RFD_FAULT_POOL_SLOW] = "pool_slow",
							  [RFD_FAULT_FORK] = "fork" };

static struct {
	int init;
	int kind;   /* -1: none armed */
	long at;
	long passed[RFD_FAULT_KINDS];
	int trace;
} fp;

static void arm(void)
{
	const char *spec = getenv("RFD_FAULT");
	fp.init = 1;
	fp.kind = -1;
	fp.trace = getenv("RFD_FAULT_TRACE") != NULL;
	for (int k = 0; spec && k < RFD_FAULT_KINDS; k++) {
		size_t n = strlen(kind_names[k]);
		if (strncmp(spec, kind_names[k], n) == 0 && spec[n] == ':') {
			fp.kind = k;
			fp.at = strtol(spec + n + 1, NULL, 10);
		}
	}
}

void rfd_fault_point(enum rfd_fault_kind kind)
{
	if (!fp.init)
		arm();
	long n = ++fp.passed[kind];
	if (fp.trace)
		fprintf(stderr, "rfd: fault point %s:%ld\n", kind_names[kind], n);
	if ((int)kind == fp.kind && n == fp.at) {
		fprintf(stderr, "rfd: fault injected at %s:%ld\n", kind_names[kind], n);
		kill(getpid(), SIGKILL);
	}
}

long rfd_fault_value(enum rfd_fault_kind kind)
{
	if (!fp.init)
		arm();
	return (int)kind == fp.kind ? fp.at : 0;
}
#else
void rfd_fault_point(enum rfd_fault_kind kind)
{
	(void)kind;
}

long rfd_fault_value(enum rfd_fault_kind kind)
{
	(void)kind;
	return 0;
}
#endif
