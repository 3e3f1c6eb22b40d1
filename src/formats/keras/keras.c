/*
 * keras.c - Keras model configurations (Keras 3 config.json; the same JSON in legacy .h5
 * model_config attributes and SavedModel keras_metadata.pb), judged as Keras 3.x
 * (keras/src/saving/serialization_lib.py deserialize_keras_object, _retrieve_class_or_fn) and
 * the legacy loader (keras/src/legacy/saving/serialization.py: class_name without module) would
 * resolve them, and stricter where safe_mode was bypassed (docs/formats/keras.md).
 *
 * Every object with a class_name is judged: its module and name against the names Keras itself
 * exports for modeling (keras_allow.c, generated from Keras's source), in both spellings real
 * saves use ("keras.layers" + "Dense" and "keras.src.models.functional" + "Functional"). A
 * registered_name that differs from the class name is a custom-object lookup and never excuses
 * the module. Refused: Lambda bytecode (__lambda__, legacy function_type "lambda"), classes and
 * functions outside Keras (custom objects; a policy may allow named ones), Keras APIs outside
 * the modeling namespaces (keras.utils.get_file, keras.saving..., CVE-2025-8747/9906), the
 * published gadget layers (TFSMLayer, TorchModuleWrapper, JaxLayer, FlaxLayer), vocabulary file
 * paths (CVE-2025-12058), names with path characters (DiskIOStore paths) and legacy TFOpLambda
 * ops outside a small allowlist. The JSON is read with the strict scanner (src/json/), one
 * token at a time with an explicit stack: no recursion on input depth.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/escape.h"
#include "../../core/hash.h"
#include "../../json/json.h"
#include "hdf5.h"
#include "keras.h"
#include "keras_allow.h"

#define KSTR 160 /* longest name kept; longer ones are no Keras name (judged as such) */

/* Keys that matter, wherever they appear. */
enum {
    K_OTHER,
    K_CLASS,
    K_MODULE,
    K_REG,
    K_CONFIG,
    K_VOCAB,
    K_FNTYPE,
    K_NAME,
    K_FUNCTION,
    K_SPEC,
    K_LAYERS,
};

/* Frame flags */
#define F_CLS 0x001u       /* class_name is a string */
#define F_CLS_BAD 0x002u   /* class_name is present but not a string (or holds a NUL) */
#define F_MOD 0x004u       /* module is a string */
#define F_MOD_BAD 0x008u   /* module is neither a string nor null */
#define F_REG 0x010u       /* registered_name is a string */
#define F_CFG_STR 0x020u   /* config is a string (a function's name) */
#define F_LONG 0x040u      /* class, module, registered or function name cut: no Keras name */
#define F_VOCAB 0x080u     /* vocabulary is a string: a file path */
#define F_LAMBDA 0x100u    /* function_type "lambda" or a function list: bytecode */
#define F_BADNAME 0x200u   /* a name with path characters */
#define F_FN_STR 0x400u    /* function is a string (legacy Lambda / TFOpLambda) */
#define F_IN_LAYERS 0x800u /* an element of a "layers" array */
#define F_FN_LONG 0x1000u  /* the function string was cut */

typedef struct {
    unsigned char is_obj;
    unsigned char key;       /* objects: the key whose value comes next */
    unsigned char opened_as; /* the key this container is the value of (K_OTHER in arrays) */
    unsigned flags;
    size_t off;
    char cls[KSTR], mod[KSTR], reg[KSTR], cfg[KSTR], spec[KSTR];
    char vocab[KSTR], fn[KSTR], name[KSTR];
} kframe;

typedef struct {
    st_input *in;
    const char *where;
    kframe *f;
    size_t n, cap;
    char esc[2][160];
    /* hashes of the report's layer classes: a config of millions of layers compares each with
     * the (up to 256) listed ones in O(1), not by scanning the list */
    uint64_t lh[4 * ST_KERAS_MAX_LAYER_CLASSES];
} kjob;

static const char *const special_classes[] = {"__keras_tensor__", "__tensor__",   "__numpy__",
                                              "__bytes__",        "__ellipsis__", "__slice__"};

/* Layers that load files or other frameworks' code when built from their config. */
static const char *const gadget_classes[] = {
    "TFSMLayer",          /* tf.saved_model.load(filepath): CVE-2026-1462 */
    "TorchModuleWrapper", /* torch.load(base64 pickle, weights_only=False) */
    "JaxLayer",           /* wraps a JAX function: code outside Keras */
    "FlaxLayer",          /* wraps a Flax module: code outside Keras */
};

/* Keras APIs published as safe_mode bypasses or that read, write or fetch files; Keras's own
 * NON_MODELING_APIS (serialization_lib.py) and their keras.src homes. Prefixes end in '.'. */
static const char *const gadget_names[] = {
    "keras.utils.",
    "keras.src.utils.",
    "keras.saving.",
    "keras.src.saving.",
    "keras.config.",
    "keras.src.export.",
    "keras.export.",
    "keras.backend.",
    "keras.src.backend.",
    "keras.preprocessing.",
    "keras.src.legacy.",
    "keras.legacy.",
    "keras.callbacks.",
    "keras.src.callbacks.",
    "keras.datasets.",
    "keras.src.datasets.",
    "keras.models.load_model",
    "keras.models.model_from_json",
    "keras.models.save_model",
    "keras.models.clone_model",
};

/* Keras 2 names that keras_allow.c (Keras 3) lacks, still written by tf.keras. */
static const char *const legacy_bare[] = {"CuDNNGRU",           "CuDNNLSTM",
                                          "Functional",         "LocallyConnected1D",
                                          "LocallyConnected2D", "ThresholdedReLU"};

/* Legacy tf.keras TFOpLambda / SlicingOpLambda ops (the function is a TensorFlow API name
 * resolved by tf_export): namespaces of pure tensor math, and bare names of the same kind.
 * Anything else (tf.io, tf.print to a file, py_function, raw_ops, compat...) is refused. */
static const char *const tf_op_prefixes[] = {"__operators__.", "math.",   "nn.",   "linalg.",
                                             "bitwise.",       "signal.", "image."};
static const char *const tf_op_bare[] = {
    "cast",     "clip_by_value", "concat",      "expand_dims", "gather",
    "identity", "matmul",        "one_hot",     "ones_like",   "pad",
    "range",    "reduce_max",    "reduce_mean", "reduce_min",  "reduce_sum",
    "reshape",  "shape",         "split",       "squeeze",     "stack",
    "tile",     "transpose",     "unstack",     "where",       "zeros_like"};

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static int in_sorted(const char *s, const char *const *list, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s, list[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

static int is_keras_name(const char *full)
{
    return in_sorted(full, st_keras_names, st_keras_names_count);
}

static int is_gadget_name(const char *full)
{
    for (size_t i = 0; i < sizeof(gadget_names) / sizeof(gadget_names[0]); i++) {
        size_t k = strlen(gadget_names[i]);
        if (gadget_names[i][k - 1] == '.' ? strncmp(full, gadget_names[i], k) == 0
                                          : strcmp(full, gadget_names[i]) == 0)
            return 1;
    }
    return 0;
}

/* The policy's "keras.allow": "pkg.mod.Name" exact, "pkg.*" (the module and its submodules),
 * "pkg>Name" (a registered name) or "Name" (a legacy class name without module). */
static int policy_allows(const kjob *k, const char *full)
{
    const st_strlist *l = &k->in->ctx->keras_allow;
    size_t fl = strlen(full);
    for (size_t i = 0; i < l->n; i++) {
        const char *e = l->v[i];
        size_t el = strlen(e);
        if (strcmp(e, full) == 0)
            return 1;
        /* "pkg.*": pkg itself and everything below it */
        if (el >= 2 && e[el - 1] == '*' && strncmp(full, e, el - 2) == 0 &&
            (fl == el - 2 || full[el - 2] == '.'))
            return 1;
    }
    return 0;
}

/* A built-in function named in a config as {"module": "builtins" or none, "class_name":
 * "function", "config": NAME}: Keras looks it up in its BUILTIN_MODULES. */
static int is_builtin_function(const char *name)
{
    static const char *const mods[] = {"activations", "constraints", "initializers", "losses",
                                       "metrics",     "optimizers",  "regularizers"};
    char full[KSTR + 32];
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
        snprintf(full, sizeof(full), "keras.%s.%s", mods[i], name);
        if (is_keras_name(full))
            return 1;
    }
    return 0;
}

static int dotted_identifier(const char *s)
{
    int start = 1;
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        int alpha = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_';
        int digit = *s >= '0' && *s <= '9';
        if (*s == '.') {
            if (start)
                return 0;
            start = 1;
        } else if (alpha || (digit && !start)) {
            start = 0;
        } else {
            return 0;
        }
    }
    return !start;
}

/* ---- report facts ------------------------------------------------------------------------ */

/* FNV-1a of n bytes, never 0 (0 marks a free slot). */
static uint64_t name_hash(const char *s, size_t n)
{
    return st_fnv1a64(ST_FNV1A64_INIT, s, n) | 1;
}

/* The slot of h in the job's set: the one holding it, or the free one it goes to (the set holds
 * at most ST_KERAS_MAX_LAYER_CLASSES hashes in four times as many slots: never full). */
static size_t lh_slot(const kjob *k, uint64_t h)
{
    size_t cap = sizeof(k->lh) / sizeof(k->lh[0]), j = (size_t)(h >> 7) & (cap - 1);
    while (k->lh[j] != 0 && k->lh[j] != h)
        j = (j + 1) & (cap - 1);
    return j;
}

/* The classes an earlier configuration of the same report listed (a .h5 file's model_config and
 * training_config): at most ST_KERAS_MAX_LAYER_CLASSES, so the set never fills past a quarter. */
static void lh_load(kjob *k)
{
    for (const char *p = k->in->report->keras_layers; p != NULL && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        uint64_t h = name_hash(p, l);
        k->lh[lh_slot(k, h)] = h;
        p = nl ? nl + 1 : p + l;
    }
}

/* The layer classes the report lists (distinct, in order; docs/report-json.md). Two names with
 * one 64-bit hash would list only the first: the list is a fact, not a judgement. */
static void add_layer_class(kjob *k, const char *cls)
{
    st_report *r = k->in->report;
    char shown[KSTR * 2];
    st_escape(cls, strlen(cls), shown, sizeof(shown), 100);
    size_t sl = strlen(shown), have = r->keras_layers ? strlen(r->keras_layers) : 0;
    uint64_t h = name_hash(shown, sl);
    size_t j = lh_slot(k, h);
    if (k->lh[j] == h)
        return;
    if (r->n_keras_layers >= ST_KERAS_MAX_LAYER_CLASSES) {
        r->keras_layers_truncated = 1;
        return;
    }
    char *n = realloc(r->keras_layers, have + sl + 2);
    if (n == NULL) {                   /* GCOVR_EXCL_BR_LINE: allocation failure */
        st_report_fail(r, ST_E_NOMEM); /* GCOVR_EXCL_LINE: allocation failure */
        return;                        /* GCOVR_EXCL_LINE: allocation failure */
    }
    if (have)
        n[have++] = '\n';
    memcpy(n + have, shown, sl + 1);
    r->keras_layers = n;
    r->n_keras_layers++;
    k->lh[j] = h;
}

/* ---- judgement --------------------------------------------------------------------------- */

/* Input-derived text, escaped into the job's buffers for a message (two per message). */
static const char *e1(kjob *k, const char *s)
{
    return st_escape(s, strlen(s), k->esc[0], sizeof(k->esc[0]), 120);
}

static const char *e2(kjob *k, const char *s)
{
    return st_escape(s, strlen(s), k->esc[1], sizeof(k->esc[1]), 120);
}

static void finding(kjob *k, st_rule_id id, const kframe *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void finding(kjob *k, st_rule_id id, const kframe *f, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st_report_add(k->in->report, id, f->off, 0, "%s: %s", k->where, msg);
}

/* A class or function named by module + name. */
static void judge_module_name(kjob *k, const kframe *f, const char *name, int is_fn, int cut)
{
    char full[2 * KSTR + 2];
    snprintf(full, sizeof(full), "%s.%s", f->mod, name);
    const char *what = is_fn ? "function" : "class";
    if (cut) {
        finding(k, ST_R_KERAS_CUSTOM, f, "%s \"%s\" (a name longer than any Keras name)",
                e1(k, what), e2(k, full));
    } else if (strcmp(f->mod, "builtins") == 0 && is_fn) {
        if (!is_builtin_function(name) && !policy_allows(k, full))
            finding(k, ST_R_KERAS_CUSTOM, f, "%s \"%s\" is not one of Keras's built-in functions",
                    e1(k, what), e2(k, full));
    } else if (strcmp(f->mod, "keras") == 0 || strncmp(f->mod, "keras.", 6) == 0) {
        if (is_gadget_name(full))
            finding(k, ST_R_KERAS_GADGET, f,
                    "%s \"%s\" reads, writes or fetches files or loads models (a published "
                    "safe_mode bypass: CVE-2025-8747, CVE-2025-9906)",
                    e1(k, what), e2(k, full));
        else if (!is_keras_name(full) && !policy_allows(k, full))
            finding(k, ST_R_KERAS_API, f,
                    "%s \"%s\" is not among Keras's modeling classes and functions", e1(k, what),
                    e2(k, full));
    } else if (!policy_allows(k, full)) {
        finding(k, ST_R_KERAS_CUSTOM, f,
                "%s \"%s\" comes from outside Keras (custom code the loader imports; "
                "CVE-2025-1550)",
                e1(k, what), e2(k, full));
    }
}

/* A class or function named without a module (legacy configs): Keras resolves it among its
 * own objects and the caller's custom objects. */
static void judge_bare(kjob *k, const kframe *f, const char *name, int is_fn)
{
    if (is_fn ? is_builtin_function(name)
              : in_sorted(name, st_keras_bare, st_keras_bare_count) ||
                    in_list(name, legacy_bare, sizeof(legacy_bare) / sizeof(legacy_bare[0])) ||
                    (strncmp(name, "Custom>", 7) == 0 &&
                     in_sorted(name + 7, st_keras_bare, st_keras_bare_count)))
        return;
    if (!policy_allows(k, name))
        finding(k, ST_R_KERAS_CUSTOM, f,
                "%s \"%s\" without a module is no Keras name: a custom object",
                e1(k, is_fn ? "function" : "class"), e2(k, name));
}

static void judge_tf_op(kjob *k, const kframe *f)
{
    const char *op = f->fn;
    /* a name cut short is no name judged: refused */
    int named = (f->flags & F_FN_STR) && !(f->flags & F_FN_LONG);
    int ok = named && in_list(op, tf_op_bare, sizeof(tf_op_bare) / sizeof(tf_op_bare[0]));
    for (size_t i = 0; named && !ok && i < sizeof(tf_op_prefixes) / sizeof(tf_op_prefixes[0]); i++)
        ok =
            strncmp(op, tf_op_prefixes[i], strlen(tf_op_prefixes[i])) == 0 && dotted_identifier(op);
    if (!ok)
        finding(k, ST_R_KERAS_TF_OP, f,
                "%s calls TensorFlow API \"%s\", outside the tensor-math allowlist", e1(k, f->cls),
                e2(k, (f->flags & F_FN_STR) ? op : "(not a name)"));
}

/* Judges an object with a class_name once it closed (its keys may come in any order). */
static void judge_class(kjob *k, const kframe *f)
{
    const char *c = f->cls;
    if (strcmp(c, "__lambda__") == 0 || (f->flags & F_LAMBDA)) {
        finding(k, ST_R_KERAS_LAMBDA, f,
                "%s carries Python bytecode (a Lambda's function; runs when loaded with "
                "safe_mode off, and always from legacy .h5 files: CVE-2025-9905)",
                e1(k, strcmp(c, "__lambda__") == 0 ? "__lambda__ object" : c));
        return;
    }
    if (in_list(c, special_classes, sizeof(special_classes) / sizeof(special_classes[0])))
        return;
    if (in_list(c, gadget_classes, sizeof(gadget_classes) / sizeof(gadget_classes[0]))) {
        finding(k, ST_R_KERAS_GADGET, f,
                "layer %s loads a file or another framework's code when built (a published "
                "safe_mode bypass)",
                e1(k, c));
        return;
    }
    if (f->flags & F_VOCAB)
        finding(k, ST_R_KERAS_VOCAB_PATH, f,
                "%s's vocabulary is the path \"%s\": read through tf.io.gfile when loaded "
                "(local files, URLs: CVE-2025-12058)",
                e1(k, c), e2(k, f->vocab));
    if (f->flags & F_BADNAME)
        finding(k, ST_R_KERAS_NAME, f,
                "%s is named \"%s\": a path (Keras names never hold '/'; weights and assets "
                "are stored under names)",
                e1(k, c), e2(k, f->name));
    if (strcmp(c, "TFOpLambda") == 0 || strcmp(c, "SlicingOpLambda") == 0) {
        judge_tf_op(k, f);
        return;
    }
    int is_fn = strcmp(c, "function") == 0;
    const char *name = c;
    if (strcmp(c, "__typespec__") == 0)
        name = f->spec[0] ? f->spec : "(none)";
    if (is_fn) {
        if (!(f->flags & F_CFG_STR)) {
            finding(k, ST_R_KERAS_STRUCTURE, f, "a %s object whose config is not a name", e1(k, c));
            return;
        }
        name = f->cfg;
    }
    /* get_registered_object(registered_name) is consulted before the module: a name that
     * differs from the class's is a custom object, whatever module it claims */
    if ((f->flags & F_REG) && strcmp(f->reg, name) != 0 && strcmp(f->reg, c) != 0 &&
        !policy_allows(k, f->reg))
        finding(k, ST_R_KERAS_CUSTOM, f,
                "registered_name \"%s\" names a custom object (for \"%s\"): looked up before "
                "the module",
                e1(k, f->reg), e2(k, name));
    if (f->flags & F_MOD_BAD)
        finding(k, ST_R_KERAS_STRUCTURE, f, "module of \"%s\" is neither a string nor null",
                e1(k, name));
    else if (f->flags & F_MOD)
        judge_module_name(k, f, name, is_fn, (f->flags & F_LONG) != 0);
    else
        judge_bare(k, f, name, is_fn);
}

/* An object without a class_name: Keras treats it as a plain dict, but a legacy Lambda's
 * config names its function by module (and function) this way. */
static void judge_plain(kjob *k, const kframe *f)
{
    if (!(f->flags & F_MOD) || (f->flags & F_LAMBDA) || !dotted_identifier(f->mod))
        return;
    char full[2 * KSTR + 2];
    if (f->flags & F_FN_STR) {
        judge_module_name(k, f, f->fn, 1, (f->flags & (F_LONG | F_FN_LONG)) != 0);
        return;
    }
    /* a module alone: allowed when Keras names something in it */
    snprintf(full, sizeof(full), "%s.", f->mod);
    size_t fl = strlen(full);
    if (is_gadget_name(full)) {
        finding(k, ST_R_KERAS_GADGET, f, "module \"%s\" is a Keras API outside modeling",
                e1(k, f->mod));
        return;
    }
    /* the first name not below the prefix, by binary search (the list is sorted): a config of
     * a million such objects must not cost a million scans of the whole list */
    size_t lo = 0, hi = st_keras_names_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(st_keras_names[mid], full) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < st_keras_names_count && strncmp(st_keras_names[lo], full, fl) == 0)
        return;
    if (!policy_allows(k, f->mod))
        finding(k, ST_R_KERAS_CUSTOM, f, "module \"%s\" is outside Keras", e1(k, f->mod));
}

/* ---- the token walk ---------------------------------------------------------------------- */

static int key_kind(const st_json_tok *t)
{
    static const struct {
        const char *s;
        int k;
    } keys[] = {{"class_name", K_CLASS},
                {"module", K_MODULE},
                {"registered_name", K_REG},
                {"config", K_CONFIG},
                {"vocabulary", K_VOCAB},
                {"function_type", K_FNTYPE},
                {"output_shape_type", K_FNTYPE},
                {"name", K_NAME},
                {"function", K_FUNCTION},
                {"spec_name", K_SPEC},
                {"layers", K_LAYERS}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (t->str_len == strlen(keys[i].s) && memcmp(t->str, keys[i].s, t->str_len) == 0)
            return keys[i].k;
    return K_OTHER;
}

/* Copies a string token into dst, setting the flag cut when it does not fit (messages show a
 * cut path as it is: no flag); 0 when it holds a NUL. */
static int keep(kframe *f, char *dst, const st_json_tok *t, unsigned cut)
{
    size_t n = t->str_len < KSTR - 1 ? t->str_len : KSTR - 1;
    memcpy(dst, t->str, n);
    dst[n] = '\0';
    if (t->str_len >= KSTR - 1)
        f->flags |= cut;
    return !(t->flags & ST_JSON_F_NUL);
}

static int bad_name(const st_json_tok *t)
{
    if (t->flags & ST_JSON_F_NUL)
        return 1;
    if (memchr(t->str, '/', t->str_len) || memchr(t->str, '\\', t->str_len))
        return 1;
    return t->str_len == 2 && memcmp(t->str, "..", 2) == 0;
}

/* A scalar value (or a container about to open) under the frame's current key. */
static void on_value(kframe *f, const st_json_tok *t)
{
    int str = t->type == ST_JT_STRING;
    switch (f->key) {
    case K_CLASS:
        if (str && keep(f, f->cls, t, F_LONG))
            f->flags |= F_CLS;
        else
            f->flags |= F_CLS_BAD;
        break;
    case K_MODULE:
        if (str && keep(f, f->mod, t, F_LONG))
            f->flags |= F_MOD;
        else if (t->type != ST_JT_NULL)
            f->flags |= F_MOD_BAD;
        break;
    case K_REG:
        if (str && keep(f, f->reg, t, F_LONG))
            f->flags |= F_REG;
        break;
    case K_CONFIG:
        if (str && keep(f, f->cfg, t, F_LONG))
            f->flags |= F_CFG_STR;
        break;
    case K_VOCAB:
        if (str) {
            keep(f, f->vocab, t, 0);
            f->flags |= F_VOCAB;
        }
        break;
    case K_FNTYPE:
        if (str && t->str_len == 6 && memcmp(t->str, "lambda", 6) == 0)
            f->flags |= F_LAMBDA;
        break;
    case K_NAME:
        if (str && bad_name(t)) {
            keep(f, f->name, t, 0);
            f->flags |= F_BADNAME;
        }
        break;
    case K_FUNCTION:
        if (str && keep(f, f->fn, t, F_FN_LONG))
            f->flags |= F_FN_STR;
        break;
    case K_SPEC:
        if (str)
            keep(f, f->spec, t, F_LONG);
        break;
    default:
        break;
    }
    f->key = K_OTHER;
}

/* Facts of a class object's config that judge the class: copied up when the config closes. */
static void propagate(kframe *parent, const kframe *cfg)
{
    unsigned take = cfg->flags & (F_VOCAB | F_LAMBDA | F_BADNAME | F_FN_STR | F_FN_LONG);
    if ((take & F_VOCAB) && !(parent->flags & F_VOCAB))
        memcpy(parent->vocab, cfg->vocab, KSTR);
    if ((take & F_BADNAME) && !(parent->flags & F_BADNAME))
        memcpy(parent->name, cfg->name, KSTR);
    if ((take & F_FN_STR) && !(parent->flags & F_FN_STR))
        memcpy(parent->fn, cfg->fn, KSTR);
    parent->flags |= take;
}

static st_error push(kjob *k, const st_json_tok *t)
{
    kframe *parent = k->n ? &k->f[k->n - 1] : NULL;
    if (k->n == k->cap)    /* the scanner's depth limit is below cap: GCOVR_EXCL_BR_LINE */
        return ST_E_LIMIT; /* GCOVR_EXCL_LINE: unreachable (cap = depth limit + 1) */
    kframe *f = &k->f[k->n++];
    memset(f, 0, sizeof(*f));
    f->is_obj = t->type == ST_JT_OBJ_BEGIN;
    f->off = t->off;
    if (parent != NULL && parent->is_obj) {
        /* a function given as a list is the (code, defaults, closure) of func_dump: the
         * legacy loader (legacy/saving/saving_utils.py model_from_config) turns a Lambda's
         * into a __lambda__ whatever function_type says, or without one */
        if (parent->key == K_FUNCTION && !f->is_obj)
            parent->flags |= F_LAMBDA;
        f->opened_as = parent->key;
        parent->key = K_OTHER;
    } else if (parent != NULL && parent->opened_as == K_LAYERS) {
        f->flags |= F_IN_LAYERS;
    }
    return ST_OK;
}

static void pop(kjob *k)
{
    kframe *f = &k->f[--k->n];
    kframe *parent = k->n ? &k->f[k->n - 1] : NULL;
    if (!f->is_obj)
        return;
    if (f->flags & F_CLS) {
        judge_class(k, f);
        if ((f->flags & F_IN_LAYERS) || parent == NULL)
            add_layer_class(k, f->cls);
    } else if (f->flags & F_CLS_BAD) {
        finding(k, ST_R_KERAS_STRUCTURE, f, "class_name is not a string");
    } else {
        judge_plain(k, f);
    }
    if (parent != NULL && parent->is_obj && f->opened_as == K_CONFIG)
        propagate(parent, f);
}

/* Python's json.loads (saving_lib.py _model_from_config) accepts NaN, Infinity and -Infinity,
 * and json.dumps writes them for such floats in a config: they are read here as the number 0
 * (same length, so offsets hold). Anything else outside RFC 8259 stays an error. Sets *copy to
 * the patched copy (NULL when nothing needed patching); ST_E_NOMEM when it could not. */
static st_error python_constants(const unsigned char *p, size_t len, unsigned char **copy)
{
    static const char *const words[] = {"-Infinity", "Infinity", "NaN"};
    int in_str = 0;
    *copy = NULL;
    for (size_t i = 0; i < len; i++) {
        if (in_str) {
            if (p[i] == '\\')
                i++;
            else if (p[i] == '"')
                in_str = 0;
            continue;
        }
        if (p[i] == '"') {
            in_str = 1;
            continue;
        }
        for (size_t w = 0; w < 3; w++) {
            size_t wl = strlen(words[w]);
            if (len - i < wl || memcmp(p + i, words[w], wl) != 0)
                continue;
            if (*copy == NULL) {
                if ((*copy = malloc(len)) == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
                    return ST_E_NOMEM;             /* GCOVR_EXCL_LINE: allocation failure */
                memcpy(*copy, p, len);
            }
            (*copy)[i] = '0';
            memset(*copy + i + 1, ' ', wl - 1);
            i += wl - 1;
            break;
        }
    }
    return ST_OK;
}

static st_error json_failure(kjob *k, st_json *js, st_json_err e)
{
    if (e == ST_JSON_E_NOMEM) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        /* GCOVR_EXCL_START: allocation failure */
        st_report_add(k->in->report, ST_R_NOMEM, 0, 0, "out of memory reading %s", k->where);
        return ST_E_NOMEM;
        /* GCOVR_EXCL_STOP */
    }
    if (e == ST_JSON_E_DEPTH) {
        st_report_add(k->in->report, ST_R_LIMIT, st_json_error_offset(js), 0,
                      "%s: JSON nested deeper than the json_depth limit", k->where);
        return ST_E_LIMIT;
    }
    st_report_add(k->in->report, ST_R_KERAS_MALFORMED, st_json_error_offset(js), 0,
                  "%s is not strict JSON (%s): Python's json module may read it differently, "
                  "so it cannot be judged",
                  k->where, st_json_error_detail(js));
    return ST_E_UNSUPPORTED;
}

static st_error walk(kjob *k, st_json *js)
{
    st_json_tok t;
    for (;;) {
        st_json_err e = st_json_next(js, &t);
        if (e != ST_JSON_OK)
            return json_failure(k, js, e);
        kframe *top = k->n ? &k->f[k->n - 1] : NULL;
        switch (t.type) {
        case ST_JT_END:
            return ST_OK;
        case ST_JT_OBJ_BEGIN:
        case ST_JT_ARR_BEGIN:
            if (push(k, &t) != ST_OK) /* GCOVR_EXCL_BR_LINE: unreachable (see push) */
                return ST_E_LIMIT;    /* GCOVR_EXCL_LINE: unreachable */
            break;
        case ST_JT_OBJ_END:
        case ST_JT_ARR_END:
            pop(k);
            break;
        case ST_JT_KEY:
            top->key = (unsigned char)key_kind(&t);
            break;
        default:
            if (top != NULL && top->is_obj)
                on_value(top, &t);
            break;
        }
    }
}

st_error st_keras_check_config(st_input *in, const unsigned char *json, size_t len,
                               const char *where)
{
    kjob k = {.in = in, .where = where ? where : "Keras config"};
    lh_load(&k);
    if (len >= 0x80000000u) { /* the scanner's bound (offsets are 31-bit) */
        st_report_add(in->report, ST_R_LIMIT, 0, len, "%s: 2 GiB or more of JSON", k.where);
        return ST_E_LIMIT;
    }
    unsigned char *patched = NULL;
    st_error err = python_constants(json, len, &patched);
    if (err != ST_OK) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return err;   /* GCOVR_EXCL_LINE: allocation failure */
    unsigned depth = (unsigned)in->ctx->limits[ST_LIMIT_JSON_DEPTH];
    st_json *js = st_json_new(patched ? patched : json, len, depth);
    k.cap = (size_t)depth + 1;
    k.f = calloc(k.cap, sizeof(kframe));
    if (js == NULL || k.f == NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        /* GCOVR_EXCL_START: allocation failure */
        err = ST_E_NOMEM;
        st_report_add(in->report, ST_R_NOMEM, 0, len, "%s: out of memory", k.where);
        /* GCOVR_EXCL_STOP */
    } else {
        err = walk(&k, js);
    }
    st_json_free(js);
    free(k.f);
    free(patched);
    return err;
}

/* ---- .keras archives --------------------------------------------------------------------- */

/* The entry Python's zipfile returns for a name (ZipFile.getinfo: the last copy, names cut at a
 * NUL as ZipInfo does), or -1. saving_lib.py opens config.json and model.weights.h5 by name. */
static long member(const st_zip *z, const char *want)
{
    size_t wl = strlen(want);
    for (size_t i = z->n; i-- > 0;) {
        const unsigned char *p = z->cd + z->e[i].name_off;
        const unsigned char *nul = memchr(p, 0, z->e[i].name_len);
        size_t len = nul ? (size_t)(nul - p) : z->e[i].name_len;
        if (len == wl && memcmp(p, want, wl) == 0)
            return (long)i;
    }
    return -1;
}

int st_keras_is_archive(const st_input *in, const st_zip *z)
{
    if (member(z, "config.json") < 0)
        return in->name != NULL && st_name_has_suffix(in->name, ".keras");
    return member(z, "metadata.json") >= 0 || member(z, "model.weights.h5") >= 0 ||
           member(z, "model.weights.npz") >= 0 ||
           (in->name != NULL && st_name_has_suffix(in->name, ".keras"));
}

/* metadata.json (saving_lib.py _save_model_to_fileobj writes keras_version and date_saved;
 * the loader never reads it, so what is wrong with it is a warning). */
static void check_metadata(st_input *in, const unsigned char *buf, size_t len)
{
    st_json *js = st_json_new(buf, len, 8);
    st_json_tok t;
    /* GCOVR_EXCL_START: a member of 2 GiB or more (over the default member_bytes limit), or
     * allocation failure */
    if (js == NULL) {
        st_report_add(in->report, ST_R_KERAS_METADATA, 0, len,
                      "metadata.json could not be read (2 GiB or more, or out of memory)");
        if (len < 0x80000000u)
            st_report_fail(in->report, ST_E_NOMEM);
        return;
    }
    /* GCOVR_EXCL_STOP */
    st_json_err e = st_json_next(js, &t);
    int key = 0, version = 0, date = 0;
    const char *why = NULL;
    if (e == ST_JSON_OK && t.type != ST_JT_OBJ_BEGIN)
        why = "is not a JSON object";
    while (e == ST_JSON_OK && why == NULL && (e = st_json_next(js, &t)) == ST_JSON_OK &&
           t.type != ST_JT_END) {
        if (t.type == ST_JT_KEY && t.depth == 1) {
            key = t.str_len == 13 && memcmp(t.str, "keras_version", 13) == 0 ? 1
                  : t.str_len == 10 && memcmp(t.str, "date_saved", 10) == 0  ? 2
                                                                             : 0;
            continue;
        }
        if (t.depth == 1 && t.type == ST_JT_STRING && key == 1) {
            version = 1;
            st_escape(t.str, t.str_len, in->report->keras_version,
                      sizeof(in->report->keras_version), 40);
        }
        date |= t.depth == 1 && t.type == ST_JT_STRING && key == 2;
        if (t.depth == 1 && t.type != ST_JT_OBJ_END)
            key = 0;
    }
    if (why == NULL && e != ST_JSON_OK)
        why = "is not strict JSON";
    if (why == NULL && (!version || !date))
        why = !version ? "has no keras_version string" : "has no date_saved string";
    if (why != NULL)
        st_report_add(in->report, ST_R_KERAS_METADATA, 0, len, "metadata.json %s%s%s", why,
                      e != ST_JSON_OK ? ": " : "", e != ST_JSON_OK ? st_json_error_detail(js) : "");
    st_json_free(js);
}

typedef struct {
    const st_src *outer;
    uint64_t base;
} window;

static st_error window_read(void *arg, uint64_t off, void *buf, size_t len)
{
    const window *w = arg;
    return st_src_read(w->outer, w->base + off, buf, len);
}

/* model.weights.h5, walked where it lies when stored (as Keras writes it), else inflated. */
static st_error check_weights(st_input *in, const st_zip *z, long i)
{
    const st_zip_entry *e = &z->e[i];
    if (e->method == 0 && e->readable && e->csize == e->usize) {
        window w = {in->src, e->data_off};
        st_src_cb cb = {window_read, &w};
        st_src src;
        st_src_callback(&src, &cb, e->usize);
        return st_hdf5_check_src(in, &src, "model.weights.h5");
    }
    unsigned char *buf;
    size_t len;
    st_error err = st_zip_read(in, z, e, UINT64_MAX, &buf, &len);
    if (err != ST_OK)
        return err;
    st_src src = {-1, buf, len};
    err = st_hdf5_check_src(in, &src, "model.weights.h5");
    free(buf);
    return err;
}

static st_error read_member(st_input *in, const st_zip *z, long i, unsigned char **buf, size_t *len)
{
    return st_zip_read(in, z, &z->e[i], UINT64_MAX, buf, len);
}

st_error st_keras_check_archive(st_input *in, const st_zip *z)
{
    unsigned char *buf;
    size_t len;
    st_error err = ST_OK, e2;
    long cfg = member(z, "config.json"), meta = member(z, "metadata.json");
    long h5 = member(z, "model.weights.h5"), npz = member(z, "model.weights.npz");
    in->report->format = "keras";
    if (cfg < 0) {
        st_report_add(in->report, ST_R_KERAS_LAYOUT, 0, 0,
                      "a .keras file without config.json: Keras cannot load it");
        return ST_OK;
    }
    if ((err = read_member(in, z, cfg, &buf, &len)) == ST_OK) {
        err = st_keras_check_config(in, buf, len, "config.json");
        free(buf);
    }
    if (meta < 0) {
        st_report_add(in->report, ST_R_KERAS_METADATA, 0, 0, "metadata.json is missing");
    } else if ((e2 = read_member(in, z, meta, &buf, &len)) == ST_OK) {
        check_metadata(in, buf, len);
        free(buf);
    } else if (err == ST_OK) {
        err = e2;
    }
    /* saving_lib.py _load_model_from_fileobj: .h5 first, else .npz (a zip of .npy, which the
     * zip reader checks as a nested archive), else it refuses the file */
    if (h5 >= 0) {
        e2 = check_weights(in, z, h5);
        if (err == ST_OK)
            err = e2;
    } else if (npz < 0) {
        st_report_add(in->report, ST_R_KERAS_LAYOUT, 0, 0,
                      "no model.weights.h5 or model.weights.npz: Keras refuses the archive "
                      "after building the model from config.json");
    }
    return err;
}

/* ---- a configuration on its own ---------------------------------------------------------- */

/* 1 when the top-level object has a "module" or "class_name" key in any position (json.loads
 * does not care about key order; the file is read as far as the header_bytes limit). JSON the
 * strict scanner refuses (Python's NaN, Infinity) is claimed when "class_name" occurs at all. */
static int top_level_keras_key(const st_input *in)
{
    uint64_t size = in->src != NULL ? in->src->size : 0;
    if (size == 0 || size > in->ctx->limits[ST_LIMIT_HEADER_BYTES])
        return 0;
    unsigned char *buf = malloc((size_t)size);
    if (buf == NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
        return 0;    /* GCOVR_EXCL_LINE: malloc failure: not claimed (unknown, could not check) */
    if (st_src_read(in->src, 0, buf, (size_t)size) != ST_OK) {
        free(buf);
        return 0; /* unreadable: not claimed (the file is then could not check) */
    }
    int found = 0, refused = 0;
    st_json *j = st_json_new(buf, (size_t)size, (unsigned)in->ctx->limits[ST_LIMIT_JSON_DEPTH]);
    st_json_tok t;
    /* size is at most header_bytes (100 MB), under the scanner's 2 GiB: NULL is a malloc failure */
    refused = j == NULL; /* GCOVR_EXCL_BR_LINE: malloc failure */
    while (!found && !refused) {
        if (st_json_next(j, &t) != ST_JSON_OK)
            refused = 1;
        else if (t.type == ST_JT_END)
            break;
        else if (t.type == ST_JT_KEY && t.depth == 1)
            found = (t.str_len == 6 && memcmp(t.str, "module", 6) == 0) ||
                    (t.str_len == 10 && memcmp(t.str, "class_name", 10) == 0);
    }
    st_json_free(j);
    for (size_t i = 0; refused && !found && i + 12 <= size; i++)
        found = buf[i] == '"' && memcmp(buf + i, "\"class_name\"", 12) == 0;
    free(buf);
    return found;
}

/* A Keras model folder (saving_lib.py _load_model_from_dir, the Hugging Face hub's hf:// models)
 * holds config.json beside model.weights.h5: a .json file whose top-level object has Keras's
 * "module" or "class_name" key (serialize_keras_object writes module first; legacy model_config
 * starts with class_name; a reordered file loads the same). Transformers' config.json has
 * neither and is not claimed. */
int st_keras_config_sniff(const st_input *in)
{
    if (in->name == NULL || !st_name_has_suffix(in->name, ".json"))
        return 0;
    size_t i = 0;
    while (i < in->head_len && strchr(" \t\r\n", in->head[i]) != NULL && in->head[i] != '\0')
        i++;
    if (i >= in->head_len || in->head[i++] != '{')
        return 0;
    while (i < in->head_len && strchr(" \t\r\n", in->head[i]) != NULL && in->head[i] != '\0')
        i++;
    const unsigned char *p = in->head + i;
    size_t left = in->head_len - i;
    if ((left >= 8 && memcmp(p, "\"module\"", 8) == 0) ||
        (left >= 12 && memcmp(p, "\"class_name\"", 12) == 0))
        return 70;
    return top_level_keras_key(in) ? 70 : 0;
}

st_error st_keras_config_check(st_input *in)
{
    in->report->format = "keras-config";
    uint64_t size = in->src->size, max = in->ctx->limits[ST_LIMIT_HEADER_BYTES];
    if (size > max) {
        st_report_add(in->report, ST_R_LIMIT, 0, size,
                      "a Keras configuration of %llu bytes is over the header_bytes limit (%llu)",
                      (unsigned long long)size, (unsigned long long)max);
        return ST_E_LIMIT;
    }
    unsigned char *buf = malloc((size_t)size); /* size >= 1: the sniff saw a '{' */
    if (buf == NULL) {                         /* GCOVR_EXCL_BR_LINE: allocation failure */
        st_report_add(in->report, ST_R_NOMEM, 0, 0, "out of memory"); /* GCOVR_EXCL_LINE */
        return ST_E_NOMEM;                                            /* GCOVR_EXCL_LINE */
    }
    st_error err = st_src_read(in->src, 0, buf, (size_t)size);
    if (err != ST_OK)
        st_report_add(in->report, ST_R_IO, 0, 0, "could not read the configuration");
    else
        err = st_keras_check_config(in, buf, (size_t)size, "Keras config");
    free(buf);
    return err;
}
