/*
 * proto.h - what rfkv's text protocol parser (proto.c) and its command
 * handlers (cmds.c) share: memcached's token array and the helpers that
 * make arguments and answers behave as memcached's.  Internal to rfkv.
 */
#ifndef RFKV_PROTO_H
#define RFKV_PROTO_H

#include "kv.h"

#define MAX_TOKENS 24            /* memcached's, so "get" takes 23 keys a pass */

struct tok {
	char *value;
	size_t length;
};

/* One command line being handled. */
struct cmd {
	struct kv_conn_state *st;
	struct kv_out *out;
	struct tok t[MAX_TOKENS];
	size_t nt;                   /* tokens, the terminal one included */
};

size_t kv_tokenize(char *command, struct tok *tokens, size_t max_tokens);
bool kv_strtoull(const char *s, uint64_t *out);
bool kv_strtoul(const char *s, uint32_t *out);
bool kv_strtol(const char *s, int32_t *out);
bool kv_is(const struct tok *t, const char *word);
void kv_answer(struct cmd *c, const char *line);
void kv_set_noreply_maybe(struct cmd *c);
bool kv_want(struct cmd *c, size_t lo, size_t hi);

/* cmds.c */
void kv_cmd_get(struct cmd *c, bool cas, bool touch);
void kv_cmd_update(struct cmd *c, enum kv_op op);
void kv_cmd_nread_done(struct kv_conn_state *st, struct kv_out *out, const char *data);
void kv_cmd_delete(struct cmd *c);
void kv_cmd_arith(struct cmd *c, bool incr);
void kv_cmd_touch(struct cmd *c);
void kv_cmd_flush_all(struct cmd *c);
void kv_cmd_verbosity(struct cmd *c);

#endif
