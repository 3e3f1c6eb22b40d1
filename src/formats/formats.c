/*
 * formats.c - the table of formats and identification by content.
 *
 * Adding a format: one module in this folder, one row here, one test file, one fuzz target,
 * one corpus folder and one docs page.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/escape.h"
#include "format.h"
#include "keras/keras.h"
#include "pickle.h"

static const st_format format_table[] = {
    {"safetensors", st_safetensors_sniff, st_safetensors_check, 0},
    {"shard-index", st_index_sniff, st_index_check, 0},
    {"pickle", st_rawpickle_sniff, st_rawpickle_check, 0},
    /* zip readers find the archive from its end, whatever precedes it: a second view */
    {"zip", st_ziparchive_sniff, st_ziparchive_check, 1},
    {"numpy", st_numpy_sniff, st_numpy_check, 0},
    {"compressed", st_compressed_sniff, st_compressed_check, 0},
    {"joblib-zfile", st_zfile_sniff, st_zfile_check, 0},
    {"tar", st_tar_sniff, st_tar_check, 0},
    {"gguf", st_gguf_sniff, st_gguf_check, 0},
    {"onnx", st_onnx_sniff, st_onnx_check, 0},
    /* libhdf5 finds a file behind a user block of any size, whatever precedes it */
    {"hdf5", st_hdf5_sniff, st_hdf5_check, 1},
    {"keras-config", st_keras_config_sniff, st_keras_config_check, 0},
    {"opaque", st_opaque_sniff, st_opaque_check, 0},
    /* identified, not checked: named precisely (other.c, other_exec.c, keras/savedmodel.c) */
    {"executable", st_exec_sniff, st_exec_check, 0},
    {"tflite", st_tflite_sniff, st_other_check, 0},
    {"executorch", st_executorch_sniff, st_other_check, 0},
    {"coreml", st_coreml_sniff, st_other_check, 0},
    {"openvino", st_openvino_sniff, st_other_check, 0},
    {"savedmodel", st_savedmodel_sniff, st_savedmodel_check, 0},
};

const st_format *st_format_identify(const st_input *in)
{
    const st_format *best = NULL;
    int best_score = 0;
    for (size_t i = 0; i < sizeof(format_table) / sizeof(format_table[0]); i++) {
        int s = format_table[i].sniff(in);
        if (s > best_score) {
            best_score = s;
            best = &format_table[i];
        }
    }
    return best;
}

/* Views every file gets whatever its format (views.c): pickle.load and tarfile.open from
 * byte 0, as torch.load and numpy.load try them. */
static const st_format view_table[] = {
    {"pickle", st_pickle_view_sniff, st_pickle_view_check, 1},
    {"tar", st_tar_view_sniff, st_tar_view_check, 1},
};

/* A view the primary format's module already took: its own reading, or the pickle view that
 * tar.c and ziparchive.c check themselves when the first bytes look like a pickle (ST319). A
 * tar header that imports and then fails (no STOP) is walked here (ST520). */
static int view_taken(const st_format *primary, const st_format *view, const st_input *in)
{
    if (primary == NULL)
        return 0;
    if (strcmp(primary->name, view->name) == 0)
        return 1;
    return strcmp(view->name, "pickle") == 0 &&
           (strcmp(primary->name, "tar") == 0 || strcmp(primary->name, "zip") == 0) &&
           st_pk_looks_like_pickle(in->head, in->head_len);
}

size_t st_format_other_views(const st_input *in, const st_format *primary, const st_format **out,
                             size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(format_table) / sizeof(format_table[0]) && n < max; i++)
        if (&format_table[i] != primary && format_table[i].second_view &&
            format_table[i].sniff(in) >= ST_VIEW_CONFIDENCE)
            out[n++] = &format_table[i];
    for (size_t i = 0; i < sizeof(view_table) / sizeof(view_table[0]) && n < max; i++)
        if (!view_taken(primary, &view_table[i], in) &&
            view_table[i].sniff(in) >= ST_VIEW_CONFIDENCE)
            out[n++] = &view_table[i];
    return n;
}

int st_name_has_suffix(const char *name, const char *suffix)
{
    if (name == NULL)
        return 0;
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcasecmp(name + n - s, suffix) == 0;
}

static st_error nested_src(st_input *outer, const st_src *src, const unsigned char *head,
                           const unsigned char *tail, size_t h, const char *what, int folder);

static st_error nested(st_input *outer, const unsigned char *buf, size_t len, const char *what,
                       int folder)
{
    size_t h = len < ST_HEAD_BYTES ? len : ST_HEAD_BYTES;
    st_src src = {-1, buf, len};
    return nested_src(outer, &src, buf, buf + len - h, h, what, folder);
}

/* A byte range of another source, read through it (st_src_read checks the range again). */
typedef struct {
    const st_src *src;
    uint64_t base;
} range_src;

static st_error range_read(void *arg, uint64_t off, void *buf, size_t len)
{
    const range_src *r = arg;
    return st_src_read(r->src, r->base + off, buf, len); /* off + len <= the range's size */
}

st_error st_check_nested_range(st_input *outer, uint64_t off, uint64_t len, const char *what)
{
    /* GCOVR_EXCL_START: callers pass a range they found inside the input; kept as a guard */
    if (off > outer->src->size || len > outer->src->size - off)
        return ST_E_INVAL;
    /* GCOVR_EXCL_STOP */
    range_src r = {outer->src, off};
    st_src_cb cb = {range_read, &r};
    st_src src;
    st_src_callback(&src, &cb, len);
    size_t h = len < ST_HEAD_BYTES ? (size_t)len : ST_HEAD_BYTES;
    unsigned char *ends = malloc(2 * (size_t)ST_HEAD_BYTES);
    if (ends == NULL)      /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    /* GCOVR_EXCL_START: reading the range fails only when the file shrinks meanwhile */
    if (st_src_read(&src, 0, ends, h) != ST_OK ||
        st_src_read(&src, len - h, ends + ST_HEAD_BYTES, h) != ST_OK) {
        free(ends);
        st_report_add(outer->report, ST_R_IO, off, h, "could not read a nested input's ends");
        return ST_E_IO;
    }
    /* GCOVR_EXCL_STOP */
    st_error err = nested_src(outer, &src, ends, ends + ST_HEAD_BYTES, h, what, 0);
    free(ends);
    return err;
}

static st_error nested_src(st_input *outer, const st_src *src, const unsigned char *head,
                           const unsigned char *tail, size_t h, const char *what, int folder)
{
    char shown[160];
    st_escape(what, strlen(what), shown, sizeof(shown), 120);
    if (outer->depth + 1 > outer->ctx->limits[ST_LIMIT_NESTING]) {
        st_report_add(outer->report, ST_R_LIMIT, 0, 0, "\"%s\" nested deeper than %llu", shown,
                      (unsigned long long)outer->ctx->limits[ST_LIMIT_NESTING]);
        return ST_E_LIMIT;
    }
    st_input sub = {.ctx = outer->ctx,
                    .report = outer->report,
                    .src = src,
                    .head = head,
                    .head_len = h,
                    .tail = tail,
                    .tail_len = h,
                    .name = what,
                    .depth = outer->depth + 1}; /* no folder: its siblings are not files */
    if (folder) {
        sub.open_dir = outer->open_dir;
        sub.dir_arg = outer->dir_arg;
    }
    const st_format *fmt = st_format_identify(&sub);
    if (fmt == NULL) {
        st_report_add(outer->report, ST_R_UNKNOWN_FORMAT, 0, 0,
                      "content of \"%s\" is not a format stcheck recognises", shown);
        return ST_E_UNSUPPORTED;
    }
    const char *format = outer->report->format, *kind = outer->report->kind;
    st_error err = fmt->check(&sub);
    /* A compression wrapper's content is the file itself (joblib.load reads it, and its
     * siblings, as if it were): what it is becomes the report's kind. A member is not. */
    if (!folder)
        outer->report->kind = kind;
    else if (outer->report->kind == NULL)
        outer->report->kind = outer->report->format;
    outer->report->format = format;
    return err;
}

st_error st_check_nested(st_input *outer, const unsigned char *buf, size_t len, const char *what)
{
    return nested(outer, buf, len, what, 0);
}

st_error st_check_nested_in_folder(st_input *outer, const unsigned char *buf, size_t len,
                                   const char *what)
{
    return nested(outer, buf, len, what, 1);
}
