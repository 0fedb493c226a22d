/*
 * log.c - rfd's log lines: stderr in the foreground, the state
 * directory's rfd.log (with timestamps) as a daemon.
 */
#include "rfd/log.h"

#include <stdarg.h>
#include <stdio.h>
#include "base/units.h"

static bool log_stamp;

void rfd_log_stamp(bool on)
{
	log_stamp = on;
}

void rfd_log(const char *fmt, ...)
{
	char when[40];
	va_list ap;
	base_format_wallclock(when, sizeof(when));
	fprintf(stderr, "%s%srfd: ", log_stamp ? when : "", log_stamp ? " " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
