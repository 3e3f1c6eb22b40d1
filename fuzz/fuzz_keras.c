/*
 * fuzz_keras.c - the Keras configuration judge (src/formats/keras/keras.c) on any bytes: input
 * starting with a zip local header goes through the zip reader as a file named .keras (archive
 * identification, config.json, metadata.json, model.weights.h5 through the HDF5 walker), any
 * other input is a configuration (st_keras_check_config: the JSON walk and every rule).
 */
#include <string.h>

#include "formats/keras/keras.h"
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    if (size >= 4 && memcmp(data, "PK\3\4", 4) == 0) {
        fuzz_input_init(&f, data, size, "fuzz.keras");
        fuzz_input_finish(&f, st_ziparchive_check(&f.in));
    } else {
        fuzz_input_init(&f, data, size, "config.json");
        fuzz_input_finish(&f, st_keras_check_config(&f.in, data, size, "config.json"));
    }
    return 0;
}
