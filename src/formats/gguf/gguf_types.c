/*
 * gguf_types.c - the ggml tensor type table: name, elements per block and bytes per block.
 *
 * Follows ggml's type_traits[] (src/ggml.c) and the block structs of src/ggml-common.h at
 * ggml-org/ggml d99724f2 (2026-08-21), GGML_TYPE_COUNT = 43. Removed ids (Q4_2, Q4_3, the
 * Q4_0_x_y and IQ4_NL_x_y repackings) have block size 0 there, which gguf_init_from_file refuses
 * ("not a multiple of block size (0)"); the table keeps them so messages can name them. Where
 * another reader's table differs (@huggingface/gguf's Q8_1), ggml's is the reference.
 */
#include "gguf.h"

#define QK_K 256u

static const st_gguf_type types[] = {
    /* 0 */ {"F32", 1, 4, ST_FK_F32},
    /* 1 */ {"F16", 1, 2, ST_FK_F16},
    /* 2 */ {"Q4_0", 32, 18, ST_FK_NONE},
    /* 3 */ {"Q4_1", 32, 20, ST_FK_NONE},
    /* 4 */ {"Q4_2 (removed)", 0, 0, ST_FK_NONE},
    /* 5 */ {"Q4_3 (removed)", 0, 0, ST_FK_NONE},
    /* 6 */ {"Q5_0", 32, 22, ST_FK_NONE},
    /* 7 */ {"Q5_1", 32, 24, ST_FK_NONE},
    /* 8 */ {"Q8_0", 32, 34, ST_FK_NONE},
    /* 9 */ {"Q8_1", 32, 36, ST_FK_NONE}, /* two halves + 32 quants */
    /* 10 */ {"Q2_K", QK_K, 84, ST_FK_NONE},
    /* 11 */ {"Q3_K", QK_K, 110, ST_FK_NONE},
    /* 12 */ {"Q4_K", QK_K, 144, ST_FK_NONE},
    /* 13 */ {"Q5_K", QK_K, 176, ST_FK_NONE},
    /* 14 */ {"Q6_K", QK_K, 210, ST_FK_NONE},
    /* 15 */ {"Q8_K", QK_K, 292, ST_FK_NONE},
    /* 16 */ {"IQ2_XXS", QK_K, 66, ST_FK_NONE},
    /* 17 */ {"IQ2_XS", QK_K, 74, ST_FK_NONE},
    /* 18 */ {"IQ3_XXS", QK_K, 98, ST_FK_NONE},
    /* 19 */ {"IQ1_S", QK_K, 50, ST_FK_NONE},
    /* 20 */ {"IQ4_NL", 32, 18, ST_FK_NONE},
    /* 21 */ {"IQ3_S", QK_K, 110, ST_FK_NONE},
    /* 22 */ {"IQ2_S", QK_K, 82, ST_FK_NONE},
    /* 23 */ {"IQ4_XS", QK_K, 136, ST_FK_NONE},
    /* 24 */ {"I8", 1, 1, ST_FK_NONE},
    /* 25 */ {"I16", 1, 2, ST_FK_NONE},
    /* 26 */ {"I32", 1, 4, ST_FK_NONE},
    /* 27 */ {"I64", 1, 8, ST_FK_NONE},
    /* 28 */ {"F64", 1, 8, ST_FK_F64},
    /* 29 */ {"IQ1_M", QK_K, 56, ST_FK_NONE},
    /* 30 */ {"BF16", 1, 2, ST_FK_BF16},
    /* 31 */ {"Q4_0_4_4 (removed)", 0, 0, ST_FK_NONE},
    /* 32 */ {"Q4_0_4_8 (removed)", 0, 0, ST_FK_NONE},
    /* 33 */ {"Q4_0_8_8 (removed)", 0, 0, ST_FK_NONE},
    /* 34 */ {"TQ1_0", QK_K, 54, ST_FK_NONE},
    /* 35 */ {"TQ2_0", QK_K, 66, ST_FK_NONE},
    /* 36 */ {"IQ4_NL_4_4 (removed)", 0, 0, ST_FK_NONE},
    /* 37 */ {"IQ4_NL_4_8 (removed)", 0, 0, ST_FK_NONE},
    /* 38 */ {"IQ4_NL_8_8 (removed)", 0, 0, ST_FK_NONE},
    /* 39 */ {"MXFP4", 32, 17, ST_FK_NONE},
    /* 40 */ {"NVFP4", 64, 36, ST_FK_NONE},
    /* 41 */ {"Q1_0", 128, 18, ST_FK_NONE},
    /* 42 */ {"Q2_0", 64, 18, ST_FK_NONE},
};

const st_gguf_type *st_gguf_type_get(uint32_t t)
{
    return t < sizeof(types) / sizeof(types[0]) ? &types[t] : NULL;
}

uint32_t st_gguf_type_count(void)
{
    return (uint32_t)(sizeof(types) / sizeof(types[0]));
}
