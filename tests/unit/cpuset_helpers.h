/*
 * cpuset_helpers.h - CPU sets written as lists, for unit tests (include
 * after cmocka.h).
 */
#ifndef RF_TEST_CPUSET_HELPERS_H
#define RF_TEST_CPUSET_HELPERS_H

#include <string.h>
#include "base/cpuset.h"

static inline struct base_cpuset set_of(const char *list)
{
	struct base_cpuset s;
	assert_int_equal(base_cpuset_parse(&s, list), 0);
	return s;
}

static inline void assert_set(const struct base_cpuset *s, const char *want)
{
	char buf[256];
	assert_true(base_cpuset_format(s, buf, sizeof(buf)) >= 0);
	if (strcmp(buf, want) != 0)
		fail_msg("set is \"%s\", want \"%s\"", buf, want);
}

#endif
