/*
 * log.h - rfd's log (log.c): one line on stderr, which is the log file
 * once rfd runs as a daemon.
 */
#ifndef RF_RFD_LOG_H
#define RF_RFD_LOG_H

#include <stdbool.h>

void rfd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* on: prefix each line with the wall-clock time (daemon mode). */
void rfd_log_stamp(bool on);

#endif
