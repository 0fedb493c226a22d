/*
 * confine.h - what a subOS's program cannot undo: the confinement applied
 * to it between its cgroup attach and its exec, the same for both kinds
 * (confine.c, confine_fs.c, confine_seccomp.c; docs/rfm.md "Confinement").
 *
 *   - its own cgroup namespace, and no writable cgroup filesystem;
 *   - a capability bounding set of RFD_CONFINE_CAPS_DEFAULT (libos: also
 *     IPC_LOCK) plus --cap;
 *   - no_new_privs;
 *   - a seccomp filter refusing (EPERM) mounts, new namespaces, ptrace,
 *     modules, kexec, bpf, raw I/O, reboot, swap, clocks and memory
 *     policy; for libos also real-time scheduling classes;
 *   - a filesystem view: the host's with its secrets hidden and its
 *     controls read-only, or a private root (--root) with --bind/--ro-bind;
 *   - for libos, a memory cgroup limit of its memory plus
 *     RFD_LIBOS_ALLOWANCE (+ RFD_LIBOS_PER_CORE a core), which also bounds
 *     what it can lock, and RLIMIT_MEMLOCK at the same figure where rfd
 *     may raise it.
 *
 * rfd prepares everything before it forks the shim (rfd_confine_prepare:
 * the mount plan, the seccomp program as BPF), so the child applies it
 * with plain system calls only (rfd_confine_apply), as spawn.c requires.
 */
#ifndef RF_RFD_CONFINE_H
#define RF_RFD_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/err.h"
#include "base/proto.h"

struct rfd;
struct rfd_subos;
struct sock_filter;

/* What a root program keeps by default: owning and changing its own
 * files and processes, binding low ports.  Nothing that undoes the
 * confinement (SYS_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_PTRACE, SYS_TIME,
 * SYS_NICE, SYS_RESOURCE, IPC_LOCK, NET_ADMIN, MKNOD, DAC_READ_SEARCH,
 * SYS_CHROOT, SETFCAP, BPF, ...); --cap adds one back. */
#define RFD_CONFINE_CAPS_DEFAULT                                                       \
	((1ull << 0) /* CHOWN */ | (1ull << 1) /* DAC_OVERRIDE */ | (1ull << 3) /* FOWNER */ | \
	 (1ull << 4) /* FSETID */ | (1ull << 5) /* KILL */ | (1ull << 6) /* SETGID */ |   \
	 (1ull << 7) /* SETUID */ | (1ull << 8) /* SETPCAP */ |                             \
	 (1ull << 10) /* NET_BIND_SERVICE */ | (1ull << 29) /* AUDIT_WRITE */)
/* librf maps and locks the regions rfd hands it (MAP_LOCKED: no page
 * fault on a hot path), more than the 8 MiB RLIMIT_MEMLOCK a host
 * usually allows and rfd may not raise (these machines' bounding set
 * lacks CAP_SYS_RESOURCE): a libos subOS keeps IPC_LOCK, and its memory
 * cgroup bounds what it can lock. */
#define RFD_CONFINE_CAPS_LIBOS (RFD_CONFINE_CAPS_DEFAULT | (1ull << 14) /* IPC_LOCK */)

/* A libos subOS's memory cgroup and RLIMIT_MEMLOCK: its memory plus what
 * the runtime needs outside the regions rfd hands it (libc, thread
 * bookkeeping, io_uring rings, the description pages). */
#define RFD_LIBOS_ALLOWANCE (64ull << 20)
#define RFD_LIBOS_PER_CORE  (8ull << 20)

/* The memory cgroup limit of a subOS of `kind` with `mem` and `ncores`. */
uint64_t rfd_confine_mem_limit(enum base_kind kind, uint64_t mem, int ncores);

/* One step of the filesystem plan (confine_fs.c). */
struct rfd_mnt_op;

struct rfd_confine {
	enum base_kind kind;
	uint64_t caps;                /* the bounding set kept */
	uint64_t memlock;             /* RLIMIT_MEMLOCK, 0: leave it */
	struct rfd_mnt_op *ops;       /* the filesystem plan, in order */
	int nops;
	struct sock_filter *filter;   /* the seccomp program */
	unsigned short nfilter;
};

/* What a create asks for, as far as confinement goes. */
struct rfd_confine_opts {
	enum base_kind kind;
	const char *const *caps;      /* names (checked) */
	int ncaps;
	const char *root;             /* NULL: the host's view */
	const char *const *binds, *const *ro_binds;
	int nbinds, nro_binds;
	const char *state_dir;        /* hidden from the program */
	const char *socket_path;      /* kept reachable at the same path */
	const char *subos_socket;     /* what is bound there (server.c's door); NULL:
				       * the control socket itself */
	const char *door_dir;         /* the door's directory, kept visible at its own
				       * path (no --root): RF_SOCKET inside; NULL: none */
	uint64_t memlock;
	bool no_fs;                   /* the view exists already (a spare's): no plan */
};

/* The door's directory a program is shown (confine_fs.c: RF_SOCKET names
 * the door there): "" with --root (own_root) or without a door. */
void rfd_confine_door_dir(const struct rfd *d, bool own_root, char *buf, size_t len);

/* Check a create's confinement fields before anything is claimed:
 * bad_request for an unknown capability, a bad or missing path, or a
 * writable bind of /proc or /sys (which would give back what is taken). */
int rfd_confine_check(const struct base_request *req, struct base_err *err);

/* Build c from o (before fork).  0, or -1 with err filled. */
int rfd_confine_prepare(struct rfd_confine *c, const struct rfd_confine_opts *o,
			struct base_err *err);
void rfd_confine_release(struct rfd_confine *c);

/* In the program's process, after its cgroup attach, before exec: 0, or
 * -errno with *step set (rfd_confine_describe_step says what failed). */
int rfd_confine_apply(const struct rfd_confine *c, int *step);
/* Its two halves, for a process made before its subOS (spare.h): the
 * filesystem view, then, once in its cgroups, the rest (cgroup namespace,
 * RLIMIT_MEMLOCK, capabilities, no_new_privs, seccomp).  Same contract. */
int rfd_confine_apply_fs(const struct rfd_confine *c, int *step);
int rfd_confine_apply_rest(const struct rfd_confine *c, int *step);
void rfd_confine_describe_step(const struct rfd_confine *c, int step, char *buf, size_t len);

/* A libos subOS's memory cgroup limit and RLIMIT_MEMLOCK for its current
 * memory and cores (after a resize); 0 or -errno. */
int rfd_confine_set_mem(struct rfd *d, struct rfd_subos *s, uint64_t mem);

#endif
