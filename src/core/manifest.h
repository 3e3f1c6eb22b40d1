/*
 * manifest.h - looking up a file's pinned SHA-256 (--expect).
 */
#ifndef ST_MANIFEST_H
#define ST_MANIFEST_H

#include "ctx.h"

/* The pinned lowercase hex digest for path (also tried with and without a leading "./"), or
 * NULL when the manifest has none. */
const char *st_manifest_find(const st_ctx *ctx, const char *path);

/* Parses a manifest held in text (len bytes, NUL-terminated at text[len], modified in place)
 * into ctx; on error err names the line and ctx is unchanged. */
st_error st_manifest_parse(st_ctx *ctx, char *text, size_t len, char *err, size_t err_size);

#endif /* ST_MANIFEST_H */
