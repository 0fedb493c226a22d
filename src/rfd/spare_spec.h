/*
 * spare_spec.h - what rfd tells a spare's process when a create takes it
 * (spare.h): the program, its environment and the rest of its
 * confinement, as one message (its descriptors travel beside it).
 *
 * The process was forked before the create, so nothing of the request is
 * in its memory: everything it needs is in this flat encoding, checked
 * whole on decode (a truncated or inconsistent message is refused, never
 * half used).  Decoding allocates nothing: the strings stay in the buffer
 * and the argv/envp arrays go into slots the caller gives.
 */
#ifndef RF_RFD_SPARE_SPEC_H
#define RF_RFD_SPARE_SPEC_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sock_filter;

/* The largest message: what the spec socket takes in one datagram; and
 * the most descriptors beside it (under the kernel's SCM_MAX_FD, 253). */
#define RFD_SPARE_SPEC_MAX (128u << 10)
#define RFD_SPARE_MAX_FDS  250

struct rfd_spare_spec {
	const char *const *argv;          /* NULL-terminated */
	const char *const *envp;          /* NULL-terminated */
	const char *hostname;
	const char *exit_path;            /* where the shim records the exit */
	cpu_set_t mask;                   /* the program's affinity */
	uint64_t caps, memlock;           /* confine.h */
	const struct sock_filter *filter; /* the seccomp program */
	uint16_t nfilter;
	int32_t nfds;                     /* descriptors beside: null, log, then 3, 4, ... */
};

/* Encode into buf: the length used, or -E2BIG if it does not fit. */
ssize_t rfd_spare_spec_encode(const struct rfd_spare_spec *sp, char *buf, size_t len);
/* Decode buf[0..len) in place (buf 8-byte aligned; it must outlive *out):
 * 0, or -EINVAL for a malformed message or -E2BIG if argv and envp need
 * more than nslots pointers. */
int rfd_spare_spec_decode(char *buf, size_t len, struct rfd_spare_spec *out,
			  const char **slots, size_t nslots);

#endif
