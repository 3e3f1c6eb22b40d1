/*
 * fuzz_index.c - the shard index parser (model.safetensors.index.json) on any bytes. No folder
 * is known here, so shards are never opened: the strict scan, the shape checks and the shard
 * name checks are what runs.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    fuzz_input_init(&f, data, size, "fuzz.safetensors.index.json");
    fuzz_input_finish(&f, st_index_check(&f.in));
    return 0;
}
