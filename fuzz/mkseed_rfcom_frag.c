/*
 * mkseed_rfcom_frag.c - writes the seed corpus of fuzz_rfcom_frag: slot
 * sequences a well-behaved writer produces (rfcom__frag_fill: messages of
 * one slot, of several, a buffer shorter than the message), a few a broken
 * one would (a short slot marked "more", a tag that changes midway), and
 * round-trip inputs.  Run once when the fragment format changes, and
 * commit the result:
 *
 *   cc -std=gnu11 -Iinclude -Isrc -o build/mkseed_frag fuzz/mkseed_rfcom_frag.c \
 *      src/rfcom/frag.c
 *   build/mkseed_frag fuzz/corpus/fuzz_rfcom_frag
 */
#include <stdio.h>
#include <string.h>
#include "rfcom/rfcom_internal.h"

static unsigned char buf[8192];
static size_t used;

static void begin(unsigned char mode, unsigned out_len)
{
	buf[0] = mode;
	buf[1] = (unsigned char)out_len;
	buf[2] = (unsigned char)(out_len >> 8);
	used = 3;
}

/* Append one slot as the target reads it: header, then min(len, 56) bytes. */
static void slot(const struct rf_ficm_msg *m)
{
	unsigned char *p = buf + used;
	p[0] = (unsigned char)m->len, p[1] = (unsigned char)(m->len >> 8);
	p[2] = (unsigned char)m->type, p[3] = (unsigned char)(m->type >> 8);
	for (int i = 0; i < 4; i++)
		p[4 + i] = (unsigned char)(m->tag >> (8 * i));
	size_t d = m->len < RF_FICM_PAYLOAD ? m->len : RF_FICM_PAYLOAD;
	memcpy(p + 8, m->data, d);
	used += 8 + d;
}

/* Append the slots of a message of n bytes. */
static void message(size_t n)
{
	unsigned char msg[1024];
	for (size_t i = 0; i < n; i++)
		msg[i] = (unsigned char)(i * 7 + n);
	for (uint32_t i = 0; i < rfcom__frag_count(n); i++) {
		struct rf_ficm_msg m;
		memset(&m, 0, sizeof(m));
		rfcom__frag_fill(&m, msg, n, i);
		slot(&m);
	}
}

static int save(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(buf, 1, used, f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	struct rf_ficm_msg m;
	int rc = 0;

	begin(0, 64);
	message(0), message(5), message(56);
	rc |= save(dir, "one-slot");
	begin(0, 4096);
	message(100), message(57), message(300), message(1);
	rc |= save(dir, "fragmented");
	begin(0, 10);
	message(200), message(20);
	rc |= save(dir, "truncated");
	begin(0, 0);
	message(112), message(0);
	rc |= save(dir, "no-buffer");
	begin(1, 64);
	message(30), message(90), message(40);   /* no staging: the second is refused */
	rc |= save(dir, "no-stage");
	begin(0, 256);
	memset(&m, 0, sizeof(m));
	m.type = RFCOM_FRAG_MORE, m.tag = 100, m.len = 20;   /* a short slot marked "more" */
	slot(&m);
	message(10);
	m.len = RF_FICM_PAYLOAD;
	slot(&m);
	m.tag = 101, m.type = RFCOM_FRAG_LAST, m.len = 44;   /* the total changes */
	slot(&m);
	message(60);
	rc |= save(dir, "broken");
	begin(2, 128);
	for (int i = 0; i < 200; i++)
		buf[used++] = (unsigned char)i;
	rc |= save(dir, "round-trip");
	begin(3, 0);
	for (int i = 0; i < 80; i++)
		buf[used++] = (unsigned char)i;
	rc |= save(dir, "round-trip-no-stage");
	return rc ? 1 : 0;
}
