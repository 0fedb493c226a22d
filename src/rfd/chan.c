/*
 * chan.c - the channel broker: rfd creates, lists, grants and closes the
 * shared-memory channels between subOSes (docs/protocol.md, chan_* verbs).
 *
 * IFTS: a subOS shares memory with another only through a channel both
 * were granted.  A channel's memory is one chunk of rfd's pool (a memfd
 * pre-faulted and zeroed, sealed so that no one can resize it under a
 * peer's mapping, never handed to anyone else), charged half to each of
 * the two subOSes (their `chan_mem`, reserved in the partition table like
 * their own memory).  rfd formats it and hands the descriptor only to a
 * process that it can place inside one of the two granted subOSes
 * (chan_caller.c).  Closing gives the chunk back without punching it out:
 * the peers may still drain the rings; the memory lives until the last of
 * them unmaps it, and the memfd is never handed out again.  A `msg`
 * channel holds two FICM rings, one per direction: ring 0 carries A -> B,
 * ring 1 B -> A.  A `map` channel is a
 * plain zeroed region that rfd never touches.
 *
 * Like every adjustment, chan_create and chan_close are journalled before
 * the answer, and a refused request changes neither the table nor the
 * journal.  Channel records name the channel under "chan" (not "name", so
 * that replaying subOS records after a restart is not confused by a
 * channel that shares a subOS's name).  Closing marks both rings closed
 * (peers drain, then get -EPIPE) and drops rfd's reference; the memory
 * lives on in the mappings of the peers until they let go of it.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/chan.h"
#include "rfd/log.h"
#include "rfd/placement.h"
#include "rfd/subos.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "base/time.h"
#include "base/units.h"
#include "rf/ficm.h"

#define RF_MAX_CHAN 4096
#define PAGE        4096ull

struct rfd_chan {
	struct rfd_chan *next;
	char name[RF_NAME_MAX];
	enum base_chan_kind kind;
	char between[2][RF_NAME_MAX];
	uint32_t slots;               /* msg */
	uint64_t size;                /* bytes of the memfd */
	uint64_t ring_bytes;          /* msg: one ring */
	int fd;                       /* a dup of the pool chunk's memfd */
	int chunk;                    /* the pool chunk, -1 before it is taken */
	uint64_t charge;              /* bytes charged to each side */
	void *mem;                    /* msg: rfd's mapping (for closing the rings) */
	struct rf_ficm_ring ring[2];  /* msg: rfd's handles, used only to close */
	int opens[2];                 /* chan_open answers per side */
	char created[40];
};

static struct rfd_chan *chan_find(struct rfd *d, const char *name)
{
	for (struct rfd_chan *c = d->chans; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int chan_count(struct rfd *d)
{
	int n = 0;
	for (struct rfd_chan *c = d->chans; c; c = c->next)
		n++;
	return n;
}

static void chan_unlink(struct rfd *d, struct rfd_chan *c)
{
	for (struct rfd_chan **p = &d->chans; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			return;
		}
}

/* Take back what the two sides were charged (either may be gone). */
static void chan_uncharge(struct rfd *d, struct rfd_chan *c)
{
	for (int i = 0; i < 2 && c->charge; i++) {
		struct rfd_subos *s = rfd_subos_find(d, c->between[i]);
		if (s)
			s->chan_mem -= c->charge;
		rfd_ptable_mem_release(&d->pt, c->charge);
	}
	c->charge = 0;
}

/* Drop rfd's memory of a channel; close_rings says whether to close them.
 * The chunk goes back to the pool unpunched (the peers may still drain
 * it); the pool drops its memfd and makes a fresh one. */
static void chan_free(struct rfd *d, struct rfd_chan *c, bool close_rings)
{
	if (c->mem) {
		if (close_rings)
			for (int i = 0; i < 2; i++)
				rf_ficm_close(&c->ring[i]);
		munmap(c->mem, c->size);
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->chunk >= 0)
		rfd_pool_drop(&d->pool, c->chunk);
	chan_uncharge(d, c);
	free(c);
}

/* Charge each side half of a chunk, from the managed memory; on refusal
 * nothing stays charged and err names the side that lacks room. */
static int chan_charge(struct rfd *d, struct rfd_chan *c, struct rfd_subos **s,
		       struct base_err *err)
{
	uint64_t share = d->pool.chunk_size / 2;
	char a[32], f[32];
	for (int i = 0; i < 2; i++) {
		if (rfd_ptable_mem_reserve(&d->pt, share) == BASE_E_OK)
			continue;
		if (i)
			rfd_ptable_mem_release(&d->pt, share);
		base_format_size(share, a, sizeof(a));
		base_format_size(d->pt.mem_managed - d->pt.mem_used, f, sizeof(f));
		return base_errf(err, BASE_E_MEM_UNAVAILABLE,
				 "no room to charge \"%s\" its %s share of the channel (%s free)",
				 s[i]->name, a, f);
	}
	for (int i = 0; i < 2; i++)
		s[i]->chan_mem += share;
	c->charge = share;
	return 0;
}

/* A pool chunk and, for msg, its two formatted rings.  rfd keeps its own
 * attached handle on each ring only to be able to close it later. */
static int chan_memory(struct rfd *d, struct rfd_chan *c, struct rfd_subos **s,
		       struct base_err *err)
{
	char a[32];
	int rc;
	if (c->size > d->pool.chunk_size) {
		base_format_size(d->pool.chunk_size, a, sizeof(a));
		return base_errf(err, BASE_E_MEM_UNAVAILABLE,
				 "a channel is at most one memory chunk (%s; rfd --chunk)", a);
	}
	if (chan_charge(d, c, s, err))
		return -1;
	if ((rc = rfd_pool_take(&d->pool, 1, s[0]->id, &c->chunk))) {
		c->chunk = -1;
		return base_errf(err, BASE_E_MEM_UNAVAILABLE, "cannot prepare memory: %s",
				 strerror(-rc));
	}
	c->fd = fcntl(rfd_pool_fd(&d->pool, c->chunk), F_DUPFD_CLOEXEC, 0);
	if (c->fd < 0)
		return base_errf(err, BASE_E_INTERNAL, "cannot hold the channel: %s",
				 strerror(errno));
	if (c->kind != RF_CHAN_MSG)
		return 0;
	void *m = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (m == MAP_FAILED)
		return base_errf(err, BASE_E_INTERNAL, "cannot map the channel: %s",
				 strerror(errno));
	c->mem = m;
	for (int i = 0; i < 2; i++) {
		char *ring = (char *)m + (size_t)i * c->ring_bytes;
		if ((rc = rf_ficm_ring_format(ring, c->ring_bytes, c->slots)) ||
		    (rc = rf_ficm_attach(&c->ring[i], ring, c->ring_bytes, c->slots,
					 RF_FICM_CONSUMER)))
			return base_errf(err, BASE_E_INTERNAL, "cannot format ring %d: %s", i,
					 strerror(-rc));
	}
	return 0;
}

static struct json_object *between_json(const struct rfd_chan *c)
{
	struct json_object *a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(c->between[0]));
	json_object_array_add(a, json_object_new_string(c->between[1]));
	return a;
}

static struct json_object *chan_json(const struct rfd_chan *c)
{
	struct json_object *o = json_object_new_object(), *opened = json_object_new_array();
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "kind", json_object_new_string(base_chan_kind_name(c->kind)));
	json_object_object_add(o, "between", between_json(c));
	if (c->kind == RF_CHAN_MSG)
		json_object_object_add(o, "slots", json_object_new_int64(c->slots));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)c->size));
	json_object_object_add(o, "charge", json_object_new_int64((int64_t)c->charge));
	for (int i = 0; i < 2; i++)
		if (c->opens[i])
			json_object_array_add(opened, json_object_new_string(c->between[i]));
	json_object_object_add(o, "opened", opened);
	json_object_object_add(o, "opens", json_object_new_int(c->opens[0] + c->opens[1]));
	json_object_object_add(o, "created", json_object_new_string(c->created));
	return o;
}

/* A chan_create or chan_close record; returns 0 or -errno. */
static int chan_journal(struct rfd *d, const char *op, const struct rfd_chan *c, const char *reason)
{
	struct json_object *rec = json_object_new_object();
	json_object_object_add(rec, "op", json_object_new_string(op));
	json_object_object_add(rec, "chan", json_object_new_string(c->name));
	json_object_object_add(rec, "kind", json_object_new_string(base_chan_kind_name(c->kind)));
	json_object_object_add(rec, "between", between_json(c));
	if (c->kind == RF_CHAN_MSG)
		json_object_object_add(rec, "slots", json_object_new_int64(c->slots));
	json_object_object_add(rec, "size", json_object_new_int64((int64_t)c->size));
	if (reason)
		json_object_object_add(rec, "reason", json_object_new_string(reason));
	int64_t seq = rfd_journal_append(&d->journal, rec);
	json_object_put(rec);
	if (seq < 0)
		rfd_log("journal write failed (%s %s): %s", op, c->name, strerror((int)-seq));
	return seq < 0 ? (int)seq : 0;
}

/* May the channel be made now?  s[] gets the two subOSes.  0, or -1
 * with err. */
static int chan_check(struct rfd *d, const struct base_request *req, struct rfd_subos **s,
		      struct base_err *err)
{
	if (chan_find(d, req->name))
		return base_errf(err, BASE_E_NAME_EXISTS, "a channel named \"%s\" already exists",
				 req->name);
	for (int i = 0; i < 2; i++)
		if (!(s[i] = rfd_subos_find(d, req->between[i])))
			return base_errf(err, BASE_E_NO_SUCH_SUBOS, "no subOS named \"%s\"",
					 req->between[i]);
	for (int i = 0; i < 2; i++)
		if (s[i]->life == RF_LIFE_EXITED)
			return base_errf(err, BASE_E_NOT_RUNNING, "subOS \"%s\" has exited",
					 s[i]->name);
		else if (s[i]->life == RF_LIFE_STARTING) /* its create may yet fail */
			return base_errf(err, BASE_E_NOT_RUNNING, "subOS \"%s\" is still starting",
					 s[i]->name);
	if (chan_count(d) >= RF_MAX_CHAN)
		return base_errf(err, BASE_E_INTERNAL, "rfd brokers at most %d channels",
				 RF_MAX_CHAN);
	return 0;
}

static struct json_object *chan_create(struct rfd *d, const struct base_request *req,
				       struct base_err *err)
{
	struct rfd_subos *s[2];
	struct rfd_chan *c;
	int rc;

	if (chan_check(d, req, s, err))
		return NULL;
	if (!(c = calloc(1, sizeof(*c)))) {
		base_errf(err, BASE_E_INTERNAL, "out of memory");
		return NULL;
	}
	c->fd = c->chunk = -1;
	snprintf(c->name, sizeof(c->name), "%s", req->name);
	c->kind = req->chan_kind;
	for (int i = 0; i < 2; i++)
		snprintf(c->between[i], sizeof(c->between[i]), "%s", req->between[i]);
	if (c->kind == RF_CHAN_MSG) {
		c->slots = (uint32_t)req->slots; /* checked: at most RF_FICM_SLOTS_MAX */
		c->ring_bytes = rf_ficm_ring_size(c->slots);
		c->size = base_round_up(2 * c->ring_bytes, PAGE);
	} else {
		c->size = base_round_up(req->size, PAGE);
	}
	base_format_wallclock(c->created, sizeof(c->created));
	if (chan_memory(d, c, s, err))
		goto fail;
	if ((rc = chan_journal(d, "chan_create", c, NULL))) {
		base_errf(err, BASE_E_INTERNAL, "cannot write the journal: %s", strerror(-rc));
		goto fail;
	}
	c->next = d->chans;
	d->chans = c;
	rfd_log("channel %s (%s) between %s and %s", c->name, base_chan_kind_name(c->kind),
		c->between[0], c->between[1]);
	return chan_json(c);
fail:
	chan_free(d, c, false);
	return NULL;
}

/* chan_create as an op (op.h): refused at once if it cannot be made;
 * else made once the pool has a chunk ready, which may mean waiting for
 * its worker (on its eventfd, never in the loop).  Checked again then:
 * a subOS may have gone meanwhile. */
enum rfd_op_rc rfd_chan_create_step(struct rfd *d, struct rfd_op *op)
{
	struct rfd_subos *s[2];
	if (op->state == RFD_OP_CANCEL)
		return RFD_OP_DONE;
	if (op->state == 0) {
		if (chan_check(d, &op->req, s, &op->err))
			return RFD_OP_DONE;
		op->deadline_ns = base_now_ns() + RFD_POOL_WAIT_MS * BASE_NS_PER_MS;
		op->state = 1;
	}
	int w = rfd_place_pool_wait(d, op, 1);
	if (w > 0)
		return RFD_OP_WAIT;
	if (w == 0)
		op->result = chan_create(d, &op->req, &op->err);
	return RFD_OP_DONE;
}

static struct json_object *chan_list(struct rfd *d)
{
	struct json_object *arr = json_object_new_array(), *r = json_object_new_object();
	for (struct rfd_chan *c = d->chans; c; c = c->next)
		json_object_array_add(arr, chan_json(c));
	json_object_object_add(r, "channels", arr);
	return r;
}

static struct json_object *chan_close(struct rfd *d, const struct base_request *req,
				      struct base_err *err)
{
	struct rfd_chan *c = chan_find(d, req->name);
	int rc;
	if (!c) {
		base_errf(err, BASE_E_NO_SUCH_CHANNEL, "no channel named \"%s\"", req->name);
		return NULL;
	}
	if ((rc = chan_journal(d, "chan_close", c, "closed"))) {
		base_errf(err, BASE_E_INTERNAL, "cannot write the journal: %s", strerror(-rc));
		return NULL;
	}
	struct json_object *r = chan_json(c);
	chan_unlink(d, c);
	chan_free(d, c, true);
	return r;
}

/* The caller's side of the channel: where it produces and consumes. */
static struct json_object *open_answer(const struct rfd_chan *c, int side)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "kind", json_object_new_string(base_chan_kind_name(c->kind)));
	json_object_object_add(o, "side", json_object_new_string(side ? "B" : "A"));
	json_object_object_add(o, "subos", json_object_new_string(c->between[side]));
	json_object_object_add(o, "peer", json_object_new_string(c->between[!side]));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)c->size));
	if (c->kind == RF_CHAN_MSG) {
		json_object_object_add(o, "slots", json_object_new_int64(c->slots));
		json_object_object_add(o, "ring_bytes", json_object_new_int64((int64_t)c->ring_bytes));
		json_object_object_add(o, "tx_offset",
				       json_object_new_int64((int64_t)(side * c->ring_bytes)));
		json_object_object_add(o, "rx_offset",
				       json_object_new_int64((int64_t)(!side * c->ring_bytes)));
	}
	return o;
}

static struct json_object *chan_open(struct rfd *d, const struct base_request *req, pid_t pid,
				     int *pass_fd, struct base_err *err)
{
	struct rfd_subos *s = rfd_chan_caller(d, pid);
	if (!s) {
		base_errf(err, BASE_E_PERMISSION_DENIED,
			  "pid %d is not in a running subOS of this rfd", (int)pid);
		return NULL;
	}
	struct rfd_chan *c = chan_find(d, req->name);
	if (!c) {
		base_errf(err, BASE_E_NO_SUCH_CHANNEL, "no channel named \"%s\"", req->name);
		return NULL;
	}
	int side = strcmp(c->between[0], s->name) == 0 ? 0 :
		   strcmp(c->between[1], s->name) == 0 ? 1 : -1;
	if (side < 0) {
		base_errf(err, BASE_E_PERMISSION_DENIED,
			  "subOS \"%s\" is not granted channel \"%s\"", s->name, c->name);
		return NULL;
	}
	*pass_fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
	if (*pass_fd < 0) {
		base_errf(err, BASE_E_INTERNAL, "cannot pass the channel: %s", strerror(errno));
		return NULL;
	}
	c->opens[side]++;
	return open_answer(c, side);
}

struct json_object *rfd_chan_verb(struct rfd *d, const struct base_request *req, pid_t pid,
				  int *pass_fd, struct base_err *err)
{
	switch (req->verb) {
	case RF_VERB_CHAN_LIST:
		return chan_list(d);
	case RF_VERB_CHAN_CLOSE:
		return chan_close(d, req, err);
	case RF_VERB_CHAN_OPEN:
		return chan_open(d, req, pid, pass_fd, err);
	default:
		base_errf(err, BASE_E_BAD_REQUEST, "not a channel verb");
		return NULL;
	}
}

void rfd_chan_subos_gone(struct rfd *d, const char *name)
{
	struct rfd_chan **p = &d->chans;
	while (*p) {
		struct rfd_chan *c = *p;
		if (strcmp(c->between[0], name) && strcmp(c->between[1], name)) {
			p = &c->next;
			continue;
		}
		chan_journal(d, "chan_close", c, "subos_destroyed");
		rfd_log("channel %s closed: subOS %s destroyed", c->name, name);
		*p = c->next;
		chan_free(d, c, true);
	}
}

void rfd_chan_subos_ended(struct rfd *d, const char *name)
{
	for (struct rfd_chan *c = d->chans; c; c = c->next) {
		if (!c->mem || (strcmp(c->between[0], name) && strcmp(c->between[1], name)))
			continue;
		for (int i = 0; i < 2; i++)
			rf_ficm_close(&c->ring[i]);
		rfd_log("channel %s: rings closed, subOS %s ended", c->name, name);
	}
}

void rfd_chan_fini(struct rfd *d)
{
	while (d->chans) {
		struct rfd_chan *c = d->chans;
		d->chans = c->next;
		chan_free(d, c, false);
	}
}

/* ---- after a restart ---------------------------------------------------- */

struct open_set {
	struct json_object *open; /* chan name -> its chan_create record */
};

static int on_record(struct json_object *rec, void *arg)
{
	struct open_set *os = arg;
	struct json_object *op, *name;
	if (!json_object_object_get_ex(rec, "op", &op) ||
	    !json_object_object_get_ex(rec, "chan", &name) ||
	    !json_object_is_type(name, json_type_string))
		return 0;
	if (strcmp(json_object_get_string(op), "chan_create") == 0)
		json_object_object_add(os->open, json_object_get_string(name), json_object_get(rec));
	else if (strcmp(json_object_get_string(op), "chan_close") == 0)
		json_object_object_del(os->open, json_object_get_string(name));
	return 0;
}

/*
 * A restarted rfd no longer holds the channels' memory, so it cannot grant
 * or close them: it records them as closed ("rfd_restarted").  Peers that
 * had mapped a channel keep it; new opens need a new channel.
 */
void rfd_chan_recover(struct rfd *d)
{
	struct open_set os = { json_object_new_object() };
	if (rfd_journal_replay(&d->journal, on_record, &os) == 0) {
		json_object_object_foreach(os.open, name, rec) {
			struct json_object *r = json_object_new_object();
			json_object_object_add(r, "op", json_object_new_string("chan_close"));
			json_object_object_foreach(rec, k, v)
				if (strcmp(k, "op") && strcmp(k, "seq") && strcmp(k, "time"))
					json_object_object_add(r, k, json_object_get(v));
			json_object_object_add(r, "reason", json_object_new_string("rfd_restarted"));
			if (rfd_journal_append(&d->journal, r) >= 0)
				rfd_log("channel %s: lost in the restart, recorded as closed",
					name);
			json_object_put(r);
		}
	}
	json_object_put(os.open);
}

uint64_t rfd_chan_holdings(struct rfd *d, int *holds, int nchunks)
{
	uint64_t charged = 0;
	for (struct rfd_chan *c = d->chans; c; c = c->next) {
		if (c->chunk >= 0 && c->chunk < nchunks)
			holds[c->chunk]++;
		charged += 2 * c->charge; /* one share per side */
	}
	return charged;
}
