/*
 * mkseed_ficm_ring.c - writes the seed corpus of fuzz_ficm_ring: valid ring
 * and group images holding a few messages, each followed by a short script
 * (receive, send, peek, a peer's scribble).  Run once when the ring layout
 * changes (RF_FICM_ABI), and commit the result:
 *
 *   cc -std=gnu11 -Iinclude -Isrc -o build/mkseed fuzz/mkseed_ficm_ring.c \
 *      src/ficm/ring.c src/ficm/wait.c src/ficm/group.c
 *   build/mkseed fuzz/corpus/fuzz_ficm_ring
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rf/ficm.h"

static const unsigned char script[] = {
	1, 0, 0, 3,        /* receive up to 4 */
	2, 0, 0, 5,        /* send 5 */
	3, 0, 0, 0,        /* ready + wait */
	0, 0x80, 0, 0xff,  /* the peer scribbles on the tail (offset 128) */
	1, 0, 0, 7,        /* receive up to 8 */
};

static int write_seed(const char *dir, const char *name, unsigned char mode, const void *img,
		      size_t len, size_t script_len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(&mode, 1, 1, f);
	fwrite(img, 1, len, f);
	fwrite(script, 1, script_len, f);
	return fclose(f);
}

static void fill(struct rf_ficm_ring *p, int n)
{
	struct rf_ficm_msg m[16];
	memset(m, 0, sizeof(m));
	for (int i = 0; i < n; i++) {
		m[i].len = (uint8_t)(i * 5);
		m[i].tag = (uint32_t)i;
		memset(m[i].data, 'a' + i, m[i].len);
	}
	rf_ficm_send(p, m, n);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	int rc = 0;
	for (unsigned sel = 0; sel < 4; sel++) {
		uint32_t slots = 2u << sel;
		size_t len = rf_ficm_ring_size(slots);
		void *mem = aligned_alloc(RF_FICM_ALIGN, len);
		struct rf_ficm_ring p, c;
		struct rf_ficm_msg out[16];
		char name[64];
		rf_ficm_ring_format(mem, len, slots);
		rf_ficm_attach(&p, mem, len, slots, RF_FICM_PRODUCER);
		rf_ficm_attach(&c, mem, len, slots, RF_FICM_CONSUMER);
		fill(&p, (int)slots - 1);
		rf_ficm_recv(&c, out, 1);     /* head and tail both off zero */
		snprintf(name, sizeof(name), "ring-%u", slots);
		rc |= write_seed(dir, name, (unsigned char)sel, mem, len, sizeof(script));
		snprintf(name, sizeof(name), "ring-%u-mismatch-first", slots);
		rc |= write_seed(dir, name, (unsigned char)(sel | 4), mem, len, 0);
		free(mem);
	}
	struct rf_ficm_group g;
	size_t len = rf_ficm_group_size(2, 4);
	void *mem = aligned_alloc(RF_FICM_ALIGN, len);
	rf_ficm_group_create(&g, mem, len, 2, 4);
	rc |= write_seed(dir, "group-2x4", 0x81, mem, len, sizeof(script));
	free(mem);
	return rc ? 1 : 0;
}
