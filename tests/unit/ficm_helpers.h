/*
 * ficm_helpers.h - shared pieces of the FICM unit tests: a shared region
 * (a memfd mapped MAP_SHARED, as rfd will grant it, so it survives fork),
 * numbered messages whose every byte can be checked, the fixture of the
 * ring tests, and a clock for bounded waits.
 */
#ifndef RF_TEST_FICM_HELPERS_H
#define RF_TEST_FICM_HELPERS_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "rf/ficm.h"
#include "base/time.h"

static inline void *region_new(size_t len)
{
	int fd = memfd_create("ficm-test", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)len) != 0)
		return NULL;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static inline void region_free(void *p, size_t len)
{
	munmap(p, len);
}

/* Message number seq: tag = seq, length and bytes derived from it. */
static inline void msg_make(struct rf_ficm_msg *m, uint32_t seq)
{
	memset(m, 0, sizeof(*m));
	m->tag = seq;
	m->type = (uint16_t)(seq * 7);
	m->len = (uint8_t)(seq % (RF_FICM_PAYLOAD + 1));
	for (int i = 0; i < RF_FICM_PAYLOAD; i++)
		m->data[i] = (uint8_t)(seq + (uint32_t)i * 13);
}

static inline bool msg_ok(const struct rf_ficm_msg *m, uint32_t seq)
{
	struct rf_ficm_msg want;
	msg_make(&want, seq);
	return memcmp(m, &want, sizeof(want)) == 0;
}

/* The fixture of the ring tests (test_ficm_ring.c, test_ficm_marks.c): a
 * formatted ring of RING_FX_SLOTS in a shared region, both sides attached. */
#define RING_FX_SLOTS 16

struct ring_fx {
	void *mem;
	size_t len;
	struct rf_ficm_shm *shm;
	struct rf_ficm_ring p, c;
};

static inline int ring_fx_setup(void **state)
{
	struct ring_fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	*state = f;
	f->len = rf_ficm_ring_size(RING_FX_SLOTS);
	f->mem = region_new(f->len);
	f->shm = f->mem;
	if (!f->mem || rf_ficm_ring_format(f->mem, f->len, RING_FX_SLOTS) ||
	    rf_ficm_attach(&f->p, f->mem, f->len, RING_FX_SLOTS, RF_FICM_PRODUCER) ||
	    rf_ficm_attach(&f->c, f->mem, f->len, RING_FX_SLOTS, RF_FICM_CONSUMER))
		return -1;
	return 0;
}

static inline int ring_fx_teardown(void **state)
{
	struct ring_fx *f = *state;
	if (f->mem)
		region_free(f->mem, f->len);
	free(f);
	return 0;
}

/* Send messages from..from+n-1 (msg_make) in one batch (n <= 64). */
static inline int send_seq(struct rf_ficm_ring *r, uint32_t from, int n)
{
	struct rf_ficm_msg m[64];
	for (int i = 0; i < n; i++)
		msg_make(&m[i], from + (uint32_t)i);
	return rf_ficm_send(r, m, n);
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

#endif
