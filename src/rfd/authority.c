/*
 * authority.c - the one table of who may run which verb.
 *
 * Three kinds of caller (caller.h):
 *   - the host: root and rfd's own user may do everything but chan_open
 *     (a channel's memory goes only to programs inside its two subOSes);
 *     any other user may read (list, show, info, log, chan_list), which the
 *     socket's mode (0600, or 0660 with `rfd --group`) already limits to
 *     that group;
 *   - a process inside subOS X, whatever its uid: it may read about X
 *     (show X, log X, list and chan_list showing X alone, info without
 *     what is rfd's business) and chan_open, where the broker checks the
 *     channel is granted to X.  Nothing that changes the table, and nothing
 *     about another subOS: a subOS may be hostile, and isolation that the
 *     isolated can undo through rfd is none;
 *   - a caller rfd cannot place (exited at once, another container's
 *     namespace, an inconsistent cgroup): the stripped info only, since a
 *     subOS could make itself unplaceable to shed its limits.
 * The table is pure (no lookups), so a refusal says nothing about whether
 * a name exists, and tests/unit/test_authority.c walks it whole.
 */
#include "rfd/authority.h"
#include "rfd/caller.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum host_rule { HOST_ANYONE, HOST_ADMIN, HOST_NEVER };
/* SUBOS_ANY: the verb proves its own right (rfloop_listen checks the socket
 * it is given; rfloop_table hands out what nobody can write). */
enum subos_rule { SUBOS_NEVER, SUBOS_SELF, SUBOS_GRANTED, SUBOS_ANY };

static const struct rule {
	enum host_rule host;
	enum subos_rule subos;
	bool unknown; /* allowed to a caller rfd cannot place (scoped) */
} rules[] = {
	[RF_VERB_CREATE] = { HOST_ADMIN, SUBOS_NEVER, false },
	[RF_VERB_DESTROY] = { HOST_ADMIN, SUBOS_NEVER, false },
	[RF_VERB_RESIZE] = { HOST_ADMIN, SUBOS_NEVER, false },
	[RF_VERB_LIST] = { HOST_ANYONE, SUBOS_SELF, false },
	[RF_VERB_SHOW] = { HOST_ANYONE, SUBOS_SELF, false },
	[RF_VERB_INFO] = { HOST_ANYONE, SUBOS_SELF, true },
	[RF_VERB_LOG] = { HOST_ANYONE, SUBOS_SELF, false },
	[RF_VERB_CHAN_CREATE] = { HOST_ADMIN, SUBOS_NEVER, false },
	[RF_VERB_CHAN_LIST] = { HOST_ANYONE, SUBOS_SELF, false },
	[RF_VERB_CHAN_CLOSE] = { HOST_ADMIN, SUBOS_NEVER, false },
	[RF_VERB_CHAN_OPEN] = { HOST_NEVER, SUBOS_GRANTED, false },
	[RF_VERB_RFLOOP_LISTEN] = { HOST_ANYONE, SUBOS_ANY, true },
	[RF_VERB_RFLOOP_TABLE] = { HOST_ANYONE, SUBOS_ANY, true },
	[RF_VERB_STATS] = { HOST_ANYONE, SUBOS_SELF, false },
	[RF_VERB_POLICY] = { HOST_ADMIN, SUBOS_NEVER, false },
};

#define SUBOS_MAY "from inside a subOS only show, log, list, stats and chan_list of that subOS, " \
		  "info, chan_open of a channel granted to it, rfloop_listen and rfloop_table " \
		  "are allowed"

/* "destroy", or "show subOS \"b\"" when the verb names one. */
static void what(enum base_verb v, const char *target, char *buf, size_t len)
{
	bool chan = v == RF_VERB_CHAN_CREATE || v == RF_VERB_CHAN_CLOSE || v == RF_VERB_CHAN_OPEN;
	if (target)
		snprintf(buf, len, "%s %s \"%s\"", base_verb_name(v), chan ? "channel" : "subOS",
			 target);
	else
		snprintf(buf, len, "%s", base_verb_name(v));
}

static int deny_host(uid_t owner_uid, const struct rule *r, const char *act, const char *who,
		     struct base_err *err)
{
	if (r->host == HOST_NEVER)
		return base_errf(err, BASE_E_PERMISSION_DENIED,
				 "%s may not %s: channels are opened only by programs inside "
				 "the two subOSes they are granted to",
				 who, act);
	return base_errf(err, BASE_E_PERMISSION_DENIED,
			 "%s may not %s: only root and uid %u change subOSes and channels; "
			 "other users may list, show, info, log and chan_list",
			 who, act, (unsigned)owner_uid);
}

int rfd_authorize(const struct rfd_caller *c, uid_t owner_uid, enum base_verb v,
		  const char *target, enum rfd_scope *scope, struct base_err *err)
{
	char who[256], act[128];
	if ((unsigned)v >= sizeof(rules) / sizeof(rules[0]))
		return base_errf(err, BASE_E_BAD_REQUEST, "unknown verb");
	const struct rule *r = &rules[v];
	bool admin = c->uid == 0 || c->uid == owner_uid;
	*scope = RFD_SCOPE_ALL;
	switch (c->kind) {
	case RFD_CALLER_HOST:
		if (r->host == HOST_ANYONE || (r->host == HOST_ADMIN && admin))
			return 0;
		break;
	case RFD_CALLER_SUBOS:
		if (r->subos == SUBOS_GRANTED || r->subos == SUBOS_ANY)
			return 0; /* the broker checks the grant; the verb its proof */
		*scope = RFD_SCOPE_SELF;
		if (r->subos == SUBOS_SELF && (!target || strcmp(target, c->subos) == 0))
			return 0;
		break;
	case RFD_CALLER_UNKNOWN:
		*scope = RFD_SCOPE_SELF;
		if (r->unknown)
			return 0;
		break;
	}
	rfd_caller_describe(c, who, sizeof(who));
	what(v, target, act, sizeof(act));
	if (c->kind == RFD_CALLER_HOST)
		return deny_host(owner_uid, r, act, who, err);
	if (c->kind == RFD_CALLER_SUBOS)
		return base_errf(err, BASE_E_PERMISSION_DENIED, "%s may not %s: " SUBOS_MAY, who,
				 act);
	return base_errf(err, BASE_E_PERMISSION_DENIED,
			 "%s may not %s: such a caller may only ask info (connect from a "
			 "process that stays alive until answered)",
			 who, act);
}
