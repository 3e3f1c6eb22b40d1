/*
 * ctx.c - context creation and the limits table.
 *
 * Defaults match the reference implementation where it has one (the 100,000,000-byte header)
 * and are otherwise far above what real files use, so that a limit is hit only by hostile or
 * broken input. Hard maxima keep internal representations (32-bit offsets) sound.
 */
#include "ctx.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    uint64_t def;
    uint64_t hard_max;
} limit_table[ST_LIMIT_COUNT_] = {
    [ST_LIMIT_HEADER_BYTES] = {100000000u, 100000000u},
    [ST_LIMIT_JSON_DEPTH] = {64u, 1024u},
    [ST_LIMIT_TENSORS] = {16777216u, 0xFFFFFFFFu},
    [ST_LIMIT_RANK] = {1024u, 0xFFFFFFFFu},
    [ST_LIMIT_METADATA_VALUE] = {65536u, UINT64_MAX},
    [ST_LIMIT_PICKLE_OPCODES] = {1000000000u, UINT64_MAX},
    [ST_LIMIT_PICKLE_STACK] = {1000000u, 0x0FFFFFFFu},
    [ST_LIMIT_PICKLE_MEMO] = {16777216u, 0x0FFFFFFFu},
    [ST_LIMIT_PICKLE_IMPORTS] = {10000u, 1000000u},
    [ST_LIMIT_PICKLE_STORAGES] = {262144u, 0x0FFFFFFFu},
    [ST_LIMIT_ZIP_ENTRIES] = {100000u, 0x0FFFFFFFu},
    [ST_LIMIT_MEMBER_BYTES] = {1u << 30, (uint64_t)1 << 40},
    [ST_LIMIT_ZIP_RATIO] = {200u, 1000000u},
    [ST_LIMIT_NESTING] = {4u, 16u},
    [ST_LIMIT_TREE_ENTRIES] = {1000000u, 0xFFFFFFFFu},
    [ST_LIMIT_TREE_DEPTH] = {256u, 4096u},
    [ST_LIMIT_LINK_STEPS] = {1000000u, (uint64_t)1 << 40},
    [ST_LIMIT_GGUF_KV] = {1000000u, 0xFFFFFFFu},
    [ST_LIMIT_GGUF_ARRAY_DEPTH] = {8u, 64u},
    [ST_LIMIT_TEMPLATE_BYTES] = {1u << 20, 1u << 26},
    [ST_LIMIT_TEMPLATE_DEPTH] = {64u, 1024u},
};

st_ctx *st_ctx_new(void)
{
    st_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    for (int i = 0; i < ST_LIMIT_COUNT_; i++)
        ctx->limits[i] = limit_table[i].def;
    for (size_t i = 0; i < ST_R_COUNT_; i++)
        ctx->sev[i] = st_rules_get((st_rule_id)i)->severity;
    ctx->fail_on = ST_SEV_ERROR;
    ctx->max_findings = 1000;
    ctx->max_fetch = (uint64_t)256 << 20; /* docs/remote.md */
    ctx->fetch_timeout = 30;
    ctx->fetch_deadline = 300; /* docs/remote.md */
    return ctx;
}

int st_strlist_add(st_strlist *l, const char *s)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    l->v = v;
    if ((v[l->n] = strdup(s)) == NULL)
        return -1;
    l->n++;
    return 0;
}

void st_strlist_clear(st_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int copy_list(st_strlist *dst, const st_strlist *src)
{
    dst->v = NULL;
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++)
        if (st_strlist_add(dst, src->v[i]) != 0)
            return -1;
    return 0;
}

#define CTX_LISTS(X)                                                                               \
    X(formats_allow)                                                                               \
    X(formats_deny)                                                                                \
    X(pk_allow)                                                                                    \
    X(pk_deny)                                                                                     \
    X(keras_allow)                                                                                 \
    X(tpl_allow)                                                                                   \
    X(onnx_domains)                                                                                \
    X(meta_keys)                                                                                   \
    X(meta_values)                                                                                 \
    X(ov_globs)                                                                                    \
    X(ov_policies)                                                                                 \
    X(man_paths)                                                                                   \
    X(man_digests)                                                                                 \
    X(walk_ext)                                                                                    \
    X(fetch_headers)                                                                               \
    X(fetch_cacert)

st_ctx *st_ctx_clone(const st_ctx *ctx)
{
    st_ctx *c = malloc(sizeof(*c));
    if (c == NULL)
        return NULL;
    *c = *ctx;
    int bad = 0;
#define COPY(f) bad |= copy_list(&c->f, &ctx->f);
    CTX_LISTS(COPY)
#undef COPY
    if (bad) {
        st_ctx_free(c);
        return NULL;
    }
    return c;
}

void st_ctx_free(st_ctx *ctx)
{
    if (ctx == NULL)
        return;
#define CLEAR(f) st_strlist_clear(&ctx->f);
    CTX_LISTS(CLEAR)
#undef CLEAR
    free(ctx);
}

int st_ctx_format_allowed(const st_ctx *ctx, const char *format)
{
    for (size_t i = 0; i < ctx->formats_deny.n; i++)
        if (strcmp(ctx->formats_deny.v[i], format) == 0)
            return 0;
    if (ctx->formats_allow.n == 0)
        return 1;
    for (size_t i = 0; i < ctx->formats_allow.n; i++)
        if (strcmp(ctx->formats_allow.v[i], format) == 0)
            return 1;
    return 0;
}

st_error st_ctx_set_limit(st_ctx *ctx, st_limit which, uint64_t value)
{
    if (ctx == NULL || (unsigned)which >= ST_LIMIT_COUNT_)
        return ST_E_INVAL;
    if (value == 0 || value > limit_table[which].hard_max)
        return ST_E_INVAL;
    ctx->limits[which] = value;
    return ST_OK;
}

uint64_t st_ctx_get_limit(const st_ctx *ctx, st_limit which)
{
    if (ctx == NULL || (unsigned)which >= ST_LIMIT_COUNT_)
        return 0;
    return ctx->limits[which];
}

void st_ctx_set_strict(st_ctx *ctx, int strict)
{
    if (ctx != NULL && strict && ctx->fail_on > ST_SEV_WARNING)
        ctx->fail_on = ST_SEV_WARNING;
}

st_error st_ctx_set_fail_on(st_ctx *ctx, const char *severity)
{
    static const char *const names[] = {"off", "info", "warning", "error", "none"};
    for (int i = 1; i < 5; i++)
        if (ctx != NULL && severity != NULL && strcmp(severity, names[i]) == 0) {
            ctx->fail_on = i;
            return ST_OK;
        }
    return ST_E_INVAL;
}
