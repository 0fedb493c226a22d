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

struct rf_slab {
	struct rf_span span;
	uint32_t owner;          /* atomic: heap index */
	uint16_t cls, listed;
	uint32_t used, cap;
	void *free;              /* local free list */
	char *bump, *end;        /* never-used tail */
	struct rf_slab *next, *prev;
	struct rf_slab *adopt_next;
};
_Static_assert(sizeof(struct rf_slab) <= SLAB_HDR, "slab header too big");

struct adopt_msg {
	struct rf_msg m;
	struct rf_slab *chain;
	struct rf_heap *from;
};

static const uint32_t class_size[RF_NCLASS] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
	5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384,
};

struct rf_heap *rf_heaps[RF_MAX_CPUS + 1];
static struct rf_heap foreign_heap;

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

void rf_heap_init(struct rf_heap *h, uint32_t index)
{
	memset(h, 0, sizeof(*h));
	h->index = index;
	rf_heaps[index] = h;
}

/* ---- slab lists (owner only) --------------------------------------------- */

static void list_add(struct rf_slab_list *l, struct rf_slab *s)
{
	s->prev = NULL;
	s->next = l->head;
	if (l->head)
		l->head->prev = s;
	l->head = s;
}

static void list_del(struct rf_slab_list *l, struct rf_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static inline bool slab_full(const struct rf_slab *s)
{
	return !s->free && s->bump + class_size[s->cls] > s->end;
}

static struct rf_slab *slab_new(struct rf_heap *h, uint32_t cls)
{
	uint32_t pages = slab_pages(cls);
	struct rf_slab *s = rf_pages_alloc(pages, RF_SPAN_SLAB);

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

static void *slab_pop(struct rf_heap *h, struct rf_slab *s)
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

static void *heap_alloc(struct rf_heap *h, uint32_t cls)
{
	struct rf_slab *s = h->partial[cls].head;

	if (rf_likely(s != NULL))
		return slab_pop(h, s);
	if (__atomic_load_n(&h->remote, __ATOMIC_RELAXED)) {
		rf_heap_drain_remote(h);
		if ((s = h->partial[cls].head))
			return slab_pop(h, s);
	}
	s = slab_new(h, cls);
	return s ? slab_pop(h, s) : NULL;
}

static void free_local(struct rf_heap *h, struct rf_slab *s, void *p)
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
		rf_pages_free(&s->span);
	}
}

static void remote_push(struct rf_heap *h, void *p)
{
	void *old = __atomic_load_n(&h->remote, __ATOMIC_RELAXED);

	do {
		*(void **)p = old;
	} while (!__atomic_compare_exchange_n(&h->remote, &old, p, true,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Free p on heap h's thread: locally if h owns its slab, else forward. */
static void free_on(struct rf_heap *h, struct rf_slab *s, void *p)
{
	uint32_t owner = __atomic_load_n(&s->owner, __ATOMIC_ACQUIRE);

	if (owner == h->index)
		free_local(h, s, p);
	else
		remote_push(rf_heaps[owner], p);
}

int rf_heap_drain_remote(struct rf_heap *h)
{
	void *p = __atomic_exchange_n(&h->remote, NULL, __ATOMIC_ACQUIRE);
	int n = 0;

	while (p) {
		void *next = *(void **)p;
		free_on(h, (struct rf_slab *)rf_span_of(p), p);
		p = next;
		n++;
	}
	return n;
}

/* Give back every empty slab (used before a region reclaim and on leave). */
void rf_heap_trim(struct rf_heap *h)
{
	rf_heap_drain_remote(h);
	for (int c = 0; c < RF_NCLASS; c++) {
		struct rf_slab *s = h->partial[c].head;
		while (s) {
			struct rf_slab *next = s->next;
			if (s->used == 0) {
				list_del(&h->partial[c], s);
				rf_pages_free(&s->span);
			}
			s = next;
		}
	}
}

/* ---- leaving cores hand their slabs to an heir --------------------------- */

static struct rf_slab *unlist_all(struct rf_heap *h)
{
	struct rf_slab *chain = NULL;

	for (int c = 0; c < RF_NCLASS; c++) {
		struct rf_slab_list *lists[2] = { &h->partial[c], &h->full[c] };
		for (int k = 0; k < 2; k++) {
			while (lists[k]->head) {
				struct rf_slab *s = lists[k]->head;
				list_del(lists[k], s);
				s->listed = LIST_NONE;
				s->adopt_next = chain;
				chain = s;
			}
		}
	}
	return chain;
}

void rf_heap_give_away(struct rf_core *from, struct rf_core *to)
{
	struct rf_heap *h = from->heap;
	struct adopt_msg *am = rf_malloc(sizeof(*am));

	if (!am)
		return; /* keep the slabs; frees to them wait for our return */
	rf_heap_trim(h);
	am->chain = unlist_all(h);
	am->from = h;
	am->m.kind = RF_MSG_ADOPT;
	/* Only after every slab is off our lists may the heir touch them. */
	for (struct rf_slab *s = am->chain; s; s = s->adopt_next)
		__atomic_store_n(&s->owner, to->heap->index, __ATOMIC_RELEASE);
	rf_mbox_send(to, &am->m);
}

void rf_heap_adopt(struct rf_core *c, struct rf_msg *m)
{
	struct adopt_msg *am = (struct adopt_msg *)m;
	struct rf_heap *h = c->heap;
	struct rf_slab *s = am->chain;

	while (s) {
		struct rf_slab *next = s->adopt_next;
		s->adopt_next = NULL;
		if (s->used == 0) {
			rf_pages_free(&s->span);
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
		free_on(h, (struct rf_slab *)rf_span_of(p), p);
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
	s = rf_pages_alloc((uint32_t)pages, RF_SPAN_LARGE);
	return s ? s + RF_LARGE_HDR : NULL;
}

/* rf_self_tls is read directly here: nothing in the allocator switches
 * fibers, so the thread cannot change under us. */
void *rf_malloc(size_t n)
{
	struct rf_core *c = rf_self_tls;
	void *p;

	if (n > SMALL_MAX)
		return large_alloc(n);
	if (rf_likely(c != NULL))
		return heap_alloc(c->heap, size_class(n));
	rf_spin_lock(&rf_g.foreign_lock);
	if (!rf_heaps[RF_FOREIGN_HEAP])
		rf_heap_init(&foreign_heap, RF_FOREIGN_HEAP);
	p = heap_alloc(&foreign_heap, size_class(n));
	rf_spin_unlock(&rf_g.foreign_lock);
	return p;
}

void rf_free(void *p)
{
	struct rf_core *c = rf_self_tls;
	struct rf_span *sp;

	if (!p)
		return;
	sp = rf_span_of(p);
	if (sp->kind == RF_SPAN_LARGE) {
		rf_pages_free(sp);
		return;
	}
	if (rf_likely(c != NULL)) {
		free_on(c->heap, (struct rf_slab *)sp, p);
		return;
	}
	rf_spin_lock(&rf_g.foreign_lock);
	if (!rf_heaps[RF_FOREIGN_HEAP])
		rf_heap_init(&foreign_heap, RF_FOREIGN_HEAP);
	free_on(&foreign_heap, (struct rf_slab *)sp, p);
	rf_spin_unlock(&rf_g.foreign_lock);
}

static size_t usable_size(void *p)
{
	struct rf_span *sp = rf_span_of(p);

	if (sp->kind == RF_SPAN_LARGE)
		return (size_t)sp->npages * RF_PAGE - RF_LARGE_HDR;
	return class_size[((struct rf_slab *)sp)->cls];
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

void rf_alloc_reset(void)
{
	memset(rf_heaps, 0, sizeof(rf_heaps));
	memset(&foreign_heap, 0, sizeof(foreign_heap));
}
