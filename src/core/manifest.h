/*
 * manifest.h - looking up a file's pinned SHA-256 (--expect).
 */
#ifndef ST_MANIFEST_H
#define ST_MANIFEST_H

#include "ctx.h"

/* The pinned lowercase hex digest for path (also tried with and without a leading "./"), or
 * NULL when the manifest has none. */
const char *st_manifest_find(const st_ctx *ctx, const char *path);

#endif /* ST_MANIFEST_H */
