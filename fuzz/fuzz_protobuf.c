/*
 * fuzz_protobuf.c - the bounded protobuf wire-format walker (src/formats/onnx/protobuf.c) alone:
 * every LEN field is entered as a message (the worst case for the nesting stack), every end
 * left, until the walk ends or stops at malformed data or a limit.
 */
#include <stdint.h>
#include <stdlib.h>

#include "formats/onnx/protobuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_src src = {-1, data, size};
    st_pb_cursor *c = malloc(sizeof(*c));
    if (c == NULL)
        return 0;
    st_pb_init(c, &src, 0, size);
    st_pb_field f;
    unsigned char buf[64];
    for (;;) {
        st_pb_status s = st_pb_next(c, &f);
        if (s == ST_PB_END) {
            if (!st_pb_leave(c))
                break;
            continue;
        }
        if (s != ST_PB_FIELD)
            break;
        if (f.wire == ST_PB_LEN) {
            (void)st_pb_bytes(c, &f, buf, sizeof(buf));
            if (st_pb_enter(c, &f) != ST_PB_FIELD)
                break;
        }
    }
    free(c);
    return 0;
}
