/*
 * cmds.c - rfkv's memcached commands once tokenized: argument checks in
 * memcached 1.6's order (so the first error memcached would report is the
 * one reported), one request per key run on its shard's owner (kv_run),
 * and the answer lines.  proto.c frames lines and dispatches here.
 */
#include <string.h>
#include "proto.h"

#define KEY_TOKEN 1

static bool key_too_long(const struct tok *t)
{
	return t->length > KV_KEY_MAX;
}

/* One key of a get/gets/gat/gats: its "VALUE" lines go straight out. */
static void get_key(struct cmd *c, const struct tok *k, bool cas, bool touch, uint32_t exptime)
{
	struct kv_req r = {
		.op = touch ? KV_TOUCH_GET : KV_GET, .want_cas = cas, .key = k->value,
		.nkey = k->length, .exptime = exptime, .out = c->out,
	};

	kv_run(&r);
}

void kv_cmd_get(struct cmd *c, bool cas, bool touch)
{
	struct tok *k = &c->t[KEY_TOKEN];
	uint32_t exptime = 0;
	int32_t e;

	if (touch) {
		if (!kv_strtol(c->t[1].value, &e)) {
			kv_answer(c, "CLIENT_ERROR invalid exptime argument");
			return;
		}
		exptime = kv_realtime(e);
		k++;
	}
	for (;;) {
		for (; k->length; k++) {
			if (key_too_long(k)) {
				/* memcached culls every answer not sent yet:
				 * ours are sent once per receive */
				c->out->len = 0;
				kv_answer(c, "CLIENT_ERROR bad command line format");
				return;
			}
			get_key(c, k, cas, touch, exptime);
		}
		if (!k->value)
			break;
		c->nt = kv_tokenize(k->value, c->t, MAX_TOKENS);
		k = c->t;
	}
	kv_out_add(c->out, "END\r\n", 5);
}

/* set/add/replace/append/prepend/cas header: refuse, or wait for the
 * value (proto.c then calls kv_cmd_nread_done). */
void kv_cmd_update(struct cmd *c, enum kv_op op)
{
	struct kv_pending *p = &c->st->nread;
	uint32_t flags;
	int32_t exptime, vlen;
	uint64_t cas = 0;

	kv_set_noreply_maybe(c);
	if (key_too_long(&c->t[KEY_TOKEN]) || !kv_strtoul(c->t[2].value, &flags) ||
	    !kv_strtol(c->t[3].value, &exptime) || !kv_strtol(c->t[4].value, &vlen) ||
	    (op == KV_CAS && !kv_strtoull(c->t[5].value, &cas)) || vlen < 0 ||
	    vlen > 0x7fffffff - 2) {
		kv_answer(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (kv_item_ntotal(c->t[KEY_TOKEN].length, flags, (uint32_t)vlen + 2) >
	    kv_settings.item_size_max) {
		kv_answer(c, "SERVER_ERROR object too large for cache");
		kv_stats_self()->store_too_large++;
		c->st->swallow = (size_t)vlen + 2;
		if (op == KV_SET) {   /* memcached drops the old value, too */
			struct kv_req r = { .op = KV_UNLINK, .key = c->t[KEY_TOKEN].value,
					    .nkey = c->t[KEY_TOKEN].length };
			kv_run(&r);
		}
		return;
	}
	p->active = true;
	p->noreply = c->st->noreply;
	p->op = op;
	p->flags = flags;
	p->exptime = kv_realtime(exptime);
	p->nbytes = (uint32_t)vlen + 2;
	p->cas = cas;
	p->nkey = c->t[KEY_TOKEN].length;
	memcpy(p->key, c->t[KEY_TOKEN].value, p->nkey);
}

static const char *store_answer(enum kv_res res)
{
	switch (res) {
	case KV_STORED:
		return "STORED";
	case KV_EXISTS:
		return "EXISTS";
	case KV_NOT_FOUND:
		return "NOT_FOUND";
	case KV_NO_MEMORY:
		return "SERVER_ERROR out of memory storing object";
	default:
		return "NOT_STORED";
	}
}

/* The value of the pending storage command is in: data[0..nbytes). */
void kv_cmd_nread_done(struct kv_conn_state *st, struct kv_out *out, const char *data)
{
	struct kv_pending *p = &st->nread;
	struct kv_req r = {
		.op = p->op, .key = p->key, .nkey = p->nkey, .flags = p->flags,
		.exptime = p->exptime, .data = data, .nbytes = p->nbytes, .cas = p->cas,
	};
	struct cmd c = { .st = st, .out = out };
	uint32_t ntotal = kv_item_ntotal(p->nkey, p->flags, p->nbytes);

	p->active = false;
	st->noreply = p->noreply;
	kv_stats_self()->cls[kv_cls_id(ntotal)].cmd_set++;
	if (data[p->nbytes - 2] != '\r' || data[p->nbytes - 1] != '\n') {
		kv_answer(&c, "CLIENT_ERROR bad data chunk");
	} else {
		kv_run(&r);
		kv_answer(&c, store_answer(r.res));
	}
	st->noreply = false;
}

void kv_cmd_delete(struct cmd *c)
{
	struct kv_req r = { .op = KV_DELETE };

	if (c->nt > 3) {
		bool hold_is_zero = kv_is(&c->t[KEY_TOKEN + 1], "0");
		bool noreply;
		kv_set_noreply_maybe(c);
		noreply = c->st->noreply;
		if (!((c->nt == 4 && (hold_is_zero || noreply)) ||
		      (c->nt == 5 && hold_is_zero && noreply))) {
			kv_answer(c, "CLIENT_ERROR bad command line format.  "
				  "Usage: delete <key> [noreply]");
			return;
		}
	}
	if (key_too_long(&c->t[KEY_TOKEN])) {
		kv_answer(c, "CLIENT_ERROR bad command line format");
		return;
	}
	r.key = c->t[KEY_TOKEN].value;
	r.nkey = c->t[KEY_TOKEN].length;
	kv_run(&r);
	kv_answer(c, r.res == KV_DELETED ? "DELETED" : "NOT_FOUND");
}

void kv_cmd_arith(struct cmd *c, bool incr)
{
	struct kv_req r = { .op = incr ? KV_INCR : KV_DECR };

	kv_set_noreply_maybe(c);
	if (key_too_long(&c->t[KEY_TOKEN])) {
		kv_answer(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!kv_strtoull(c->t[2].value, &r.delta)) {
		kv_answer(c, "CLIENT_ERROR invalid numeric delta argument");
		return;
	}
	r.key = c->t[KEY_TOKEN].value;
	r.nkey = c->t[KEY_TOKEN].length;
	kv_run(&r);
	if (r.res == KV_NUMBER)
		kv_answer(c, r.num);
	else if (r.res == KV_NON_NUMERIC)
		kv_answer(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
	else if (r.res == KV_NO_MEMORY)
		kv_answer(c, "SERVER_ERROR out of memory");
	else
		kv_answer(c, "NOT_FOUND");
}

void kv_cmd_touch(struct cmd *c)
{
	struct kv_req r = { .op = KV_TOUCH };
	int32_t e;

	kv_set_noreply_maybe(c);
	if (key_too_long(&c->t[KEY_TOKEN])) {
		kv_answer(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!kv_strtol(c->t[2].value, &e)) {
		kv_answer(c, "CLIENT_ERROR invalid exptime argument");
		return;
	}
	r.key = c->t[KEY_TOKEN].value;
	r.nkey = c->t[KEY_TOKEN].length;
	r.exptime = kv_realtime(e);
	kv_run(&r);
	kv_answer(c, r.res == KV_TOUCHED ? "TOUCHED" : "NOT_FOUND");
}

void kv_cmd_flush_all(struct cmd *c)
{
	int32_t delay = 0;

	kv_set_noreply_maybe(c);
	kv_stats_self()->cmd_flush++;
	if (c->nt != (c->st->noreply ? 3u : 2u) && !kv_strtol(c->t[1].value, &delay)) {
		kv_answer(c, "CLIENT_ERROR invalid exptime argument");
		return;
	}
	kv_flush_all(delay);
	kv_answer(c, "OK");
}

void kv_cmd_verbosity(struct cmd *c)
{
	uint32_t level;

	kv_set_noreply_maybe(c);
	if (!kv_strtoul(c->t[1].value, &level)) {
		kv_answer(c, "CLIENT_ERROR bad command line format");
		return;
	}
	kv_verbose = level > 2 ? 2 : level;
	kv_answer(c, "OK");
}
