/*
 * units.c - byte sizes and wall-clock formatting.
 */
#include "base/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

int base_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	/* Plain decimal only: strtod would also take "0x10" and "1e3". */
	if (errno || end == s || strspn(s, "0123456789.") != (size_t)(end - s))
		return -1;
	uint64_t mult = 1;
	switch (toupper((unsigned char)*end)) {
	case 'K': mult = 1ull << 10; end++; break;
	case 'M': mult = 1ull << 20; end++; break;
	case 'G': mult = 1ull << 30; end++; break;
	case 'T': mult = 1ull << 40; end++; break;
	default: break;
	}
	if (mult > 1 && (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0))
		end += strlen(end);
	else if (mult == 1 && strcasecmp(end, "B") == 0)
		end++;
	if (*end != '\0')
		return -1;
	double bytes = v * (double)mult;
	if (bytes < 0 || bytes >= 18446744073709551615.0 || bytes != floor(bytes))
		return -1;
	*out = (uint64_t)bytes;
	return 0;
}

void base_format_size(uint64_t b, char *buf, size_t len)
{
	static const char suffix[] = "BKMGT";
	int i = 0;
	double v = (double)b;
	/* Go up a unit when the result stays exact ("64M", or "1.5G" as the
	 * last step) or when the number is large enough that one decimal is
	 * precise. */
	while (v >= 1024 && i < 4 &&
	       (b % 1024 == 0 || (b % 1024 == 512 && b < 1024 * 1024) || v >= 10 * 1024)) {
		v /= 1024;
		b /= 1024;
		i++;
	}
	if (v == floor(v))
		snprintf(buf, len, "%.0f%c", v, suffix[i]);
	else
		snprintf(buf, len, "%.1f%c", v, suffix[i]);
}

void base_format_wallclock(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(tv.tv_usec / 1000));
}
