/*
 * Arenas: bump allocation in chunks that grow with the arena, so a small
 * snapshot stays small and a million files take a couple of dozen chunks.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

/* Strings are malloc'd one by one until the arena holds HUGE_PAGE bytes;
 * then they go in chunks that double from HUGE_PAGE to LAST_CHUNK. A small
 * snapshot's strings come back from malloc's free lists as they did before
 * the arena: with chunks of 4 to 256 KiB instead, glibc gave their memory
 * back to the system at every free (its heap went down and up again with
 * each load) and a 1,000-file snapshot took four times as long to load
 * again, faulting its pages in. */
#define HUGE_PAGE ((size_t)2 * 1024 * 1024)
#define LAST_CHUNK ((size_t)32 * 1024 * 1024)

#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE)
#define HAVE_HUGE_PAGES 1
#endif

/* The header at the start of each chunk; its strings follow it. */
struct arena_chunk {
	arena_chunk *next;
	size_t size; /* bytes, the header included */
};

#ifdef HAVE_HUGE_PAGES
/* The length a block of size bytes is mapped with: whole huge pages, so
 * that every munmap below starts and ends on a page boundary. */
static size_t mapped_length(size_t size)
{
	return (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
}

/* Memory on 2 MiB boundaries, advised to use transparent huge pages: first
 * touching fresh memory then costs a page fault per 2 MiB instead of per
 * 4 KiB, which on some machines is most of a big snapshot's load time.
 * Without huge pages it is ordinary memory. */
static void *map(size_t size)
{
	size_t len, before;

	size = mapped_length(size);
	len = size + HUGE_PAGE;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	before = (HUGE_PAGE - (uintptr_t)p % HUGE_PAGE) % HUGE_PAGE;
	if (before)
		munmap(p, before);
	munmap(p + before + size, len - before - size);
	madvise(p + before, size, MADV_HUGEPAGE);
	return p + before;
}
#endif

/* Blocks of 2 MiB and more are always mapped (never malloc'd), so that
 * arena_block_free can tell from the size alone how to free one. */
void *arena_block_alloc(size_t size)
{
#ifdef HAVE_HUGE_PAGES
	if (size >= HUGE_PAGE)
		return size <= SIZE_MAX - 2 * HUGE_PAGE ? map(size) : NULL;
#endif
	return malloc(size);
}

void arena_block_free(void *block, size_t size)
{
#ifdef HAVE_HUGE_PAGES
	if (block && size >= HUGE_PAGE) {
		munmap(block, mapped_length(size));
		return;
	}
#endif
	(void)size;
	free(block);
}

static arena_chunk *chunk_new(arena *a, size_t size)
{
	arena_chunk *c = arena_block_alloc(size);

	if (!c)
		return NULL;
	c->size = size;
	c->next = a->chunks;
	a->chunks = c;
	a->total += size;
	return c;
}

/* n bytes from a new chunk. A string bigger than a quarter of the next
 * chunk gets a chunk of its own, so that the free space of the one being
 * filled is not given up for it. */
static char *alloc_slow(arena *a, size_t n)
{
	size_t size = a->grow ? a->grow : HUGE_PAGE;
	arena_chunk *c;

	if (n > SIZE_MAX - sizeof(*c))
		return NULL;
	if (a->total < HUGE_PAGE || n > size / 4)
		return (c = chunk_new(a, sizeof(*c) + n)) ? (char *)(c + 1) : NULL;
	if (!(c = chunk_new(a, size)))
		return NULL;
	a->grow = size < LAST_CHUNK ? size * 2 : LAST_CHUNK;
	a->next = (char *)(c + 1) + n;
	a->end = (char *)c + size;
	return (char *)(c + 1);
}

static char *alloc(arena *a, size_t n)
{
	char *p = a->next;

	if (!p || n > (size_t)(a->end - p))
		return alloc_slow(a, n);
	a->next += n;
	return p;
}

char *arena_strndup(arena *a, const char *s, size_t len)
{
	char *p = len < SIZE_MAX ? alloc(a, len + 1) : NULL;

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

void arena_free(arena *a)
{
	arena_chunk *c = a->chunks, *next;

	for (; c; c = next) {
		next = c->next;
		arena_block_free(c, c->size);
	}
	memset(a, 0, sizeof(*a));
}
