/*
 * fuzz_tar.c - the tar walker (ustar, pax, GNU long names) and the pre-2018 torch tar
 * checkpoint framing (storages and tensors records), on any bytes.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    fuzz_input_init(&f, data, size, "fuzz.tar");
    fuzz_input_finish(&f, st_tar_check(&f.in));
    return 0;
}
