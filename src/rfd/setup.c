/*
 * setup.c - bringing rfd's subsystems up and down in order.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/setup.h"
#include "rfd/confine.h"
#include "rfd/spare.h"
#include "rfd/home.h"
#include "rfd/snapshot.h"
#include "rfd/chan.h"
#include "rfd/lifecycle.h"
#include "rfd/op.h"
#include "rfd/subos.h"
#include "rfd/recover.h"
#include "rfd/log.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "base/units.h"

static int managed_cpus(struct rfd *d, const struct rfd_opts *o, struct base_cpuset *out,
			struct base_err *err)
{
	struct base_cpuset host;
	if (o->cores) {
		if (base_cpuset_parse(out, o->cores)) {
			base_errf(err, BASE_E_BAD_REQUEST, "--cores: \"%s\" is not a CPU list",
				  o->cores);
			return -1;
		}
	} else {
		if (base_cpuset_parse(&host, o->host_cores)) {
			base_errf(err, BASE_E_BAD_REQUEST, "--host-cores: \"%s\" is not a CPU list",
				  o->host_cores);
			return -1;
		}
		*out = d->topo.online;
		base_cpuset_andnot(out, &host);
	}
	if (!base_cpuset_subset(out, &d->topo.online)) {
		base_errf(err, BASE_E_BAD_REQUEST,
			  "--cores: %s names CPUs this machine does not have",
			  o->cores ? o->cores : "the complement of --host-cores");
		return -1;
	}
	return 0;
}

static int last_start(struct json_object *rec, void *arg)
{
	long *added = arg;
	struct json_object *op, *n;
	if (!json_object_object_get_ex(rec, "op", &op))
		return 0;
	if (strcmp(json_object_get_string(op), "start") == 0)
		*added = json_object_object_get_ex(rec, "hugepages_added", &n)
			 ? (long)json_object_get_int64(n) : 0;
	else if (strcmp(json_object_get_string(op), "stop") == 0)
		*added = 0;
	return 0;
}

/*
 * The huge pages this instance added to the host's overcommit limit
 * (nr_overcommit_hugepages, mempool.c says why not nr_hugepages), in
 * STATE_DIR/hugepages, rewritten right after every change: a "start"
 * record comes too late to cover an rfd killed between reserving and
 * journalling (or between its "stop" record and the release), so the file,
 * not the journal, tells a successor what to give back.
 */
static void hugepages_path(const struct rfd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/hugepages", d->state_dir);
}

static void hugepages_record(const struct rfd *d, long added)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
	hugepages_path(d, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f || fprintf(f, "%ld\n", added) < 0 || fclose(f) || rename(tmp, path))
		rfd_log("cannot record the huge pages added (%ld) in %s", added, path);
}

/* Huge pages allowed by an rfd that died before lowering the limit: the
 * file's count, or (a state directory from before the file) the last
 * "start" record without a "stop". */
static long orphaned_hugepages(struct rfd *d)
{
	char path[PATH_MAX + 16];
	long added = 0;
	hugepages_path(d, path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &added) != 1)
			added = 0;
		fclose(f);
	} else {
		rfd_journal_replay(&d->journal, last_start, &added);
	}
	return added > 0 ? added : 0;
}

static int shield_host(struct rfd *d, const struct base_cpuset *managed, struct base_err *err)
{
	struct base_cpuset host = d->topo.online;
	base_cpuset_andnot(&host, managed);
	int rc = rfd_enforce_shield(&d->enf, &host);
	if (rc == -EOPNOTSUPP)
		base_errf(err, BASE_E_BAD_REQUEST,
			  "--shield needs cgroup v1 cpusets (enforcement is %s%s)",
			  rfd_enforce_name(d->enf.kind),
			  d->enf.kind == RF_ENF_CGROUP2
				  ? ", whose isolated partitions already keep host tasks off"
				  : "");
	else if (rc == -EINVAL)
		base_errf(err, BASE_E_BAD_REQUEST,
			  "--shield needs at least one host core (--host-cores)");
	else if (rc)
		base_errf(err, BASE_E_INTERNAL, "--shield: %s", strerror(-rc));
	return rc ? -1 : 0;
}

int rfd_setup(struct rfd *d, const struct rfd_opts *o, struct base_err *err)
{
	struct base_cpuset managed;
	uint64_t mem, chunk, jmax = 0;
	int rc;

	err->code = BASE_E_OK;
	err->msg[0] = '\0';
	if (rfd_topo_discover(&d->topo))
		return -1;
	if (managed_cpus(d, o, &managed, err))
		return -1;
	if (base_parse_size(o->mem, &mem) || base_parse_size(o->chunk, &chunk)) {
		base_errf(err, BASE_E_BAD_REQUEST, "--mem/--chunk: not a size");
		return -1;
	}
	if (strcmp(o->journal_max, "0") && base_parse_size(o->journal_max, &jmax)) {
		base_errf(err, BASE_E_BAD_REQUEST, "--journal-max %s: not a size", o->journal_max);
		return -1;
	}
	if (mem > d->topo.mem_total / 4 * 3) {
		base_errf(err, BASE_E_BAD_REQUEST,
			  "--mem %s is more than 3/4 of this machine's memory", o->mem);
		return -1;
	}
	mem = mem / chunk * chunk;
	rfd_ptable_init(&d->pt, &d->topo.online, &managed, d->topo.order, d->topo.norder, mem);
	rfd_home_update(d); /* before the pool's worker starts: it inherits the mask */
	if (rfd_enforce_init(&d->enf, o->enforce, d->instance, &managed, err))
		return -1;
	if (o->shield && shield_host(d, &managed, err))
		return -1;
	if ((rc = rfd_journal_open(&d->journal, d->state_dir))) {
		base_errf(err, BASE_E_INTERNAL, "cannot open the journal in %s: %s", d->state_dir,
			  strerror(-rc));
		return -1;
	}
	d->journal.max_bytes = (off_t)jmax;
	d->journal.reduce = rfd_snapshot_reduce;
	long orphaned = orphaned_hugepages(d);
	if (rfd_pool_init(&d->pool, mem, chunk, o->hugepages, err))
		return -1;
	d->pool.huge_added += orphaned; /* a killed predecessor's limit is ours to lower */
	hugepages_record(d, d->pool.huge_added);
	if (rfd_recover(d)) {
		base_errf(err, BASE_E_INTERNAL, "cannot recover from the journal");
		return -1;
	}
	rfd_chan_recover(d);
	struct json_object *rec = json_object_new_object();
	char list[4096];
	base_cpuset_format(&managed, list, sizeof(list));
	json_object_object_add(rec, "op", json_object_new_string("start"));
	json_object_object_add(rec, "managed_cpus", json_object_new_string(list));
	json_object_object_add(rec, "mem", json_object_new_int64((int64_t)mem));
	json_object_object_add(rec, "enforcement",
			       json_object_new_string(rfd_enforce_name(d->enf.kind)));
	json_object_object_add(rec, "hugepages_added", json_object_new_int64(d->pool.huge_added));
	rfd_journal_append(&d->journal, rec);
	json_object_put(rec);
	return 0;
}

void rfd_teardown(struct rfd *d, bool cleanup)
{
	for (int i = 0; cleanup && i < RF_MAX_SUBOS; i++) {
		struct rfd_op *op = d->subos[i] ? rfd_op_new(d->subos[i]->name,
							     rfd_subos_destroy_step) : NULL;
		if (op)
			rfd_op_drive(d, op);
	}
	if (d->journal.fd >= 0) {
		struct json_object *rec = json_object_new_object();
		json_object_object_add(rec, "op", json_object_new_string("stop"));
		rfd_journal_append(&d->journal, rec);
		json_object_put(rec);
	}
	rfd_journal_close(&d->journal);
	rfd_chan_fini(d);
	bool pool_up = d->pool.started;
	rfd_pool_fini(&d->pool);
	if (pool_up) /* it gave back what it had added, a predecessor's included */
		hugepages_record(d, 0);
	rfd_spare_drop(d);
	if (d->spare_plan) {
		rfd_confine_release(d->spare_plan);
		free(d->spare_plan);
		d->spare_plan = NULL;
	}
	rfd_enforce_fini(&d->enf);
}
