/*
 * opaque.c - containers stcheck recognises but cannot open yet: gzip (RFC 1952), bzip2, xz,
 * zstd, lz4, zlib (joblib's compress=), 7z and POSIX tar (ustar magic at offset 257). A pre-2018
 * torch checkpoint is a tar; a compressed joblib file is one of the streams. Their content is
 * unknown, so the verdict is "could not check" with a finding naming the container: never unknown,
 * never clean.
 */
#include <string.h>

#include "format.h"

static const struct {
    const char *name;
    size_t off;
    const char *magic;
    size_t len;
} containers[] = {
    {"gzip", 0, "\x1f\x8b\x08", 3},
    {"bzip2", 0, "BZh", 3},
    {"xz", 0,
     "\xfd"
     "7zXZ\x00",
     6},
    {"zstd", 0, "\x28\xb5\x2f\xfd", 4},
    {"7z", 0, "7z\xbc\xaf\x27\x1c", 6},
    {"tar", 257, "ustar", 5},
    {"lz4", 0, "\x04\x22\x4d\x18", 4},
};

/* A zlib stream (RFC 1950) as zlib writes it: CMF 0x78 (deflate, 32 KiB window) and the header
 * checksum (CMF * 256 + FLG) % 31 == 0. Weak evidence: any stronger claim wins. */
static int is_zlib(const st_input *in)
{
    return in->head_len >= 2 && in->head[0] == 0x78 &&
           ((unsigned)in->head[0] << 8 | in->head[1]) % 31 == 0;
}

#define ZLIB_INDEX ((int)(sizeof(containers) / sizeof(containers[0])))

static int which(const st_input *in)
{
    for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
        if (in->head_len >= containers[i].off + containers[i].len &&
            memcmp(in->head + containers[i].off, containers[i].magic, containers[i].len) == 0)
            return (int)i;
    return is_zlib(in) ? ZLIB_INDEX : -1;
}

int st_opaque_sniff(const st_input *in)
{
    int i = which(in);
    return i == ZLIB_INDEX ? 50 : i >= 0 ? 85 : 0;
}

st_error st_opaque_check(st_input *in)
{
    int i = which(in);
    in->report->format = i == ZLIB_INDEX ? "zlib" : i >= 0 ? containers[i].name : "unknown";
    st_report_add(in->report, ST_R_UNSUPPORTED_CONTAINER, 0, 0,
                  "%s content cannot be opened by this version of stcheck: could not check",
                  in->report->format);
    return ST_E_UNSUPPORTED;
}
