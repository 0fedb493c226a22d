/*
 * pageheap.c - the page-span allocator over the partition's regions.
 *
 * Regions are rfd's memory chunks (multiples of 2 MiB), mapped 2 MiB
 * aligned.  Each 2 MiB segment starts with a 4 KiB header whose page map
 * sends any page to the first page of its span, so rf_free() finds a span
 * header from a bare pointer with two loads and no search or global table.
 * Per region a bitmap (stored in the region itself, right after segment 0's
 * header) records taken pages; a per-segment free count lets searches skip
 * full segments.  A span never crosses a segment boundary, except "huge"
 * spans that take whole segments (their pointer is in the first one, whose
 * header stays intact).
 *
 * Allocation scans regions from the lowest slot up, so higher-numbered
 * regions empty out and can be given back to rfd; each region counts its
 * pages in use, which is what reclaim checks.  One subOS-internal spinlock
 * guards it all: per-core allocators come here only to refill (a new
 * slab) or for large blocks, never per small allocation.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "librf/internal.h"

struct lrf_region lrf_regions[RF_MAX_REGIONS];
static uint64_t total_bytes, free_pages;   /* under heap_lock; read racy */

static inline void bit_set(uint64_t *b, uint64_t i) { b[i / 64] |= 1ull << (i % 64); }
static inline void bit_clr(uint64_t *b, uint64_t i) { b[i / 64] &= ~(1ull << (i % 64)); }
static inline bool bit_get(const uint64_t *b, uint64_t i) { return (b[i / 64] >> (i % 64)) & 1; }

static void seg_init(struct lrf_region *r, int slot, uint32_t s)
{
	struct lrf_seg *seg = (struct lrf_seg *)(r->base + (uint64_t)s * RF_SEG);

	seg->magic = RF_SEG_MAGIC;
	seg->region = (uint16_t)slot;
	bit_set(r->bitmap, (uint64_t)s * RF_SEG_PAGES);
	r->segfree[s] = RF_SEG_PAGES - 1;
}

int lrf_region_add(int slot, char *base, uint64_t size, uint32_t id, int fd)
{
	struct lrf_region *r = &lrf_regions[slot];
	uint64_t npages = size / RF_PAGE, meta;

	if (slot < 0 || slot >= RF_MAX_REGIONS || r->base || !size || size % RF_SEG ||
	    (uintptr_t)base % RF_SEG)
		return -1;
	meta = (npages / 64 + 1) * 8 + (size / RF_SEG) * 2;
	meta = (meta + RF_PAGE - 1) / RF_PAGE;
	if (meta + 1 >= RF_SEG_PAGES)
		return -1;  /* > ~60 GiB in one region: not supported */
	r->npages = (uint32_t)npages;
	r->nsegs = (uint32_t)(size / RF_SEG);
	r->meta_pages = (uint32_t)meta;
	r->bitmap = (uint64_t *)(base + RF_PAGE);
	r->segfree = (uint16_t *)(base + RF_PAGE + (npages / 64 + 1) * 8);
	memset(r->bitmap, 0, meta * RF_PAGE);
	r->base = base;
	for (uint32_t s = 0; s < r->nsegs; s++)
		seg_init(r, slot, s);
	for (uint64_t p = 1; p <= meta; p++)
		bit_set(r->bitmap, p);
	r->segfree[0] -= (uint16_t)meta;
	r->size = size;
	r->id = id;
	r->fd = fd;
	r->used_pages = 0;

	lrf_spin_lock(&lrf_g.heap_lock);
	r->active = true;
	total_bytes += size;
	free_pages += r->nsegs * (RF_SEG_PAGES - 1) - meta;
	lrf_spin_unlock(&lrf_g.heap_lock);
	return 0;
}

/* First run of n free pages in segment s (page 0 is the header), or -1. */
static int seg_find(const struct lrf_region *r, uint32_t s, uint32_t n)
{
	const uint64_t *w = r->bitmap + (uint64_t)s * (RF_SEG_PAGES / 64);
	uint32_t run = 0, start = 0;

	for (uint32_t i = 1; i < RF_SEG_PAGES;) {
		uint64_t word = w[i / 64];
		if (i % 64 == 0 && word == ~0ull) {
			run = 0;
			i += 64;
			continue;
		}
		if ((word >> (i % 64)) & 1) {
			run = 0;
		} else {
			if (!run)
				start = i;
			if (++run >= n)
				return (int)start;
		}
		i++;
	}
	return -1;
}

static void *take_run(struct lrf_region *r, int slot, uint32_t s, uint32_t first, uint32_t n,
		      uint32_t kind)
{
	struct lrf_seg *seg = (struct lrf_seg *)(r->base + (uint64_t)s * RF_SEG);
	struct lrf_span *sp = (struct lrf_span *)((char *)seg + (uint64_t)first * RF_PAGE);
	uint64_t base = (uint64_t)s * RF_SEG_PAGES;

	for (uint32_t i = first; i < first + n; i++) {
		bit_set(r->bitmap, base + i);
		seg->pagemap[i] = (uint16_t)first;
	}
	r->segfree[s] -= (uint16_t)n;
	r->used_pages += n;
	free_pages -= n;
	*sp = (struct lrf_span){ .kind = kind, .npages = n, .region = (uint16_t)slot };
	return sp;
}

static void *alloc_small_span(uint32_t n, uint32_t kind)
{
	for (int slot = 0; slot < RF_MAX_REGIONS; slot++) {
		struct lrf_region *r = &lrf_regions[slot];
		if (!r->active || r->npages - r->used_pages - r->meta_pages < n)
			continue;
		for (uint32_t s = 0; s < r->nsegs; s++) {
			int first;
			if (r->segfree[s] < n || (first = seg_find(r, s, n)) < 0)
				continue;
			return take_run(r, slot, s, (uint32_t)first, n, kind);
		}
	}
	return NULL;
}

/* A span of whole segments: starts after the first segment's header. */
static void *alloc_huge_span(uint32_t n, uint32_t kind)
{
	uint32_t nseg = (n + 1 + RF_SEG_PAGES - 1) / RF_SEG_PAGES;

	for (int slot = 0; slot < RF_MAX_REGIONS; slot++) {
		struct lrf_region *r = &lrf_regions[slot];
		uint32_t run = 0;
		if (!r->active)
			continue;
		for (uint32_t s = 0; s < r->nsegs; s++) {
			struct lrf_span *sp;
			run = r->segfree[s] == RF_SEG_PAGES - 1 ? run + 1 : 0;
			if (run < nseg)
				continue;
			s -= nseg - 1;
			sp = take_run(r, slot, s, 1, RF_SEG_PAGES - 1, kind);
			for (uint32_t k = 1; k < nseg; k++) {
				memset(r->bitmap + (uint64_t)(s + k) * (RF_SEG_PAGES / 64), 0xff,
				       RF_SEG_PAGES / 8);
				r->segfree[s + k] = 0;
			}
			r->used_pages += (uint64_t)(nseg - 1) * RF_SEG_PAGES;
			free_pages -= (uint64_t)(nseg - 1) * (RF_SEG_PAGES - 1);
			sp->npages = nseg * RF_SEG_PAGES - 1;
			sp->huge = 1;
			return sp;
		}
	}
	return NULL;
}

void *lrf_pages_alloc(uint32_t npages, uint32_t kind)
{
	void *p;

	lrf_spin_lock(&lrf_g.heap_lock);
	if (npages < RF_SEG_PAGES)
		p = alloc_small_span(npages, kind);
	else
		p = alloc_huge_span(npages, kind);
	lrf_spin_unlock(&lrf_g.heap_lock);
	return p;
}

static void free_huge(struct lrf_region *r, int slot, struct lrf_span *sp)
{
	uint32_t s = (uint32_t)(((char *)sp - r->base) / RF_SEG);
	uint32_t nseg = (sp->npages + 1) / RF_SEG_PAGES;

	for (uint32_t k = 0; k < nseg; k++) {
		memset(r->bitmap + (uint64_t)(s + k) * (RF_SEG_PAGES / 64), 0, RF_SEG_PAGES / 8);
		seg_init(r, slot, s + k);
	}
	r->used_pages -= sp->npages;
	free_pages += (uint64_t)nseg * (RF_SEG_PAGES - 1);
}

void lrf_pages_free(struct lrf_span *sp)
{
	int slot = sp->region;
	struct lrf_region *r = &lrf_regions[slot];
	uint64_t off = (uint64_t)((char *)sp - r->base);
	uint32_t s = (uint32_t)(off / RF_SEG);
	uint64_t first = off / RF_PAGE;

	lrf_spin_lock(&lrf_g.heap_lock);
	if (sp->huge) {
		free_huge(r, slot, sp);
	} else {
		for (uint64_t i = first; i < first + sp->npages; i++)
			bit_clr(r->bitmap, i);
		r->segfree[s] += (uint16_t)sp->npages;
		r->used_pages -= sp->npages;
		free_pages += sp->npages;
	}
	lrf_spin_unlock(&lrf_g.heap_lock);
}

struct lrf_span *lrf_span_of(const void *p)
{
	uintptr_t seg = (uintptr_t)p & ~(uintptr_t)(RF_SEG - 1);
	uint32_t page = (uint32_t)(((uintptr_t)p - seg) / RF_PAGE);
	const struct lrf_seg *h = (const struct lrf_seg *)seg;

	return (struct lrf_span *)(seg + (uintptr_t)h->pagemap[page] * RF_PAGE);
}

/* Take a region out of the allocator if nothing in it is in use.  The
 * caller unmaps it. */
int lrf_region_reclaim(int slot)
{
	struct lrf_region *r = &lrf_regions[slot];
	int ret = -1;

	lrf_spin_lock(&lrf_g.heap_lock);
	if (r->active && r->used_pages == 0) {
		r->active = false;
		total_bytes -= r->size;
		free_pages -= r->nsegs * (RF_SEG_PAGES - 1) - r->meta_pages;
		ret = 0;
	}
	lrf_spin_unlock(&lrf_g.heap_lock);
	return ret;
}

bool lrf_region_busy_check(int slot)
{
	return lrf_regions[slot].active && lrf_regions[slot].used_pages;
}

void lrf_regions_reset(void)
{
	for (int i = 0; i < RF_MAX_REGIONS; i++) {
		struct lrf_region *r = &lrf_regions[i];
		if (r->base)
			munmap(r->base, r->size);
		if (r->fd >= 0 && r->base)
			close(r->fd);
		memset(r, 0, sizeof(*r));
		r->fd = -1;
	}
	total_bytes = free_pages = 0;
}

uint64_t rf_mem_total(void)
{
	return __atomic_load_n(&total_bytes, __ATOMIC_RELAXED);
}

uint64_t rf_mem_free(void)
{
	return __atomic_load_n(&free_pages, __ATOMIC_RELAXED) * RF_PAGE;
}
