/*
 * rfhello - the smallest libos application: report the partition, then
 * sleep in a fiber until rfd (or --exit-after) ends it.
 *
 * Used by tests and by the lifecycle benchmark, so it does nothing before
 * app_main that librf does not need, and prints one line as soon as it
 * runs (the benchmark waits for it).
 *
 *   rfhello [--exit-after MS] [--exit-code N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rf/rf.h>

static void usage(void)
{
	fprintf(stderr, "usage: rfhello [--exit-after MS] [--exit-code N]\n");
	exit(2);
}

static long num_arg(int argc, char **argv, int *i)
{
	char *end;
	long v;

	if (*i + 1 >= argc)
		usage();
	v = strtol(argv[++*i], &end, 10);
	if (*end || v < 0)
		usage();
	return v;
}

static void bye(void)
{
	printf("rfhello: shutting down\n");
	fflush(stdout);
}

static int app(int argc, char **argv)
{
	long exit_after = -1, code = 0;
	char buf[1024];
	int len = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--exit-after"))
			exit_after = num_arg(argc, argv, &i);
		else if (!strcmp(argv[i], "--exit-code"))
			code = num_arg(argc, argv, &i);
		else
			usage();
	}
	rf_on_shutdown(bye);
	for (int c = 0; c < rf_ncores_max() && len < (int)sizeof(buf) - 16; c++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "%s%d", c ? "," : "",
				rf_core_cpu(c));
	printf("rfhello: name=%s pid-core=%d cores=%d cpus=%s mem=%llu free=%llu\n",
	       rf_name(), rf_core_self(), rf_ncores(), buf,
	       (unsigned long long)rf_mem_total(), (unsigned long long)rf_mem_free());
	fflush(stdout);
	if (exit_after >= 0) {
		rf_sleep_ns((uint64_t)exit_after * 1000000ull);
		return (int)code;
	}
	for (;;)
		rf_park();  /* nobody unparks us: sleep until shutdown */
}

int main(int argc, char **argv)
{
	rf_main(argc, argv, app);
}
