/*
 * opaque.c - formats stcheck recognises but cannot check yet: zstd, lz4 and 7z containers.
 * ONNX is checked by onnx/onnx.c, HDF5 (Keras .h5) by keras/hdf5.c; TensorFlow Lite, ExecuTorch,
 * Core ML and OpenVINO are named by other.c (ST530-ST533).
 * Their content is unknown, so the verdict is "could not check" with a finding naming the
 * format: never "unknown format", never clean, and never skipped by a folder walk.
 */
#include <string.h>

#include "format.h"

static const struct {
    const char *name;
    size_t off;
    const char *magic;
    size_t len;
} containers[] = {
    {"zstd", 0, "\x28\xb5\x2f\xfd", 4},
    {"lz4", 0, "\x04\x22\x4d\x18", 4},
    {"7z", 0, "7z\xbc\xaf\x27\x1c", 6},
};

static int which(const st_input *in)
{
    for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
        if (in->head_len >= containers[i].off + containers[i].len &&
            memcmp(in->head + containers[i].off, containers[i].magic, containers[i].len) == 0)
            return (int)i;
    return -1;
}

int st_opaque_sniff(const st_input *in)
{
    return which(in) >= 0 ? 85 : 0;
}

st_error st_opaque_check(st_input *in)
{
    int i = which(in);
    in->report->format = i >= 0 ? containers[i].name : "unknown";
    st_report_add(in->report, ST_R_UNSUPPORTED_CONTAINER, 0, 0,
                  "%s content cannot be opened by this version of stcheck: could not check",
                  in->report->format);
    return ST_E_UNSUPPORTED;
}
