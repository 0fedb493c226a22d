/*
 * lifecycle.c - creating and destroying subOSes, and a program's own end.
 *
 * Create checks everything it can before touching the host, then claims
 * in a fixed order (table, cgroups, memory, program) and unwinds in
 * reverse on any failure, so a refused create leaves no trace.  The answer
 * comes once the program's main code runs: for a libos subOS that is
 * librf reporting RUNNING, for a linux one a successful execve.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/lifecycle.h"
#include "rfd/lifecycle_impl.h"
#include "rfd/op.h"
#include "rfd/chan.h"
#include "rfd/confine.h"
#include "rfd/libos.h"
#include "rfd/log.h"
#include "rfd/placement.h"
#include "rfd/restart.h"
#include "rfd/spare.h"
#include "rfd/spawn.h"
#include "rfd/subos.h"
#include "rfd/watch.h"
#include "base/exitstatus.h"
#include "base/strv.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "base/timing.h"
#include "base/units.h"

#define ATTACH_TIMEOUT_NS (10ull * 1000000000ull)
/* librf's RUNNING wakes rfd through the control socket; the status page is
 * looked at on a tick too, for a program whose byte did not come. */
#define ATTACH_TICK_MIN_NS (1ull * 1000000)
#define ATTACH_TICK_MAX_NS (10ull * 1000000)

/* create's states (op.h); the stop's follow (lifecycle_impl.h) */
enum { CR_BEGIN = 0, CR_POOL, CR_SPAWN, CR_ATTACH, CR_DIED, CR_FAILED };
enum { RS_BEGIN = 0, RS_POOL, RS_SPAWN, RS_ATTACH, RS_DIED, RS_FAILED };

/* What a program held, once it ended: its pidfd, its regions (back to the
 * pool) and a libos subOS's pages.  The partition itself (cores, memory,
 * cgroups) stays, so a restart finds it as it was. */
static void park(struct rfd *d, struct rfd_subos *s)
{
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		if (s->region_chunk[i] >= 0) {
			rfd_pool_give_back(&d->pool, s->region_chunk[i]);
			s->region_chunk[i] = -1;
		}
	s->nregions = 0;
	rfd_libos_teardown(s);
}

/* Give everything the subOS held back to the host. */
void rfd_lc_release(struct rfd *d, struct rfd_subos *s)
{
	rfd_spare_discard(s); /* taken by a create that failed before its start */
	park(d, s);
	rfd_restart_disarm(d, s);
	rfd_enforce_destroy(&d->enf, s->name);
	rfd_ptable_release(&d->pt, s->id);
	rfd_ptable_mem_release(&d->pt, s->mem);
}

int rfd_lc_reap(struct rfd *d, struct rfd_subos *s, int timeout_ms)
{
	char path[PATH_MAX];
	int code = INT_MIN;
	if (s->report_fd >= 0) {
		code = rfd_spawn_report_exit(s->report_fd, timeout_ms);
		close(s->report_fd);
		s->report_fd = -1;
	}
	if (code == INT_MIN && s->shim_pidfd >= 0) {
		struct pollfd p = { .fd = s->shim_pidfd, .events = POLLIN };
		poll(&p, 1, timeout_ms);
	}
	if (s->shim_pidfd >= 0)
		close(s->shim_pidfd);
	s->shim_pidfd = -1;
	if (code != INT_MIN)
		return code;
	rfd_subos_exit_path(d, s, path, sizeof(path));
	return rfd_spawn_read_exit(path);
}

/* What a restart will need of the request, copied: 0, or -1 (no memory). */
static int keep_program(struct rfd_subos *s, const struct base_request *req)
{
	s->argv = base_strv_dup(req->argv, req->argc);
	s->env = base_strv_dup(req->env, req->envc);
	s->caps = base_strv_dup(req->caps, req->ncaps);
	s->binds = base_strv_dup(req->binds, req->nbinds);
	s->ro_binds = base_strv_dup(req->ro_binds, req->nro_binds);
	s->fs_root = req->fs_root ? strdup(req->fs_root) : NULL;
	return s->argv && s->env && s->caps && s->binds && s->ro_binds &&
	       (s->fs_root || !req->fs_root) ? 0 : -1;
}

static struct rfd_subos *subos_new(struct rfd *d, const struct base_request *req)
{
	struct rfd_subos *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (!d->subos[i]) {
			s->id = i + 1;
			break;
		}
	snprintf(s->name, sizeof(s->name), "%s", req->name);
	s->kind = req->kind;
	s->life = RF_LIFE_STARTING;
	s->desc_fd = s->status_fd = s->msgs_fd = s->ctl_fd = s->ctl_peer_fd = -1;
	s->pidfd = s->shim_pidfd = s->report_fd = s->restart_timer = -1;
	s->exit_code = INT_MIN;
	s->restart = req->restart;
	s->max_restarts = (int)req->max_restarts;
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		s->region_chunk[i] = -1;
	base_format_wallclock(s->created, sizeof(s->created));
	if (keep_program(s, req) || !s->id) {
		rfd_subos_free(d, s);
		return NULL;
	}
	return s;
}

/* Hand the subOS its first memory: chunks from the pool, one region each. */
static int give_regions(struct rfd *d, struct rfd_subos *s, struct base_err *err)
{
	int n = (int)(s->mem / d->pool.chunk_size), ids[RF_MAX_REGIONS];
	if (rfd_place_take_chunks(d, s, n, ids, err))
		return -1;
	for (int i = 0; i < n; i++) {
		s->region_chunk[i] = ids[i];
		s->desc->region[i].id = (uint32_t)ids[i];
		s->desc->region[i].size = d->pool.chunk_size;
		s->desc->region[i].state = RF_REGION_OFFERED;
	}
	s->nregions = n;
	return 0;
}

/* The RF_* variables of a program being started: their text in buf, the
 * NULL-terminated array rfd_spawn reads in v; both live on the starter's
 * stack until the spawn returns. */
struct rfd_env_vars {
	char buf[8192];
	size_t used;
	const char *v[8];
	int n;
};

static void __attribute__((format(printf, 2, 3)))
env_add(struct rfd_env_vars *e, const char *fmt, ...)
{
	va_list ap;
	if (e->n >= (int)(sizeof(e->v) / sizeof(e->v[0])) - 1 || e->used >= sizeof(e->buf))
		return; /* cannot happen with the few variables rfd sets */
	va_start(ap, fmt);
	int len = vsnprintf(e->buf + e->used, sizeof(e->buf) - e->used, fmt, ap);
	va_end(ap);
	e->v[e->n++] = e->buf + e->used;
	e->used += (size_t)len + 1;
}

/* Program start for both kinds; libos passes its pages and regions.  The
 * shim's answer is waited for by the op (op->own: the spawning). */
static int start_program(struct rfd *d, struct rfd_subos *s, struct rfd_op *op,
			 struct base_err *err)
{
	char log_path[PATH_MAX], exit_path[PATH_MAX], regions[4096] = "";
	struct rfd_env_vars env = { .used = 0 };
	int pass[RF_MAX_REGIONS + 4], npass = 0;
	snprintf(log_path, sizeof(log_path), "%s/logs/%s.log", d->state_dir, s->name);
	rfd_subos_exit_path(d, s, exit_path, sizeof(exit_path));
	unlink(exit_path);
	if (s->kind == RF_KIND_LIBOS) {
		/* 3 desc, 4 status, 5 control socket, 6 control rings: recover.c
		 * looks for the pages and rings at these numbers. */
		pass[npass++] = s->desc_fd;
		pass[npass++] = s->status_fd;
		pass[npass++] = s->ctl_peer_fd;
		pass[npass++] = s->msgs_fd;
		size_t off = 0;
		for (int i = 0; i < s->nregions; i++) {
			if (off < sizeof(regions))
				off += (size_t)snprintf(regions + off, sizeof(regions) - off, "%s%d:%d",
							i ? "," : "", s->region_chunk[i], 3 + npass);
			pass[npass++] = rfd_pool_fd(&d->pool, s->region_chunk[i]);
		}
		env_add(&env, "%s=3", RF_ENV_DESC);
		env_add(&env, "%s=4", RF_ENV_STATUS);
		env_add(&env, "%s=5", RF_ENV_CTL);
		env_add(&env, "%s=6", RF_ENV_MSGS);
		env_add(&env, "%s=%s", RF_ENV_REGIONS, regions);
	}
	/* Programs inside reach rfd (chan_open, RFloop) through RF_SOCKET: the
	 * door in its directory where the confinement keeps that visible
	 * (confine_fs.c; it outlives an rfd restart), else the bound path. */
	char door_dir[PATH_MAX];
	rfd_confine_door_dir(d, s->fs_root != NULL, door_dir, sizeof(door_dir));
	env_add(&env, "RF_SOCKET=%s", door_dir[0] ? d->subos_socket : d->socket_path);
	int ncores = base_cpuset_count(&s->cpus);
	struct rfd_confine_opts conf = {
		.kind = s->kind, .caps = (const char *const *)s->caps,
		.ncaps = base_strv_len(s->caps), .root = s->fs_root,
		.binds = (const char *const *)s->binds, .nbinds = base_strv_len(s->binds),
		.ro_binds = (const char *const *)s->ro_binds,
		.nro_binds = base_strv_len(s->ro_binds), .state_dir = d->state_dir,
		.socket_path = d->socket_path,
		.subos_socket = d->subos_socket[0] ? d->subos_socket : NULL,
		.door_dir = door_dir[0] ? door_dir : NULL,
		.memlock = s->kind == RF_KIND_LIBOS ? rfd_confine_mem_limit(s->kind, s->mem, ncores)
						    : 0,
	};
	struct rfd_spawn sp = {
		.argv = (const char *const *)s->argv, .env = (const char *const *)s->env,
		.rf_env = env.v,
		.pass_fds = pass, .npass = npass, .log_path = log_path, .exit_path = exit_path,
		.hostname = s->name, .cpus = &s->cpus, .confine = &conf,
	};
	s->started_ns = base_now_ns();
	s->pid = 0; /* a restart's last program is gone: never signal its pid again */
	return rfd_spawn_start(d, s, &sp, (struct rfd_spawning **)&op->own, err);
}

/* The shim's answer: 0 the program runs; 1 waiting (armed); -1 it did
 * not start (op->err), what is left to stop is in s. */
static int spawn_wait(struct rfd *d, struct rfd_op *op)
{
	struct rfd_spawning *h = op->own;
	int rc = rfd_spawn_poll(op->s, (struct rfd_spawning **)&op->own, &op->err);
	if (rc == 1) {
		rfd_op_watch(d, op, rfd_spawn_fd(h));
		rfd_op_timer(d, op, rfd_spawn_deadline(h));
	}
	return rc;
}

static void log_tail(struct rfd *d, const struct rfd_subos *s, char *buf, size_t len)
{
	char path[PATH_MAX], line[512] = "";
	snprintf(path, sizeof(path), "%s/logs/%s.log", d->state_dir, s->name);
	FILE *f = fopen(path, "re");
	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (line[0] && line[0] != '\n')
			snprintf(buf, len, "%s", line);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static struct json_object *create_record(struct rfd *d, const struct rfd_subos *s)
{
	struct json_object *x = json_object_new_object();
	json_object_object_add(x, "kind", json_object_new_string(base_kind_name(s->kind)));
	json_object_object_add(x, "pid", json_object_new_int(s->pid));
	json_object_object_add(x, "shim_pid", json_object_new_int(s->shim_pid));
	json_object_object_add(x, "cgroup", json_object_new_string(s->cgroup));
	json_object_object_add(x, "argv", base_strv_to_json(s->argv));
	/* what a restart needs, also after rfd itself restarted (recover.c) */
	static const char *const keys[] = { "env", "caps", "binds", "ro_binds" };
	char *const *vals[] = { s->env, s->caps, s->binds, s->ro_binds };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (base_strv_len(vals[i]))
			json_object_object_add(x, keys[i], base_strv_to_json(vals[i]));
	if (s->fs_root)
		json_object_object_add(x, "root", json_object_new_string(s->fs_root));
	if (s->restart != RF_RESTART_NO) {
		json_object_object_add(x, "restart",
				       json_object_new_string(base_restart_name(s->restart)));
		if (s->max_restarts >= 0)
			json_object_object_add(x, "max_restarts",
					       json_object_new_int(s->max_restarts));
	}
	return x;
}

/* A libos subOS's pages, describing its cores and memory, and its first
 * regions; undone on failure. */
static int provision_libos(struct rfd *d, struct rfd_subos *s, struct base_err *err)
{
	if (rfd_libos_setup(d, s, err))
		return -1;
	for_each_cpu(c, &s->cpus)
		s->desc->cpu[c] = RF_CPU_ACTIVE;
	s->desc->ncpus = (uint32_t)base_cpuset_count(&s->cpus);
	s->desc->mem_bytes = s->mem;
	if (give_regions(d, s, err)) {
		rfd_libos_teardown(s);
		return -1;
	}
	return 0;
}

/* cgroups, and for a libos subOS its pages and first memory regions; on
 * failure undoes its own steps (the caller keeps the table entries). */
static int confine(struct rfd *d, struct rfd_subos *s, struct base_err *err)
{
	uint64_t limit = rfd_confine_mem_limit(s->kind, s->mem, base_cpuset_count(&s->cpus));
	/* the spare's cgroups become its own, or new ones (spare.h) */
	int rc = rfd_spare_adopt(d, s, limit) ? 0 : rfd_enforce_create(&d->enf, s->name, &s->cpus,
								     limit, s->cgroup,
								     sizeof(s->cgroup));
	if (rc)
		return base_errf(err, BASE_E_INTERNAL, "cannot confine \"%s\" (%s): %s", s->name,
				 s->cgroup, strerror(-rc));
	if (s->kind == RF_KIND_LIBOS && provision_libos(d, s, err)) {
		rfd_spare_discard(s);
		rfd_enforce_destroy(&d->enf, s->name);
		return -1;
	}
	return 0;
}

/* Enough pool chunks ready for a libos subOS's regions?  (placement.h;
 * the deadline runs from op->deadline_ns's start) */
static int pool_wait(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	if (s->kind != RF_KIND_LIBOS)
		return 0;
	return rfd_place_pool_wait(d, op, (int)(s->mem / d->pool.chunk_size));
}

/* Asked for no core of its own ("cores": 0): it runs on the cores the
 * host shares, outside every subOS's cpuset (docs/rfm.md, "Cores"). */
static bool shares(const struct base_request *req)
{
	return req->cores.form == RF_CORES_COUNT && req->cores.n == 0;
}

/* Only a linux subOS can share (a libos one pins a thread per owned core),
 * and only where its tasks can wait in rfd's own cpuset (cpuset1, as a
 * paused subOS's do: enforce_cgroup.c, rfd_cg_attach). */
static int check_no_core(struct rfd *d, const struct base_request *req, struct base_err *err)
{
	if (!shares(req))
		return 0;
	if (req->kind != RF_KIND_LINUX)
		return base_errf(err, BASE_E_BAD_REQUEST, "cores: 0 is for a linux subOS only "
				 "(a libos subOS runs one thread per owned core)");
	if (d->enf.kind != RF_ENF_CPUSET1)
		return base_errf(err, BASE_E_BAD_REQUEST, "cores: 0 needs cpuset1 enforcement "
				 "(this rfd has %s)", rfd_enforce_name(d->enf.kind));
	return 0;
}

/* Create, first step: checks, then its name, cores and memory in the
 * table.  0, or -1 with err filled and nothing left. */
static int create_reserve(struct rfd *d, struct rfd_op *op, struct base_err *err)
{
	const struct base_request *req = &op->req;
	struct rfd_subos *s;

	if (rfd_subos_find(d, req->name))
		return base_errf(err, BASE_E_NAME_EXISTS, "a subOS named \"%s\" already exists",
				 req->name);
	if (rfd_confine_check(req, err) || check_no_core(d, req, err))
		return -1;
	if (!(s = subos_new(d, req)))
		return base_errf(err, BASE_E_INTERNAL, "out of memory or subOS slots");
	if ((!shares(req) && rfd_place_pick_cores(d, s->id, &req->cores, &s->cpus, err)) ||
	    rfd_place_reserve_chunks(d, req->mem, &s->mem, err))
		goto fail_free;
	/* Its name, cores and memory are its own from here: a create that
	 * starts while this one waits for librf cannot take them. */
	rfd_ptable_assign(&d->pt, s->id, &s->cpus);
	rfd_subos_insert(d, s);
	op->s = s;
	op->t[0] = base_now_ns();
	op->deadline_ns = op->t[0] + RFD_POOL_WAIT_MS * BASE_NS_PER_MS; /* pool_wait */
	return 0;
fail_free:
	rfd_subos_free(d, s);
	return -1;
}

/* Then, the pool being ready: cgroups, memory, program, in this order,
 * unwound in reverse on failure.  0, or -1 with err filled and nothing
 * left (the subOS is freed). */
static int create_start(struct rfd *d, struct rfd_op *op, struct base_err *err)
{
	struct rfd_subos *s = op->s;
	if (confine(d, s, err))
		goto fail_table;
	op->t[1] = base_now_ns();
	if (start_program(d, s, op, err))
		goto fail_release;
	return 0;
fail_release:
	rfd_lc_release(d, s); /* regions, cgroups, pages, table, memory */
	goto fail_free;
fail_table:
	rfd_ptable_release(&d->pt, s->id);
	rfd_ptable_mem_release(&d->pt, s->mem);
fail_free:
	rfd_subos_remove(d, s);
	rfd_subos_free(d, s);
	op->s = NULL;
	return -1;
}

/* The create record, once the program runs: 0, or -1 (op->err). */
static int journal_create(struct rfd *d, struct rfd_op *op)
{
	rfd_journal_mark(&d->journal, &op->s->journal_at);
	int rc = rfd_journal_subos(d, "create", op->s, create_record(d, op->s));
	if (rc)
		return base_errf(&op->err, BASE_E_INTERNAL, "cannot write the journal: %s",
				 strerror(-rc));
	op->s->journaled = true;
	return 0;
}

/* A create that failed or was cut short after its record was written:
 * the record taken back (a refused create leaves no trace), or, if others
 * came after it, one that says it is gone, so that a restarted rfd does
 * not adopt it. */
static void journal_unmade(struct rfd *d, struct rfd_subos *s)
{
	if (!s->journaled || rfd_journal_retract(&d->journal, &s->journal_at) == 0) {
		s->journaled = false;
		return;
	}
	struct json_object *x = json_object_new_object();
	json_object_object_add(x, "status", json_object_new_string("failed"));
	rfd_journal_subos(d, "destroy", s, x);
	s->journaled = false;
}

/* Running: journal it (unless that was done while librf attached), watch
 * its end, answer. */
static enum rfd_op_rc create_commit(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	static const char *const steps[] = { "setup", "spawn", "attach", "journal" };
	op->t[3] = base_now_ns();
	if (s->ctl_peer_fd >= 0) {
		close(s->ctl_peer_fd);
		s->ctl_peer_fd = -1;
	}
	s->life = RF_LIFE_RUNNING;
	if (!s->journaled && journal_create(d, op))
		return rfd_lc_stop_start(d, op, RFD_STOP_KILL, CR_FAILED);
	op->t[4] = base_now_ns();
	base_steps_us(op->t, 4, s->create_us); /* setup, spawn, attach, journal */
	rfd_watch_subos(d, s);
	op->result = rfd_subos_json(d, s, false);
	base_timing_us_add(op->result, steps, s->create_us, 4);
	return RFD_OP_DONE;
}

/* Waiting for librf to report RUNNING: its byte on the control socket
 * wakes the loop, the program's pidfd tells its death at once, and a
 * growing tick looks at the status page in case neither comes.  0: attached; 1: waiting
 * (armed); -ESRCH: it died (the timer armed to let its last words reach
 * its log); -ETIMEDOUT (op->err filled). */
static int attach_poll(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	int rc = rfd_libos_attached(s);
	uint64_t now = base_now_ns();
	if (rc == 0)
		return 0;
	if (rc == -ESRCH) {
		rfd_op_timer(d, op, now + 2 * BASE_NS_PER_MS);
		return -ESRCH;
	}
	if (now >= op->deadline_ns) {
		base_errf(&op->err, BASE_E_SPAWN_FAILED,
			  "%s did not attach to librf within %llu s (is it linked with librf?)",
			  s->argv[0], ATTACH_TIMEOUT_NS / 1000000000ull);
		return -ETIMEDOUT;
	}
	if (s->ctl_fd >= 0)
		rfd_op_watch(d, op, s->ctl_fd);
	rfd_op_tick(d, op, s->pidfd, ATTACH_TICK_MIN_NS, ATTACH_TICK_MAX_NS, op->deadline_ns);
	return 1;
}

/* The program died before librf attached: say so with its last words. */
static void died_error(struct rfd *d, struct rfd_op *op)
{
	char tail[400];
	log_tail(d, op->s, tail, sizeof(tail));
	base_errf(&op->err, BASE_E_SPAWN_FAILED, "%s exited before librf attached%s%s",
		  op->s->argv[0], tail[0] ? ": " : "", tail);
}

/* Waiting for the attach (create's and a restart's): then `commit`, or
 * state `died` (after its log settles) or a kill and state `failed`. */
static enum rfd_op_rc attach_step(struct rfd *d, struct rfd_op *op, rfd_op_step commit, int died,
				  int failed)
{
	int rc = attach_poll(d, op);
	if (rc == 0)
		return commit(d, op);
	if (rc == 1)
		return RFD_OP_WAIT;
	if (rc == -ESRCH) {
		op->state = died;
		return RFD_OP_WAIT;
	}
	return rfd_lc_stop_start(d, op, RFD_STOP_KILL, failed);
}


/* The program is stopped and reaped: give everything back. */
static enum rfd_op_rc create_failed(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	journal_unmade(d, s);
	rfd_lc_release(d, s);
	rfd_subos_remove(d, s);
	rfd_subos_free(d, s);
	op->s = NULL;
	return RFD_OP_DONE;
}

enum rfd_op_rc rfd_subos_create_step(struct rfd *d, struct rfd_op *op)
{
	int rc;
	if (op->state == RFD_OP_CANCEL) { /* rfd stops: no create record, the sweep cleans up */
		rfd_spawn_abandon(op->own);
		if (op->s && op->s->pid > 0)
			kill(op->s->pid, SIGKILL);
		if (op->s)
			journal_unmade(d, op->s);
		return RFD_OP_DONE;
	}
	if (op->state >= RFD_STOP_GRACE && rfd_lc_stop_step(d, op) == RFD_OP_WAIT)
		return RFD_OP_WAIT;
	switch (op->state) {
	case CR_BEGIN:
		if (create_reserve(d, op, &op->err))
			return RFD_OP_DONE;
		op->state = CR_POOL;
		/* fall through */
	case CR_POOL:
		if ((rc = pool_wait(d, op)) > 0)
			return RFD_OP_WAIT;
		if (rc < 0) {
			op->state = CR_FAILED; /* nothing started: release at once */
			return create_failed(d, op);
		}
		if (rfd_spare_wait(d, op->s, op, op->t[0] + RFD_SPARE_WAIT_MS * BASE_NS_PER_MS))
			return RFD_OP_WAIT;
		if (create_start(d, op, &op->err))
			return RFD_OP_DONE;
		op->state = CR_SPAWN;
		/* fall through */
	case CR_SPAWN:
		if ((rc = spawn_wait(d, op)) > 0)
			return RFD_OP_WAIT;
		if (rc < 0)
			return rfd_lc_stop_start(d, op, RFD_STOP_KILL, CR_FAILED);
		op->t[2] = base_now_ns();
		if (op->s->kind != RF_KIND_LIBOS)
			return create_commit(d, op);
		/* the record's fdatasync while librf attaches on the subOS's
		 * core (rfd runs elsewhere: home.c), not after */
		if (journal_create(d, op))
			return rfd_lc_stop_start(d, op, RFD_STOP_KILL, CR_FAILED);
		op->state = CR_ATTACH;
		op->deadline_ns = base_now_ns() + ATTACH_TIMEOUT_NS;
		return attach_step(d, op, create_commit, CR_DIED, CR_FAILED);
	case CR_ATTACH:
		return attach_step(d, op, create_commit, CR_DIED, CR_FAILED);
	case CR_DIED:
		died_error(d, op);
		return rfd_lc_stop_start(d, op, RFD_STOP_KILL, CR_FAILED);
	default:
		return create_failed(d, op);
	}
}

static void log_end(const struct rfd_subos *s, const char *what)
{
	if (s->exit_code == INT_MIN)
		rfd_log("subOS %s %s (status unknown)", s->name, what);
	else
		rfd_log("subOS %s %s (%s %d)", s->name, what, s->exit_code < 0 ? "signal" : "status",
			s->exit_code < 0 ? -s->exit_code : s->exit_code);
}

/* Its program ended (s->exit_code says how) and nothing runs in it: park
 * it until its restart timer fires, or release it for good.  Journalled
 * either way as "exit" (with the delay, if it will start again). */
static void program_ended(struct rfd *d, struct rfd_subos *s)
{
	struct json_object *extra = json_object_new_object();
	base_exit_status_to_json(extra, s->exit_code);
	rfd_chan_subos_ended(d, s->name); /* peers get EPIPE, not a hang */
	park(d, s);
	int64_t delay = rfd_restart_wanted(s) ? rfd_restart_arm(d, s) : -1;
	if (delay >= 0) {
		s->life = RF_LIFE_RESTARTING;
		json_object_object_add(extra, "restart_in_ms", json_object_new_int64(delay));
		log_end(s, "exited, restarting");
	} else {
		rfd_lc_release(d, s);
		s->life = RF_LIFE_EXITED;
		log_end(s, "exited");
	}
	rfd_journal_subos(d, "exit", s, extra);
}

/* An end seen while an op worked on the subOS, handled after it. */
static enum rfd_op_rc exited_step(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = rfd_subos_find(d, op->name);
	if (op->state == RFD_OP_CANCEL)
		return RFD_OP_DONE;
	if (s && (s->life == RF_LIFE_RUNNING || s->life == RF_LIFE_STARTING)) {
		s->exit_code = rfd_lc_reap(d, s, 0); /* its shim ended: the report is there */
		program_ended(d, s);
	}
	return RFD_OP_DONE;
}

void rfd_subos_exited(struct rfd *d, struct rfd_subos *s)
{
	struct rfd_op *op;
	/* A resize waiting for librf would go on with pages park() unmaps:
	 * the end waits its turn behind it, as any op on the subOS does. */
	if (rfd_op_busy(d, s->name) && (op = rfd_op_new(s->name, exited_step))) {
		rfd_op_submit(d, op);
		return;
	}
	s->exit_code = rfd_lc_reap(d, s, 0); /* its shim ended: the report is there */
	program_ended(d, s);
}

/* A restart failed (op->err): the program, if it started, is stopped;
 * treat it as another end. */
static enum rfd_op_rc restart_failed(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	struct json_object *x = json_object_new_object();
	park(d, s);
	rfd_log("subOS %s: restart %d failed: %s", s->name, s->restarts, op->err.msg);
	json_object_object_add(x, "attempt", json_object_new_int(s->restarts));
	json_object_object_add(x, "after_ms", json_object_new_int64(s->backoff_ms));
	json_object_object_add(x, "error", json_object_new_string(op->err.msg));
	rfd_journal_subos(d, "restart_failed", s, x);
	s->exit_code = BASE_EXIT_UNKNOWN;
	program_ended(d, s);
	return RFD_OP_DONE;
}

static enum rfd_op_rc restart_commit(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	struct json_object *x = json_object_new_object();
	if (s->ctl_peer_fd >= 0) {
		close(s->ctl_peer_fd);
		s->ctl_peer_fd = -1;
	}
	s->life = RF_LIFE_RUNNING;
	json_object_object_add(x, "attempt", json_object_new_int(s->restarts));
	json_object_object_add(x, "after_ms", json_object_new_int64(s->backoff_ms));
	json_object_object_add(x, "pid", json_object_new_int(s->pid));
	json_object_object_add(x, "shim_pid", json_object_new_int(s->shim_pid));
	rfd_journal_subos(d, "restart", s, x);
	rfd_watch_subos(d, s);
	rfd_log("subOS %s restarted (attempt %d, pid %d)", s->name, s->restarts, (int)s->pid);
	return RFD_OP_DONE;
}

/* Start the parked program again, on the partition it kept. */
static enum rfd_op_rc restart_begin(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s = op->s;
	if (s->kind == RF_KIND_LIBOS && provision_libos(d, s, &op->err))
		return restart_failed(d, op);
	if (start_program(d, s, op, &op->err))
		return restart_failed(d, op);
	op->state = RS_SPAWN;
	return op->step(d, op);
}

/* The shim answered (rc of spawn_wait, not 1). */
static enum rfd_op_rc restart_spawned(struct rfd *d, struct rfd_op *op, int rc)
{
	if (rc < 0)
		return rfd_lc_stop_start(d, op, RFD_STOP_KILL, RS_FAILED);
	if (op->s->kind != RF_KIND_LIBOS)
		return restart_commit(d, op);
	op->state = RS_ATTACH;
	op->deadline_ns = base_now_ns() + ATTACH_TIMEOUT_NS;
	return op->step(d, op);
}

/* The restart op (no client to answer): its timer fired. */
static enum rfd_op_rc restart_step(struct rfd *d, struct rfd_op *op)
{
	int rc;
	if (op->state == RFD_OP_CANCEL) {
		rfd_spawn_abandon(op->own);
		if (op->s && op->s->pid > 0)
			kill(op->s->pid, SIGKILL); /* not journalled: recover sees the exit */
		return RFD_OP_DONE;
	}
	if (op->state >= RFD_STOP_GRACE && rfd_lc_stop_step(d, op) == RFD_OP_WAIT)
		return RFD_OP_WAIT;
	if (op->state == RS_BEGIN) {
		/* destroyed, or already running again, while this op waited its turn */
		if (!(op->s = rfd_subos_find(d, op->name)) || op->s->life != RF_LIFE_RESTARTING)
			return RFD_OP_DONE;
		op->state = RS_POOL;
		op->deadline_ns = base_now_ns() + RFD_POOL_WAIT_MS * BASE_NS_PER_MS;
	}
	if (op->state == RS_POOL) {
		if ((rc = pool_wait(d, op)) > 0)
			return RFD_OP_WAIT;
		return rc < 0 ? restart_failed(d, op) : restart_begin(d, op);
	}
	if (op->state == RS_SPAWN)
		return (rc = spawn_wait(d, op)) > 0 ? RFD_OP_WAIT : restart_spawned(d, op, rc);
	if (op->state == RS_DIED) {
		died_error(d, op);
		return rfd_lc_stop_start(d, op, RFD_STOP_KILL, RS_FAILED);
	}
	if (op->state == RS_FAILED)
		return restart_failed(d, op);
	return attach_step(d, op, restart_commit, RS_DIED, RS_FAILED);
}

void rfd_subos_restart_due(struct rfd *d, struct rfd_subos *s)
{
	struct rfd_op *op = rfd_op_new(s->name, restart_step);
	rfd_restart_disarm(d, s);
	s->restarts++;
	if (!op) {
		rfd_log("subOS %s: no memory to restart it", s->name);
		s->exit_code = BASE_EXIT_UNKNOWN;
		program_ended(d, s);
		return;
	}
	rfd_op_submit(d, op);
}
