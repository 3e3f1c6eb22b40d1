/*
 * checked.h - overflow-checked unsigned arithmetic.
 *
 * Every size, count and offset read from a file goes through these before use: a wrapped sum
 * is how a bounds check is bypassed. They return 0 on success and 1 on overflow, leaving *out
 * unspecified in the latter case.
 */
#ifndef ST_CHECKED_H
#define ST_CHECKED_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline int st_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out) ? 1 : 0;
}

static inline int st_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? 1 : 0;
}

/* Little-endian decoding, independent of host byte order. */
static inline uint64_t st_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Makes room for one more element in a growable array (*v of *cap elements of elem bytes, n in
 * use): doubles the capacity (first to first_cap) when full. 0, or -1 when out of memory or the
 * size would overflow, with the array unchanged. */
static inline int st_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first_cap)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap : first_cap, bytes;
    if (*cap && __builtin_mul_overflow(*cap, (size_t)2, &ncap))
        return -1;
    if (__builtin_mul_overflow(ncap, elem, &bytes))
        return -1;
    void *p = realloc(*(void **)v, bytes);
    if (p == NULL)
        return -1;
    *(void **)v = p;
    *cap = ncap;
    return 0;
}

#endif /* ST_CHECKED_H */
