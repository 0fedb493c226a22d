/*
 * recover.c - rebuilding the table after rfd restarts.
 *
 * The journal says which subOSes should exist and with what; the host says
 * which of them still run.  A subOS whose program is alive (and still in
 * its cgroup, so a recycled PID is not mistaken for it) is adopted: its
 * cores and memory are claimed again and its shim watched.  One that died
 * while rfd was away gets an `exit` record.  A libos subOS's description
 * and status pages and its control rings are taken back from the program
 * itself (pidfd_getfd of the descriptors it inherited at 3, 4 and 6, or its
 * mappings of them if it closed those), and rfd attaches to the rings
 * again where it left them (FICM checks their geometry and indices): the
 * handshakes then work as before the restart.  There is no doorbell-only
 * fallback: a subOS whose pages or rings cannot be found (or whose rings
 * are malformed) can only be destroyed, and its destroy ends in SIGKILL at
 * the deadline since it cannot be told to shut down.  Its control socket
 * cannot be recovered, so memory growth is refused for an adopted libos
 * subOS until it restarts (resize.c).
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/recover.h"
#include "rfd/libos.h"
#include "rfd/log.h"
#include "rfd/restart.h"
#include "rfd/spawn.h"
#include "rfd/subos.h"
#include "base/exitstatus.h"
#include "base/json.h"
#include "base/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct entry {
	char name[RF_NAME_MAX];
	struct json_object *create; /* the create record */
	char cores[4096];
	uint64_t mem;
	bool exited;
	bool restarting; /* exited, and the old rfd planned to start it again */
	bool destroying; /* a destroy was under way when rfd died */
	int exit_code;
	int restarts;    /* restarts done since its create */
	struct json_object *policy; /* its latest record's, or NULL: none */
	char probe[BASE_PROBE_URL_MAX]; /* its latest record's, or "" */
};

struct replay {
	struct entry *e;
	int n, cap;
};

static struct entry *lookup(struct replay *r, const char *name, bool add)
{
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->e[i].name, name) == 0)
			return &r->e[i];
	if (!add)
		return NULL;
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 16;
		struct entry *ne = realloc(r->e, (size_t)cap * sizeof(*ne));
		if (!ne)
			return NULL;
		r->e = ne;
		r->cap = cap;
	}
	struct entry *e = &r->e[r->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

static void drop(struct replay *r, struct entry *e)
{
	json_object_put(e->create);
	json_object_put(e->policy);
	*e = r->e[--r->n];
}

/* A record after the create says which program runs (pid, shim_pid:
 * another after a restart), how many restarts were made, and which chunks
 * a libos subOS holds (by region slot) since. */
static void latest_program(struct entry *e, struct json_object *rec)
{
	static const char *const keys[] = { "pid", "shim_pid", "chunks", "chunk_inodes" };
	struct json_object *v;
	if (!e->create)
		return;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (json_object_object_get_ex(rec, keys[k], &v))
			json_object_object_add(e->create, keys[k], json_object_get(v));
	e->restarts = (int)base_json_i64(rec, "restarts", e->restarts);
}

static int on_record(struct json_object *rec, void *arg)
{
	struct replay *r = arg;
	const char *op = base_json_str(rec, "op", ""), *name = base_json_str(rec, "name", "");
	struct entry *e = name[0] ? lookup(r, name, strcmp(op, "create") == 0) : NULL;
	if (!e)
		return 0;
	e->destroying = strcmp(op, "destroying") == 0;
	if (strcmp(op, "create") == 0) {
		json_object_put(e->create);
		e->create = json_object_get(rec);
		e->exited = e->restarting = false;
		e->restarts = 0;
	} else if (strcmp(op, "destroy") == 0) {
		drop(r, e);
		return 0;
	} else if (strcmp(op, "exit") == 0) {
		e->exited = true;
		e->restarting = json_object_object_get_ex(rec, "restart_in_ms", NULL);
		e->exit_code = base_exit_status_from_json(rec);
	} else if (strcmp(op, "restart") == 0) {
		e->exited = e->restarting = false; /* running again, as another program */
	}
	if (strcmp(op, "create"))
		latest_program(e, rec);
	/* Every record says the policy that holds (subos.c): none if absent. */
	struct json_object *pol = NULL;
	json_object_object_get_ex(rec, "policy", &pol);
	json_object_put(e->policy);
	e->policy = json_object_get(pol);
	snprintf(e->probe, sizeof(e->probe), "%s", base_json_str(rec, "probe", ""));
	snprintf(e->cores, sizeof(e->cores), "%s", base_json_str(rec, "cores", ""));
	e->mem = (uint64_t)base_json_i64(rec, "mem", 0);
	return 0;
}

static bool still_ours(struct rfd *d, const struct entry *e, pid_t pid)
{
	char path[64], buf[4096], want[256];
	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	if (d->enf.kind == RF_ENF_AFFINITY)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(want, sizeof(want), "/%s/%s\n", d->instance, e->name);
	return strstr(buf, want) != NULL;
}

/* Is fd the memfd rfd made under `name`? */
static bool is_memfd(int fd, const char *name)
{
	char path[64], link[128], want[128];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
	return strcmp(link, want) == 0;
}

/* The subOS's memfd `name`: the descriptor it inherited at `fd` if it kept
 * it (and the number still means that memfd), else through its mapping
 * (librf may close the descriptors once it mapped the pages). */
static int find_memfd(pid_t pid, int pidfd, int fd, const char *name)
{
	char path[64], line[512], want[128];
	int got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (got >= 0 && is_memfd(got, name))
		return got;
	if (got >= 0)
		close(got);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	snprintf(want, sizeof(want), "/memfd:%s (deleted)", name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	got = -1;
	while (got < 0 && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		line[strcspn(line, "\n")] = '\0';
		size_t ll = strlen(line), wl = strlen(want);
		if (ll < wl || strcmp(line + ll - wl, want) || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)pid, lo, hi);
		got = open(path, O_RDWR | O_CLOEXEC);
		if (got >= 0 && !is_memfd(got, name)) {
			close(got);
			got = -1;
		}
	}
	fclose(f);
	return got;
}

static void *grab_page(pid_t pid, int pidfd, int fd, const char *name, size_t size,
		       int *out_fd)
{
	struct stat st;
	*out_fd = find_memfd(pid, pidfd, fd, name);
	if (*out_fd < 0)
		return NULL;
	/* Smaller than this ABI's page (an older rfd made it): touching the
	 * missing part would be SIGBUS in rfd. */
	if (fstat(*out_fd, &st) < 0 || (uint64_t)st.st_size < size)
		return NULL;
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *out_fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

/* What starting the program again needs (its environment additions and
 * confinement) and the restart policy, so that it restarts as it would
 * have under the rfd that created it. */
static void adopt_restart(struct rfd_subos *s, struct json_object *create)
{
	struct json_object *v;
	static const char *const keys[] = { "env", "caps", "binds", "ro_binds" };
	char ***vals[] = { &s->env, &s->caps, &s->binds, &s->ro_binds };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		*vals[i] = base_strv_from_json(
			json_object_object_get_ex(create, keys[i], &v) ? v : NULL);
	if (json_object_object_get_ex(create, "root", &v))
		s->fs_root = strdup(json_object_get_string(v));
	if (base_restart_parse(base_json_str(create, "restart", ""), &s->restart) < 0)
		s->restart = RF_RESTART_NO;
	s->max_restarts = (int)base_json_i64(create, "max_restarts", -1);
}

/* The policy its records carry, checked as the verb would check it. */
static void adopt_policy(struct rfd_subos *s, struct json_object *pol)
{
	struct base_err err;
	if (pol && base_policy_decode(pol, &s->policy, &err)) {
		rfd_log("subOS %s: its journalled policy is refused (%s); it has none now",
			s->name, err.msg);
		memset(&s->policy, 0, sizeof(s->policy));
	}
}

static struct rfd_subos *adopt_one(struct rfd *d, const struct entry *e)
{
	struct rfd_subos *s = calloc(1, sizeof(*s));
	struct json_object *argv, *chunks;
	if (!s)
		return NULL;
	snprintf(s->name, sizeof(s->name), "%s", e->name);
	s->kind = strcmp(base_json_str(e->create, "kind", ""), "libos") == 0 ? RF_KIND_LIBOS
									     : RF_KIND_LINUX;
	s->pid = (pid_t)base_json_i64(e->create, "pid", 0);
	s->shim_pid = (pid_t)base_json_i64(e->create, "shim_pid", 0);
	snprintf(s->cgroup, sizeof(s->cgroup), "%s", base_json_str(e->create, "cgroup", ""));
	snprintf(s->created, sizeof(s->created), "%s", base_json_str(e->create, "time", ""));
	base_cpuset_parse(&s->cpus, e->cores);
	s->mem = e->mem;
	s->desc_fd = s->status_fd = s->msgs_fd = s->ctl_fd = s->ctl_peer_fd = s->report_fd = -1;
	s->restart_timer = -1;
	adopt_restart(s, e->create);
	adopt_policy(s, e->policy);
	snprintf(s->probe_url, sizeof(s->probe_url), "%s", e->probe); /* probe.c starts it */
	s->exit_code = e->exited ? e->exit_code : INT_MIN;
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		s->region_chunk[i] = -1;
	json_object_object_get_ex(e->create, "argv", &argv);
	s->argv = base_strv_from_json(argv);
	if (json_object_object_get_ex(e->create, "chunks", &chunks))
		for (int i = 0; i < (int)json_object_array_length(chunks) && i < RF_MAX_REGIONS; i++)
			s->region_chunk[i] = json_object_get_int(json_object_array_get_idx(chunks, i));
	return s;
}

static void claim(struct rfd *d, struct rfd_subos *s)
{
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (!d->subos[i]) {
			s->id = i + 1;
			break;
		}
	rfd_subos_insert(d, s);
	if (s->life == RF_LIFE_EXITED)
		return;
	rfd_ptable_assign(&d->pt, s->id, &s->cpus);
	rfd_ptable_mem_reserve(&d->pt, s->mem);
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		if (s->region_chunk[i] >= 0) {
			rfd_pool_adopt(&d->pool, s->region_chunk[i], s->id);
			s->nregions++;
		}
	if (s->life == RF_LIFE_RESTARTING)
		return; /* nothing runs: its restart starts a program anew */
	s->pidfd = pidfd_open(s->pid, 0);
	s->shim_pidfd = s->shim_pid > 0 ? pidfd_open(s->shim_pid, 0) : -1;
	if (s->kind == RF_KIND_LIBOS && s->pidfd >= 0) {
		int dfd = find_memfd(s->pid, s->pidfd, 3, "rf-desc");
		if (dfd >= 0 && rfd_libos_adopt_desc(s, dfd) < 0)
			rfd_log("subOS %s: its description page is not the one rfd made", s->name);
		s->status = grab_page(s->pid, s->pidfd, 4, "rf-status", RF_STATUS_SIZE,
				      &s->status_fd);
		s->msgs = grab_page(s->pid, s->pidfd, 6, "rf-msgs", RF_MSGS_SIZE, &s->msgs_fd);
		if (!s->msgs || rfd_libos_msgs_attach(s, false))
			rfd_libos_msgs_close(s);
		if (!s->desc || !s->status || !s->msgs)
			rfd_log("subOS %s: cannot recover its description pages or control rings; "
				"it can only be destroyed", s->name);
	}
	/* Watched once the event loop exists (rfd_server_listen). */
}

/* The destroy rfd died in: end the program if it still runs, remove its
 * cgroups, and write the destroy record the caller never got. */
static void finish_destroy(struct rfd *d, const struct entry *e, struct rfd_subos *s)
{
	if (!e->exited && still_ours(d, e, s->pid)) {
		int pidfd = pidfd_open(s->pid, 0);
		kill(s->pid, SIGKILL); /* also ends everything in its PID namespace */
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			poll(&p, 1, 5000);
			close(pidfd);
		}
	}
	rfd_enforce_destroy(&d->enf, s->name);
	struct json_object *x = json_object_new_object();
	json_object_object_add(x, "status", json_object_new_string("killed"));
	json_object_object_add(x, "recovered", json_object_new_boolean(1));
	rfd_journal_subos(d, "destroy", s, x);
	rfd_log("subOS %s: finished the destroy the previous rfd began", s->name);
	rfd_subos_free(d, s);
}

static bool known_subos(const char *name, void *ctx)
{
	return rfd_subos_find(ctx, name) != NULL;
}

/* Cgroups the journal does not account for: creates rfd died in. */
static void sweep_orphans(struct rfd *d)
{
	int n = rfd_enforce_sweep(&d->enf, known_subos, d);
	if (n > 0)
		rfd_log("removed %d partition(s) the journal does not name "
			"(a create interrupted by rfd's death)", n);
}

/* It exited and was waiting for its restart when the old rfd died: keep
 * its partition (cores, memory, the cgroups the old rfd kept) and restart
 * it as planned, if its policy still wants that (rfd_server_listen arms
 * the timer).  Its regions went back at the exit; no program runs. */
static bool resume_restart(struct rfd *d, const struct entry *e, struct rfd_subos *s)
{
	s->restarts = e->restarts;
	if (!rfd_restart_wanted(s))
		return false;
	s->pid = s->shim_pid = 0;
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		s->region_chunk[i] = -1;
	s->life = RF_LIFE_RESTARTING;
	claim(d, s);
	rfd_log("subOS %s: resuming the restart the previous rfd planned (attempt %d)", s->name,
		s->restarts + 1);
	return true;
}

int rfd_recover(struct rfd *d)
{
	struct replay r = { 0 };
	int rc = rfd_journal_replay(&d->journal, on_record, &r);
	for (int i = 0; rc == 0 && i < r.n; i++) {
		struct entry *e = &r.e[i];
		struct rfd_subos *s = e->create ? adopt_one(d, e) : NULL;
		if (!s)
			continue;
		if (e->destroying) {
			finish_destroy(d, e, s);
			continue;
		}
		if (!e->exited && still_ours(d, e, s->pid)) {
			s->life = RF_LIFE_RUNNING;
			claim(d, s);
			rfd_reconcile_cores(d, s);
			rfd_libos_adopt_regions(d, s, e->create);
			rfd_journal_subos(d, "adopt", s, NULL);
			rfd_log("adopted subOS %s (pid %d)", s->name, (int)s->pid);
			continue;
		}
		if (!e->exited) { /* died while rfd was away */
			char path[PATH_MAX];
			rfd_subos_exit_path(d, s, path, sizeof(path));
			s->exit_code = rfd_spawn_read_exit(path);
			struct json_object *x = json_object_new_object();
			base_exit_status_to_json(x, s->exit_code);
			rfd_journal_subos(d, "exit", s, x);
		}
		if (e->exited && e->restarting && resume_restart(d, e, s))
			continue;
		/* Its cgroups, if kept for a restart its policy no longer wants. */
		rfd_enforce_destroy(&d->enf, s->name);
		s->life = RF_LIFE_EXITED;
		claim(d, s);
	}
	for (int i = 0; i < r.n; i++) {
		json_object_put(r.e[i].create);
		json_object_put(r.e[i].policy);
	}
	free(r.e);
	if (rc == 0)
		sweep_orphans(d);
	return rc < 0 ? -1 : 0;
}
