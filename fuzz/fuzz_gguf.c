/*
 * fuzz_gguf.c - the GGUF validator (header, key/values, tensor infos, layout, well-known keys)
 * and the chat-template checker, on any bytes.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    fuzz_input_init(&f, data, size, "fuzz.gguf");
    fuzz_input_finish(&f, st_gguf_check(&f.in));
    return 0;
}
