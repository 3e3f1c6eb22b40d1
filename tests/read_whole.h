/*
 * read_whole.h - a whole file into memory, for the programs that replay or probe corpus files
 * (fuzz/replay.c, tests/corpus_probe.c, tests/test_mutants.c). No cmocka here: each caller
 * decides what a failure means.
 */
#ifndef ST_READ_WHOLE_H
#define ST_READ_WHOLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The file's bytes in a heap buffer with a NUL after them (not counted in *len); NULL when the
 * file cannot be opened or memory runs out (errno says which). */
static inline unsigned char *rw_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    unsigned char *buf = malloc(cap + 1);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *p = cap < SIZE_MAX / 4 ? realloc(buf, cap * 2 + 1) : NULL;
            if (p == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

#endif /* ST_READ_WHOLE_H */
