/*
 * libos_msg.c - rfd's end of a libos subOS's control rings (rf/desc.h,
 * RF_ENV_MSGS; src/ficm/ctlmsg.c): attaching them, sending commands and
 * taking the replies.
 *
 * Trust: the subOS maps the same memory and may write anything into it.
 * FICM validates every index and length; this file validates each reply's
 * content: RF_REPLY_ACK for a generation rfd has announced (never one from
 * the future) or RF_REPLY_STATE with a known state, length 0.  Anything
 * else, or a ring FICM finds corrupt or closed, makes the reply ring
 * unusable for good (acks_bad, logged once): every later handshake with
 * that subOS then gets no acknowledgement and is forced at the deadline,
 * exactly like a subOS that does not answer.  rfd never blocks on the
 * subOS: a full command ring drops the command (the commands still waiting
 * make librf read the latest desc anyway), every wait is bounded, and one
 * call takes a bounded number of replies, so a subOS that floods its ring
 * cannot keep rfd busy.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/libos.h"
#include "rfd/log.h"
#include "rfd/subos.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "ficm/ctlmsg.h"

#define TAKE_MAX (4 * RF_MSGS_SLOTS) /* replies taken per call, at most */

int rfd_libos_msgs_attach(struct rfd_subos *s, bool format)
{
	int rc = format ? ficm_ctl_format(s->msgs, RF_MSGS_SIZE) : 0;

	if (!rc)
		rc = ficm_ctl_attach(s->msgs, RF_MSGS_SIZE, RF_MSGS_RFD, &s->cmd, &s->acks);
	if (rc) {
		rfd_libos_msgs_close(s);
		return rc;
	}
	/* What came before is settled: wait only for what is announced next. */
	s->sent_gen = s->acked_gen = s->desc ? s->desc->gen : 0;
	s->acks_bad = s->cmds_bad = false;
	return 0;
}

void rfd_libos_msgs_close(struct rfd_subos *s)
{
	if (s->msgs)
		munmap(s->msgs, RF_MSGS_SIZE);
	if (s->msgs_fd >= 0)
		close(s->msgs_fd);
	s->msgs = NULL;
	s->msgs_fd = -1;
	memset(&s->cmd, 0, sizeof(s->cmd));
	memset(&s->acks, 0, sizeof(s->acks));
}

static void acks_unusable(struct rfd_subos *s, const char *why)
{
	if (s->acks_bad)
		return;
	s->acks_bad = true;
	rfd_log("subOS %s: its reply ring is unusable (%s); its changes will be forced at the "
		"deadline from now on", s->name, why);
}

static bool reply_ok(const struct rfd_subos *s, const struct rf_ficm_msg *m)
{
	if (m->len != 0)
		return false;
	if (m->type == RF_REPLY_STATE)
		return m->tag <= RF_SUBOS_FAILED;
	return m->type == RF_REPLY_ACK && (int32_t)(m->tag - s->sent_gen) <= 0;
}

void rfd_libos_take_replies(struct rfd_subos *s)
{
	struct rf_ficm_msg m[16];
	int n = 0;

	if (!s->msgs || s->acks_bad)
		return;
	for (int taken = 0; taken < TAKE_MAX; taken += n) {
		if ((n = rf_ficm_recv(&s->acks, m, 16)) <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (!reply_ok(s, &m[i]))
				return acks_unusable(s, "a malformed reply");
			if (m[i].type == RF_REPLY_ACK && (int32_t)(m[i].tag - s->acked_gen) > 0)
				s->acked_gen = m[i].tag;
		}
	}
	if (n < 0)
		acks_unusable(s, strerror(-n));
}

void rfd_libos_send(struct rfd_subos *s, enum rf_ctl_type cmd, uint32_t gen)
{
	s->sent_gen = gen;
	if (!s->msgs)
		return;
	rfd_libos_take_replies(s);
	int rc = ficm_ctl_send(&s->cmd, cmd, gen);
	if (rc < 0 && !s->cmds_bad) {
		s->cmds_bad = true;
		rfd_log("subOS %s: its command ring is broken (%s); it will not see changes",
			s->name, strerror(-rc));
	}
}

/* Sleep up to timeout_ns or until the program ends. */
static void sleep_on_pidfd(struct rfd_subos *s, uint64_t timeout_ns)
{
	struct pollfd p = { .fd = s->pidfd, .events = POLLIN };
	struct timespec ts = { (time_t)(timeout_ns / 1000000000ull),
			       (long)(timeout_ns % 1000000000ull) };
	ppoll(&p, s->pidfd >= 0 ? 1 : 0, &ts, NULL);
}

void rfd_libos_wait_reply(struct rfd_subos *s, uint64_t spin_ns, uint64_t timeout_ns)
{
	if (s->msgs && !s->acks_bad)
		rf_ficm_wait(&s->acks, spin_ns, (int64_t)timeout_ns);
	else
		sleep_on_pidfd(s, timeout_ns);
	rfd_libos_take_replies(s);
}
