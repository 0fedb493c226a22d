/*
 * rfescape - a hostile libos program for tests/integration/43-escape-memory.sh:
 * it attacks, from inside its subOS, the memory rfd gave it, and prints one
 * line per attack ("attack NAME: refused (REASON)" or "attack NAME:
 * SUCCEEDED ..."), so the test can tell what each got.
 *
 *   rfescape keeper DIR   keep dup()s and mappings of every region fd and of
 *                         the description and status pages (taken from the
 *                         environment before librf closes them); try to map
 *                         the description page writable every way it can; try
 *                         to resize or write-seal its region fds; write lies
 *                         into its status page; touch DIR/lied.  Then wait for
 *                         DIR/b-written and read every kept region that rfd
 *                         took back (through the fd and the mapping): it must
 *                         hold no memory and read zeros (or SIGBUS), never
 *                         another subOS's pattern; touch DIR/a-checked.
 *                         Then wait for DIR/go-refault and write into those
 *                         regions again through the kept fds (fresh pages:
 *                         the host checks whose memory cgroup pays), touch
 *                         DIR/a-refaulted.
 *   rfescape victim DIR   fill (almost) all its memory with a known pattern
 *                         through rf_malloc, touch DIR/b-written, then sleep.
 *
 * The attacks run in a plain thread of the program (not a fiber), which is
 * still inside the subOS: same process, cgroups and namespaces.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <rf/desc.h>
#include <rf/rf.h>

#define PATTERN  0x5a
#define MAX_KEPT 64

static const char *dir;
static int desc_fd = -1, status_fd = -1;
static int kept[MAX_KEPT], nkept;
static uint64_t kept_size[MAX_KEPT];
static void *kept_map[MAX_KEPT];
static sigjmp_buf *bus_jump;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("rfescape: ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static void touch(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static void wait_for(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (int i = 0; i < 1200 && access(path, F_OK); i++)
		usleep(50000);
}

/* An attack that must fail: rc < 0 is a refusal (errno says how). */
static void verdict(const char *what, int rc)
{
	if (rc < 0)
		say("attack %s: refused (%s)", what, strerror(errno));
	else
		say("attack %s: SUCCEEDED", what);
}

static int try_map(int fd, size_t size, int prot)
{
	void *m = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	munmap(m, size);
	return 0;
}

static int try_mprotect(int fd, size_t size)
{
	void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	int rc = mprotect(m, size, PROT_READ | PROT_WRITE);
	int e = errno;
	munmap(m, size);
	errno = e;
	return rc;
}

/* librf's own read-only mapping of the description page, made writable. */
static int try_mprotect_librf_desc(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int rc = -1;
	errno = ENOENT;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (!strstr(line, "/memfd:rf-desc") || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		rc = mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE);
		break;
	}
	if (f)
		fclose(f);
	return rc;
}

/* The description page reopened read-write through /proc/self/fd. */
static int try_reopen_desc(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", desc_fd);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = try_map(fd, RF_DESC_SIZE, PROT_READ | PROT_WRITE);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static void attack_desc(void)
{
	say("desc seals %#x", (unsigned)fcntl(desc_fd, F_GET_SEALS));
	verdict("desc-mmap-write-shared", try_map(desc_fd, RF_DESC_SIZE, PROT_READ | PROT_WRITE));
	verdict("desc-mprotect-write", try_mprotect(desc_fd, RF_DESC_SIZE));
	verdict("desc-librf-mapping-mprotect-write", try_mprotect_librf_desc());
	verdict("desc-reopen-rdwr-mmap-write", try_reopen_desc());
	verdict("desc-pwrite", (int)pwrite(desc_fd, "x", 1, 64));
	verdict("desc-ftruncate", ftruncate(desc_fd, 0));
	verdict("desc-remove-seals-by-adding", fcntl(desc_fd, F_ADD_SEALS, F_SEAL_WRITE));
}

static void attack_regions(void)
{
	char what[64];
	for (int i = 0; i < nkept; i++) {
		int fd = kept[i];
		uint64_t sz = kept_size[i];
		snprintf(what, sizeof(what), "region%d-ftruncate-grow", i);
		verdict(what, ftruncate(fd, (off_t)(2 * sz)));
		snprintf(what, sizeof(what), "region%d-ftruncate-shrink", i);
		verdict(what, ftruncate(fd, 0));
		snprintf(what, sizeof(what), "region%d-fallocate-grow", i);
		verdict(what, fallocate(fd, 0, (off_t)sz, 2 << 20));
		snprintf(what, sizeof(what), "region%d-fallocate-keep-size-beyond", i);
		verdict(what, fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)sz, 2 << 20));
		snprintf(what, sizeof(what), "region%d-write-seal", i);
		verdict(what, fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
		kept_map[i] = mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 0);
		if (kept_map[i] == MAP_FAILED)
			kept_map[i] = NULL;
	}
}

/* Lies: every region "returned", absurd counters and generations. */
static void lie_in_status(void)
{
	struct rf_status *st = mmap(NULL, RF_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				    status_fd, 0);
	if (st == MAP_FAILED) {
		say("cannot map the status page: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		st->region[i] = RF_REGION_RETURNED;
	st->applied_gen = 0xfffffff0u;
	st->ack = 0xfffffff0u;
	st->pid = 1;
	for (int c = 0; c < RF_MAX_CPUS; c++)
		st->core[c].loops = ~0ull;
	say("lies written into the status page");
	munmap(st, RF_STATUS_SIZE);
}

/* Is another descriptor of this process the same file (librf's own)? */
static bool librf_holds(int fd)
{
	struct stat a, b;
	bool held = false;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	if (!d || fstat(fd, &a) < 0)
		return true;
	while (!held && (e = readdir(d))) {
		int other = atoi(e->d_name);
		if (e->d_name[0] == '.' || other == fd || other == dirfd(d))
			continue;
		bool mine = false;
		for (int i = 0; i < nkept; i++)
			mine |= kept[i] == other;
		held = !mine && fstat(other, &b) == 0 && a.st_ino == b.st_ino &&
		       a.st_dev == b.st_dev;
	}
	closedir(d);
	return held;
}

static void on_bus(int sig)
{
	(void)sig;
	if (bus_jump)
		siglongjmp(*bus_jump, 1);
	_exit(99);
}

/* "zeros", "pattern" (another subOS's data: the failure) or "dirty". */
static const char *scan(const unsigned char *p, size_t n)
{
	const char *what = "zeros";
	for (size_t i = 0; i < n; i++)
		if (p[i] == PATTERN)
			return "pattern";
		else if (p[i])
			what = "dirty";
	return what;
}

static const char *read_fd(int fd, uint64_t size)
{
	static unsigned char buf[1 << 20];
	const char *worst = "zeros";
	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
		if (n <= 0)
			return "unreadable";
		const char *w = scan(buf, (size_t)n);
		if (strcmp(w, "zeros"))
			worst = w;
		if (!strcmp(w, "pattern"))
			break;
	}
	return worst;
}

static const char *read_map(const void *m, uint64_t size)
{
	sigjmp_buf jb;
	if (!m)
		return "unmapped";
	if (sigsetjmp(jb, 1)) {
		bus_jump = NULL;
		return "sigbus";
	}
	bus_jump = &jb;
	const char *w = scan(m, size);
	bus_jump = NULL;
	return w;
}

static void check_kept(void)
{
	signal(SIGBUS, on_bus);
	for (int i = 0; i < nkept; i++) {
		struct stat st;
		if (librf_holds(kept[i]))
			continue; /* still this subOS's own memory */
		fstat(kept[i], &st);
		/* blocks before reading: reading faults fresh pages in */
		long long blocks = (long long)st.st_blocks;
		const char *via_fd = read_fd(kept[i], kept_size[i]);
		const char *via_map = read_map(kept_map[i], kept_size[i]);
		say("kept region %d (inode %lu): returned, blocks %lld, fd reads %s, mapping "
		    "reads %s", i, (unsigned long)st.st_ino, blocks, via_fd, via_map);
		if (!strcmp(via_fd, "pattern") || !strcmp(via_map, "pattern"))
			say("LEAK: kept region %d shows another subOS's data", i);
	}
}

/* Write into every returned region through its kept fd: the pages rfd
 * punched out come back fresh, this subOS's own. */
static void refault(void)
{
	uint64_t total = 0;
	for (int i = 0; i < nkept; i++) {
		if (librf_holds(kept[i]))
			continue;
		void *m = mmap(NULL, kept_size[i], PROT_READ | PROT_WRITE, MAP_SHARED, kept[i], 0);
		if (m == MAP_FAILED) {
			say("cannot map kept region %d writable: %s", i, strerror(errno));
			continue;
		}
		memset(m, 0xa5, kept_size[i]);
		munmap(m, kept_size[i]);
		total += kept_size[i];
	}
	say("refaulted %llu MiB of returned regions", (unsigned long long)(total >> 20));
}

static void *keeper(void *arg)
{
	(void)arg;
	attack_desc();
	attack_regions();
	lie_in_status();
	touch("lied");
	wait_for("b-written");
	check_kept();
	touch("a-checked");
	wait_for("go-refault");
	refault();
	touch("a-refaulted");
	return NULL;
}

/* Before librf attaches (it closes the pages' fds): keep our own dups. */
static void keep_fds(void)
{
	const char *d = getenv(RF_ENV_DESC), *s = getenv(RF_ENV_STATUS);
	const char *r = getenv(RF_ENV_REGIONS);
	if (d)
		desc_fd = fcntl(atoi(d), F_DUPFD_CLOEXEC, 100);
	if (s)
		status_fd = fcntl(atoi(s), F_DUPFD_CLOEXEC, 100);
	while (r && *r && nkept < MAX_KEPT) {
		const char *colon = strchr(r, ':');
		struct stat st;
		if (!colon)
			break;
		int fd = fcntl(atoi(colon + 1), F_DUPFD_CLOEXEC, 100);
		if (fd >= 0 && fstat(fd, &st) == 0) {
			kept_size[nkept] = (uint64_t)st.st_size;
			kept[nkept++] = fd;
		}
		r = strchr(colon, ',');
		r = r ? r + 1 : NULL;
	}
}

static void victim(void)
{
	uint64_t total = 0, want = rf_mem_total() / 10 * 9;
	void *p;
	while (total < want && (p = rf_malloc(1 << 20))) {
		memset(p, PATTERN, 1 << 20);
		total += 1 << 20;
	}
	say("victim wrote its pattern into %llu MiB", (unsigned long long)(total >> 20));
	touch("b-written");
}

static int app(int argc, char **argv)
{
	pthread_t t;
	if (!strcmp(argv[1], "victim"))
		victim();
	else if (desc_fd < 0 || status_fd < 0 || !nkept)
		say("not started by rfd: nothing to attack");
	else if (pthread_create(&t, NULL, keeper, NULL) == 0)
		say("keeping %d region fds", nkept);
	for (;;)
		rf_park(); /* nobody unparks us: sleep until shutdown */
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "keeper") && strcmp(argv[1], "victim"))) {
		fprintf(stderr, "usage: rfescape keeper|victim DIR\n");
		return 2;
	}
	dir = argv[2];
	if (!strcmp(argv[1], "keeper"))
		keep_fds();
	rf_main(argc, argv, app);
}
