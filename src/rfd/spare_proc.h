/*
 * spare_proc.h - a spare's shim (spare_proc.c), run by spare.c after fork.
 */
#ifndef RF_RFD_SPARE_PROC_H
#define RF_RFD_SPARE_PROC_H

struct rfd;
struct rfd_confine;

/* The shim of spare `name`: reports on report_fd (spawn_impl.h), its child
 * reads its message on spec_fd; plan is the filesystem view.  Never
 * returns. */
_Noreturn void rfd_spare_shim_main(struct rfd *d, const char *name, const struct rfd_confine *plan,
				   int report_fd, int spec_fd);

#endif
