/*
 * opts.c - rfload's command line: every option, its default and its
 * range, checked before anything connects (a typo must not cost a run).
 *
 * The options of the old examples/rfkv-load (--host --port --rate
 * --seconds --conns --threads --get-ratio --keys --value-size --warmup
 * --uniform --no-preload --spin-us --json) keep their meaning.
 */
#include "rfload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: rfload [options]   open-loop memcached-protocol load (README \"rfload\")\n"
	"  --host A --port P        server (default 127.0.0.1:11311)\n"
	"  --rate R                 target requests/s: 40000, 40k, 1.5M (default 10000)\n"
	"  --schedule T:R,T:R,...   rate steps, e.g. 0s:10k,5s:40k (times from the start)\n"
	"  --trace FILE             rate steps from FILE, one \"TIME RATE\" a line\n"
	"  --seconds S              measured length (default 5; steps must start before)\n"
	"  --warmup S               first, at the first step's rate, not measured (0)\n"
	"  --drain S                wait for replies after the last send (2)\n"
	"  --arrivals poisson|uniform   (default poisson; --uniform = uniform)\n"
	"  --conns C --threads T    connections (8), threads sharing them (1)\n"
	"  --get-ratio F            share of gets, the rest sets (0.9)\n"
	"  --keys K                 key space, keys key:00000000.. (10000)\n"
	"  --key-dist uniform|zipf[:S]   key popularity (uniform; zipf's S 0.99)\n"
	"  --value-size N           value bytes of a set (32)\n"
	"  --value-dist fixed|etc   etc: Facebook ETC sizes (workload.c) (fixed)\n"
	"  --value-max N            cap of a drawn size (524288)\n"
	"  --seed N                 random seed (1); same seed, same requests\n"
	"  --spin-us U              poll this long before each send (200)\n"
	"  --no-preload             do not store every key first\n"
	"  --rfloop[=LIB]           run under RFloop (LD_PRELOAD LIB, default librfloop.so\n"
	"                           beside rfload; the registry is $RF_SOCKET's rfd)\n"
	"  --json                   one JSON object: config, totals, steps\n"
	"  --window MS              with --json: p99 per MS-long window too (\"windows\")\n";

static void usage(int rc)
{
	fputs(usage_text, rc ? stderr : stdout);
	exit(rc);
}

static void bad(const char *what, const char *why)
{
	fprintf(stderr, "rfload: %s: %s\n", what, why);
	exit(2);
}

static double num(const char *opt, const char *v, double lo, double hi)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v || *end || !(x >= lo && x <= hi)) {
		fprintf(stderr, "rfload: %s wants a number in [%g, %g], not '%s'\n", opt, lo, hi, v);
		exit(2);
	}
	return x;
}

static void key_dist(struct rfload_opts *o, const char *v)
{
	if (!strcmp(v, "uniform")) {
		o->wl.keydist = RFLOAD_KEYS_UNIFORM;
		return;
	}
	if (strncmp(v, "zipf", 4) || (v[4] && v[4] != ':'))
		bad("--key-dist", "want uniform, zipf or zipf:S");
	o->wl.keydist = RFLOAD_KEYS_ZIPF;
	if (v[4])
		o->wl.zipf_s = num("--key-dist zipf:S", v + 5, 0, 10);
}

static void value_dist(struct rfload_opts *o, const char *v)
{
	if (!strcmp(v, "fixed"))
		o->wl.valdist = RFLOAD_VALS_FIXED;
	else if (!strcmp(v, "etc"))
		o->wl.valdist = RFLOAD_VALS_ETC;
	else
		bad("--value-dist", "want fixed or etc");
}

static void arrivals(struct rfload_opts *o, const char *v)
{
	if (strcmp(v, "poisson") && strcmp(v, "uniform"))
		bad("--arrivals", "want poisson or uniform");
	o->uniform = !strcmp(v, "uniform");
}

/* Options with a value; 0 if `a` is none of them. */
static int with_value(struct rfload_opts *o, const char *a, const char *v, const char **rate,
		      const char **trace)
{
	if (!strcmp(a, "--host"))
		o->host = v;
	else if (!strcmp(a, "--port"))
		o->port = (int)num(a, v, 1, 65535);
	else if (!strcmp(a, "--rate"))
		*rate = v;   /* checked as a step's rate: 40000, 40k, 1.5M */
	else if (!strcmp(a, "--schedule"))
		o->schedule_text = v;
	else if (!strcmp(a, "--trace"))
		*trace = v;
	else if (!strcmp(a, "--seconds"))
		o->seconds = num(a, v, 0.001, 1e6);
	else if (!strcmp(a, "--warmup"))
		o->warmup = num(a, v, 0, 1e6);
	else if (!strcmp(a, "--drain"))
		o->drain = num(a, v, 0, 3600);
	else if (!strcmp(a, "--arrivals"))
		arrivals(o, v);
	else if (!strcmp(a, "--conns"))
		o->conns = (int)num(a, v, 1, 100000);
	else if (!strcmp(a, "--threads"))
		o->threads = (int)num(a, v, 1, 1024);
	else if (!strcmp(a, "--get-ratio"))
		o->wl.get_ratio = num(a, v, 0, 1);
	else if (!strcmp(a, "--keys"))
		o->wl.keys = (uint32_t)num(a, v, 1, 1e8);
	else if (!strcmp(a, "--key-dist"))
		key_dist(o, v);
	else if (!strcmp(a, "--value-size"))
		o->wl.value_size = (uint32_t)num(a, v, 0, 1 << 20);
	else if (!strcmp(a, "--value-dist"))
		value_dist(o, v);
	else if (!strcmp(a, "--value-max"))
		o->wl.value_max = (uint32_t)num(a, v, 1, 1 << 20);
	else if (!strcmp(a, "--seed"))
		o->seed = (uint64_t)num(a, v, 0, 1e15);
	else if (!strcmp(a, "--window"))
		o->window_ms = num(a, v, 1, 1e6);
	else if (!strcmp(a, "--spin-us"))
		o->spin_ns = (uint64_t)(num(a, v, 0, 1e6) * 1000);
	else
		return 0;
	return 1;
}

/* Options without a value; 0 if `a` is none of them. */
static int flag(struct rfload_opts *o, const char *a)
{
	if (!strcmp(a, "--uniform"))
		o->uniform = true;
	else if (!strcmp(a, "--no-preload"))
		o->preload = false;
	else if (!strcmp(a, "--json"))
		o->json = true;
	else if (!strcmp(a, "--rfloop"))
		o->rfloop = true;
	else if (!strncmp(a, "--rfloop=", 9))
		o->rfloop = true, o->rfloop_lib = a + 9;
	else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
		usage(0);
	else
		return 0;
	return 1;
}

/* The schedule: --trace, --schedule or the one step of --rate. */
static void schedule(struct rfload_opts *o, const char *rate, const char *trace)
{
	static char one[80];   /* the text of --rate's one step, kept for the report */
	char err[256];
	int rc;

	if (trace && o->schedule_text)
		bad("--trace", "give --trace or --schedule, not both");
	if (trace)
		rc = rfload_sched_trace(&o->sched, trace, err, sizeof(err));
	else {
		if (!o->schedule_text) {
			snprintf(one, sizeof(one), "0s:%.60s", rate);
			o->schedule_text = one;
		}
		rc = rfload_sched_parse(&o->sched, o->schedule_text, err, sizeof(err));
	}
	if (rc == 0 && trace)
		o->schedule_text = trace;
	if (rc == 0)
		rc = rfload_sched_finish(&o->sched, (uint64_t)(o->seconds * 1e9),
					 (uint64_t)(o->warmup * 1e9), err, sizeof(err));
	if (rc < 0)
		bad(trace ? "--trace" : o->schedule_text == one ? "--rate" : "--schedule", err);
}

void rfload_opts_parse(struct rfload_opts *o, int argc, char **argv)
{
	const char *rate = "10000", *trace = NULL;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 11311;
	o->conns = 8;
	o->threads = 1;
	o->seconds = 5;
	o->drain = 2;
	o->preload = true;
	o->spin_ns = 200000;
	o->seed = 1;
	o->wl = (struct rfload_workload){ .keys = 10000, .zipf_s = 0.99, .value_size = 32,
					  .value_max = 524288, .get_ratio = 0.9 };
	for (int i = 1; i < argc; i++) {
		if (flag(o, argv[i]))
			continue;
		if (i + 1 >= argc || !with_value(o, argv[i], argv[i + 1], &rate, &trace))
			usage(2);
		i++;
	}
	if (o->threads > o->conns)
		o->threads = o->conns;
	schedule(o, rate, trace);
}
