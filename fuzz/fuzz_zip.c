/*
 * fuzz_zip.c - the zip structure walker and the zip/PyTorch module (member reads, inflation,
 * pickles inside members, storage checks, nested archives), on any bytes.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    fuzz_input_init(&f, data, size, "fuzz.pt");
    fuzz_input_finish(&f, st_ziparchive_check(&f.in));
    return 0;
}
