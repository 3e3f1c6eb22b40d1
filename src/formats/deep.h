/*
 * deep.h - counting NaN and Inf values in tensor bytes (stcheck --deep).
 */
#ifndef ST_DEEP_H
#define ST_DEEP_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ST_FK_NONE = 0, /* not a float type, or one without NaN/Inf (F4, F6) */
    ST_FK_F64,
    ST_FK_F32,
    ST_FK_C64, /* two F32 */
    ST_FK_F16,
    ST_FK_BF16,
    ST_FK_E5M2,   /* IEEE-like: 5-bit exponent, Inf and NaN */
    ST_FK_E4M3FN, /* no Inf; NaN is S.1111.111 */
    ST_FK_FNUZ,   /* E4M3FNUZ, E5M2FNUZ: no Inf; NaN is 0x80 only */
    ST_FK_E8M0,   /* exponent only: NaN is 0xFF */
} st_float_kind;

/* The kind of a safetensors dtype name, ST_FK_NONE for the rest and for NULL (no dtype). */
st_float_kind st_float_kind_of(const char *dtype);
/* Element size in bytes of a kind (0 for ST_FK_NONE). */
unsigned st_float_size(st_float_kind k);
/* Counts NaN and Inf among n whole elements at p (little-endian). */
void st_count_nan_inf(st_float_kind k, const unsigned char *p, size_t n, uint64_t *nan,
                      uint64_t *inf);

#endif /* ST_DEEP_H */
