/*
 * rfslow - a libos program whose librf attaches late: it sleeps MS
 * milliseconds before rf_main, then parks until rfd ends it
 * (tests/integration/35-noblock.sh: a create in flight must not hold rfd
 * up).
 *
 *   rfslow MS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <rf/rf.h>

static int app(int argc, char **argv)
{
	printf("rfslow: attached\n");
	fflush(stdout);
	for (;;)
		rf_park(); /* nobody unparks us: sleep until shutdown */
	return 0;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	rf_main(argc, argv, app);
}
