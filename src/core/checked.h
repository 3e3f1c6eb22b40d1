/*
 * checked.h - overflow-checked unsigned arithmetic.
 *
 * Every size, count and offset read from a file goes through these before use: a wrapped sum
 * is how a bounds check is bypassed. They return 0 on success and 1 on overflow, leaving *out
 * unspecified in the latter case.
 */
#ifndef ST_CHECKED_H
#define ST_CHECKED_H

#include <stdint.h>

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

#endif /* ST_CHECKED_H */
