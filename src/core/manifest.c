/*
 * manifest.c - --digest, --deep and --expect: the context's switches and the manifest of
 * pinned SHA-256 digests (sha256sum's output format), looked up by path.
 *
 * The manifest is read whole (at most 64 MiB), parsed line by line with every field checked,
 * and kept sorted by path for binary search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "ctx.h"
#include "manifest.h"

#define MAX_MANIFEST_BYTES (64u << 20)

void st_ctx_set_digest(st_ctx *ctx, int on)
{
    if (ctx != NULL)
        ctx->digest = on != 0 || ctx->expect;
}

void st_ctx_set_deep(st_ctx *ctx, int on)
{
    if (ctx != NULL)
        ctx->deep = on != 0;
}

typedef struct {
    char *path;
    char hex[65];
} pin;

static int by_path(const void *a, const void *b)
{
    return strcmp(((const pin *)a)->path, ((const pin *)b)->path);
}

static int is_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return 1;
}

/* sha256sum writes "\HEX  name" with \\ and \n escaped when a name holds them. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'n')
            *o++ = '\n', s++;
        else if (*s == '\\' && s[1] == '\\')
            *o++ = '\\', s++;
        else
            *o++ = *s;
    }
    *o = '\0';
}

/* Parses one line into p; ST_OK, or ST_E_INVAL / ST_E_NOMEM with a reason. */
static st_error parse_line(char *line, pin *p, const char **why)
{
    int escaped = line[0] == '\\';
    line += escaped;
    if (strlen(line) < 67 || !is_hex64(line)) {
        *why = "expected 64 hex digits, two separators and a path";
        return ST_E_INVAL;
    }
    if (line[64] != ' ' || (line[65] != ' ' && line[65] != '*')) {
        *why = "expected \"  \" or \" *\" after the digest";
        return ST_E_INVAL;
    }
    for (int i = 0; i < 64; i++)
        p->hex[i] = (char)(line[i] >= 'A' && line[i] <= 'F' ? line[i] - 'A' + 'a' : line[i]);
    p->hex[64] = '\0';
    char *path = line + 66;
    if (escaped)
        unescape(path);
    if ((p->path = strdup(path)) == NULL) {
        *why = "out of memory";
        return ST_E_NOMEM; /* not a fault of the manifest: "could not check", as elsewhere */
    }
    return ST_OK;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(MAX_MANIFEST_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_MANIFEST_BYTES + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > MAX_MANIFEST_BYTES) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void free_pins(pin *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

st_error st_ctx_load_manifest(st_ctx *ctx, const char *path, char *err, size_t err_size)
{
    char dummy[8];
    if (err == NULL)
        err = dummy, err_size = sizeof(dummy);
    size_t len = 0;
    char *text = ctx && path ? read_all(path, &len) : NULL;
    if (text == NULL) {
        snprintf(err, err_size, "cannot read the manifest (missing, or over 64 MiB)");
        return ST_E_IO;
    }
    st_error rc = st_manifest_parse(ctx, text, len, err, err_size);
    free(text);
    return rc;
}

/* text: len bytes plus a NUL at text[len]; parsed in place. */
st_error st_manifest_parse(st_ctx *ctx, char *text, size_t len, char *err, size_t err_size)
{
    size_t n = 0, cap = 0, lineno = 0;
    pin *v = NULL;
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, err_size, "the manifest holds a NUL byte");
        return ST_E_INVAL;
    }
    st_error rc = ST_OK;
    for (char *line = text, *next; line != NULL && rc == ST_OK; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        if (line[0] == '\0')
            continue;
        const char *why = NULL;
        if (st_grow(&v, &cap, n, sizeof(*v), 64) != 0) {
            rc = ST_E_NOMEM;
            snprintf(err, err_size, "out of memory");
            break;
        }
        rc = parse_line(line, &v[n], &why);
        if (rc != ST_OK)
            snprintf(err, err_size, "line %zu: %s", lineno, why);
        else
            n++;
    }
    if (rc == ST_OK && n > 1) {
        qsort(v, n, sizeof(*v), by_path);
        for (size_t i = 1; i < n && rc == ST_OK; i++)
            if (strcmp(v[i - 1].path, v[i].path) == 0 && strcmp(v[i - 1].hex, v[i].hex) != 0) {
                snprintf(err, err_size, "two different digests for one path");
                rc = ST_E_INVAL;
            }
    }
    st_strlist paths = {NULL, 0}, hexes = {NULL, 0};
    for (size_t i = 0; rc == ST_OK && i < n; i++)
        if (st_strlist_add(&paths, v[i].path) != 0 || st_strlist_add(&hexes, v[i].hex) != 0) {
            snprintf(err, err_size, "out of memory");
            rc = ST_E_NOMEM;
        }
    free_pins(v, n);
    if (rc != ST_OK) {
        st_strlist_clear(&paths);
        st_strlist_clear(&hexes);
        return rc;
    }
    st_strlist_clear(&ctx->man_paths);
    st_strlist_clear(&ctx->man_digests);
    ctx->man_paths = paths;
    ctx->man_digests = hexes;
    ctx->expect = 1;
    ctx->digest = 1;
    return ST_OK;
}

static const char *lookup(const st_ctx *ctx, const char *path)
{
    size_t lo = 0, hi = ctx->man_paths.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ctx->man_paths.v[mid], path);
        if (c == 0)
            return ctx->man_digests.v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *st_manifest_find(const st_ctx *ctx, const char *path)
{
    char alt[4096];
    const char *h = lookup(ctx, path);
    if (h == NULL && strncmp(path, "./", 2) == 0)
        h = lookup(ctx, path + 2);
    if (h == NULL && snprintf(alt, sizeof(alt), "./%s", path) < (int)sizeof(alt))
        h = lookup(ctx, alt);
    return h;
}
