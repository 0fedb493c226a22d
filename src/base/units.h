/*
 * units.h - sizes ("64M", "1.5G") and wall-clock time shared by every program.
 */
#ifndef RF_BASE_UNITS_H
#define RF_BASE_UNITS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Parse a byte size: a number with an optional K, M, G or T suffix
 * (powers of 1024, optional trailing "iB"/"B").  Returns 0 or -1. */
int base_parse_size(const char *s, uint64_t *out);
/* Format bytes the way people read them: "64M", "1.5G", "512K", "100B". */
void base_format_size(uint64_t bytes, char *buf, size_t len);
/* bytes rounded up to a whole number of units (memory goes by pool chunks). */
static inline uint64_t base_round_up(uint64_t bytes, uint64_t unit)
{
	return (bytes + unit - 1) / unit * unit;
}

#include "base/time.h"   /* the clock every program shares */

/* Wall-clock time in RFC 3339 UTC with milliseconds. */
void base_format_wallclock(char *buf, size_t len);

#endif
