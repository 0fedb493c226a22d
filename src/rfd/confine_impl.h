/*
 * confine_impl.h - the parts of a subOS's confinement (confine.h) that
 * confine.c puts together: the filesystem plan (confine_fs.c) and the
 * seccomp program (confine_seccomp.c).  Not for the rest of rfd.
 */
#ifndef RF_RFD_CONFINE_IMPL_H
#define RF_RFD_CONFINE_IMPL_H

#include "rfd/confine.h"

enum rfd_mnt_kind {
	RFD_MNT_RO,          /* path read-only, with everything under it */
	RFD_MNT_HIDE_FILE,   /* /dev/null over path, if it exists */
	RFD_MNT_HIDE_DIR,    /* an empty read-only tmpfs over path, keeping src */
	RFD_MNT_DEV,         /* a minimal /dev at path */
	RFD_MNT_PROC,        /* a proc of the program's PID namespace at path */
	RFD_MNT_BIND,        /* src onto path (created if `make`) */
	RFD_MNT_BIND_RO,     /* the same, read-only */
	RFD_MNT_PIVOT,       /* path becomes / */
	RFD_MNT_KEEP,        /* after a HIDE_DIR: path stays visible through it */
};

struct rfd_mnt_op {
	enum rfd_mnt_kind kind;
	char *path;
	char *src;           /* BIND*: the source */
	bool make;           /* create a missing target (inside a private root) */
	size_t trusted;      /* how much of path is the root's own (no link check) */
};

int rfd_confine_fs_plan(struct rfd_confine *c, const struct rfd_confine_opts *o,
			struct base_err *err);
/* Run the plan; 0 or -errno with *at the failing op's index. */
int rfd_confine_fs_apply(const struct rfd_confine *c, int *at);
void rfd_confine_fs_free(struct rfd_confine *c);
const char *rfd_confine_fs_op_name(enum rfd_mnt_kind k);

/* The seccomp program for c->kind, as BPF in c->filter. */
int rfd_confine_seccomp_build(struct rfd_confine *c, struct base_err *err);

#endif
