/*
 * rfdlink.c - librf's end of the control rings to rfd (rf/desc.h,
 * RF_ENV_MSGS; src/ficm/ctlmsg.c formats and attaches them).
 *
 * Commands, rfd -> us: one FICM ring, consumed only by the core that holds
 * the reconfiguration lock.  Not a FICM group with a ring per core: a
 * command means "apply the desc", an action for the whole subOS that
 * reconfig.c already runs under that lock, so the ring's consumer handle
 * (lrf_g.cmd) is only ever touched under it.  That keeps the ring
 * single-consumer: one consumer at a time, and the lock's acquire/release
 * hands the consumer's state (its head) from one holder to the next, which
 * is all an SPSC ring needs.  A group would instead give every core its own
 * copy of each command only for all but one to drop it, cap a subOS at
 * RF_FICM_GROUP_MAX cores, cost rfd one send per core, and need a core that
 * does not exist yet (the one being hot-added) to be a member already.
 * Every core still notices a command within one scheduler loop: it compares
 * the ring's tail word (rf_ficm_tail_word, a line only rfd writes) with the
 * last value it saw (rf_core.seen_cmds), the same single load the desc.gen
 * check used to be, and only then takes the lock and receives (validated).
 *
 * Replies, us -> rfd: one ring, produced only under lrf_g.complete_lock, so
 * whichever thread finishes a change (or reports a state) is the single
 * producer of the moment.  A full reply ring drops the reply: rfd drains
 * the ring before every command, so only a subOS that floods it loses
 * acknowledgements, and that only gets its own changes forced.
 *
 * Standalone librf (no rfd) and the unit tests attach to rings they
 * formatted themselves, so every path is the same with or without rfd.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ficm/ctlmsg.h"
#include "librf/internal.h"

int lrf_link_attach(void *mem, size_t len)
{
	int rc = ficm_ctl_attach(mem, len, RF_MSGS_SUBOS, &lrf_g.reply, &lrf_g.cmd);

	if (rc)
		return rc;
	lrf_g.cmd_tail = rf_ficm_tail_word(&lrf_g.cmd);
	return 0;
}

/* Say once that a ring stopped working; errors are sticky in FICM. */
static void ring_trouble(const char *which, int rc, uint32_t *said)
{
	if (__atomic_exchange_n(said, 1, __ATOMIC_RELAXED))
		return;
	fprintf(stderr, "librf: the %s ring to rfd %s: %s\n", which,
		rc == 0 ? "is full" : "failed", rc == 0 ? "reply dropped" : strerror(-rc));
}

void lrf_link_reply_locked(enum rf_ctl_type type, uint32_t tag)
{
	int rc;

	if (!lrf_g.reply.shm)
		return;
	rc = ficm_ctl_send(&lrf_g.reply, type, tag);
	if (rc != 1)
		ring_trouble("reply", rc, &lrf_g.reply_said);
}

void lrf_link_reply(enum rf_ctl_type type, uint32_t tag)
{
	lrf_spin_lock(&lrf_g.complete_lock);
	lrf_link_reply_locked(type, tag);
	lrf_spin_unlock(&lrf_g.complete_lock);
}

/* Take every command waiting (under reconfig_lock).  Sets *shutdown on
 * RF_CMD_SHUTDOWN; an APPLY needs nothing more (the caller compares the
 * desc's generation with the last one applied).  Returns the number of
 * commands, or -1 once the ring is broken (reported once). */
int lrf_link_drain(bool *shutdown)
{
	struct rf_ficm_msg m[8];
	int n, total = 0;

	while ((n = rf_ficm_recv(&lrf_g.cmd, m, 8)) > 0) {
		for (int i = 0; i < n; i++) {
			if (m[i].type == RF_CMD_SHUTDOWN)
				*shutdown = true;
			else if (m[i].type != RF_CMD_APPLY)
				fprintf(stderr, "librf: ignoring rfd command type %u\n", m[i].type);
		}
		total += n;
	}
	if (n < 0) {
		ring_trouble("command", n, &lrf_g.cmd_said);
		return -1;
	}
	return total;
}
