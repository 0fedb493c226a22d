/*
 * rfloop_call.h - one request to rfd's RFloop registry (the rfloop_listen
 * and rfloop_table verbs, src/rfd/rfloop_reg.c), with descriptors, over a
 * fresh connection to rfd's control socket.
 *
 * Shared by librfloop.so (a preloaded library that links no JSON library:
 * the requests are the fixed lines of base/rfloop_table.h and the answer
 * is only looked at for "ok":true) and librf, which registers its
 * listeners from a helper thread (src/librf/loop_listen.c).  Blocking,
 * with a 2 s bound each way: callers keep it off any hot path.
 */
#ifndef RF_BASE_RFLOOP_CALL_H
#define RF_BASE_RFLOOP_CALL_H

#include <stddef.h>

/* Send `req` with nfds descriptors to the rfd at `path`, read its one
 * answer line into ans (NUL-terminated, cut to anslen) and a descriptor
 * it passed into *fd_out if not NULL (closed and -1 on failure).  0 if
 * rfd said ok; -1 if it refused (ans says why) or could not be reached
 * (ans empty, errno set). */
int base_rfl_call(const char *path, const char *req, const int *fds, int nfds, int *fd_out,
		  char *ans, size_t anslen);

#endif
