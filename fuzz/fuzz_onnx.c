/*
 * fuzz_onnx.c - the ONNX checks (src/formats/onnx/onnx.c: external data, domains, tensor sizes,
 * duplicate fields) over the protobuf walker, on any bytes.
 */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input f;
    fuzz_input_init(&f, data, size, "fuzz.onnx");
    fuzz_input_finish(&f, st_onnx_check(&f.in));
    return 0;
}
