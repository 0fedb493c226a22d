/*
 * forms.c - the argument forms of rfm: core counts and lists, sizes,
 * subOS names.
 *
 * A CPU list and a count look alike ("1" could be either), so rfm settles
 * it once for every verb: a plain number is a count; a list is anything
 * with '-' or ',', or is written "cpu:LIST", or is given with --cpus.
 * Values are checked here so a mistake is reported by rfm with the option
 * and the value it did not understand, before anything reaches rfd.
 */
#include "rfm/args.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/cpuset.h"
#include "base/units.h"

/* A decimal number of digits only, at most `max`.  Returns 0 or -1. */
static int parse_count(const char *s, long max, long *out)
{
	long v = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			v = max + 1; /* keep going to check the syntax, no overflow */
	}
	*out = v;
	return 0;
}

int rfm_parse_cpu_list(const char *opt, const char *arg, struct json_object **out,
		       char *err, size_t errlen)
{
	struct rf_cpuset set;
	char buf[4096];

	if (rf_cpuset_parse(&set, arg) < 0) {
		snprintf(err, errlen, "%s: \"%s\" is not a CPU list (like 1, 2-5 or 1,3; CPUs below %d)",
			 opt, arg, RF_MAX_CPUS);
		return -1;
	}
	if (rf_cpuset_empty(&set)) {
		snprintf(err, errlen, "%s: the CPU list is empty", opt);
		return -1;
	}
	if (rf_cpuset_format(&set, buf, sizeof(buf)) < 0) {
		snprintf(err, errlen, "%s: \"%s\" is too long a CPU list", opt, arg);
		return -1;
	}
	*out = json_object_new_string(buf);
	return 0;
}

/* "+N" / "-N": a relative change of N >= 1 cores. */
static int parse_relative(const char *opt, const char *arg, struct json_object **out,
			  char *err, size_t errlen)
{
	long n;
	char buf[32];
	if (parse_count(arg + 1, RF_MAX_CPUS, &n) < 0) {
		snprintf(err, errlen, "%s: \"%s\" is not a change of cores (like +1 or -2)", opt, arg);
		return -1;
	}
	if (n < 1 || n > RF_MAX_CPUS) {
		snprintf(err, errlen, "%s: \"%s\": the change must be 1 to %d cores", opt, arg,
			 RF_MAX_CPUS);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%c%ld", arg[0], n);
	*out = json_object_new_string(buf);
	return 0;
}

int rfm_parse_cores(const char *opt, const char *arg, bool relative,
		    struct json_object **out, char *err, size_t errlen)
{
	long n;

	if (strncmp(arg, "cpu:", 4) == 0)
		return rfm_parse_cpu_list(opt, arg + 4, out, err, errlen);
	if (arg[0] == '+' || (arg[0] == '-' && isdigit((unsigned char)arg[1]))) {
		if (relative)
			return parse_relative(opt, arg, out, err, errlen);
		snprintf(err, errlen, "%s: \"%s\" is a change of cores, which only resize takes",
			 opt, arg);
		return -1;
	}
	if (parse_count(arg, RF_MAX_CPUS, &n) == 0) {
		if (n < 1 || n > RF_MAX_CPUS) {
			snprintf(err, errlen, "%s: \"%s\": a count must be 1 to %d cores", opt, arg,
				 RF_MAX_CPUS);
			return -1;
		}
		*out = json_object_new_int((int)n);
		return 0;
	}
	if (isdigit((unsigned char)arg[0]) && strpbrk(arg, "-,"))
		return rfm_parse_cpu_list(opt, arg, out, err, errlen);
	snprintf(err, errlen, "%s: \"%s\" is not a core count (2), a CPU list (1-3, cpu:1)%s",
		 opt, arg, relative ? " or a change (+1, -1)" : "");
	return -1;
}

int rfm_parse_mem(const char *opt, const char *arg, struct json_object **out,
		  char *err, size_t errlen)
{
	uint64_t bytes;
	if (rf_parse_size(arg, &bytes) < 0) {
		snprintf(err, errlen, "%s: \"%s\" is not a size (like 64M, 1G or 512MiB)", opt, arg);
		return -1;
	}
	if (bytes == 0) {
		snprintf(err, errlen, "%s: \"%s\": the size must be above zero", opt, arg);
		return -1;
	}
	if (bytes > (uint64_t)INT64_MAX) {
		snprintf(err, errlen, "%s: \"%s\" is too large", opt, arg);
		return -1;
	}
	*out = json_object_new_int64((int64_t)bytes);
	return 0;
}

int rfm_check_name(const char *name, char *err, size_t errlen)
{
	return rfm_check_name_of("subOS", name, err, errlen);
}

int rfm_check_name_of(const char *what, const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name);
	bool ok = len >= 1 && len < RF_NAME_MAX && name[0] != '.' && name[0] != '-';
	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char)name[i]) || strchr("_.-", name[i]);
	if (!ok)
		snprintf(err, errlen,
			 "\"%s\" is not a %s name (1-%d of A-Z a-z 0-9 _ . -, not starting with . or -)",
			 name, what, RF_NAME_MAX - 1);
	return ok ? 0 : -1;
}

int rfm_parse_between(const char *opt, const char *arg, struct json_object **out,
		      char *err, size_t errlen)
{
	char a[RF_NAME_MAX + 1], b[RF_NAME_MAX + 1];
	const char *comma = strchr(arg, ',');
	if (!comma || strchr(comma + 1, ',') || (size_t)(comma - arg) > RF_NAME_MAX ||
	    strlen(comma + 1) > RF_NAME_MAX) {
		snprintf(err, errlen, "%s: \"%s\" is not two subOS names like kv,web", opt, arg);
		return -1;
	}
	snprintf(a, sizeof(a), "%.*s", (int)(comma - arg), arg);
	snprintf(b, sizeof(b), "%s", comma + 1);
	if (rfm_check_name(a, err, errlen) < 0 || rfm_check_name(b, err, errlen) < 0)
		return -1;
	*out = json_object_new_array();
	json_object_array_add(*out, json_object_new_string(a));
	json_object_array_add(*out, json_object_new_string(b));
	return 0;
}

int rfm_parse_slots(const char *opt, const char *arg, struct json_object **out,
		    char *err, size_t errlen)
{
	long v;
	if (parse_count(arg, 1L << 40, &v) < 0 || v < 1) {
		snprintf(err, errlen, "%s: \"%s\" is not a number of slots (like 256)", opt, arg);
		return -1;
	}
	*out = json_object_new_int64(v);
	return 0;
}
