/*
 * forms.c - the argument forms of rfm: core counts and lists, sizes,
 * subOS names, and the confinement options (capability names, bind specs,
 * a private root).
 *
 * A CPU list and a count look alike ("1" could be either), so rfm settles
 * it once for every verb: a plain number is a count; a list is anything
 * with '-' or ',', or is written "cpu:LIST", or is given with --cpus.
 * Values are checked here so a mistake is reported by rfm with the option
 * and the value it did not understand, before anything reaches rfd.  Each
 * form fills its typed field of the request (struct base_request).
 */
#define _GNU_SOURCE
#include "rfm/args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/confine_spec.h"

#include "base/cpuset.h"
#include "base/proto.h"
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

int rfm_parse_cpu_list(const char *opt, const char *arg, struct base_cores_arg *out,
		       struct base_err *err)
{
	struct base_cpuset set;
	char buf[4096]; /* as long as the encoder writes: it must not fail later */

	if (base_cpuset_parse(&set, arg) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%s\" is not a CPU list (like 1, 2-5 "
				 "or 1,3; CPUs below %d)", opt, arg, RF_MAX_CPUS);
	if (base_cpuset_empty(&set))
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: the CPU list is empty", opt);
	if (base_cpuset_format(&set, buf, sizeof(buf)) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\" is too long a CPU list", opt,
				 arg);
	out->form = RF_CORES_LIST;
	out->set = set;
	return 0;
}

/* "+N" / "-N": a relative change of N >= 1 cores. */
static int parse_relative(const char *opt, const char *arg, struct base_cores_arg *out,
			  struct base_err *err)
{
	long n;
	if (parse_count(arg + 1, RF_MAX_CPUS, &n) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%s\" is not a change of cores (like "
				 "+1 or -2)", opt, arg);
	if (n < 1 || n > RF_MAX_CPUS)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%s\": the change must be 1 to %d "
				 "cores", opt, arg, RF_MAX_CPUS);
	out->form = RF_CORES_DELTA;
	out->n = arg[0] == '-' ? -(int)n : (int)n;
	return 0;
}

int rfm_parse_cores(const char *opt, const char *arg, bool relative, struct base_cores_arg *out,
		    struct base_err *err)
{
	long n;

	if (strncmp(arg, "cpu:", 4) == 0)
		return rfm_parse_cpu_list(opt, arg + 4, out, err);
	if (arg[0] == '+' || (arg[0] == '-' && isdigit((unsigned char)arg[1]))) {
		if (relative)
			return parse_relative(opt, arg, out, err);
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%s\" is a change of cores, which "
				 "only resize takes", opt, arg);
	}
	if (parse_count(arg, RF_MAX_CPUS, &n) == 0) {
		/* 0 (create only): a linux subOS with no core of its own,
		 * running on the cores the host shares (docs/rfm.md, Cores). */
		if (n < (relative ? 1 : 0) || n > RF_MAX_CPUS)
			return base_errf(err, BASE_E_BAD_REQUEST,
					 "%s: \"%s\": a count must be %d to %d "
					 "cores", opt, arg, relative ? 1 : 0, RF_MAX_CPUS);
		out->form = RF_CORES_COUNT;
		out->n = (int)n;
		return 0;
	}
	if (isdigit((unsigned char)arg[0]) && strpbrk(arg, "-,"))
		return rfm_parse_cpu_list(opt, arg, out, err);
	return base_errf(err, BASE_E_BAD_REQUEST,
			 "%s: \"%s\" is not a core count (2), a CPU list "
			 "(1-3, cpu:1)%s", opt, arg, relative ? " or a change (+1, -1)" : "");
}

int rfm_parse_mem(const char *opt, const char *arg, uint64_t *out, struct base_err *err)
{
	uint64_t bytes;
	if (base_parse_size(arg, &bytes) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%s\" is not a size (like 64M, 1G or "
				 "512MiB)", opt, arg);
	if (bytes == 0)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\": the size must be above zero",
				 opt, arg);
	if (bytes > (uint64_t)INT64_MAX) /* the wire carries a signed integer */
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\" is too large", opt, arg);
	*out = bytes;
	return 0;
}

int rfm_check_name(const char *name, struct base_err *err)
{
	return rfm_check_name_of("subOS", name, err);
}

/* The protocol's own rule (base_name_valid), with rfm's message. */
int rfm_check_name_of(const char *what, const char *name, struct base_err *err)
{
	if (base_name_valid(name))
		return 0;
	return base_errf(err, BASE_E_BAD_REQUEST,
			 "\"%s\" is not a %s name (1-%d of A-Z a-z 0-9 _ . -, "
			 "not starting with . or -)", name, what, RF_NAME_MAX - 1);
}

int rfm_parse_between(const char *opt, const char *arg, char out[2][RF_NAME_MAX + 1],
		      struct base_err *err)
{
	char a[RF_NAME_MAX + 1], b[RF_NAME_MAX + 1];
	const char *comma = strchr(arg, ',');
	if (!comma || strchr(comma + 1, ',') || (size_t)(comma - arg) > RF_NAME_MAX ||
	    strlen(comma + 1) > RF_NAME_MAX)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%s\" is not two subOS names like "
				 "kv,web", opt, arg);
	snprintf(a, sizeof(a), "%.*s", (int)(comma - arg), arg);
	snprintf(b, sizeof(b), "%s", comma + 1);
	if (rfm_check_name(a, err) < 0 || rfm_check_name(b, err) < 0)
		return -1;
	memcpy(out[0], a, sizeof(a));
	memcpy(out[1], b, sizeof(b));
	return 0;
}

int rfm_parse_slots(const char *opt, const char *arg, uint64_t *out, struct base_err *err)
{
	long v;
	if (parse_count(arg, 1L << 40, &v) < 0 || v < 1)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%s\" is not a number of slots (like "
				 "256)", opt, arg);
	*out = (uint64_t)v;
	return 0;
}

int rfm_parse_cap(const char *opt, const char *arg, struct base_err *err)
{
	if (base_cap_parse(arg) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST,
				 "%s: \"%s\" is not a capability (like NET_RAW or CAP_NET_RAW)",
				 opt, arg);
	return 0;
}

int rfm_parse_bind(const char *opt, const char *arg, struct base_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX];
	const char *why;
	if (base_bind_parse(arg, src, sizeof(src), dst, sizeof(dst), &why) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\" is not SRC[:DST]: %s", opt,
				 arg, why);
	return 0;
}

char *rfm_resolve_dir(const char *opt, const char *arg, struct base_err *err)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(arg, real) || stat(real, &st) < 0) {
		base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\": %s", opt, arg, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		base_errf(err, BASE_E_BAD_REQUEST, "%s: \"%s\" is not a directory", opt, arg);
		return NULL;
	}
	char *out = strdup(real);
	if (!out)
		base_errf(err, BASE_E_INTERNAL, "out of memory");
	return out;
}

/*
 * argv[0] as rfd should see it: rfd has another working directory, so a
 * relative path with a '/' becomes absolute.  Only the directory is
 * canonicalised: the file keeps its own name, because multi-call programs
 * (busybox) look at the name they were started by.  A bare name is left
 * for rfd to find in its $PATH.
 */
char *rfm_resolve_program(const char *prog, struct base_err *err)
{
	char dir[PATH_MAX], real[PATH_MAX], *out = NULL;
	struct stat st;

	if (prog[0] == '\0') {
		base_errf(err, BASE_E_BAD_REQUEST, "the program name is empty");
		return NULL;
	}
	if (prog[0] == '/' || !strchr(prog, '/')) {
		if (!(out = strdup(prog)))
			base_errf(err, BASE_E_INTERNAL, "out of memory");
		return out;
	}
	const char *base = strrchr(prog, '/') + 1;
	if (*base == '\0') {
		errno = EISDIR;
		goto bad;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - prog), prog);
	if (!realpath(dir, real))
		goto bad;
	if (asprintf(&out, "%s/%s", strcmp(real, "/") ? real : "", base) < 0) {
		out = NULL;
		goto bad;
	}
	if (stat(out, &st) < 0)
		goto bad_free;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto bad_free;
	}
	return out;
bad_free:
	free(out); /* free() keeps errno (POSIX 2024, glibc) */
bad:
	base_errf(err, BASE_E_BAD_REQUEST, "program \"%s\": %s", prog, strerror(errno));
	return NULL;
}
