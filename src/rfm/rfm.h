/*
 * rfm.h - what the parts of rfm (the management tool) share: the human
 * output of each verb, usage texts, and small helpers to read rfd's answer
 * objects and humanise numbers and times.
 *
 * Argument parsing is in src/rfm/args.c (unit-tested), the socket in
 * src/base/client.c; everything here only prints.
 */
#ifndef RF_RFM_H
#define RF_RFM_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* usage.c: usage of one verb, or of rfm as a whole (verb NULL). */
void rfm_usage(const char *verb, FILE *f);

/* out_subos.c / out_host.c: print a successful result for people.
 * Return the exit status (0, or 1 if the result cannot be read). */
int rfm_print_create(struct json_object *res);
int rfm_print_destroy(struct json_object *res);
int rfm_print_resize(struct json_object *res);
int rfm_print_list(struct json_object *res);
int rfm_print_show(struct json_object *res);
int rfm_print_info(struct json_object *res);
int rfm_print_log(struct json_object *res);
int rfm_print_version(struct json_object *res);
/* top.c: `rfm top` (its own loop of stats requests).  Returns the exit
 * status. */
struct rfm_cmd;
int rfm_top(const struct rfm_cmd *cmd);
/* out_policy.c: `rfm policy`; a policy's settings on one line ("latency,
 * lt 500us ut 1ms over 20 ms of latency, cores 1-4"); the POLICY cell of
 * top ("latency:over_ut"); a move's journal record as a sentence. */
int rfm_print_policy(struct json_object *res);
void rfm_policy_summary(struct json_object *p, char *buf, size_t len);
void rfm_policy_cell(struct json_object *p, char *buf, size_t len);
void rfm_policy_sentence(struct json_object *rec, char *buf, size_t len);
/* out_chan.c */
int rfm_print_chan_list(struct json_object *res);
int rfm_print_chan_create(struct json_object *res);
int rfm_print_chan_close(struct json_object *res);

/* format.c: reading answer fields (all accept a NULL or non-object o). */
const char *rfm_str(struct json_object *o, const char *key, const char *dflt);
const char *rfm_cores(struct json_object *o); /* its "cores", "none" when empty */
bool rfm_int(struct json_object *o, const char *key, int64_t *out);
bool rfm_bool(struct json_object *o, const char *key);
struct json_object *rfm_field(struct json_object *o, const char *key, enum json_type type);

/* format.c: humanising.  Each writes into buf (64 bytes are plenty). */
void rfm_fmt_size(struct json_object *o, const char *key, char *buf, size_t len);
void rfm_fmt_int(struct json_object *o, const char *key, char *buf, size_t len);
void rfm_fmt_ns(uint64_t ns, char *buf, size_t len);     /* 12ns 4.5us 1.25s 3m12s */
void rfm_fmt_secs(int64_t secs, char *buf, size_t len);  /* 45s 3m12s 2h05m 3d04h */
/* An RFC 3339 UTC time as local "YYYY-MM-DD HH:MM:SS", and how long ago. */
void rfm_fmt_time(const char *rfc3339, char *buf, size_t len);
void rfm_fmt_age(const char *rfc3339, char *buf, size_t len);
/* How a subOS state reads: "running", "exited(0)", "exited(SIGKILL)". */
void rfm_fmt_state(struct json_object *subos, char *buf, size_t len);
/* A json value on one line: strings bare, string arrays space-joined. */
void rfm_fmt_value(struct json_object *v, char *buf, size_t len);

/* Print "Key:  value" lines with the keys padded to one width. */
void rfm_kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
