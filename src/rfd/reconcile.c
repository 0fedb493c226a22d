/*
 * reconcile.c - a recovered subOS's cores made what the journal says.
 *
 * A change that adds cores (a resume included) is journalled before its
 * cpuset widens or its tasks thaw (resize.c), and a pause after its
 * freeze, so that rfd dying in between never leaves a subOS running on a
 * core the journal counts as free.  It can leave the host behind the
 * journal instead: cores recorded but not yet in the cpuset, a subOS
 * frozen that the journal says runs, a libos subOS whose description
 * still parks it.  The journal is the authority a restarted rfd adopts
 * (recover.c), so the host is rolled forward to it: the cpuset set (a
 * frozen subOS resumed onto its cores), then a libos description whose
 * cores differ published again, which librf applies as any change (its
 * acknowledgement is not awaited: no caller waits for it).  Only where
 * the host can pause (cpuset1): elsewhere there is nothing to read back.
 */
#include "rfd/rfd.h"
#include "rfd/recover.h"
#include "rfd/libos.h"
#include "rfd/log.h"
#include "rfd/subos.h"

#include <string.h>

/* Does the description give s exactly its cores? */
static bool desc_agrees(const struct rfd_subos *s)
{
	for (int c = 0; c < RF_MAX_CPUS; c++)
		if ((s->desc->cpu[c] == RF_CPU_ACTIVE) != base_cpuset_has(&s->cpus, c))
			return false;
	return true;
}

static void republish(struct rfd_subos *s)
{
	if (s->kind != RF_KIND_LIBOS || !s->desc || !s->status || !s->msgs || desc_agrees(s))
		return;
	rfd_desc_begin(s);
	for (int c = 0; c < RF_MAX_CPUS; c++)
		s->desc->cpu[c] = base_cpuset_has(&s->cpus, c) ? RF_CPU_ACTIVE : RF_CPU_NONE;
	s->desc->ncpus = (uint32_t)base_cpuset_count(&s->cpus);
	rfd_desc_end(s, RF_CMD_APPLY);
	rfd_libos_ring(s);
	rfd_log("subOS %s: its description gave it other cores than the journal: published again",
		s->name);
}

void rfd_reconcile_cores(struct rfd *d, struct rfd_subos *s)
{
	struct base_cpuset now;
	int frozen = rfd_enforce_inspect(&d->enf, s->name, &now), rc = 0;
	if (frozen < 0 || base_cpuset_empty(&s->cpus))
		return; /* nothing to read, or paused as the journal says */
	if (frozen)
		rc = rfd_enforce_resume(&d->enf, s->name, &s->cpus);
	else if (!base_cpuset_equal(&now, &s->cpus))
		rc = rfd_enforce_set_cpus(&d->enf, s->name, &s->cpus, s->pid);
	if (frozen || !base_cpuset_equal(&now, &s->cpus))
		rfd_log("subOS %s: %s onto the journal's cores%s%s", s->name,
			frozen ? "frozen: resumed" : "its cpuset set", rc ? ": " : "",
			rc ? strerror(-rc) : "");
	if (!rc)
		republish(s);
}
