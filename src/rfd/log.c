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
	char line[1024], when[40];
	va_list ap;
	int n = 0;
	if (log_stamp) {
		base_format_wallclock(when, sizeof(when));
		n = snprintf(line, sizeof(line), "%s ", when);
	}
	n += snprintf(line + n, sizeof(line) - (size_t)n, "rfd: ");
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : n + m >= (int)sizeof(line) - 1 ? (int)sizeof(line) - 2 : n + m;
	line[n++] = '\n';
	/* one write a line: stderr is unbuffered, and a line in pieces costs
	 * a system call each (and interleaves with a shim's output) */
	fwrite(line, 1, (size_t)n, stderr);
}
