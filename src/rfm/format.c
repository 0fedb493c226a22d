/*
 * format.c - reading rfd's answer objects and humanising what they hold
 * (sizes, durations, times, states) for rfm's human output.
 *
 * rfd may add fields or leave some out; every reader here tolerates a
 * missing or mistyped field and prints "-" rather than failing, so an older
 * rfm still shows what it understands.
 */
#define _GNU_SOURCE
#include "rfm/rfm.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/exitstatus.h"
#include "base/units.h"

#define KV_WIDTH 14 /* the longest key rfm prints, plus ": " */

struct json_object *rfm_field(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v;
	if (o && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, key, &v) && json_object_is_type(v, type))
		return v;
	return NULL;
}

const char *rfm_str(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v = rfm_field(o, key, json_type_string);
	return v ? json_object_get_string(v) : dflt;
}

const char *rfm_cores(struct json_object *o)
{
	const char *c = rfm_str(o, "cores", "-");
	return c[0] ? c : "none"; /* paused, or created with no core of its own */
}

bool rfm_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v = rfm_field(o, key, json_type_int);
	if (v)
		*out = json_object_get_int64(v);
	return v != NULL;
}

bool rfm_bool(struct json_object *o, const char *key)
{
	struct json_object *v = rfm_field(o, key, json_type_boolean);
	return v && json_object_get_boolean(v);
}

void rfm_fmt_size(struct json_object *o, const char *key, char *buf, size_t len)
{
	int64_t v;
	if (rfm_int(o, key, &v) && v >= 0)
		base_format_size((uint64_t)v, buf, len);
	else
		snprintf(buf, len, "-");
}

void rfm_fmt_int(struct json_object *o, const char *key, char *buf, size_t len)
{
	int64_t v;
	if (rfm_int(o, key, &v))
		snprintf(buf, len, "%lld", (long long)v);
	else
		snprintf(buf, len, "-");
}

void rfm_fmt_secs(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
}

void rfm_fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.3gus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.3gms", (double)ns / 1e6);
	else if (ns < 60000000000ull)
		snprintf(buf, len, "%.3gs", (double)ns / 1e9);
	else
		rfm_fmt_secs((int64_t)(ns / 1000000000ull), buf, len);
}

/* "2026-11-24T10:00:00.123Z" (or with +hh:mm) to seconds since the epoch. */
static int parse_rfc3339(const char *s, time_t *out, int *ms)
{
	struct tm tm = { 0 };
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!p)
		return -1;
	*ms = 0;
	if (*p == '.') {
		char *end;
		double frac = strtod(p, &end);
		*ms = (int)(frac * 1000);
		p = end;
	}
	long off = 0;
	int hh, mm;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
		off = (*p == '+' ? 1 : -1) * (hh * 3600L + mm * 60L);
	else if (*p != 'Z' && *p != 'z')
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}

void rfm_fmt_time(const char *rfc3339, char *buf, size_t len)
{
	time_t t;
	int ms;
	struct tm tm;
	if (parse_rfc3339(rfc3339, &t, &ms) < 0 || !localtime_r(&t, &tm)) {
		snprintf(buf, len, "%s", rfc3339 ? rfc3339 : "-");
		return;
	}
	char day[40];
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03d", day, ms);
}

void rfm_fmt_age(const char *rfc3339, char *buf, size_t len)
{
	time_t t;
	int ms;
	if (parse_rfc3339(rfc3339, &t, &ms) < 0) {
		snprintf(buf, len, "-");
		return;
	}
	rfm_fmt_secs((int64_t)(time(NULL) - t), buf, len);
}

void rfm_fmt_state(struct json_object *subos, char *buf, size_t len)
{
	const char *state = rfm_str(subos, "state", "-");
	int st = base_exit_status_from_json(subos);
	if (st < 0 && st != BASE_EXIT_UNKNOWN && sigabbrev_np(-st))
		snprintf(buf, len, "%s(SIG%s)", state, sigabbrev_np(-st));
	else if (st >= 0)
		snprintf(buf, len, "%s(%d)", state, st);
	else
		snprintf(buf, len, "%s", state);
}

void rfm_fmt_value(struct json_object *v, char *buf, size_t len)
{
	if (!v) {
		snprintf(buf, len, "-");
		return;
	}
	if (json_object_is_type(v, json_type_string)) {
		snprintf(buf, len, "%s", json_object_get_string(v));
		return;
	}
	if (!json_object_is_type(v, json_type_array)) {
		snprintf(buf, len, "%s", json_object_to_json_string_ext(v,
			 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	size_t off = 0, n = json_object_array_length(v);
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		const char *s = json_object_is_type(e, json_type_string) ?
			json_object_get_string(e) :
			json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
		int w = snprintf(buf + off, len - off, "%s%s", i ? " " : "", s);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

void rfm_kv(const char *key, const char *fmt, ...)
{
	va_list ap;
	int pad = KV_WIDTH - (int)strlen(key);
	if (*key) /* an empty key continues the line above */
		printf("%s:%*s", key, pad > 1 ? pad : 1, "");
	else
		printf("%*s", KV_WIDTH + 1, "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}
