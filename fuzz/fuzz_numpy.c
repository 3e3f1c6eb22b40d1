/*
 * fuzz_numpy.c - the .npy header parser and size checks (and the pickle of object arrays), on
 * any bytes.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    fuzz_input_init(&f, data, size, "fuzz.npy");
    fuzz_input_finish(&f, st_numpy_check(&f.in));
    return 0;
}
