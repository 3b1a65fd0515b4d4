/*
 * Arenas: many small strings that live and die together (a snapshot's file
 * bodies), freed all at once. Past the first 2 MiB they are copied into a
 * few big chunks: a malloc per string then costs more in bookkeeping, and
 * in page faults on fresh memory, than the copies themselves.
 */
#ifndef DSQL_CORE_ARENA_H
#define DSQL_CORE_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

/* An all-zero arena ({0}) is empty and ready to use. */
typedef struct arena {
	arena_chunk *chunks; /* every chunk, for arena_free */
	char *next, *end;    /* the free space of the chunk being filled */
	size_t grow;         /* the size of the next chunk */
	size_t total;        /* bytes in chunks so far */
} arena;

/* A NUL-terminated copy of the len bytes at s, valid until arena_free;
 * NULL when out of memory. */
char *arena_strndup(arena *a, const char *s, size_t len);
/* Frees every chunk; the arena is empty again. */
void arena_free(arena *a);

/* size bytes for one big array (a snapshot's file list), from the same
 * place as the big chunks: mapped on huge pages where the system has them
 * when size is 2 MiB or more, else malloc'd. Free it with arena_block_free
 * and the same size. NULL when out of memory. */
void *arena_block_alloc(size_t size);
/* Frees a block of size bytes; NULL-safe. */
void arena_block_free(void *block, size_t size);

#endif
