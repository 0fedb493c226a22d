/*
 * subos.c - the subOS table: lookup, description as JSON, journal records,
 * releasing resources, and reacting to a program that ended by itself.
 *
 * The mechanics of create/destroy (lifecycle.c) and resize (resize.c) live
 * in their own files; this one holds what they share.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "base/exitstatus.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct rfd_subos *rfd_subos_find(struct rfd *d, const char *name)
{
	for (int i = 0; i < RF_MAX_SUBOS; i++)
		if (d->subos[i] && strcmp(d->subos[i]->name, name) == 0)
			return d->subos[i];
	return NULL;
}

struct rfd_subos *rfd_subos_by_id(struct rfd *d, int id)
{
	return id >= 1 && id <= RF_MAX_SUBOS ? d->subos[id - 1] : NULL;
}

/* The lowest free id; ids are slot + 1 so that 0 stays the host. */
int rfd_subos_insert(struct rfd *d, struct rfd_subos *s)
{
	if (s->id >= 1 && s->id <= RF_MAX_SUBOS && !d->subos[s->id - 1]) {
		d->subos[s->id - 1] = s;
		return 0;
	}
	return -ENOSPC;
}

void rfd_subos_remove(struct rfd *d, struct rfd_subos *s)
{
	if (s->id >= 1 && s->id <= RF_MAX_SUBOS && d->subos[s->id - 1] == s)
		d->subos[s->id - 1] = NULL;
}

void rfd_subos_free(struct rfd *d, struct rfd_subos *s)
{
	if (!s)
		return;
	for (int i = 0; s->argv && s->argv[i]; i++)
		free(s->argv[i]);
	free(s->argv);
	free(s);
}

static const char *life_name(enum rfd_subos_life l)
{
	return l == RF_LIFE_STARTING ? "starting" : l == RF_LIFE_RUNNING ? "running" : "exited";
}

static const char *core_state_name(uint32_t st)
{
	return st == RF_CORE_RUNNING ? "running" : st == RF_CORE_PARKED ? "parked" : "off";
}

static struct json_object *cores_detail(const struct rfd_subos *s)
{
	struct json_object *arr = json_object_new_array();
	for_each_cpu(c, &s->cpus) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "cpu", json_object_new_int(c));
		if (s->status) {
			const struct rf_status_core *sc = &s->status->core[c];
			json_object_object_add(o, "state",
					       json_object_new_string(core_state_name(sc->state)));
			json_object_object_add(o, "loops", json_object_new_int64((int64_t)sc->loops));
			json_object_object_add(o, "events", json_object_new_int64((int64_t)sc->events));
			json_object_object_add(o, "busy_ns", json_object_new_int64((int64_t)sc->busy_ns));
			json_object_object_add(o, "idle_ns", json_object_new_int64((int64_t)sc->idle_ns));
		} else {
			json_object_object_add(o, "state", json_object_new_string(
				s->life == RF_LIFE_EXITED ? "off" : "running"));
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *rfd_subos_json(struct rfd *d, const struct rfd_subos *s, bool detail)
{
	char cpus[4096];
	struct json_object *o = json_object_new_object(), *argv = json_object_new_array();
	base_cpuset_format(&s->cpus, cpus, sizeof(cpus));
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "kind", json_object_new_string(base_kind_name(s->kind)));
	json_object_object_add(o, "state", json_object_new_string(life_name(s->life)));
	json_object_object_add(o, "pid", json_object_new_int(s->life == RF_LIFE_EXITED ? 0 : s->pid));
	json_object_object_add(o, "cores", json_object_new_string(cpus));
	json_object_object_add(o, "ncores", json_object_new_int(base_cpuset_count(&s->cpus)));
	json_object_object_add(o, "mem", json_object_new_int64((int64_t)s->mem));
	json_object_object_add(o, "regions", json_object_new_int(s->nregions));
	for (int i = 0; s->argv && s->argv[i]; i++)
		json_object_array_add(argv, json_object_new_string(s->argv[i]));
	json_object_object_add(o, "argv", argv);
	json_object_object_add(o, "created", json_object_new_string(s->created));
	json_object_object_add(o, "cgroup", json_object_new_string(s->cgroup));
	if (s->life == RF_LIFE_EXITED)
		base_exit_status_to_json(o, s->exit_code);
	if (detail)
		json_object_object_add(o, "cores_detail", cores_detail(s));
	return o;
}

int rfd_journal_subos(struct rfd *d, const char *op, const struct rfd_subos *s,
		      struct json_object *extra)
{
	char cpus[4096];
	struct json_object *rec = json_object_new_object();
	base_cpuset_format(&s->cpus, cpus, sizeof(cpus));
	json_object_object_add(rec, "op", json_object_new_string(op));
	json_object_object_add(rec, "name", json_object_new_string(s->name));
	json_object_object_add(rec, "cores", json_object_new_string(cpus));
	json_object_object_add(rec, "mem", json_object_new_int64((int64_t)s->mem));
	if (extra) {
		json_object_object_foreach(extra, k, v)
			json_object_object_add(rec, k, json_object_get(v));
		json_object_put(extra);
	}
	int64_t seq = rfd_journal_append(&d->journal, rec);
	json_object_put(rec);
	if (seq < 0)
		rfd_log("journal write failed: %s", strerror((int)-seq));
	return seq < 0 ? (int)seq : 0;
}

int rfd_subos_enforce_cpus(struct rfd *d, struct rfd_subos *s, const struct base_cpuset *cpus)
{
	return rfd_enforce_set_cpus(&d->enf, s->name, cpus, s->pid);
}

void rfd_subos_exit_path(struct rfd *d, const struct rfd_subos *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s/run/%s.exit", d->state_dir, s->name);
}

/* Give everything the subOS held back to the host. */
void rfd_subos_release(struct rfd *d, struct rfd_subos *s)
{
	rfd_unwatch_subos(d, s);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	rfd_enforce_destroy(&d->enf, s->name);
	for (int i = 0; i < RF_MAX_REGIONS; i++)
		if (s->region_chunk[i] >= 0) {
			rfd_pool_give_back(&d->pool, s->region_chunk[i]);
			s->region_chunk[i] = -1;
		}
	s->nregions = 0;
	rfd_ptable_release(&d->pt, s->id);
	rfd_ptable_mem_release(&d->pt, s->mem);
	rfd_libos_teardown(s);
}

/* The program's exit status: from the shim's report pipe at once, or (a
 * subOS adopted after a restart) from the file the shim writes before it
 * exits.  Shims are reaped by the kernel (SA_NOCLDWAIT in main.c). */
int rfd_subos_reap(struct rfd *d, struct rfd_subos *s)
{
	char path[PATH_MAX];
	int code = INT_MIN;
	if (s->report_fd >= 0) {
		code = rfd_spawn_report_exit(s->report_fd, 5000);
		close(s->report_fd);
		s->report_fd = -1;
	}
	if (code == INT_MIN && s->shim_pidfd >= 0) {
		struct pollfd p = { .fd = s->shim_pidfd, .events = POLLIN };
		poll(&p, 1, 5000);
	}
	if (s->shim_pidfd >= 0)
		close(s->shim_pidfd);
	s->shim_pidfd = -1;
	if (code != INT_MIN)
		return code;
	rfd_subos_exit_path(d, s, path, sizeof(path));
	return rfd_spawn_read_exit(path);
}

void rfd_subos_exited(struct rfd *d, struct rfd_subos *s)
{
	s->exit_code = rfd_subos_reap(d, s);
	struct json_object *extra = json_object_new_object();
	base_exit_status_to_json(extra, s->exit_code);
	rfd_subos_release(d, s);
	s->life = RF_LIFE_EXITED;
	rfd_journal_subos(d, "exit", s, extra);
	if (s->exit_code == INT_MIN)
		rfd_log("subOS %s exited (status unknown)", s->name);
	else
		rfd_log("subOS %s exited (%s %d)", s->name, s->exit_code < 0 ? "signal" : "status",
			s->exit_code < 0 ? -s->exit_code : s->exit_code);
}
