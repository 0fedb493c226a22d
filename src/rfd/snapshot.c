/*
 * snapshot.c - which journal records still describe the present: the
 * reducer journal_compact.c writes a snapshot from (see journal.h).
 *
 * Every reader of the journal's state (recover.c, chan.c, setup.c) folds
 * records the same simple way, so the reduction can be generic:
 *   - a subOS ("name"): its latest "create" and the latest record after
 *     it (cores, memory, exit, or an operation in flight); nothing once a
 *     "destroy" came; before any create, its latest record (an intent);
 *   - a channel ("chan"): its "chan_create", until a "chan_close";
 *   - the host: the latest "start" (huge pages rfd reserved), until a
 *     "stop".
 * Records keep their seq and time; the result is in seq order, so a replay
 * of the snapshot reaches the same table as a replay of everything.
 */
#include "rfd/snapshot.h"

#include <string.h>

#include "base/json.h"

struct reduce {
	struct json_object *subos; /* name -> [create or null, latest or null] */
	struct json_object *chans; /* chan -> chan_create */
	struct json_object *start; /* the latest start, or NULL */
};

static void fold_subos(struct reduce *r, const char *name, const char *op,
		       struct json_object *rec)
{
	struct json_object *pair;
	if (strcmp(op, "destroy") == 0) {
		json_object_object_del(r->subos, name);
		return;
	}
	if (!json_object_object_get_ex(r->subos, name, &pair)) {
		pair = json_object_new_array();
		json_object_array_add(pair, NULL);
		json_object_array_add(pair, NULL);
		json_object_object_add(r->subos, name, pair);
	}
	bool create = strcmp(op, "create") == 0;
	json_object_array_put_idx(pair, create ? 0 : 1, json_object_get(rec));
	if (create)
		json_object_array_put_idx(pair, 1, NULL);
}

static int fold(struct json_object *rec, void *arg)
{
	struct reduce *r = arg;
	const char *op = base_json_str(rec, "op", NULL), *name = base_json_str(rec, "name", NULL);
	const char *chan = base_json_str(rec, "chan", NULL);
	if (!op)
		return 0;
	if (chan && strcmp(op, "chan_create") == 0)
		json_object_object_add(r->chans, chan, json_object_get(rec));
	else if (chan && strcmp(op, "chan_close") == 0)
		json_object_object_del(r->chans, chan);
	else if (name)
		fold_subos(r, name, op, rec);
	else if (strcmp(op, "start") == 0 || strcmp(op, "stop") == 0) {
		json_object_put(r->start);
		r->start = strcmp(op, "start") == 0 ? json_object_get(rec) : NULL;
	}
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	struct json_object *const *x = a, *const *y = b;
	struct json_object *sx = NULL, *sy = NULL;
	json_object_object_get_ex(*x, "seq", &sx);
	json_object_object_get_ex(*y, "seq", &sy);
	int64_t p = json_object_get_int64(sx), q = json_object_get_int64(sy);
	return (p > q) - (p < q);
}

static void add(struct json_object *out, struct json_object *rec)
{
	if (rec)
		json_object_array_add(out, json_object_get(rec));
}

struct json_object *rfd_snapshot_reduce(struct rfd_journal *j)
{
	struct reduce r = { json_object_new_object(), json_object_new_object(), NULL };
	struct json_object *out = NULL;
	if (rfd_journal_replay(j, fold, &r) == 0) {
		out = json_object_new_array();
		json_object_object_foreach(r.subos, name, pair) {
			(void)name;
			add(out, json_object_array_get_idx(pair, 0));
			add(out, json_object_array_get_idx(pair, 1));
		}
		json_object_object_foreach(r.chans, chan, rec) {
			(void)chan;
			add(out, rec);
		}
		add(out, r.start);
		json_object_array_sort(out, by_seq);
	}
	json_object_put(r.subos);
	json_object_put(r.chans);
	json_object_put(r.start);
	return out;
}
