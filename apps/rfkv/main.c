/*
 * main.c - rfkv, RainForest's memcached-compatible key-value service on
 * librf: options, the listening socket and the acceptor fibers.
 *
 *   rfkv [-p PORT] [-l ADDR] [-m MB] [-c CONNS] [-t CORES] [-I SIZE] [-U 0]
 *        [-C] [-M] [-f FACTOR] [-n BYTES] [-v] [-u USER] [--port PORT]
 *
 * The options are memcached's where they apply: -p port (default 11211;
 * the old --port is kept), -l listen address, -m item memory in MiB
 * (default 64), -c connection limit, -t cores when standalone (under rfd
 * the subOS's cores are what rfd gives), -I largest item (k/m suffix,
 * default 1m), -C no CAS, -M refuse instead of evicting, -f/-n slab class
 * growth and base (stats only), -U 0 and -u are accepted (no UDP; rfd
 * decides who we run as).  Standalone, librf's memory (RF_MEM) defaults
 * to what -m needs and then some.
 *
 * Shape.  One listening socket, shared by one acceptor fiber per core.
 * Each acceptor accepts with rf_accept on its own core's ring; the kernel
 * hands each new connection to one waiting accept, so connections spread
 * over the cores, and each is served by a fiber on the core that accepted
 * it (conn.c).  Keys are partitioned among cores (shard.c).  When a core
 * leaves, its acceptor and connections move with its work (librf
 * re-issues their pending calls) and its shards go to the other cores;
 * once its home core runs again the acceptor goes back there.  A core
 * added later gets an acceptor of its own and a share of the shards.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <rf/desc.h>
#include <rf/io.h>
#include "kv.h"

static int lfd = -1;
static uint32_t acceptor_alive[KV_MAX_CORES];   /* per home core index */

static void acceptor(void *arg)
{
	int home = (int)(intptr_t)arg;

	for (;;) {
		int fd = rf_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (fd == -EINTR || fd == -ECONNABORTED || fd == -EAGAIN)
				continue;
			if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
				rf_sleep_ns(10000000);  /* out of descriptors: back off */
				continue;
			}
			fprintf(stderr, "rfkv: accept: %s\n", strerror(-fd));
			break;
		}
		kv_conn_start(fd);
		/* Moved away with a leaving core, and home runs again: go back. */
		if (rf_core_self() != home && rf_core_running(home) &&
		    rf_spawn_on(home, acceptor, arg) == 0)
			return;
	}
	__atomic_store_n(&acceptor_alive[home], 0, __ATOMIC_RELEASE);
}

static void start_acceptor(int core)
{
	if (core < 0 || core >= KV_MAX_CORES ||
	    __atomic_exchange_n(&acceptor_alive[core], 1, __ATOMIC_ACQ_REL))
		return;
	if (rf_spawn_on(core, acceptor, (void *)(intptr_t)core) < 0)
		__atomic_store_n(&acceptor_alive[core], 0, __ATOMIC_RELEASE);
}

static void cores_changed(int core, int cpu, bool added)
{
	(void)cpu;
	kv_shards_core_changed(core, added);
	if (added) {
		start_acceptor(core);
		kv_place_start(core);
	}
}

static int listen_on(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)kv_settings.port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd, one = 1;

	if (strcmp(kv_settings.inter, "NULL") && inet_pton(AF_INET, kv_settings.inter,
							    &a.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Accepted sockets inherit TCP_NODELAY: no per-connection call. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- options -------------------------------------------------------------- */

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: rfkv [-p PORT] [-l ADDR] [-m MB] [-c CONNS] [-t CORES] "
		"[-I SIZE] [-U 0] [-C] [-M] [-f FACTOR] [-n BYTES] [-v] [-u USER]\n");
	exit(2);
}

static long long num(const char *s, long long lo, long long hi)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s)
		usage();
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || v < lo || v > hi)
		usage();
	return v;
}

static const struct option longopts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "listen", required_argument, NULL, 'l' },
	{ "memory-limit", required_argument, NULL, 'm' },
	{ "conn-limit", required_argument, NULL, 'c' },
	{ "threads", required_argument, NULL, 't' },
	{ "max-item-size", required_argument, NULL, 'I' },
	{ "max-value", required_argument, NULL, 'I' },
	{ "udp-port", required_argument, NULL, 'U' },
	{ NULL, 0, NULL, 0 },
};

static void parse_options(int argc, char **argv)
{
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "p:l:m:c:t:I:U:CMf:n:vu:", longopts, NULL)) != -1) {
		switch (o) {
		case 'p': kv_settings.port = (int)num(optarg, 0, 65535); break;
		case 'l': snprintf(kv_settings.inter, sizeof(kv_settings.inter), "%s", optarg); break;
		case 'm': kv_settings.maxbytes = (uint64_t)num(optarg, 1, 1 << 20) << 20; break;
		case 'c': kv_settings.maxconns = (uint32_t)num(optarg, 1, 1 << 24); break;
		case 't': kv_settings.threads = (int)num(optarg, 1, RF_MAX_CPUS); break;
		case 'I': kv_settings.item_size_max = (uint32_t)num(optarg, 1024, 1 << 30); break;
		case 'U': num(optarg, 0, 0); break;   /* UDP: only "off" */
		case 'C': kv_settings.use_cas = false; break;
		case 'M': kv_settings.evict = false; break;
		case 'f': kv_settings.factor = strtof(optarg, NULL); break;
		case 'n': kv_settings.chunk_size = (uint32_t)num(optarg, 1, 1 << 20); break;
		case 'v': kv_verbose++; break;
		case 'u': break;
		default: usage();
		}
	}
	if (optind != argc || kv_settings.factor <= 1.0f)
		usage();
}

/* Standalone only: -t picks the first CPUs of our affinity mask, and
 * librf's memory covers -m (items) plus room for tables and buffers. */
static void standalone_env(void)
{
	char buf[4096];
	cpu_set_t aff;
	size_t n = 0;
	int left = kv_settings.threads;

	if (getenv(RF_ENV_DESC))
		return;
	if (left && !getenv("RF_CORES") && sched_getaffinity(0, sizeof(aff), &aff) == 0) {
		for (int c = 0; c < CPU_SETSIZE && left > 0 && n + 16 < sizeof(buf); c++) {
			if (!CPU_ISSET(c, &aff))
				continue;
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d", n ? "," : "", c);
			left--;
		}
		setenv("RF_CORES", buf, 1);
	}
	if (!getenv("RF_MEM")) {
		snprintf(buf, sizeof(buf), "%lluM",
			 (unsigned long long)((kv_settings.maxbytes >> 20) * 5 / 4 + 64));
		setenv("RF_MEM", buf, 1);
	}
}

/* ---- main -------------------------------------------------------------------- */

static int app(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	kv_clock_init();
	kv_stats_init();
	if (kv_shards_init(kv_settings.maxbytes) < 0) {
		fprintf(stderr, "rfkv: no memory for the store\n");
		return 1;
	}
	lfd = listen_on();
	if (lfd < 0) {
		fprintf(stderr, "rfkv: cannot listen on %s port %d: %s\n", kv_settings.inter,
			kv_settings.port, strerror(errno));
		return 1;
	}
	rf_on_cores_changed(cores_changed);  /* before starting: no core missed */
	rf_on_mem_reclaim(kv_shards_reclaim);
	for (int i = 0; i < rf_ncores_max(); i++)
		if (rf_core_running(i)) {
			start_acceptor(i);
			kv_place_start(i);
		}
	printf("rfkv: serving on port %d with %d cores, %d shards\n", kv_settings.port,
	       rf_ncores(), kv_nshards());
	fflush(stdout);
	for (;;)
		rf_park();  /* nobody unparks us: serve until rfd ends the subOS */
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	standalone_env();
	rf_main(argc, argv, app);
}
