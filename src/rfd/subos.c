/*
 * subos.c - the subOS table: lookup, description as JSON, journal records.
 *
 * The mechanics of create/destroy/exit (lifecycle.c) and resize (resize.c)
 * live in their own files; this one holds the record they share and calls
 * none of them.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/subos.h"
#include "rfd/stats.h"
#include "rfd/log.h"
#include "rfd/probe.h"
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
	char **v[] = { s->argv, s->env, s->caps, s->binds, s->ro_binds };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		base_strv_free(v[i]);
	free(s->fs_root);
	for (int i = 0; i < RFD_RECENT; i++)
		json_object_put(s->recent[i]);
	free(s->prun);
	rfd_probe_free(s);
	free(s->busy_base);
	free(s->hwc_base);
	free(s);
}

static const char *life_name(enum rfd_subos_life l)
{
	static const char *const names[] = {
		[RF_LIFE_STARTING] = "starting", [RF_LIFE_RUNNING] = "running",
		[RF_LIFE_RESTARTING] = "restarting", [RF_LIFE_EXITED] = "exited",
	};
	return names[l];
}

/* Whether a program of s runs now (its pid means something). */
static bool has_program(const struct rfd_subos *s)
{
	return s->life == RF_LIFE_STARTING || s->life == RF_LIFE_RUNNING;
}

/* The restart policy and how far it went; nothing for "no". */
static void restart_json(struct json_object *o, const struct rfd_subos *s)
{
	if (s->restart == RF_RESTART_NO)
		return;
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "policy", json_object_new_string(base_restart_name(s->restart)));
	json_object_object_add(r, "max", s->max_restarts < 0 ? NULL
							     : json_object_new_int(s->max_restarts));
	json_object_object_add(r, "count", json_object_new_int(s->restarts));
	if (s->life == RF_LIFE_RESTARTING)
		json_object_object_add(r, "delay_ms", json_object_new_int64(s->backoff_ms));
	json_object_object_add(o, "restart", r);
}

/* What create was given beyond argv, as create's keys (an empty list
 * and no root included): `rfm apply` compares a file against it (the
 * journal's create record holds the same, but `log` grows with every
 * resize past what one answer line may carry). */
static void spec_json(struct json_object *o, const struct rfd_subos *s)
{
	static const char *const keys[] = { "env", "caps", "binds", "ro_binds" };
	char *const *vals[] = { s->env, s->caps, s->binds, s->ro_binds };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_object_add(o, keys[i], base_strv_to_json(vals[i]));
	json_object_object_add(o, "root", s->fs_root ? json_object_new_string(s->fs_root) : NULL);
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
			rfd_stats_rfloop_json(o, sc);
		} else {
			json_object_object_add(o, "state", json_object_new_string(
				has_program(s) ? "running" : "off"));
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
	json_object_object_add(o, "pid", json_object_new_int(has_program(s) ? s->pid : 0));
	json_object_object_add(o, "cores", json_object_new_string(cpus));
	json_object_object_add(o, "ncores", json_object_new_int(base_cpuset_count(&s->cpus)));
	json_object_object_add(o, "mem", json_object_new_int64((int64_t)s->mem));
	json_object_object_add(o, "regions", json_object_new_int(s->nregions));
	json_object_object_add(o, "chan_mem", json_object_new_int64((int64_t)s->chan_mem));
	for (int i = 0; s->argv && s->argv[i]; i++)
		json_object_array_add(argv, json_object_new_string(s->argv[i]));
	json_object_object_add(o, "argv", argv);
	json_object_object_add(o, "created", json_object_new_string(s->created));
	json_object_object_add(o, "cgroup", json_object_new_string(s->cgroup));
	if (!has_program(s))
		base_exit_status_to_json(o, s->exit_code);
	restart_json(o, s);
	json_object_object_add(o, "policy", s->policy.priority != RF_PRIO_OFF
						     ? base_policy_json(&s->policy) : NULL); /* null: none */
	json_object_object_add(o, "probe", s->probe_url[0] ? json_object_new_string(s->probe_url)
							   : NULL);
	if (detail) {
		spec_json(o, s);
		json_object_object_add(o, "cores_detail", cores_detail(s));
	}
	return o;
}

/* What a restarted rfd needs to adopt s's regions (recover.c): "chunks",
 * the chunk of every region slot up to the highest held (-1 for a free
 * slot), and "chunk_inodes", the inode of each one's memfd (0 unknown), by
 * which rfd finds the memfds in the subOS. */
static void chunks_json(struct rfd *d, const struct rfd_subos *s, struct json_object *x)
{
	struct json_object *ids = json_object_new_array(), *inodes = json_object_new_array();
	int top = RF_MAX_REGIONS;
	while (top > 0 && s->region_chunk[top - 1] < 0)
		top--;
	for (int i = 0; i < top; i++) {
		int id = s->region_chunk[i];
		json_object_array_add(ids, json_object_new_int(id));
		json_object_array_add(inodes, json_object_new_int64(
						      (int64_t)rfd_pool_inode(&d->pool, id)));
	}
	json_object_object_add(x, "chunks", ids);
	json_object_object_add(x, "chunk_inodes", inodes);
}

/* Every record of a subOS says where it stands now: its partition, and
 * while a program runs, which one (pid, restarts) and a libos subOS's
 * regions.  A journal compacted to a subOS's create and latest record
 * (snapshot.c) so loses nothing recover.c needs. */
static struct json_object *subos_record(struct rfd *d, const char *op, const struct rfd_subos *s,
					struct json_object *extra)
{
	char cpus[4096];
	struct json_object *rec = json_object_new_object();
	base_cpuset_format(&s->cpus, cpus, sizeof(cpus));
	json_object_object_add(rec, "op", json_object_new_string(op));
	json_object_object_add(rec, "name", json_object_new_string(s->name));
	json_object_object_add(rec, "cores", json_object_new_string(cpus));
	json_object_object_add(rec, "mem", json_object_new_int64((int64_t)s->mem));
	if (s->pid > 0 && strcmp(op, "create")) {
		json_object_object_add(rec, "pid", json_object_new_int(s->pid));
		json_object_object_add(rec, "shim_pid", json_object_new_int(s->shim_pid));
	}
	if (s->restarts > 0)
		json_object_object_add(rec, "restarts", json_object_new_int(s->restarts));
	if (s->kind == RF_KIND_LIBOS)
		chunks_json(d, s, rec);
	if (s->policy.priority != RF_PRIO_OFF) /* recover.c: the latest record has it */
		json_object_object_add(rec, "policy", base_policy_json(&s->policy));
	if (s->probe_url[0]) /* recover.c: as the policy */
		json_object_object_add(rec, "probe", json_object_new_string(s->probe_url));
	if (extra) {
		json_object_object_foreach(extra, k, v)
			json_object_object_add(rec, k, json_object_get(v));
		json_object_put(extra);
	}
	return rec;
}

/* rec among s's last RFD_RECENT records, newest last. */
void rfd_subos_keep_recent(struct rfd_subos *s, struct json_object *rec)
{
	json_object_put(s->recent[0]);
	memmove(&s->recent[0], &s->recent[1], sizeof(s->recent[0]) * (RFD_RECENT - 1));
	s->recent[RFD_RECENT - 1] = json_object_get(rec);
}

int rfd_journal_subos(struct rfd *d, const char *op, const struct rfd_subos *s,
		      struct json_object *extra)
{
	struct json_object *rec = subos_record(d, op, s, extra);
	int64_t seq = rfd_journal_append(&d->journal, rec);
	struct rfd_subos *held = rfd_subos_by_id(d, s->id);
	if (seq >= 0 && held == s)
		rfd_subos_keep_recent(held, rec);
	json_object_put(rec);
	if (seq < 0)
		rfd_log("journal write failed: %s", strerror((int)-seq));
	return seq < 0 ? (int)seq : 0;
}

void rfd_journal_subos_intent(struct rfd *d, const char *op, const struct rfd_subos *s)
{
	struct json_object *rec = subos_record(d, op, s, NULL);
	int64_t seq = rfd_journal_append_nosync(&d->journal, rec);
	json_object_put(rec);
	if (seq < 0)
		rfd_log("journal write failed (%s %s): %s", op, s->name, strerror((int)-seq));
}

void rfd_subos_exit_path(struct rfd *d, const struct rfd_subos *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s/run/%s.exit", d->state_dir, s->name);
}

