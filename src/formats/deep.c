/*
 * deep.c - NaN and Inf among float tensor elements, by exponent bit patterns (no float
 * arithmetic: signalling NaNs and every encoding are counted exactly).
 *
 * Loops are written over fixed-width little-endian loads so compilers vectorise them; a tensor
 * is streamed through here in chunks by the safetensors module.
 */
#include "deep.h"

#include <string.h>

st_float_kind st_float_kind_of(const char *d)
{
    static const struct {
        const char *name;
        st_float_kind k;
    } t[] = {{"F64", ST_FK_F64},        {"F32", ST_FK_F32},          {"C64", ST_FK_C64},
             {"F16", ST_FK_F16},        {"BF16", ST_FK_BF16},        {"F8_E5M2", ST_FK_E5M2},
             {"F8_E4M3", ST_FK_E4M3FN}, {"F8_E4M3FNUZ", ST_FK_FNUZ}, {"F8_E5M2FNUZ", ST_FK_FNUZ},
             {"F8_E8M0", ST_FK_E8M0}};
    if (d == NULL) /* a tensor without a known dtype */
        return ST_FK_NONE;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(d, t[i].name) == 0)
            return t[i].k;
    return ST_FK_NONE;
}

unsigned st_float_size(st_float_kind k)
{
    switch (k) {
    case ST_FK_F64:
    case ST_FK_C64:
        return 8;
    case ST_FK_F32:
        return 4;
    case ST_FK_F16:
    case ST_FK_BF16:
        return 2;
    case ST_FK_E5M2:
    case ST_FK_E4M3FN:
    case ST_FK_FNUZ:
    case ST_FK_E8M0:
        return 1;
    default:
        return 0;
    }
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* IEEE-style: exponent field all ones; mantissa zero is Inf, else NaN. */
static void ieee32(const unsigned char *p, size_t n, uint64_t *nan, uint64_t *inf)
{
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = le32(p + 4 * i) & 0x7fffffffu;
        a += v > 0x7f800000u;
        b += v == 0x7f800000u;
    }
    *nan += a;
    *inf += b;
}

static void ieee64(const unsigned char *p, size_t n, uint64_t *nan, uint64_t *inf)
{
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = le64(p + 8 * i) & 0x7fffffffffffffffu;
        a += v > 0x7ff0000000000000u;
        b += v == 0x7ff0000000000000u;
    }
    *nan += a;
    *inf += b;
}

/* 16-bit formats: F16 (exponent 0x7c00) and BF16 (0x7f80). */
static void ieee16(const unsigned char *p, size_t n, uint16_t exp, uint64_t *nan, uint64_t *inf)
{
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)((p[2 * i] | p[2 * i + 1] << 8) & 0x7fff);
        a += v > exp;
        b += v == exp;
    }
    *nan += a;
    *inf += b;
}

void st_count_nan_inf(st_float_kind k, const unsigned char *p, size_t n, uint64_t *nan,
                      uint64_t *inf)
{
    uint64_t a = 0, b = 0;
    switch (k) {
    case ST_FK_F64:
        ieee64(p, n, nan, inf);
        return;
    case ST_FK_F32:
        ieee32(p, n, nan, inf);
        return;
    case ST_FK_C64:
        ieee32(p, 2 * n, nan, inf);
        return;
    case ST_FK_F16:
        ieee16(p, n, 0x7c00, nan, inf);
        return;
    case ST_FK_BF16:
        ieee16(p, n, 0x7f80, nan, inf);
        return;
    case ST_FK_E5M2:
        for (size_t i = 0; i < n; i++) {
            unsigned v = p[i] & 0x7f;
            a += v > 0x7c;
            b += v == 0x7c;
        }
        break;
    case ST_FK_E4M3FN:
        for (size_t i = 0; i < n; i++)
            a += (p[i] & 0x7f) == 0x7f;
        break;
    case ST_FK_FNUZ:
        for (size_t i = 0; i < n; i++)
            a += p[i] == 0x80;
        break;
    case ST_FK_E8M0:
        for (size_t i = 0; i < n; i++)
            a += p[i] == 0xff;
        break;
    default:
        return;
    }
    *nan += a;
    *inf += b;
}
