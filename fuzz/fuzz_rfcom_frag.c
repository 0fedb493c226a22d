/*
 * fuzz_rfcom_frag.c - libFuzzer target: arbitrary bytes as a sequence of
 * FICM slots fed to RFcom's reassembly (rfcom__rx_push, src/rfcom/frag.c).
 *
 * A peer decides every field of the slots a reader receives: len, type and
 * tag.  Whatever they are, the reader must never crash, never write past
 * the caller's buffer (it is an exactly sized heap block, or NULL when its
 * length is 0, so ASan sees one byte too many), never overflow its staging
 * buffer (also exactly RFCOM_MSG_MAX bytes, as msg.c allocates it), and
 * what it delivers must be exactly the data of the slots it accepted.
 * A shadow copy of the accepted fragments is the oracle.
 *
 * Input:
 *   byte 0     mode: bit 0 no staging buffer (a message of one slot only);
 *              bit 1 round trip: the rest is one message, fragmented with
 *              rfcom__frag_fill and reassembled, which must give it back
 *   bytes 1-2  the caller's buffer length (little endian)
 *   then       slots: an 8-byte header as in struct rf_ficm_msg (len and
 *              type 2 bytes each, tag 4, little endian) followed by
 *              min(len, 56) data bytes (missing bytes are zero)
 *
 * Seeds (fuzz/corpus/fuzz_rfcom_frag) are made by fuzz/mkseed_rfcom_frag.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rfcom/rfcom_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t shadow[RFCOM_MSG_MAX];

static uint32_t le(const uint8_t *p, int n)
{
	uint32_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Check a delivered message against what the oracle expected. */
static void check_delivery(const uint8_t *out, size_t len, size_t msglen, const uint8_t *want,
			   size_t want_len)
{
	if (msglen != want_len || msglen > RFCOM_MSG_MAX)
		abort();
	size_t n = msglen < len ? msglen : len;
	if (n && memcmp(out, want, n) != 0)
		abort();
}

/* Fragment msg[0..n) and push every slot: it must come back whole. */
static void round_trip(struct rfcom_rx *rx, const uint8_t *msg, size_t n, uint8_t *out,
		       size_t len)
{
	uint32_t k = rfcom__frag_count(n);
	size_t msglen = 0;
	for (uint32_t i = 0; i < k; i++) {
		struct rf_ficm_msg m;
		memset(&m, 0, sizeof(m));
		rfcom__frag_fill(&m, msg, n, i);
		if (m.len > RF_FICM_PAYLOAD)
			abort();
		int rc = rfcom__rx_push(rx, &m, out, len, &msglen);
		if (!rx->stage && k > 1) {  /* nowhere to stage: refused at once */
			if (rc != -EBADMSG)
				abort();
			return;
		}
		if (rc != (i + 1 == k ? 1 : 0))
			abort();
		if (rc == 0 && rfcom__rx_remaining(rx) != k - i - 1)
			abort();
	}
	check_delivery(out, len, msglen, msg, n);
}

static void slots(struct rfcom_rx *rx, const uint8_t *p, const uint8_t *end, uint8_t *out,
		  size_t len)
{
	size_t have = 0;    /* bytes of the message being assembled, per the oracle */
	while (end - p >= 8) {
		struct rf_ficm_msg m;
		size_t msglen = 0;
		memset(&m, 0, sizeof(m));
		m.len = (uint8_t)le(p, 2);   /* the low byte: len is 8 bits wide */
		m.type = (uint16_t)le(p + 2, 2);
		m.tag = le(p + 4, 4);
		p += 8;
		size_t d = m.len < RF_FICM_PAYLOAD ? m.len : RF_FICM_PAYLOAD;
		d = (size_t)(end - p) < d ? (size_t)(end - p) : d;
		memcpy(m.data, p, d);
		p += d;
		int rc = rfcom__rx_push(rx, &m, out, len, &msglen);
		if (rc == -EBADMSG) {
			if (rx->active || rfcom__rx_remaining(rx) != 0)
				abort();
			have = 0;
			continue;
		}
		if (rc != 0 && rc != 1)
			abort();
		/* An accepted slot: never longer than a slot, never past the total. */
		if (m.len > RF_FICM_PAYLOAD || have + m.len > RFCOM_MSG_MAX)
			abort();
		memcpy(shadow + have, m.data, m.len);
		have += m.len;
		if (rc == 0) {
			if (m.type != RFCOM_FRAG_MORE || !rx->active || rx->got != have ||
			    rx->total != m.tag || rx->total <= rx->got ||
			    rfcom__rx_remaining(rx) != rfcom__frag_count(rx->total - rx->got))
				abort();
			continue;
		}
		if (m.type != RFCOM_FRAG_LAST || rx->active)
			abort();
		check_delivery(out, len, msglen, shadow, have);
		have = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t mode = data[0];
	size_t len = le(data + 1, 2);
	uint8_t *out = len ? malloc(len) : NULL;
	struct rfcom_rx rx = { 0 };

	if (len && !out)
		return 0;
	if (!(mode & 1) && !(rx.stage = malloc(RFCOM_MSG_MAX))) {
		free(out);
		return 0;
	}
	if (mode & 2) {
		size_t n = size - 3 < RFCOM_MSG_MAX ? size - 3 : RFCOM_MSG_MAX;
		round_trip(&rx, data + 3, n, out, len);
	} else {
		slots(&rx, data + 3, data + size, out, len);
	}
	free(rx.stage);
	free(out);
	return 0;
}
