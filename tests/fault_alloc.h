/*
 * fault_alloc.h - allocation failures on demand for the cmocka programs linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (tests/CMakeLists.txt); define FA_WRAP_STRDUP
 * and FA_WRAP_OPEN_MEMSTREAM before including it when the program also wraps strdup and
 * open_memstream. It defines the wrappers: include it from one file of a program only.
 *
 * Armed (fa_countdown = k >= 0), the allocation after k others fails with errno ENOMEM, as the
 * C library's do; with fa_sticky set every later one fails too (the path that handles the
 * failure must finish without memory), else only that one does.
 */
#ifndef ST_FAULT_ALLOC_H
#define ST_FAULT_ALLOC_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static long fa_countdown = -1; /* allocations before the one that fails; -1: none fails */
static long fa_count;          /* allocations while armed */
static int fa_hit;             /* an armed allocation failed */
static int fa_sticky;          /* every allocation after the failing one fails too */

static inline int fa_fail(void)
{
    if (fa_countdown < 0)
        return 0;
    fa_count++;
    if (fa_countdown == 0) {
        fa_hit = 1;
        errno = ENOMEM;
        if (!fa_sticky)
            fa_countdown = -1;
        return 1;
    }
    fa_countdown--;
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return fa_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    return fa_fail() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fa_fail() ? NULL : __real_realloc(p, n);
}

#ifdef FA_WRAP_STRDUP
char *__real_strdup(const char *s);
char *__wrap_strdup(const char *s);
char *__wrap_strdup(const char *s)
{
    return fa_fail() ? NULL : __real_strdup(s);
}
#endif

#ifdef FA_WRAP_OPEN_MEMSTREAM
FILE *__real_open_memstream(char **buf, size_t *len);
FILE *__wrap_open_memstream(char **buf, size_t *len);
FILE *__wrap_open_memstream(char **buf, size_t *len)
{
    return fa_fail() ? NULL : __real_open_memstream(buf, len);
}
#endif

#endif /* ST_FAULT_ALLOC_H */
