/*
 * fuzz_safetensors.c - the safetensors module alone: framing, strict JSON, tensor checks and
 * coverage, on any bytes.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    fuzz_input_init(&f, data, size, "fuzz.safetensors");
    fuzz_input_finish(&f, st_safetensors_check(&f.in));
    return 0;
}
