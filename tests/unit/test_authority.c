/*
 * test_authority.c - rfd's one table of who may run which verb
 * (src/rfd/authority.c), walked whole, and the cgroup reading that places
 * a caller in a subOS (src/rfd/caller.c).
 *
 * Every verb is asked by six callers: host root, rfd's own (non-root) user,
 * another host user, a process inside subOS "a" naming "a" (or nothing),
 * the same naming subOS "b", and a caller rfd could not place.  The
 * expected answers are written out as a matrix, so a change to the table
 * shows up here as a change someone had to mean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "rfd/authority.h"
#include "rfd/caller.h"

#define OWNER 1000

enum { HOST_ROOT, HOST_OWNER, HOST_OTHER, SUBOS_SELF, SUBOS_OTHER, UNKNOWN, NCALLERS };

static const char *const caller_name[NCALLERS] = {
	"host root", "host owner", "host other uid", "subOS a on a", "subOS a on b", "unknown",
};

static struct rfd_caller make_caller(int who)
{
	struct rfd_caller c = { .pid = 4242, .subos_id = -1 };
	switch (who) {
	case HOST_ROOT: c.kind = RFD_CALLER_HOST; c.uid = 0; break;
	case HOST_OWNER: c.kind = RFD_CALLER_HOST; c.uid = OWNER; break;
	case HOST_OTHER: c.kind = RFD_CALLER_HOST; c.uid = 2000; break;
	case SUBOS_SELF:
	case SUBOS_OTHER:
		c.kind = RFD_CALLER_SUBOS;
		c.uid = 0; /* root inside is not root to rfd */
		c.subos_id = 1;
		snprintf(c.subos, sizeof(c.subos), "a");
		break;
	default:
		c.kind = RFD_CALLER_UNKNOWN;
		c.uid = 0;
		snprintf(c.why, sizeof(c.why), "it exited before rfd could look at it");
	}
	return c;
}

/* One verb: the name it carries for a "self" and an "other" request (NULL
 * when it has none), and per caller 'A' (allowed, whole table), 'S'
 * (allowed, the caller's own subOS only) or 'D' (permission_denied). */
static const struct row {
	enum base_verb verb;
	const char *self, *other;
	const char expect[NCALLERS + 1];
} rows[] = {
	{ RF_VERB_CREATE, "a", "b", "AADDDD" },
	{ RF_VERB_DESTROY, "a", "b", "AADDDD" },
	{ RF_VERB_RESIZE, "a", "b", "AADDDD" },
	{ RF_VERB_LIST, NULL, NULL, "AAASSD" },
	{ RF_VERB_SHOW, "a", "b", "AAASDD" },
	{ RF_VERB_INFO, NULL, NULL, "AAASSS" },
	{ RF_VERB_LOG, "a", "b", "AAASDD" },
	{ RF_VERB_LOG, NULL, NULL, "AAASSD" },
	{ RF_VERB_CHAN_CREATE, "ch", "ch", "AADDDD" },
	{ RF_VERB_CHAN_LIST, NULL, NULL, "AAASSD" },
	{ RF_VERB_CHAN_CLOSE, "ch", "ch", "AADDDD" },
	{ RF_VERB_CHAN_OPEN, "ch", "ch", "DDDAAD" },
	{ RF_VERB_RFLOOP_LISTEN, NULL, NULL, "AAAAAS" },
	{ RF_VERB_RFLOOP_TABLE, NULL, NULL, "AAAAAS" },
	{ RF_VERB_STATS, "a", "b", "AAASDD" },
	{ RF_VERB_POLICY, "a", "b", "AADDDD" },
};

static char decide(int who, const struct row *r, struct base_err *err)
{
	struct rfd_caller c = make_caller(who);
	enum rfd_scope scope = RFD_SCOPE_ALL;
	const char *target = who == SUBOS_OTHER ? r->other : r->self;
	memset(err, 0, sizeof(*err));
	if (rfd_authorize(&c, OWNER, r->verb, target, &scope, err))
		return 'D';
	return scope == RFD_SCOPE_SELF ? 'S' : 'A';
}

static void test_every_verb_every_caller(void **state)
{
	int verbs_seen = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		verbs_seen |= 1 << rows[i].verb;
		for (int who = 0; who < NCALLERS; who++) {
			struct base_err err;
			char got = decide(who, &rows[i], &err);
			if (got != rows[i].expect[who])
				fail_msg("%s by %s: got %c, want %c (%s)",
					 base_verb_name(rows[i].verb), caller_name[who], got,
					 rows[i].expect[who], err.msg);
			if (got == 'D')
				assert_int_equal(err.code, BASE_E_PERMISSION_DENIED);
		}
	}
	assert_int_equal(verbs_seen, (1 << (RF_VERB_POLICY + 1)) - 1); /* none left out */
}

/* A refusal says who the caller is and what it may do instead. */
static void test_messages(void **state)
{
	struct base_err err;
	assert_string_equal(rows[1].expect, "AADDDD"); /* rows[1] is destroy */
	decide(SUBOS_SELF, &rows[1], &err);
	assert_non_null(strstr(err.msg, "pid 4242 inside subOS \"a\" may not destroy subOS \"a\""));
	assert_non_null(strstr(err.msg, "only show, log, list, stats and chan_list of that subOS"));
	decide(HOST_OTHER, &rows[1], &err);
	assert_non_null(strstr(err.msg, "uid 2000 on the host"));
	assert_non_null(strstr(err.msg, "root and uid 1000"));
	decide(UNKNOWN, &rows[1], &err);
	assert_non_null(strstr(err.msg, "cannot place (it exited"));
	decide(HOST_ROOT, &rows[11], &err); /* chan_open from the host */
	assert_non_null(strstr(err.msg, "root on the host"));
	assert_non_null(strstr(err.msg, "inside"));
}

/* The owner is whoever rfd runs as: root's rights are not the owner's
 * alone, and an owner of 0 changes nothing for others. */
static void test_owner_is_root(void **state)
{
	struct rfd_caller c = make_caller(HOST_OTHER);
	struct base_err err;
	enum rfd_scope scope;
	assert_int_equal(rfd_authorize(&c, 0, RF_VERB_DESTROY, "a", &scope, &err), -1);
	assert_int_equal(rfd_authorize(&c, 2000, RF_VERB_DESTROY, "a", &scope, &err), 0);
	c = make_caller(SUBOS_SELF);
	c.uid = OWNER; /* the owner's uid inside a subOS is still the subOS */
	assert_int_equal(rfd_authorize(&c, OWNER, RF_VERB_DESTROY, "a", &scope, &err), -1);
}

static int place(const char *text, char *name)
{
	return rfd_caller_cgroup_place("rf.abc", text, name, RF_NAME_MAX);
}

static void test_cgroup_place(void **state)
{
	char name[RF_NAME_MAX];
	assert_int_equal(place("4:memory:/process_api/x\n3:cpuset:/\n0::/\n", name), 0);
	assert_int_equal(place("3:cpuset:/rf.abc/kv\n4:memory:/rf.abc/kv\n", name), 1);
	assert_string_equal(name, "kv");
	assert_int_equal(place("3:cpuset:/rf.abc/kv/deeper\n", name), 1); /* a child cgroup */
	assert_string_equal(name, "kv");
	assert_int_equal(place("0::/system.slice/rf.abc/web", name), 1); /* v2, no newline */
	assert_string_equal(name, "web");
	assert_int_equal(place("3:cpuset:/rf.abc\n", name), -1);   /* the instance itself */
	assert_int_equal(place("3:cpuset:/rf.abc/\n", name), -1);
	assert_int_equal(place("3:cpuset:/rf.abc/kv\n4:memory:/rf.abc/web\n", name), -1);
	assert_int_equal(place("3:cpuset:/rf.abcd/kv\n3:cpuset:/xrf.abc/kv\n", name), 0);
	assert_int_equal(place("3:cpuset:/rf.abc/kv\n4:memory:/\n", name), 1); /* left memory */
	assert_int_equal(place("garbage\n\n:\n", name), 0);
	assert_int_equal(place("", name), 0);
	char longname[200];
	snprintf(longname, sizeof(longname), "3:cpuset:/rf.abc/%0100d\n", 7);
	assert_int_equal(place(longname, name), -1);
	assert_int_equal(rfd_caller_cgroup_place("", "3:cpuset:/rf.abc/kv\n", name, sizeof(name)),
			 0);
}

static void test_describe(void **state)
{
	char buf[256];
	struct rfd_caller c = make_caller(HOST_ROOT);
	rfd_caller_describe(&c, buf, sizeof(buf));
	assert_string_equal(buf, "root on the host (pid 4242)");
	c = make_caller(SUBOS_SELF);
	rfd_caller_describe(&c, buf, sizeof(buf));
	assert_string_equal(buf, "pid 4242 inside subOS \"a\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_verb_every_caller),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_owner_is_root),
		cmocka_unit_test(test_cgroup_place),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
