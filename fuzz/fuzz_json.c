/*
 * fuzz_json.c - the strict JSON scanner alone: every token of any byte string, with the
 * invariants the safetensors module relies on checked on each token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "json/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_token(const st_json_tok *t, size_t size)
{
    if (t->off > size || t->len > size - t->off)
        abort();
    if (t->type == ST_JT_KEY || t->type == ST_JT_STRING) {
        /* Unescaped text is never longer than its raw form and is valid UTF-8. */
        if (t->str_len + 2 > t->len)
            abort();
        for (size_t i = 0; i < t->str_len;) {
            size_t n = st_utf8_seq_len((const unsigned char *)t->str + i, t->str_len - i);
            if (n == 0)
                abort();
            i += n;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_json *j = st_json_new(data, size, 32);
    if (j == NULL)
        return 0;
    st_json_tok t;
    size_t tokens = 0;
    while (st_json_next(j, &t) == ST_JSON_OK) {
        check_token(&t, size);
        if (t.type == ST_JT_END)
            break;
        if (++tokens > size + 1) /* every token consumes at least one byte */
            abort();
    }
    if (st_json_error_offset(j) > size)
        abort();
    st_json_free(j);
    return 0;
}
