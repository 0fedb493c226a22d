/*
 * test_rfd_libos_msg.c - rfd's end of a libos subOS's control rings
 * (src/rfd/libos_msg.c, src/ficm/ctlmsg.c), with this test playing a
 * subOS that may be hostile: commands arrive in order; acknowledgements
 * raise acked_gen; an acknowledgement from the future, a message with a
 * length or an unknown type, ring indices or a slot's valid mark scribbled
 * over make the reply ring unusable for good (never a crash: ASan and UBSan run this), after
 * which waits just sleep out their time; a flooded reply ring is drained
 * before each command; a reply sent by another thread wakes a sleeping
 * wait; the rings are found again (attached without formatting) as after
 * an rfd restart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ficm/shm.h"
#include "ficm/ctlmsg.h"
#include "rfd/rfd.h"
#include "rfd/libos.h"
#include "rfd/subos.h"
#include "base/time.h"

static struct rfd_subos *S;
static struct rf_ficm_ring sub_tx, sub_rx; /* the subOS's ends */

static void *shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

static int setup(void **state)
{
	(void)state;
	S = calloc(1, sizeof(*S));
	snprintf(S->name, sizeof(S->name), "t");
	S->pid = getpid();
	S->pidfd = S->msgs_fd = -1;
	S->desc = shared(RF_DESC_SIZE);
	S->desc->gen = 1;
	S->msgs = shared(RF_MSGS_SIZE);
	if (rfd_libos_msgs_attach(S, true))
		return -1;
	return ficm_ctl_attach(S->msgs, RF_MSGS_SIZE, RF_MSGS_SUBOS, &sub_tx, &sub_rx);
}

static int teardown(void **state)
{
	(void)state;
	rfd_libos_msgs_close(S);
	munmap(S->desc, RF_DESC_SIZE);
	free(S);
	return 0;
}

static void reply(uint16_t type, uint32_t tag, uint16_t len)
{
	struct rf_ficm_msg m = { .len = len, .type = type, .tag = tag };
	assert_int_equal(rf_ficm_send(&sub_tx, &m, 1), 1);
}

static void test_commands_and_acks(void **state)
{
	struct rf_ficm_msg m[4];
	(void)state;
	assert_int_equal(S->acked_gen, 1);
	rfd_libos_send(S, RF_CMD_APPLY, 2);
	rfd_libos_send(S, RF_CMD_SHUTDOWN, 3);
	assert_int_equal(rf_ficm_recv(&sub_rx, m, 4), 2);
	assert_int_equal(m[0].type, RF_CMD_APPLY);
	assert_int_equal(m[0].tag, 2);
	assert_int_equal(m[1].type, RF_CMD_SHUTDOWN);
	assert_int_equal(m[1].tag, 3);
	reply(RF_REPLY_STATE, RF_SUBOS_RUNNING, 0);
	reply(RF_REPLY_ACK, 3, 0);
	reply(RF_REPLY_ACK, 2, 0); /* late, older: acked_gen never goes back */
	rfd_libos_take_replies(S);
	assert_false(S->acks_bad);
	assert_int_equal(S->acked_gen, 3);
}

static void expect_unusable(uint16_t type, uint32_t tag, uint16_t len)
{
	rfd_libos_send(S, RF_CMD_APPLY, 5);
	reply(type, tag, len);
	rfd_libos_take_replies(S);
	assert_true(S->acks_bad);
	/* From now on nothing from the ring counts, and waits sleep it out. */
	reply(RF_REPLY_ACK, 5, 0);
	uint64_t t0 = base_now_ns();
	rfd_libos_wait_reply(S, 0, 3000000);
	assert_true(base_now_ns() - t0 >= 2000000);
	assert_int_equal(S->acked_gen, 1);
}

static void test_ack_from_the_future(void **state)
{
	(void)state;
	expect_unusable(RF_REPLY_ACK, 6, 0);
}

static void test_reply_with_a_length(void **state)
{
	(void)state;
	expect_unusable(RF_REPLY_ACK, 5, 8);
}

static void test_unknown_reply(void **state)
{
	(void)state;
	expect_unusable(RF_CMD_APPLY, 5, 0);
}

static void test_bad_state(void **state)
{
	(void)state;
	expect_unusable(RF_REPLY_STATE, 99, 0);
}

/* rfd receives by the slots' valid marks and reads the reply ring's tail
 * only before it sleeps: a scribbled tail is caught there. */
static void test_scribbled_indices(void **state)
{
	struct rf_ficm_shm *shm = (void *)((char *)S->msgs + RF_MSGS_ACK_OFF);
	(void)state;
	rfd_libos_send(S, RF_CMD_APPLY, 5);
	atomic_store(&shm->tail, 12345678);
	rfd_libos_take_replies(S);
	assert_false(S->acks_bad);
	rfd_libos_wait_reply(S, 0, 1000000);  /* returns, does not spin forever */
	assert_true(S->acks_bad);
	assert_int_equal(S->acked_gen, 1);
}

/* A slot marked valid whose length no message has. */
static void test_scribbled_mark(void **state)
{
	struct rf_ficm_msg *slot = (void *)((char *)S->msgs + RF_MSGS_ACK_OFF + RF_FICM_HDR_SIZE);
	(void)state;
	slot[0].len = 0xff;
	slot[0].seq = ficm_mark(0, (uint32_t)__builtin_ctz(RF_MSGS_SLOTS));
	rfd_libos_take_replies(S);
	assert_true(S->acks_bad);
}

/* A subOS that fills its reply ring does not block the next command's ack. */
static void test_flooded_reply_ring(void **state)
{
	(void)state;
	for (int i = 0; i < RF_MSGS_SLOTS; i++)
		reply(RF_REPLY_STATE, RF_SUBOS_RUNNING, 0);
	rfd_libos_send(S, RF_CMD_APPLY, 2);
	reply(RF_REPLY_ACK, 2, 0);
	rfd_libos_take_replies(S);
	assert_false(S->acks_bad);
	assert_int_equal(S->acked_gen, 2);
}

static void *late_ack(void *arg)
{
	(void)arg;
	usleep(5000);
	reply(RF_REPLY_ACK, 2, 0);
	return NULL;
}

static void test_sleeping_wait_is_woken(void **state)
{
	pthread_t t;
	(void)state;
	rfd_libos_send(S, RF_CMD_APPLY, 2);
	assert_int_equal(pthread_create(&t, NULL, late_ack, NULL), 0);
	uint64_t t0 = base_now_ns();
	while (S->acked_gen != 2 && base_now_ns() - t0 < 2000000000ull)
		rfd_libos_wait_reply(S, 10000, 1000000000ull);
	pthread_join(t, NULL);
	assert_int_equal(S->acked_gen, 2);
	assert_true(base_now_ns() - t0 < 500000000ull);
}

/* After an rfd restart: the same rings, attached again where they are. */
static void test_readopt(void **state)
{
	struct rf_ficm_ring tx, rx;
	struct rf_ficm_msg m;
	(void)state;
	rfd_libos_send(S, RF_CMD_APPLY, 2);
	S->desc->gen = 2;
	assert_int_equal(ficm_ctl_attach(S->msgs, RF_MSGS_SIZE, RF_MSGS_RFD, &tx, &rx), 0);
	S->cmd = tx;
	S->acks = rx;
	S->sent_gen = S->acked_gen = S->desc->gen;
	rfd_libos_send(S, RF_CMD_APPLY, 3);
	assert_int_equal(rf_ficm_recv(&sub_rx, &m, 1), 1);
	assert_int_equal(m.tag, 2);
	assert_int_equal(rf_ficm_recv(&sub_rx, &m, 1), 1);
	assert_int_equal(m.tag, 3);
	reply(RF_REPLY_ACK, 3, 0);
	rfd_libos_take_replies(S);
	assert_int_equal(S->acked_gen, 3);
	/* Rings someone formatted differently are refused, and closed. */
	memset(S->msgs, 0, 64);
	assert_int_not_equal(rfd_libos_msgs_attach(S, false), 0);
	assert_null(S->msgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commands_and_acks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_from_the_future, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_with_a_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scribbled_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scribbled_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flooded_reply_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleeping_wait_is_woken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readopt, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
