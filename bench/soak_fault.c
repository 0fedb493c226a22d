/*
 * soak_fault.c - the crash part of `rfbench soak`: the fault build of rfd
 * (build/tests/rfd-faults, src/rfd/fault.h) killed at a random journal
 * point while subOSes come and go, a normal rfd restarted on its state
 * directory, and the table it rebuilt checked against the host.
 *
 * A fault counts as survived when the restarted rfd starts, every subOS it
 * lists as running is alive, the instance's cgroup directories are
 * exactly the running subOSes (a create rfd died in was rolled back, not
 * leaked), and its free memory plus the memory the listed subOSes hold is
 * all it manages.
 */
#define _GNU_SOURCE
#include "soak.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/json.h"

static struct json_object *call(struct soak *k, enum base_verb verb, const char *name)
{
	struct base_request req = req_named(verb, name);
	struct json_object *a = prfd_call(&k->p, &req, NULL);
	if (a && base_answer_ok(a))
		return a;
	json_object_put(a);
	return NULL;
}

/* One listed subOS: alive if running, its cgroup there; adds its memory. */
static bool subos_ok(struct soak *k, struct json_object *s, uint64_t *held, int *running)
{
	char dir[400];
	struct stat st;
	*held += (uint64_t)base_json_i64(s, "mem", -1);
	if (strcmp(base_json_str(s, "state", ""), "running"))
		return true;
	(*running)++;
	snprintf(dir, sizeof(dir), "%s/%s", k->cg[0], base_json_str(s, "name", ""));
	return kill((pid_t)base_json_i64(s, "pid", -1), 0) == 0 && stat(dir, &st) == 0;
}

static bool says(bool ok, const char *what)
{
	if (!ok)
		fprintf(stderr, "rfbench soak: after a crash: %s\n", what);
	return ok;
}

/* What is there, for the report of an inconsistency. */
static void list_dirs(struct soak *k)
{
	for (int h = 0; h < 2; h++) {
		DIR *d = opendir(k->cg[h]);
		struct dirent *e;
		fprintf(stderr, "rfbench soak:   %s:", k->cg[h]);
		while (d && (e = readdir(d)))
			if (e->d_type == DT_DIR && e->d_name[0] != '.')
				fprintf(stderr, " %s", e->d_name);
		fputc('\n', stderr);
		if (d)
			closedir(d);
	}
}

/* rfd's spares' directories in dir (spare.h): at most one may be there. */
static int spares(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_type == DT_DIR && strncmp(e->d_name, "~spare.", 7) == 0;
	if (d)
		closedir(d);
	return n;
}

static bool table_ok(struct soak *k)
{
	struct json_object *list = call(k, RF_VERB_LIST, NULL), *info = call(k, RF_VERB_INFO, NULL);
	struct json_object *arr = NULL;
	uint64_t held = 0;
	int running = 0;
	bool ok = says(list && info && json_object_object_get_ex(base_answer_result(list), "subos",
								  &arr), "rfd does not answer");
	for (size_t i = 0; ok && i < json_object_array_length(arr); i++)
		ok = says(subos_ok(k, json_object_array_get_idx(arr, i), &held, &running),
			  "a running subOS is dead or has no cgroup");
	/* no cgroup but the running subOSes' (cpuset and memory hierarchies) */
	ok = ok && says(soak_count_dir(k->cg[0], true) == running &&
			(!k->cg[1][0] || soak_count_dir(k->cg[1], true) == running),
			"cgroups that no running subOS owns");
	ok = ok && says(spares(k->cg[0]) <= 1 && (!k->cg[1][0] || spares(k->cg[1]) <= 1),
			"more than one spare's cgroups");
	if (!ok)
		list_dirs(k);
	int64_t mem_free = ok ? base_json_i64(base_answer_result(info), "mem_free", -1) : -1;
	ok = ok && says((uint64_t)mem_free + held == MEM_MANAGED,
			"free and held memory are not the whole");
	json_object_put(list);
	json_object_put(info);
	return ok;
}

/* Destroy whatever the restarted rfd lists. */
static void destroy_all(struct soak *k)
{
	struct json_object *list = call(k, RF_VERB_LIST, NULL), *arr;
	if (list && json_object_object_get_ex(base_answer_result(list), "subos", &arr))
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *s = json_object_array_get_idx(arr, i);
			json_object_put(call(k, RF_VERB_DESTROY, base_json_str(s, "name", "")));
		}
	json_object_put(list);
}

int soak_fault(struct soak *k, int i)
{
	char fault[32];
	(void)i;
	/* Points 1-2 are the start record; each cycle passes about six. */
	snprintf(fault, sizeof(fault), "journal:%ld", 3 + random() % 18);
	if (prfd_restart(&k->p, k->o, "tests/rfd-faults", fault, extra, NULL) == 0)
		soak_cycles(k, 20, false);
	if (prfd_alive(&k->p))
		kill(k->p.pid, SIGKILL); /* past its point: a crash all the same */
	k->injected++;
	if (prfd_restart(&k->p, k->o, NULL, NULL, extra, NULL))
		return -1;
	if (table_ok(k))
		k->survived++;
	else
		fprintf(stderr, "rfbench soak: after fault %s the table is inconsistent\n", fault);
	destroy_all(k);
	return 0;
}
