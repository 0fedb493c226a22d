/*
 * fuzz_ficm_ring.c - libFuzzer target: arbitrary bytes as a FICM ring (or
 * group) region, plus a script of what a hostile peer does to it between
 * our calls.  Whatever the bytes, the reader and the writer must never
 * crash, hang or touch memory outside the region (ASan sees the region as
 * an exactly sized heap block), and what they report must be sane.
 *
 * Input:
 *   byte 0     mode: bits 0-1 pick slots (2, 4, 8, 16); bit 2 attaches with
 *              a wrong expected size first; bit 7 treats the region as a
 *              group of 2 members instead of one ring
 *   then       the region image (rf_ficm_ring_size or rf_ficm_group_size
 *              bytes; missing bytes are zero)
 *   then       4-byte steps: op, offset (2 bytes, little endian), value
 *                op % 4 == 0  the peer writes `value` at region[offset % size]
 *                op % 4 == 1  receive up to value % 8 + 1 messages
 *                op % 4 == 2  send value % 8 messages
 *                op % 4 == 3  rf_ficm_ready and a zero-timeout rf_ficm_wait
 *
 * Seeds (fuzz/corpus/fuzz_ficm_ring) are valid images made by
 * fuzz/mkseed_ficm_ring.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rf/ficm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msgs(const struct rf_ficm_msg *m, int n, int max)
{
	if (n > max)
		abort();
	for (int i = 0; i < n; i++)
		if (m[i].len > RF_FICM_PAYLOAD)
			abort();
}

static void step(struct rf_ficm_ring *c, struct rf_ficm_ring *p, uint8_t *mem, size_t len,
		 const uint8_t *s, uint32_t slots)
{
	struct rf_ficm_msg m[8];
	int n;
	size_t off = ((size_t)s[1] | (size_t)s[2] << 8) % len;

	switch (s[0] % 4) {
	case 0:
		mem[off] = s[3];
		break;
	case 1:
		n = rf_ficm_recv(c, m, s[3] % 8 + 1);
		check_msgs(m, n, s[3] % 8 + 1);
		break;
	case 2:
		memset(m, 0, sizeof(m));
		for (int i = 0; i < 8; i++)
			m[i].len = (uint8_t)(i * 7), m[i].tag = (uint32_t)i;
		n = rf_ficm_send(p, m, s[3] % 8);
		if (n > s[3] % 8)
			abort();
		break;
	default:
		n = rf_ficm_ready(c);
		if (n > (int)slots)
			abort();
		n = rf_ficm_wait(c, 0, 0);
		if (n > (int)slots || n == 0)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint32_t slots = 2u << (data[0] & 3);
	int group = data[0] & 0x80;
	size_t len = group ? rf_ficm_group_size(2, slots) : rf_ficm_ring_size(slots);
	uint8_t *mem = aligned_alloc(RF_FICM_ALIGN, len);   /* len is a multiple of 64 */
	size_t img = size - 1 < len ? size - 1 : len;
	struct rf_ficm_ring c, p;
	struct rf_ficm_member member;

	memset(mem, 0, len);
	memcpy(mem, data + 1, img);
	if (data[0] & 4)
		rf_ficm_attach(&c, mem, len, slots * 2, RF_FICM_CONSUMER);
	if (group) {
		int id = rf_ficm_group_join(&member, mem, len, 2, slots, -1);
		if (id < 0)
			goto out;
		c = member.ring;
		/* the sender's side of that member's ring, as a hostile sender */
		if (rf_ficm_attach(&p, member.ring.shm, rf_ficm_ring_size(slots), slots,
				   RF_FICM_PRODUCER))
			memset(&p, 0, sizeof(p)), p.err = -EINVAL;
	} else {
		if (rf_ficm_attach(&c, mem, len, slots, RF_FICM_CONSUMER))
			goto out;
		if (rf_ficm_attach(&p, mem, len, slots, RF_FICM_PRODUCER))
			memset(&p, 0, sizeof(p)), p.err = -EINVAL;
	}
	for (size_t at = 1 + img; at + 4 <= size; at += 4)
		step(&c, &p, mem, len, data + at, slots);
out:
	free(mem);
	return 0;
}
