/*
 * mkseed_rfloop_ring.c - writes the seed corpus of fuzz_rfloop_ring: valid
 * region headers (both ring sizes, both directions, a formatted region
 * without an image, a region shorter than its header says) followed by a
 * script in which a well-behaved peer streams data both ways and then
 * corrupts an index.  Run once when the region layout changes (RFL_ABI),
 * and commit the result:
 *
 *   cc -std=gnu11 -Iinclude -Isrc -o build/mkseed_rfloop fuzz/mkseed_rfloop_ring.c \
 *      src/rfloop/ring.c
 *   build/mkseed_rfloop fuzz/corpus/fuzz_rfloop_ring
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rfloop/ring.h"

/* op, arg, off (2 bytes), val (8 bytes): see fuzz_rfloop_ring.c */
static const unsigned char script[][12] = {
	{ 7, 0, 0, 0, 100 },                 /* the peer publishes 100 bytes */
	{ 4 },                               /* ready */
	{ 2, 1, 64, 0, 128 },                /* read 64 into one iovec of 128 */
	{ 2, 0x84, 0, 1, 16, 0, 200 },       /* peek up to 256 into 16 + 200 */
	{ 3, 0, 0, 1 },                      /* skip the rest */
	{ 5, 2, 0, 16, 0, 8, 0, 8 },         /* write 2048 + 2048, at most 4096 */
	{ 6 },                               /* space, take the arm */
	{ 7, 1 },                            /* the peer consumes it */
	{ 5, 1, 0xff, 0xff, 0, 16 },         /* write 4096: wraps around */
	{ 7, 0, 0, 0, 0xff, 0x0f },          /* the peer publishes 4095 bytes */
	{ 2, 3, 0xff, 0xff, 0, 4, 0, 4, 0xff, 3 },   /* read across the end */
	{ 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },  /* tail: wild */
	{ 2, 1, 64, 0, 128 },                /* read: corrupt from now on */
	{ 1, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 },       /* dir 1 head: behind */
	{ 6 },
};

static int save(const char *dir, const char *name, unsigned char mode, const void *img,
		size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(&mode, 1, 1, f);
	fwrite(img, 1, len, f);
	fwrite(script, 1, sizeof(script), f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	const size_t hdr = sizeof(struct rfl_hdr);
	int rc = 0;
	void *mem = aligned_alloc(128, rfl_region_size(2 * RFL_SIZE_MIN));
	if (!mem)
		return 1;
	rfl_region_format(mem, rfl_region_size(RFL_SIZE_MIN), RFL_SIZE_MIN);
	rc |= save(dir, "size-4096-dir0", 2, mem, hdr);
	rc |= save(dir, "size-4096-dir1", 2 | 4, mem, hdr);
	rc |= save(dir, "too-short", 1, mem, hdr);   /* 12160 bytes for a 12288 one */
	rfl_region_format(mem, rfl_region_size(2 * RFL_SIZE_MIN), 2 * RFL_SIZE_MIN);
	rc |= save(dir, "size-8192-dir0", 3, mem, hdr);
	rc |= save(dir, "formatted", 2 | 8, mem, 0);
	free(mem);
	return rc ? 1 : 0;
}
