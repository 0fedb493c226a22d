/*
 * proto.c - rfkv's memcached text protocol (memcached 1.6's proto_text.c,
 * reimplemented): splitting the input into command lines, tokenizing them
 * as memcached does, every command's argument checks and every answer,
 * byte for byte the same as memcached's for valid and invalid input.
 *
 * The rules that make answers match, taken from memcached's behaviour:
 *   - a line ends at "\n"; a "\r" before it is dropped only if the line
 *     has more than one byte; tokens are split on spaces only, at most 24
 *     per pass (a long "get" is tokenized again for its remaining keys);
 *   - the number of tokens is checked first (wrong count: "ERROR"), then
 *     "noreply" is taken from the second-to-last token, then arguments are
 *     parsed with strtol/strtoul semantics (leading blanks accepted, 64-bit
 *     values truncated into 32-bit fields as memcached's safe_strto* do);
 *   - noreply silences the command's one answer line, errors included;
 *   - a value too large is refused before it is read and then discarded;
 *     a value not followed by "\r\n" is "CLIENT_ERROR bad data chunk" and
 *     parsing goes on right after the bytes the header announced;
 *   - a line of more than 2048 bytes with no end yet closes the connection
 *     unless it is a get/gets (multigets may be long).
 * Per key work runs on the shard's owner (kv_run, shard.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kv.h"
#include "proto.h"

#define LINE_MAX_NO_EOL 2048
#define MULTIGET_MAX (16u << 20)   /* a get line beyond this closes */

/* memcached's tokenize_command: the last token is a terminal one, length
 * 0, value NULL or the rest of the line when max_tokens was reached. */
size_t kv_tokenize(char *command, struct tok *tokens, size_t max_tokens)
{
	char *s = command, *e = command;
	size_t n = 0, len = strlen(command);

	for (size_t i = 0; i < len; i++, e++) {
		if (*e != ' ')
			continue;
		if (s != e) {
			tokens[n].value = s;
			tokens[n].length = (size_t)(e - s);
			n++;
			*e = 0;
			if (n == max_tokens - 1) {
				e++;
				s = e;
				break;
			}
		}
		s = e + 1;
	}
	if (s != e) {
		tokens[n].value = s;
		tokens[n].length = (size_t)(e - s);
		n++;
	}
	tokens[n].value = *e == 0 ? NULL : e;
	tokens[n].length = 0;
	return n + 1;
}

/* ---- memcached's safe_strto* ------------------------------------------------ */

static bool num_end_ok(const char *s, const char *end)
{
	return end != s && (*end == 0 || *end == ' ' || (*end >= '\t' && *end <= '\r'));
}

bool kv_strtoull(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || !num_end_ok(s, end))
		return false;
	if ((long long)v < 0 && strchr(s, '-'))
		return false;
	*out = v;
	return true;
}

/* strtoul, then truncated to 32 bits (memcached's flags, verbosity). */
bool kv_strtoul(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!kv_strtoull(s, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* strtol, then truncated to 32 bits (memcached's exptime, length). */
bool kv_strtol(const char *s, int32_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || !num_end_ok(s, end))
		return false;
	*out = (int32_t)(uint32_t)(unsigned long)v;
	return true;
}

/* ---- answers ------------------------------------------------------------------ */

void kv_out_add(struct kv_out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;
		while (cap < o->len + n)
			cap *= 2;
		p = rf_realloc(o->buf, cap);
		if (!p) {
			o->oom = true;
			return;
		}
		o->buf = p;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void kv_out_str(struct kv_out *o, const char *line)
{
	kv_out_add(o, line, strlen(line));
	kv_out_add(o, "\r\n", 2);
}

/* memcached's out_string: silenced (once) by noreply. */
void kv_answer(struct cmd *c, const char *line)
{
	if (c->st->noreply) {
		c->st->noreply = false;
		return;
	}
	kv_out_str(c->out, line);
}

bool kv_is(const struct tok *t, const char *word)
{
	return t->value && !strcmp(t->value, word);
}

void kv_set_noreply_maybe(struct cmd *c)
{
	if (kv_is(&c->t[c->nt - 2], "noreply"))
		c->st->noreply = true;
}

bool kv_want(struct cmd *c, size_t lo, size_t hi)
{
	if (c->nt < lo || c->nt > hi) {
		kv_answer(c, "ERROR");
		return false;
	}
	return true;
}


/* ---- dispatch ------------------------------------------------------------------ */

static void cmd_stats(struct cmd *c)
{
	const char *sub = c->nt > 2 ? c->t[1].value : NULL;
	const char *arg = c->nt > 3 ? c->t[2].value : NULL;

	kv_stats_answer(c->out, sub, arg);
}

/* Commands whose first letter is not enough (memcached's else-if chain
 * after the first-letter switch). */
static void dispatch_other(struct cmd *c)
{
	const struct tok *w = &c->t[0];

	if (kv_is(w, "replace") && kv_want(c, 6, 7))
		kv_cmd_update(c, KV_REPLACE);
	else if (kv_is(w, "prepend") && kv_want(c, 6, 7))
		kv_cmd_update(c, KV_PREPEND);
	else if (kv_is(w, "replace") || kv_is(w, "prepend"))
		;
	else if (kv_is(w, "bget") && kv_want(c, 3, MAX_TOKENS))
		kv_cmd_get(c, false, false);
	else if (kv_is(w, "bget"))
		;
	else if (kv_is(w, "flush_all") && kv_want(c, 2, 4))
		kv_cmd_flush_all(c);
	else if (kv_is(w, "flush_all"))
		;
	else if (kv_is(w, "version"))
		kv_answer(c, "VERSION " KV_VERSION);
	else if (kv_is(w, "quit"))
		c->st->quit = true;
	else if (kv_is(w, "verbosity") && kv_want(c, 3, 4))
		kv_cmd_verbosity(c);
	else if (kv_is(w, "verbosity"))
		;
	else if (c->t[c->nt - 2].value && !strncmp(c->t[c->nt - 2].value, "HTTP/", 5))
		c->st->close_now = true;
	else
		kv_answer(c, "ERROR");
}

static void dispatch_g(struct cmd *c)
{
	const struct tok *w = &c->t[0];

	if (!kv_want(c, 3, MAX_TOKENS))
		return;
	if (kv_is(w, "get"))
		kv_cmd_get(c, false, false);
	else if (kv_is(w, "gets"))
		kv_cmd_get(c, true, false);
	else if (kv_is(w, "gat"))
		kv_cmd_get(c, false, true);
	else if (kv_is(w, "gats"))
		kv_cmd_get(c, true, true);
	else
		kv_answer(c, "ERROR");
}

/* memcached's process_command_ascii, by first letter. */
static void dispatch(struct cmd *c)
{
	const struct tok *w = &c->t[0];
	char first = w->value[0];

	if (first == 'm' && w->length == 2) {
		kv_answer(c, w->value[1] == 'n' ? "MN" : "ERROR");
	} else if (first == 'g') {
		dispatch_g(c);
	} else if (first == 's') {
		if (kv_is(w, "set")) {
			if (kv_want(c, 6, 7))
				kv_cmd_update(c, KV_SET);
		} else if (kv_is(w, "stats")) {
			cmd_stats(c);
		} else if (kv_is(w, "shutdown")) {
			kv_answer(c, "ERROR: shutdown not enabled");
		} else {
			kv_answer(c, "ERROR");
		}
	} else if (first == 'a' && (kv_is(w, "add") || kv_is(w, "append"))) {
		if (kv_want(c, 6, 7))
			kv_cmd_update(c, kv_is(w, "add") ? KV_ADD : KV_APPEND);
	} else if (first == 'c' && kv_is(w, "cas")) {
		if (kv_want(c, 7, 8))
			kv_cmd_update(c, KV_CAS);
	} else if (first == 'i' && kv_is(w, "incr")) {
		if (kv_want(c, 4, 5))
			kv_cmd_arith(c, true);
	} else if (first == 'd' && kv_is(w, "delete")) {
		if (kv_want(c, 3, 5))
			kv_cmd_delete(c);
	} else if (first == 'd' && kv_is(w, "decr")) {
		if (kv_want(c, 4, 5))
			kv_cmd_arith(c, false);
	} else if (first == 't' && kv_is(w, "touch")) {
		if (kv_want(c, 4, 5))
			kv_cmd_touch(c);
	} else if (first == 'a' || first == 'c' || first == 'i' || first == 'd' || first == 't') {
		kv_answer(c, "ERROR");
	} else {
		dispatch_other(c);
	}
}

static void process_line(struct kv_conn_state *st, struct kv_out *out, char *line)
{
	struct cmd c = { .st = st, .out = out };

	st->noreply = false;
	c.nt = kv_tokenize(line, c.t, MAX_TOKENS);
	if (c.nt < 2 || c.t[0].length < 2) {
		kv_answer(&c, "ERROR");
		return;
	}
	dispatch(&c);
	st->noreply = false;
}

/* A line without its end yet: wait, or close as memcached does when it is
 * long and not a multiget. */
static void partial_line(struct kv_conn_state *st, const char *p, size_t avail)
{
	const char *q = p;

	if (avail <= LINE_MAX_NO_EOL)
		return;
	while (q < p + avail && *q == ' ')
		q++;
	if (q - p > 100 || avail > MULTIGET_MAX ||
	    (strncmp(q, "get ", 4) && strncmp(q, "gets ", 5)))
		st->close_now = true;
}

size_t kv_proto_process(struct kv_conn_state *st, char *in, size_t len, struct kv_out *out,
			size_t *need)
{
	size_t pos = 0;

	*need = 0;
	while (pos < len && !st->quit && !st->close_now) {
		char *line = in + pos, *nl, *el;
		if (st->swallow) {
			size_t n = len - pos < st->swallow ? len - pos : st->swallow;
			pos += n;
			st->swallow -= n;
			continue;
		}
		if (st->nread.active) {
			if (len - pos < st->nread.nbytes) {
				*need = pos + st->nread.nbytes;
				break;
			}
			kv_cmd_nread_done(st, out, line);
			pos += st->nread.nbytes;
			st->done++;
			continue;
		}
		nl = memchr(line, '\n', len - pos);
		if (!nl) {
			partial_line(st, line, len - pos);
			break;
		}
		el = nl - line > 1 && nl[-1] == '\r' ? nl - 1 : nl;
		*el = 0;
		pos += (size_t)(nl - line) + 1;
		process_line(st, out, line);
		st->done += !st->nread.active; /* a storage command ends with its value */
	}
	return pos;
}
