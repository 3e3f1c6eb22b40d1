/*
 * hash.h - FNV-1a (64-bit), the one non-cryptographic hash of the tree.
 *
 * Used where a hash only orders or finds things (hash sets of names, SARIF fingerprints), never
 * as a safety property: an input that makes names collide costs a probe, not a check.
 */
#ifndef ST_HASH_H
#define ST_HASH_H

#include <stddef.h>
#include <stdint.h>

#define ST_FNV1A64_INIT 0xcbf29ce484222325u

/* h carried over n bytes at p: start from ST_FNV1A64_INIT, chain parts by passing h on. */
static inline uint64_t st_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3u;
    return h;
}

#endif
