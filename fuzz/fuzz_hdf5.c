/*
 * fuzz_hdf5.c - the HDF5 walker (src/formats/keras/hdf5.c: superblock, object headers, groups,
 * attributes, dataset layouts, and the Keras configuration judge behind model_config), on any
 * bytes.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    fuzz_input_init(&f, data, size, "fuzz.h5");
    fuzz_input_finish(&f, st_hdf5_check(&f.in));
    return 0;
}
