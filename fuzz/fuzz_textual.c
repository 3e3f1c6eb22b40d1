/*
 * fuzz_textual.c - what a folder walk does with content no model format claims (textual.c):
 * the pickle view, image magic, sentencepiece protobuf and msgpack framing, strict UTF-8 text,
 * git-lfs pointers. The first byte picks the file name, so every name-selected path is reached.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"tokenizer.model", "flax_model.msgpack", "modeling.py",
                                        "README.md", "blob"};
    if (size == 0)
        return 0;
    fuzz_input f;
    fuzz_input_init(&f, data + 1, size - 1, names[data[0] % 5]);
    if (!st_lfs_pointer_check(&f.in))
        fuzz_input_finish(&f, st_nonmodel_check(&f.in));
    else
        fuzz_input_finish(&f, ST_E_UNSUPPORTED);
    return 0;
}
