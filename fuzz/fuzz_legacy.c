/*
 * fuzz_legacy.c - the legacy torch sequence: the fuzzer's bytes follow the magic-number pickle,
 * so every input is read as a legacy checkpoint (five pickles, then storages bounded against
 * the persistent ids).
 */
#include <string.h>

#include "fuzz_harness.h"

static const unsigned char magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                      0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    unsigned char *buf = malloc(sizeof(magic) + size);
    if (buf == NULL)
        abort();
    memcpy(buf, magic, sizeof(magic));
    if (size > 0)
        memcpy(buf + sizeof(magic), data, size);
    fuzz_input f;
    fuzz_input_init(&f, buf, sizeof(magic) + size, "fuzz.pt");
    fuzz_input_finish(&f, st_rawpickle_check(&f.in));
    free(buf);
    return 0;
}
