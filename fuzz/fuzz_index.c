/*
 * fuzz_index.c - the shard index identification and parser (model.safetensors.index.json, any
 * *.json with a weight_map) on any bytes. No folder is known here, so shards are never opened:
 * the strict scan, the shape checks and the shard name checks are what runs.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* identification parses too: an index's name past any whitespace, any *.json in full */
    static const char *const names[] = {"fuzz.safetensors.index.json", "fuzz.json"};
    fuzz_input f;
    fuzz_input_init(&f, data, size, names[size % 2]);
    (void)st_index_sniff(&f.in);
    fuzz_input_finish(&f, st_index_check(&f.in));
    return 0;
}
