/*
 * gguf_keys.c - well-known GGUF keys: types, ranges and consistency, and the chat templates.
 *
 * Types are those llama.cpp's loader accepts (src/llama-arch.cpp LLM_KV names read through
 * llama_model_loader::get_key/get_arr, which throw on any other type, and the GGUF
 * specification's standardized key list, docs/gguf.md in ggml). Ranges: LLAMA_MAX_LAYERS and
 * LLAMA_MAX_EXPERTS (src/llama-hparams.h, both 512), special token ids below the vocabulary
 * size (llama_vocab::impl::load), merges with a space after their first byte (llama_vocab's
 * `word.find(' ', 1)` assertion), and split.no below split.count (gguf-split).
 */
#include <string.h>

#include "../../core/escape.h"
#include "gguf.h"

#define SHOW 80
#define MAX_LAYERS 512u  /* LLAMA_MAX_LAYERS */
#define MAX_EXPERTS 512u /* LLAMA_MAX_EXPERTS */

#define T(x) (1u << (x))
#define A(x) (1u << (16 + (x))) /* array of x */
#define INT_ARR (A(GG_U32) | A(GG_I32))

typedef struct {
    const char *key; /* "{arch}." marks the architecture's own prefix */
    uint32_t types;
} known_key;

static const known_key known[] = {
    {"general.architecture", T(GG_STRING)},
    {"general.quantization_version", T(GG_U32)},
    {"general.alignment", T(GG_U32)},
    {"general.file_type", T(GG_U32)},
    {"general.name", T(GG_STRING)},
    {"general.type", T(GG_STRING)},
    {"general.author", T(GG_STRING)},
    {"general.version", T(GG_STRING)},
    {"general.organization", T(GG_STRING)},
    {"general.basename", T(GG_STRING)},
    {"general.finetune", T(GG_STRING)},
    {"general.description", T(GG_STRING)},
    {"general.quantized_by", T(GG_STRING)},
    {"general.size_label", T(GG_STRING)},
    {"general.license", T(GG_STRING)},
    {"general.url", T(GG_STRING)},
    {"general.repo_url", T(GG_STRING)},
    {"general.tags", A(GG_STRING)},
    {"general.languages", A(GG_STRING)},
    {"general.datasets", A(GG_STRING)},
    {"{arch}.vocab_size", T(GG_U32)},
    {"{arch}.context_length", T(GG_U32)},
    {"{arch}.embedding_length", T(GG_U32)},
    {"{arch}.block_count", T(GG_U32)},
    {"{arch}.leading_dense_block_count", T(GG_U32)},
    {"{arch}.nextn_predict_layers", T(GG_U32)},
    {"{arch}.n_deepstack_layers", T(GG_U32)},
    {"{arch}.attention.shared_kv_layers", T(GG_U32)},
    {"{arch}.feed_forward_length", T(GG_U32) | INT_ARR},
    {"{arch}.expert_feed_forward_length", T(GG_U32)},
    {"{arch}.use_parallel_residual", T(GG_BOOL)},
    {"{arch}.expert_count", T(GG_U32)},
    {"{arch}.expert_used_count", T(GG_U32)},
    {"{arch}.attention.head_count", T(GG_U32) | INT_ARR},
    {"{arch}.attention.head_count_kv", T(GG_U32) | INT_ARR},
    {"{arch}.attention.key_length", T(GG_U32)},
    {"{arch}.attention.value_length", T(GG_U32)},
    {"{arch}.attention.layer_norm_epsilon", T(GG_F32)},
    {"{arch}.attention.layer_norm_rms_epsilon", T(GG_F32)},
    {"{arch}.attention.causal", T(GG_BOOL)},
    {"{arch}.attention.sliding_window", T(GG_U32)},
    {"{arch}.rope.dimension_count", T(GG_U32)},
    {"{arch}.rope.freq_base", T(GG_F32)},
    {"{arch}.rope.scaling.type", T(GG_STRING)},
    {"{arch}.rope.scaling.factor", T(GG_F32)},
    {"{arch}.rope.scaling.original_context_length", T(GG_U32)},
    {"tokenizer.ggml.model", T(GG_STRING)},
    {"tokenizer.ggml.pre", T(GG_STRING)},
    {"tokenizer.ggml.tokens", A(GG_STRING)},
    {"tokenizer.ggml.token_type", A(GG_I32)},
    {"tokenizer.ggml.scores", A(GG_F32)},
    {"tokenizer.ggml.merges", A(GG_STRING)},
    {"tokenizer.ggml.bos_token_id", T(GG_U32)},
    {"tokenizer.ggml.eos_token_id", T(GG_U32)},
    {"tokenizer.ggml.unknown_token_id", T(GG_U32)},
    {"tokenizer.ggml.seperator_token_id", T(GG_U32)}, /* sic, as llama.cpp spells it */
    {"tokenizer.ggml.padding_token_id", T(GG_U32)},
    {"tokenizer.ggml.cls_token_id", T(GG_U32)},
    {"tokenizer.ggml.mask_token_id", T(GG_U32)},
    {"tokenizer.ggml.eot_token_id", T(GG_U32)},
    {"tokenizer.ggml.eom_token_id", T(GG_U32)},
    {"tokenizer.ggml.add_bos_token", T(GG_BOOL)},
    {"tokenizer.ggml.add_eos_token", T(GG_BOOL)},
    {"tokenizer.ggml.add_space_prefix", T(GG_BOOL)},
    {"tokenizer.chat_template", T(GG_STRING)},
    {"split.no", T(GG_U16)},
    {"split.count", T(GG_U16)},
    {"split.tensors.count", T(GG_I32)},
    /* multimodal projectors (mmproj files, architecture "clip"): tools/mtmd/clip-impl.h */
    {"clip.vision.block_count", T(GG_U32)},
    {"clip.vision.feature_layer", A(GG_I32)},
    {"clip.vision.wa_layer_indexes", A(GG_I32)},
};

/* Layer index arrays, read by clip.cpp's get_arr_int (INT32 only: older trees cast any element
 * type to int32_t, reading past a shorter array) against clip.vision.block_count. strict: an
 * index must name a layer (< block count); otherwise up to the block count (feature_layer 0 is
 * the encoder's input, n the last layer's output). */
static const struct {
    const char *key;
    int strict;
} layer_index[] = {{"clip.vision.feature_layer", 0}, {"clip.vision.wa_layer_indexes", 1}};

int st_gguf_is_layer_index(const char *k, size_t n)
{
    for (size_t i = 0; i < sizeof(layer_index) / sizeof(layer_index[0]); i++)
        if (strlen(layer_index[i].key) == n && memcmp(layer_index[i].key, k, n) == 0)
            return 1;
    return 0;
}

/* First segments that are not an architecture (the specification's namespaces, LoRA adapters,
 * imatrix and quantize metadata written by llama.cpp's tools). */
static const char *const namespaces[] = {"general",  "tokenizer", "split",  "adapter",
                                         "training", "quantize",  "imatrix"};

const char *st_gguf_type_name(unsigned type)
{
    static const char *const names[GG_NTYPES] = {"UINT8",  "INT8",    "UINT16", "INT16",  "UINT32",
                                                 "INT32",  "FLOAT32", "BOOL",   "STRING", "ARRAY",
                                                 "UINT64", "INT64",   "FLOAT64"};
    return type < GG_NTYPES ? names[type] : "?";
}

/* Index of the known_key entry naming key k (length n), or -1. */
static long known_index(const st_gguf *g, const char *k, size_t n)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        const char *p = known[i].key;
        if (strncmp(p, "{arch}.", 7) == 0) {
            if (g->arch == NULL || n <= g->arch_len + 1 || memcmp(k, g->arch, g->arch_len) != 0 ||
                k[g->arch_len] != '.')
                continue;
            size_t rest = strlen(p + 6);
            if (n - g->arch_len == rest && memcmp(k + g->arch_len, p + 6, rest) == 0)
                return (long)i;
        } else if (strlen(p) == n && memcmp(p, k, n) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void check_types(st_gguf *g)
{
    char shown[SHOW + 8];
    for (size_t i = 0; i < g->nkv; i++) {
        const st_gguf_kv *kv = &g->kv[i];
        long w = known_index(g, st_gguf_key(g, i), kv->key_len);
        int tpl =
            kv->key_len > 24 && strncmp(st_gguf_key(g, i), "tokenizer.chat_template.", 24) == 0;
        uint32_t have = kv->type == GG_ARRAY ? A(kv->etype) : T(kv->type);
        uint32_t want = tpl ? T(GG_STRING) : w >= 0 ? known[w].types : 0;
        if (want == 0 || (have & want) != 0 || strcmp(st_gguf_key(g, i), "general.alignment") == 0)
            continue; /* general.alignment: ST713 */
        st_report_add(g->r, ST_R_GGUF_KEY_TYPE, kv->off, 0,
                      "key \"%s\" is %s%s%s: llama.cpp does not accept that type for it",
                      st_gguf_show(g, kv->key_off, kv->key_len, shown, sizeof(shown)),
                      kv->type == GG_ARRAY ? "an array of " : "a ",
                      st_gguf_type_name(kv->type == GG_ARRAY ? kv->etype : kv->type),
                      kv->type == GG_ARRAY ? "" : " value");
    }
}

/* The kv named key with type type (or, for arrays, element type mask), else NULL. */
static const st_gguf_kv *typed(const st_gguf *g, const char *key, unsigned type)
{
    long i = st_gguf_find(g, key);
    if (i < 0 || g->kv[i].type != type)
        return NULL;
    return &g->kv[i];
}

static const st_gguf_kv *arch_key(const st_gguf *g, const char *suffix, char *buf, size_t size,
                                  unsigned type)
{
    size_t n = strlen(suffix);
    if (g->arch == NULL || g->arch_len + n + 1 > size)
        return NULL;
    memcpy(buf, g->arch, g->arch_len);
    memcpy(buf + g->arch_len, suffix, n + 1);
    return typed(g, buf, type);
}

static int arch_name_ok(const char *a, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '_' ||
              a[i] == '-'))
            return 0;
    return 1;
}

static void check_arch(st_gguf *g)
{
    char shown[SHOW + 8];
    long i = st_gguf_find(g, "general.architecture");
    if (i < 0) {
        st_report_add(g->r, ST_R_GGUF_ARCH_MISSING, 0, 0, "no general.architecture key");
        return;
    }
    const st_gguf_kv *kv = &g->kv[i];
    if (kv->type != GG_STRING || !kv->has_sval)
        return; /* its type is ST730 */
    const char *a = g->arena + kv->sval_off;
    if (!arch_name_ok(a, kv->sval_len)) {
        st_report_add(g->r, ST_R_GGUF_ARCH, kv->voff, kv->sval_len,
                      "general.architecture \"%s\" is not a plain name",
                      st_gguf_show(g, kv->sval_off, kv->sval_len, shown, sizeof(shown)));
        return;
    }
    g->arch = a;
    g->arch_len = kv->sval_len;
}

static void check_namespaces(st_gguf *g)
{
    char shown[SHOW + 8], seg_shown[48];
    if (g->arch == NULL && st_gguf_find(g, "general.architecture") >= 0)
        return; /* an architecture that is not a name: ST731 says so */
    for (size_t i = 0; i < g->nkv; i++) {
        const char *k = st_gguf_key(g, i);
        size_t n = g->kv[i].trunc_len, seg = 0;
        while (seg < n && k[seg] != '.')
            seg++;
        if (n == 0 || seg == n || !st_gguf_key_grammar_ok(k, g->kv[i].key_len))
            continue; /* the key grammar (ST707) says so */
        int ok = g->arch != NULL && seg == g->arch_len && memcmp(k, g->arch, seg) == 0;
        for (size_t j = 0; !ok && j < sizeof(namespaces) / sizeof(namespaces[0]); j++)
            ok = strlen(namespaces[j]) == seg && memcmp(k, namespaces[j], seg) == 0;
        if (!ok)
            st_report_add(g->r, ST_R_GGUF_KEY_NAMESPACE, g->kv[i].off, 0,
                          "key \"%s\": \"%s\" is neither a known namespace nor the "
                          "architecture",
                          st_gguf_show(g, g->kv[i].key_off, g->kv[i].key_len, shown, sizeof(shown)),
                          st_escape(k, seg, seg_shown, sizeof(seg_shown), 40));
    }
}

/* Keys that count layers out of the block count (llama.cpp src/llama-model.cpp,
 * llama_model::load_hparams): the first leading_dense_block_count layers have a dense FFN, the
 * last nextn_predict_layers are MTP heads (GGML_ASSERT(nextn_predict_layers < n_layer): an abort,
 * and n_layer - nextn sizes the KV cache), gemma3n/gemma4 compute n_layer_kv_from_start as
 * n_layer - attention.shared_kv_layers (a wrap-around when larger), qwen3vl feeds deepstack
 * features into the first n_deepstack_layers. strict: the count must leave one ordinary layer. */
static void check_layer_counts(st_gguf *g, const st_gguf_kv *bc)
{
    static const struct {
        const char *suffix;
        int strict;
    } counts[] = {{".leading_dense_block_count", 0},
                  {".nextn_predict_layers", 1},
                  {".attention.shared_kv_layers", 1},
                  {".n_deepstack_layers", 0}};
    char key[160];
    if (bc == NULL || bc->u == 0)
        return; /* no usable block count: reported above or by llama.cpp's own key lookup */
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        const st_gguf_kv *c = arch_key(g, counts[i].suffix, key, sizeof(key), GG_U32);
        if (c != NULL && (c->u > bc->u || (counts[i].strict && c->u == bc->u)))
            st_report_add(g->r, ST_R_GGUF_LAYERS, c->voff, 4, "%s is %llu, %s the block count %llu",
                          key, (unsigned long long)c->u, counts[i].strict ? "not below" : "above",
                          (unsigned long long)bc->u);
    }
}

static void check_layers(st_gguf *g)
{
    char key[160];
    /* get_key_or_arr / get_arr (llama-model-loader.cpp) throw "has wrong array length" */
    static const char *const per_layer[] = {".attention.head_count", ".attention.head_count_kv",
                                            ".feed_forward_length",
                                            ".attention.sliding_window_pattern"};
    const st_gguf_kv *bc = arch_key(g, ".block_count", key, sizeof(key), GG_U32);
    if (bc != NULL && (bc->u == 0 || bc->u > MAX_LAYERS))
        st_report_add(g->r, ST_R_GGUF_LAYERS, bc->voff, 4,
                      "%s is %llu: llama.cpp allows 1 to %u layers", key, (unsigned long long)bc->u,
                      MAX_LAYERS);
    const st_gguf_kv *ec = arch_key(g, ".expert_count", key, sizeof(key), GG_U32);
    if (ec != NULL && ec->u > MAX_EXPERTS)
        st_report_add(g->r, ST_R_GGUF_LAYERS, ec->voff, 4,
                      "%s is %llu: llama.cpp allows at most %u experts", key,
                      (unsigned long long)ec->u, MAX_EXPERTS);
    const st_gguf_kv *eu = arch_key(g, ".expert_used_count", key, sizeof(key), GG_U32);
    if (eu != NULL && ((ec != NULL && eu->u > ec->u) || (ec == NULL && eu->u > 0)))
        st_report_add(g->r, ST_R_GGUF_LAYERS, eu->voff, 4,
                      "%s is %llu, above the expert count %llu", key, (unsigned long long)eu->u,
                      (unsigned long long)(ec ? ec->u : 0));
    for (size_t i = 0; i < sizeof(per_layer) / sizeof(per_layer[0]); i++) {
        const st_gguf_kv *a = arch_key(g, per_layer[i], key, sizeof(key), GG_ARRAY);
        if (a == NULL)
            continue;
        if (a->n > MAX_LAYERS || bc == NULL || a->n != bc->u)
            st_report_add(g->r, ST_R_GGUF_LAYERS, a->voff, 0,
                          "%s holds %llu per-layer values for %llu blocks", key,
                          (unsigned long long)a->n, (unsigned long long)(bc ? bc->u : 0));
    }
    check_layer_counts(g, bc);
}

/* Layer numbers against the vision encoder's block count (llama.cpp tools/mtmd): the llava graph
 * (models/llava.cpp clip_graph_llava::build) loops `il < max_feature_layer` over
 * model.layers[il], max_feature_layer being the largest feature_layer: above n_layer it indexes
 * past the layer vector. A wa_layer_indexes entry at or above n_layer names no layer (youtuvl's
 * window attention, minicpmv4_6's merger insertion point never happen). */
static void check_layer_indexes(st_gguf *g)
{
    const st_gguf_kv *bc = typed(g, "clip.vision.block_count", GG_U32);
    if (bc == NULL)
        return; /* nothing to compare with: clip.cpp's get_u32 throws without it */
    for (size_t i = 0; i < sizeof(layer_index) / sizeof(layer_index[0]); i++) {
        const st_gguf_kv *a = typed(g, layer_index[i].key, GG_ARRAY);
        if (a == NULL || a->etype != GG_I32)
            continue; /* the type is ST730 */
        if (a->i > (int64_t)bc->u || (layer_index[i].strict && a->i == (int64_t)bc->u))
            st_report_add(g->r, ST_R_GGUF_LAYERS, a->voff, 0,
                          "%s holds layer %lld, %s the block count %llu (clip.vision.block_count)",
                          layer_index[i].key, (long long)a->i,
                          layer_index[i].strict ? "not below" : "above", (unsigned long long)bc->u);
    }
}

static void check_tokenizer(st_gguf *g)
{
    static const char *const ids[] = {"bos", "eos",  "unknown", "seperator", "padding",
                                      "cls", "mask", "eot",     "eom"};
    const st_gguf_kv *tok = typed(g, "tokenizer.ggml.tokens", GG_ARRAY);
    const st_gguf_kv *sc = typed(g, "tokenizer.ggml.scores", GG_ARRAY);
    const st_gguf_kv *tt = typed(g, "tokenizer.ggml.token_type", GG_ARRAY);
    uint64_t n = tok ? tok->n : 0;
    if ((sc != NULL && sc->n != n) || (tt != NULL && tt->n != n))
        st_report_add(g->r, ST_R_GGUF_TOKENIZER, (sc && sc->n != n ? sc : tt)->voff, 0,
                      "%llu tokens but %llu scores and %llu token types", (unsigned long long)n,
                      (unsigned long long)(sc ? sc->n : n), (unsigned long long)(tt ? tt->n : n));
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char key[64];
        size_t len = strlen(ids[i]);
        memcpy(key, "tokenizer.ggml.", 15);
        memcpy(key + 15, ids[i], len);
        memcpy(key + 15 + len, "_token_id", 10);
        const st_gguf_kv *id = typed(g, key, GG_U32);
        if (id != NULL && id->u >= n)
            st_report_add(g->r, ST_R_GGUF_TOKENIZER, id->voff, 4,
                          "%s is %llu, outside the vocabulary of %llu tokens", key,
                          (unsigned long long)id->u, (unsigned long long)n);
    }
}

static void check_split(st_gguf *g)
{
    const st_gguf_kv *no = typed(g, "split.no", GG_U16);
    const st_gguf_kv *count = typed(g, "split.count", GG_U16);
    if (count != NULL && count->u == 0)
        st_report_add(g->r, ST_R_GGUF_SPLIT, count->voff, 2, "split.count is 0");
    else if (no != NULL && (count == NULL || no->u >= count->u))
        st_report_add(g->r, ST_R_GGUF_SPLIT, no->voff, 2,
                      "split.no %llu is not below split.count %llu", (unsigned long long)no->u,
                      (unsigned long long)(count ? count->u : 0));
    const st_gguf_kv *tc = typed(g, "split.tensors.count", GG_I32);
    if (tc != NULL && (tc->i < 0 || (uint64_t)tc->i < g->nt))
        st_report_add(g->r, ST_R_GGUF_SPLIT, tc->voff, 4,
                      "split.tensors.count %lld is below the %llu tensors of this file",
                      (long long)tc->i, (unsigned long long)g->nt);
}

/* ---- chat templates ---------------------------------------------------------------------- */

typedef struct {
    st_gguf *g;
    const st_gguf_kv *kv;
} tpl_ctx;

static void tpl_found(void *arg, st_jj_kind kind, size_t pos, size_t len, const char *what)
{
    static const st_rule_id rule[] = {0,
                                      ST_R_GGUF_TEMPLATE_SYNTAX,
                                      ST_R_GGUF_TEMPLATE_DENIED,
                                      ST_R_GGUF_TEMPLATE_TEXT,
                                      ST_R_GGUF_TEMPLATE_URL,
                                      ST_R_LIMIT};
    tpl_ctx *t = arg;
    char key[SHOW + 8];
    st_gguf_show(t->g, t->kv->key_off, t->kv->key_len, key, sizeof(key));
    /* the string's bytes start after its 8-byte (v1: 4-byte) length */
    uint64_t off = t->kv->voff + (t->g->v1 ? 4 : 8) + pos;
    st_report_add(t->g->r, rule[kind], off, len, "%s: %s", key, what);
    if (kind == ST_JJ_LIMIT)
        t->g->err = ST_E_LIMIT;
}

static void check_templates(st_gguf *g)
{
    for (size_t i = 0; i < g->nkv; i++) {
        const st_gguf_kv *kv = &g->kv[i];
        if (!kv->has_sval || strncmp(st_gguf_key(g, i), "tokenizer.chat_template", 23) != 0)
            continue;
        tpl_ctx t = {g, kv};
        st_jj_sink sink = {tpl_found, &t, (unsigned)g->ctx->limits[ST_LIMIT_TEMPLATE_DEPTH],
                           g->ctx->tpl_allow.v, g->ctx->tpl_allow.n};
        st_jinja_check(g->arena + kv->sval_off, kv->sval_len, &sink);
    }
}

void st_gguf_check_keys(st_gguf *g)
{
    check_arch(g);
    check_types(g);
    check_namespaces(g);
    check_layers(g);
    check_layer_indexes(g);
    check_tokenizer(g);
    check_split(g);
    check_templates(g);
}
