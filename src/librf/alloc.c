/*
 * alloc.c - rf_malloc and friends: per-core size-class heaps.
 *
 * Small sizes (<= 16 KiB) come from slabs: page spans cut into objects of
 * one size class and owned by one heap (one per core, plus one locked heap
 * for foreign threads).  The owner allocates and frees with no atomics; a
 * free from any other core pushes the object onto the owner heap's
 * "remote" LIFO with one CAS, and the owner takes the whole list in its
 * scheduler loop.  No lock is ever shared by all cores on this path; the
 * page heap's lock is taken only to get or return a whole slab, and for
 * large blocks, which are page spans with a 64-byte header.
 *
 * When a core leaves, its heap hands every slab to the heir core: it sets
 * each slab's owner to the heir and sends the list in an RF_MSG_ADOPT
 * message.  Frees in flight stay correct because whoever drains a remote
 * list re-checks each object's owner and forwards it if it moved.
 */
#include <stdlib.h>
#include <string.h>
#include "librf/internal.h"

#define SLAB_HDR     128u
#define SMALL_MAX    16384u
enum { LIST_NONE = 0, LIST_PARTIAL = 1, LIST_FULL = 2 };

struct lrf_slab {
	struct lrf_span span;
	uint32_t owner;          /* atomic: heap index */
	uint16_t cls, listed;
	uint32_t used, cap;
	void *free;              /* local free list */
	char *bump, *end;        /* never-used tail */
	struct lrf_slab *next, *prev;
	struct lrf_slab *adopt_next;
};
_Static_assert(sizeof(struct lrf_slab) <= SLAB_HDR, "slab header too big");

struct adopt_msg {
	struct lrf_msg m;
	struct lrf_slab *chain;
	struct lrf_heap *from;
};

static const uint32_t class_size[RF_NCLASS] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
	5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384,
};

struct lrf_heap *lrf_heaps[RF_MAX_CPUS + 1];
static struct lrf_heap foreign_heap;

static inline uint32_t size_class(size_t n)
{
	uint32_t b;

	if (n <= 128)
		return n ? (uint32_t)(n + 15) / 16 - 1 : 0;
	b = 63 - (uint32_t)__builtin_clzll(n - 1);
	return 8 + (b - 7) * 4 + (uint32_t)((n - 1 - (1ull << b)) >> (b - 2));
}

static inline uint32_t slab_pages(uint32_t cls)
{
	return class_size[cls] <= 1024 ? 16 : 64;
}

void lrf_heap_init(struct lrf_heap *h, uint32_t index)
{
	memset(h, 0, sizeof(*h));
	h->index = index;
	lrf_heaps[index] = h;
}

/* ---- slab lists (owner only) --------------------------------------------- */

static void list_add(struct lrf_slab_list *l, struct lrf_slab *s)
{
	s->prev = NULL;
	s->next = l->head;
	if (l->head)
		l->head->prev = s;
	l->head = s;
}

static void list_del(struct lrf_slab_list *l, struct lrf_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static inline bool slab_full(const struct lrf_slab *s)
{
	return !s->free && s->bump + class_size[s->cls] > s->end;
}

static struct lrf_slab *slab_new(struct lrf_heap *h, uint32_t cls)
{
	uint32_t pages = slab_pages(cls);
	struct lrf_slab *s = lrf_pages_alloc(pages, RF_SPAN_SLAB);

	if (!s)
		return NULL;
	s->owner = h->index;
	s->cls = (uint16_t)cls;
	s->used = 0;
	s->cap = (pages * RF_PAGE - SLAB_HDR) / class_size[cls];
	s->free = NULL;
	s->bump = (char *)s + SLAB_HDR;
	s->end = (char *)s + pages * RF_PAGE;
	s->listed = LIST_PARTIAL;
	s->adopt_next = NULL;
	list_add(&h->partial[cls], s);
	return s;
}

/* ---- owner-side allocate and free ---------------------------------------- */

static void *slab_pop(struct lrf_heap *h, struct lrf_slab *s)
{
	void *p;

	if (s->free) {
		p = s->free;
		s->free = *(void **)p;
	} else {
		p = s->bump;
		s->bump += class_size[s->cls];
	}
	s->used++;
	if (slab_full(s)) {
		list_del(&h->partial[s->cls], s);
		list_add(&h->full[s->cls], s);
		s->listed = LIST_FULL;
	}
	return p;
}

static void *heap_alloc(struct lrf_heap *h, uint32_t cls)
{
	struct lrf_slab *s = h->partial[cls].head;

	if (rf_likely(s != NULL))
		return slab_pop(h, s);
	if (__atomic_load_n(&h->remote, __ATOMIC_RELAXED)) {
		lrf_heap_drain_remote(h);
		if ((s = h->partial[cls].head))
			return slab_pop(h, s);
	}
	s = slab_new(h, cls);
	return s ? slab_pop(h, s) : NULL;
}

static void free_local(struct lrf_heap *h, struct lrf_slab *s, void *p)
{
	*(void **)p = s->free;
	s->free = p;
	s->used--;
	if (s->listed == LIST_FULL) {
		list_del(&h->full[s->cls], s);
		list_add(&h->partial[s->cls], s);
		s->listed = LIST_PARTIAL;
	}
	/* Keep one empty slab per class to avoid thrashing the page heap. */
	if (s->used == 0 && s->listed == LIST_PARTIAL && (s->next || s->prev)) {
		list_del(&h->partial[s->cls], s);
		lrf_pages_free(&s->span);
	}
}

static void remote_push(struct lrf_heap *h, void *p)
{
	void *old = __atomic_load_n(&h->remote, __ATOMIC_RELAXED);

	do {
		*(void **)p = old;
	} while (!__atomic_compare_exchange_n(&h->remote, &old, p, true,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Free p on heap h's thread: locally if h owns its slab, else forward. */
static void free_on(struct lrf_heap *h, struct lrf_slab *s, void *p)
{
	uint32_t owner = __atomic_load_n(&s->owner, __ATOMIC_ACQUIRE);

	if (owner == h->index)
		free_local(h, s, p);
	else
		remote_push(lrf_heaps[owner], p);
}

int lrf_heap_drain_remote(struct lrf_heap *h)
{
	void *p = __atomic_exchange_n(&h->remote, NULL, __ATOMIC_ACQUIRE);
	int n = 0;

	while (p) {
		void *next = *(void **)p;
		free_on(h, (struct lrf_slab *)lrf_span_of(p), p);
		p = next;
		n++;
	}
	return n;
}

/* Give back every empty slab (used before a region reclaim and on leave). */
void lrf_heap_trim(struct lrf_heap *h)
{
	lrf_heap_drain_remote(h);
	for (int c = 0; c < RF_NCLASS; c++) {
		struct lrf_slab *s = h->partial[c].head;
		while (s) {
			struct lrf_slab *next = s->next;
			if (s->used == 0) {
				list_del(&h->partial[c], s);
				lrf_pages_free(&s->span);
			}
			s = next;
		}
	}
}

/* ---- leaving cores hand their slabs to an heir --------------------------- */

static struct lrf_slab *unlist_all(struct lrf_heap *h)
{
	struct lrf_slab *chain = NULL;

	for (int c = 0; c < RF_NCLASS; c++) {
		struct lrf_slab_list *lists[2] = { &h->partial[c], &h->full[c] };
		for (int k = 0; k < 2; k++) {
			while (lists[k]->head) {
				struct lrf_slab *s = lists[k]->head;
				list_del(lists[k], s);
				s->listed = LIST_NONE;
				s->adopt_next = chain;
				chain = s;
			}
		}
	}
	return chain;
}

void lrf_heap_give_away(struct lrf_core *from, struct lrf_core *to)
{
	struct lrf_heap *h = from->heap;
	struct adopt_msg *am = rf_malloc(sizeof(*am));

	if (!am)
		return; /* keep the slabs; frees to them wait for our return */
	lrf_heap_trim(h);
	am->chain = unlist_all(h);
	am->from = h;
	am->m.kind = RF_MSG_ADOPT;
	/* Only after every slab is off our lists may the heir touch them. */
	for (struct lrf_slab *s = am->chain; s; s = s->adopt_next)
		__atomic_store_n(&s->owner, to->heap->index, __ATOMIC_RELEASE);
	lrf_mbox_send(to, &am->m);
}

void lrf_heap_adopt(struct lrf_core *c, struct lrf_msg *m)
{
	struct adopt_msg *am = (struct adopt_msg *)m;
	struct lrf_heap *h = c->heap;
	struct lrf_slab *s = am->chain;

	while (s) {
		struct lrf_slab *next = s->adopt_next;
		s->adopt_next = NULL;
		if (s->used == 0) {
			lrf_pages_free(&s->span);
		} else if (slab_full(s)) {
			s->listed = LIST_FULL;
			list_add(&h->full[s->cls], s);
		} else {
			s->listed = LIST_PARTIAL;
			list_add(&h->partial[s->cls], s);
		}
		s = next;
	}
	/* Frees that reached the old owner late: forward them now. */
	for (void *p = __atomic_exchange_n(&am->from->remote, NULL, __ATOMIC_ACQUIRE), *next;
	     p; p = next) {
		next = *(void **)p;
		free_on(h, (struct lrf_slab *)lrf_span_of(p), p);
	}
	rf_free(am);
}

/* ---- the public calls ---------------------------------------------------- */

static void *large_alloc(size_t n)
{
	uint64_t pages = (n + RF_LARGE_HDR + RF_PAGE - 1) / RF_PAGE;
	char *s;

	if (n > (1ull << 40))
		return NULL;
	s = lrf_pages_alloc((uint32_t)pages, RF_SPAN_LARGE);
	return s ? s + RF_LARGE_HDR : NULL;
}

/* lrf_self_tls is read directly here: nothing in the allocator switches
 * fibers, so the thread cannot change under us. */
void *rf_malloc(size_t n)
{
	struct lrf_core *c = lrf_self_tls;
	void *p;

	if (n > SMALL_MAX)
		return large_alloc(n);
	if (rf_likely(c != NULL))
		return heap_alloc(c->heap, size_class(n));
	lrf_spin_lock(&lrf_g.foreign_lock);
	if (!lrf_heaps[RF_FOREIGN_HEAP])
		lrf_heap_init(&foreign_heap, RF_FOREIGN_HEAP);
	p = heap_alloc(&foreign_heap, size_class(n));
	lrf_spin_unlock(&lrf_g.foreign_lock);
	return p;
}

void rf_free(void *p)
{
	struct lrf_core *c = lrf_self_tls;
	struct lrf_span *sp;

	if (!p)
		return;
	sp = lrf_span_of(p);
	if (sp->kind == RF_SPAN_LARGE) {
		lrf_pages_free(sp);
		return;
	}
	if (rf_likely(c != NULL)) {
		free_on(c->heap, (struct lrf_slab *)sp, p);
		return;
	}
	lrf_spin_lock(&lrf_g.foreign_lock);
	if (!lrf_heaps[RF_FOREIGN_HEAP])
		lrf_heap_init(&foreign_heap, RF_FOREIGN_HEAP);
	free_on(&foreign_heap, (struct lrf_slab *)sp, p);
	lrf_spin_unlock(&lrf_g.foreign_lock);
}

static size_t usable_size(void *p)
{
	struct lrf_span *sp = lrf_span_of(p);

	if (sp->kind == RF_SPAN_LARGE)
		return (size_t)sp->npages * RF_PAGE - RF_LARGE_HDR;
	return class_size[((struct lrf_slab *)sp)->cls];
}

void *rf_realloc(void *p, size_t n)
{
	size_t have;
	void *q;

	if (!p)
		return rf_malloc(n);
	if (!n) {
		rf_free(p);
		return NULL;
	}
	have = usable_size(p);
	if (n <= have)
		return p;
	q = rf_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, have);
	rf_free(p);
	return q;
}

void *rf_calloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	p = rf_malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

void lrf_alloc_reset(void)
{
	memset(lrf_heaps, 0, sizeof(lrf_heaps));
	memset(&foreign_heap, 0, sizeof(foreign_heap));
}
