/* Allocation expiry as a binary min-heap on expires: O(log n) insert,
 * remove and update, O(1) peek. Each allocation knows its heap index. */
#include <errno.h>
#include <stdlib.h>

#include "turn/turn_int.h"

static void heap_swap(struct turn_srv *srv, size_t i, size_t j)
{
	struct turn_alloc *t = srv->heap[i];
	srv->heap[i] = srv->heap[j];
	srv->heap[j] = t;
	srv->heap[i]->heap_idx = i;
	srv->heap[j]->heap_idx = j;
}

static void heap_up(struct turn_srv *srv, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (srv->heap[parent]->expires <= srv->heap[i]->expires)
			break;
		heap_swap(srv, i, parent);
		i = parent;
	}
}

static void heap_down(struct turn_srv *srv, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < srv->nheap && srv->heap[l]->expires < srv->heap[m]->expires)
			m = l;
		if (r < srv->nheap && srv->heap[r]->expires < srv->heap[m]->expires)
			m = r;
		if (m == i)
			return;
		heap_swap(srv, i, m);
		i = m;
	}
}

int turn_heap_push(struct turn_srv *srv, struct turn_alloc *a)
{
	if (srv->nheap == srv->capheap) {
		size_t cap = srv->capheap ? srv->capheap * 2 : 64;
		struct turn_alloc **h = realloc(srv->heap, cap * sizeof(*h));
		if (!h)
			return ENOMEM;
		srv->heap = h;
		srv->capheap = cap;
	}
	a->heap_idx = srv->nheap;
	srv->heap[srv->nheap++] = a;
	heap_up(srv, a->heap_idx);
	return 0;
}

void turn_heap_remove(struct turn_srv *srv, struct turn_alloc *a)
{
	size_t i = a->heap_idx;
	if (i >= srv->nheap || srv->heap[i] != a)
		return;
	srv->nheap--;
	if (i == srv->nheap)
		return;
	struct turn_alloc *moved = srv->heap[srv->nheap];
	srv->heap[i] = moved;
	moved->heap_idx = i;
	heap_up(srv, i);
	heap_down(srv, moved->heap_idx);
}

void turn_heap_fix(struct turn_srv *srv, struct turn_alloc *a)
{
	heap_up(srv, a->heap_idx);
	heap_down(srv, a->heap_idx);
}
