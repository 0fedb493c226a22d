/*
 * frag.c - RFcom messages in FICM slots: fragmenting on the writer's side
 * and validated reassembly on the reader's.
 *
 * A message of n bytes takes max(1, ceil(n / 56)) consecutive slots.  Each
 * slot carries `tag` = n and `type` = RFCOM_FRAG_MORE, or RFCOM_FRAG_LAST
 * on the final one; every slot but the last is full (56 bytes).  The
 * reader trusts none of it: a first slot claiming more than RFCOM_MSG_MAX,
 * a later slot with another total, a short slot marked "more", a last slot
 * whose length does not end the message exactly, or an unknown type is a
 * corrupt channel (-EBADMSG).  Slots are copies (rf_ficm_recv copied them
 * out of the shared region and checked len <= 56), so nothing here reads
 * shared memory.
 */
#include "rfcom/rfcom_internal.h"

#include <errno.h>
#include <string.h>

uint32_t rfcom__frag_count(size_t len)
{
	return len == 0 ? 1 : (uint32_t)((len + RF_FICM_PAYLOAD - 1) / RF_FICM_PAYLOAD);
}

void rfcom__frag_fill(struct rf_ficm_msg *m, const void *buf, size_t len, uint32_t i)
{
	uint32_t k = rfcom__frag_count(len);
	size_t off = (size_t)i * RF_FICM_PAYLOAD;
	size_t n = len - off < RF_FICM_PAYLOAD ? len - off : RF_FICM_PAYLOAD;
	m->len = (uint8_t)n;
	m->type = i + 1 < k ? RFCOM_FRAG_MORE : RFCOM_FRAG_LAST;
	m->tag = (uint32_t)len;
	if (n)
		memcpy(m->data, (const uint8_t *)buf + off, n);
}

uint32_t rfcom__rx_remaining(const struct rfcom_rx *rx)
{
	if (!rx->active)
		return 0;
	return rfcom__frag_count(rx->total - rx->got);
}

static int bad(struct rfcom_rx *rx)
{
	rx->active = false;
	rx->total = rx->got = 0;
	return -EBADMSG;
}

static void deliver(const uint8_t *src, uint32_t total, void *out, size_t len, size_t *msglen)
{
	size_t n = total < len ? total : len;
	if (n)
		memcpy(out, src, n);
	*msglen = total;
}

int rfcom__rx_push(struct rfcom_rx *rx, const struct rf_ficm_msg *m, void *out, size_t len,
		   size_t *msglen)
{
	bool more = m->type == RFCOM_FRAG_MORE;
	if (!more && m->type != RFCOM_FRAG_LAST)
		return bad(rx);
	if (m->len > RF_FICM_PAYLOAD)
		return bad(rx);
	if (!rx->active) {
		if (m->tag > RFCOM_MSG_MAX)
			return bad(rx);
		if (!more) { /* a message of one slot: straight to the caller */
			if (m->len != m->tag)
				return bad(rx);
			deliver(m->data, m->tag, out, len, msglen);
			return 1;
		}
		if (!rx->stage)
			return bad(rx);
		rx->active = true;
		rx->total = m->tag;
		rx->got = 0;
	} else if (m->tag != rx->total) {
		return bad(rx);
	}
	/* Full slots while more follow; the last one ends the message exactly. */
	if (more ? (m->len != RF_FICM_PAYLOAD || rx->got + m->len >= rx->total)
		 : (rx->got + m->len != rx->total))
		return bad(rx);
	memcpy(rx->stage + rx->got, m->data, m->len);
	rx->got += m->len;
	if (more)
		return 0;
	rx->active = false;
	deliver(rx->stage, rx->total, out, len, msglen);
	return 1;
}
