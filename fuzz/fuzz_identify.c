/*
 * fuzz_identify.c - format identification: every sniffer and the choice of primary format and
 * other views, on any bytes and names.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"x.safetensors", "x.pt", "x", "x.SAFETENSORS"};
    fuzz_input f;
    fuzz_input_init(&f, data, size, names[size % 4]);
    const st_format *fmt = st_format_identify(&f.in);
    const st_format *views[8];
    size_t n = st_format_other_views(&f.in, fmt, views, 8);
    for (size_t i = 0; i < n; i++)
        if (views[i] == fmt || views[i]->name == NULL)
            abort();
    fuzz_input_finish(&f, ST_OK);
    return 0;
}
