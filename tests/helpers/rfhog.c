/*
 * rfhog - a misbehaving libos application: it takes every core it owns and
 * never gives it back to the librf scheduler, so it never acknowledges a
 * reconfiguration or a shutdown.  rfd must force a core away after its
 * deadline and kill the program on destroy (tests/integration/70-forced.sh).
 *
 *   rfhog [N]
 *
 * app_main waits until N cores run (default 1), spawns a spinning fiber on
 * every other core, waits until all of them spin, prints "rfhog: hogging
 * N cores" and spins itself.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <rf/rf.h>
#include "base/cpu.h"

static atomic_int spinning;

static void spin(void *arg)
{
	(void)arg;
	atomic_fetch_add(&spinning, 1);
	for (;;)
		base_cpu_relax(); /* never yields, never returns */
}

static int app(int argc, char **argv)
{
	/* librf brings the cores up in the background: wait for N of them. */
	int n = argc > 1 ? atoi(argv[1]) : 1;
	while (rf_ncores() < n)
		rf_yield();
	n = rf_ncores();
	for (int c = 0; c < rf_ncores_max(); c++)
		if (c != rf_core_self() && rf_core_running(c) && rf_spawn_on(c, spin, NULL)) {
			fprintf(stderr, "rfhog: cannot spawn on core %d\n", c);
			return 1;
		}
	while (atomic_load(&spinning) < n - 1)
		rf_yield();
	printf("rfhog: hogging %d cores\n", n);
	fflush(stdout);
	atomic_fetch_add(&spinning, 1);
	for (;;)
		base_cpu_relax();
}

int main(int argc, char **argv)
{
	rf_main(argc, argv, app);
}
