/*
 * fuzz_savedmodel.c - TensorFlow SavedModel files (src/formats/keras/savedmodel.c): the
 * saved_model.pb, keras_metadata.pb (each node's metadata to the Keras config judge) and
 * fingerprint.pb walks over the bounded protobuf walker, on any bytes. Every input is checked
 * under each name TensorFlow loads (the name picks the walk).
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"saved_model.pb", "keras_metadata.pb", "fingerprint.pb",
                                        "saved_model.pbtxt", "variables/variables.index"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        fuzz_input f;
        fuzz_input_init(&f, data, size, names[i]);
        fuzz_input_finish(&f, st_savedmodel_check(&f.in));
    }
    return 0;
}
