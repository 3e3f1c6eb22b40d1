/*
 * shards.c - sharded checkpoints (docs/convert.md "Sharded checkpoints").
 *
 * convert: an index (pytorch_model.bin.index.json, a "shard-index" that passed its check,
 * which checks every shard) becomes one safetensors file per shard file, in the same grouping
 * and in the order of the shard files' names, named as transformers names them
 * (model-00001-of-0000N.safetensors), and model.safetensors.index.json written as transformers'
 * save_pretrained writes it (json.dumps(index, indent=2, sort_keys=True) + "\n",
 * {"metadata": {"total_size": bytes of the tensors written}, "weight_map": {name: file}}).
 * Each shard is checked again on the descriptor it is converted from, converted, verified and
 * fsynced to a temporary file; only when every one and the index are, all are renamed into
 * place (the index last). On any failure every temporary and renamed file is removed.
 *
 * compare: a side that is an index is the union of its shards' plans, each tensor read from
 * its own shard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "../json/json.h"
#include "convert.h"

/* ---- the input index -------------------------------------------------------------------- */

typedef struct {
    char **files; /* distinct shard file names, sorted bytewise */
    size_t n_files;
    char **names; /* weight_map keys, in the index's order */
    char **file_of;
    size_t n;
} index_map;

static void index_free(index_map *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->names[i]);
        free(x->file_of[i]);
    }
    free(x->names);
    free(x->file_of);
    free(x->files); /* its strings are file_of's */
    memset(x, 0, sizeof(*x));
}

static char *tok_dup(const st_json_tok *t)
{
    char *s = malloc(t->str_len + 1);
    if (s != NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        memcpy(s, t->str, t->str_len);
        s[t->str_len] = '\0';
    }
    return s;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Skips one value whose first token is t (objects and arrays by depth). */
static int skip_value(st_json *j, st_json_tok *t)
{
    int depth = 0;
    do {
        if (t->type == ST_JT_OBJ_BEGIN || t->type == ST_JT_ARR_BEGIN)
            depth++;
        else if (t->type == ST_JT_OBJ_END || t->type == ST_JT_ARR_END)
            depth--;
    } while (depth > 0 && st_json_next(j, t) == ST_JSON_OK);
    return depth == 0 ? 0 : -1;
}

/* weight_map's entries; the index check passed the document, so its shape is known good but
 * read defensively. */
static int weight_map(st_json *j, index_map *x)
{
    st_json_tok t;
    if (st_json_next(j, &t) != ST_JSON_OK || t.type != ST_JT_OBJ_BEGIN)
        return -1;
    while (st_json_next(j, &t) == ST_JSON_OK && t.type == ST_JT_KEY) {
        char *name = tok_dup(&t), *file = NULL;
        if (st_json_next(j, &t) == ST_JSON_OK && t.type == ST_JT_STRING)
            file = tok_dup(&t);
        /* GCOVR_EXCL_BR_START: allocation failure */
        if (st_grow(&x->names, &x->n_files, x->n, sizeof(char *), 64) != 0 ||
            (x->file_of = realloc(x->file_of, x->n_files * sizeof(char *))) == NULL ||
            name == NULL || file == NULL) {
            /* GCOVR_EXCL_BR_STOP */
            free(name);
            free(file);
            return -1;
        }
        x->names[x->n] = name;
        x->file_of[x->n++] = file;
    }
    return t.type == ST_JT_OBJ_END ? 0 : -1;
}

static int parse_index(const unsigned char *buf, size_t len, index_map *x)
{
    st_json *j = st_json_new(buf, len, 64);
    st_json_tok t;
    if (j == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    int rc = st_json_next(j, &t) != ST_JSON_OK || t.type != ST_JT_OBJ_BEGIN;
    while (rc == 0 && st_json_next(j, &t) == ST_JSON_OK && t.type == ST_JT_KEY) {
        if (t.str_len == 10 && memcmp(t.str, "weight_map", 10) == 0)
            rc = weight_map(j, x);
        else
            rc = st_json_next(j, &t) != ST_JSON_OK || skip_value(j, &t) != 0;
    }
    st_json_free(j);
    x->n_files = 0;
    if (rc != 0)
        return -1;
    if ((x->files = malloc((x->n + 1) * sizeof(char *))) == NULL) /* GCOVR_EXCL_BR_LINE */
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < x->n; i++)
        x->files[x->n_files++] = x->file_of[i];
    qsort(x->files, x->n_files, sizeof(char *), str_cmp);
    size_t k = 0;
    for (size_t i = 0; i < x->n_files; i++)
        if (k == 0 || strcmp(x->files[k - 1], x->files[i]) != 0)
            x->files[k++] = x->files[i];
    x->n_files = k;
    return 0;
}

/* The index at path: read (at most 64 MiB, as the index check reads it) and parsed. */
static int read_index(const char *path, index_map *x)
{
    st_src src;
    int fd = st_cv_open_input(path, &src), rc = -1;
    unsigned char *buf = NULL;
    if (fd >= 0 && src.size <= (64u << 20) && (buf = malloc((size_t)src.size + 1)) != NULL &&
        st_src_read(&src, 0, buf, (size_t)src.size) == ST_OK)
        rc = parse_index(buf, (size_t)src.size, x);
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- one shard -------------------------------------------------------------------------- */

typedef struct {
    int fd;
    st_src src;
    st_cv_plan plan;
    char tmp[4200];
    int written; /* tmp exists */
} shard;

/* path's folder joined with name (names with '/' were refused by the index check, ST611) */
static int sibling(const char *path, const char *name, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path) + 1 : 0;
    int n = snprintf(out, size, "%.*s%s", dl, path, name);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Opens, checks and plans shard file f of the index at path. 0, or -1 with the reason in r. */
static int load_shard(st_ctx *ctx, st_report *r, const char *path, const char *file, shard *s,
                      int for_convert)
{
    char full[4200], shown[160];
    st_escape(file, strlen(file), shown, sizeof(shown), 120);
    s->fd = -1;
    /* a plain name in the index's folder (the index check refuses others, ST611; the index is
     * read again here) */
    if (strchr(file, '/') != NULL || strcmp(file, "..") == 0 ||
        sibling(path, file, full, sizeof(full)) != 0 ||
        (s->fd = st_cv_open_input(full, &s->src)) < 0) {
        st_report_add(r, ST_R_CV_REFUSED, 0, 0, "shard \"%s\" cannot be opened", shown);
        st_report_fail(r, ST_E_IO);
        return -1;
    }
    st_report *cr = st_check_fd(ctx, s->fd, full);
    if (cr == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1;  /* GCOVR_EXCL_LINE: allocation failure */
    int ok = st_report_verdict(cr) == ST_VERDICT_PASS;
    if (!ok) {
        st_report_add(r, ST_R_CV_REFUSED, 0, 0, "shard \"%s\" does not pass its checks", shown);
        if (st_report_verdict(cr) == ST_VERDICT_ERROR)
            st_report_fail(r, ST_E_UNSUPPORTED);
    } else if (for_convert) {
        ok = st_cv_usable_plan(ctx, r, cr, &s->src, full, &s->plan) == 0;
    } else {
        int refused = 0;
        const char *fmt = st_report_format(cr);
        st_error err = st_cv_plan_build(ctx, r, &s->src, full, fmt, 0, &s->plan, &refused);
        ok = err == ST_OK && !refused;
        if (err != ST_OK)
            st_report_fail(r, err);
    }
    st_report_free(cr);
    return ok ? 0 : -1;
}

/* Every weight_map name of file f is in the shard (a tensor or an alias) and every name of
 * the shard is in weight_map under f. */
static int names_agree(st_report *r, const index_map *x, const char *file, const st_cv_plan *p)
{
    size_t listed = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (strcmp(x->file_of[i], file) != 0)
            continue;
        listed++;
        int found = 0;
        for (size_t k = 0; k < p->n && !found; k++)
            found = strcmp(p->t[k].name, x->names[i]) == 0;
        for (size_t k = 0; k < p->n_alias && !found; k++)
            found = strcmp(p->alias[k].name, x->names[i]) == 0;
        if (!found) {
            char s[160];
            st_report_add(r, ST_R_CV_REFUSED, 0, 0,
                          "weight_map puts \"%s\" in a shard that does not hold it",
                          st_escape(x->names[i], strlen(x->names[i]), s, sizeof(s), 120));
            return -1;
        }
    }
    if (listed != p->n + p->n_alias) {
        st_report_add(r, ST_R_CV_REFUSED, 0, 0,
                      "a shard holds names weight_map does not list there (or lists twice)");
        return -1;
    }
    return 0;
}

static void shards_free(shard *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st_cv_plan_free(&s[i].plan);
        if (s[i].fd >= 0)
            close(s[i].fd);
        if (s[i].written)
            unlink(s[i].tmp);
    }
    free(s);
}

/* ---- the output index ------------------------------------------------------------------- */

/* Python's json.dumps string (ensure_ascii): \" and \\ escaped, ASCII as it is, every other
 * code point as \uXXXX (surrogate pairs above the BMP). Names are valid UTF-8 without control
 * characters: a name holding one fails the strict check of its shard (ST133, then ST673) before
 * the index is written, so json's short forms (\n, \t, ...) are never needed. */
static void py_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        unsigned c = *p, len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        unsigned cp = len == 1 ? c : c & (0x3f >> (len - 1));
        for (unsigned k = 1; k < len; k++)
            cp = cp << 6 | (p[k] & 0x3f);
        p += len;
        if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (int)cp);
        else if (cp < 0x80)
            fputc((int)cp, f);
        else if (cp < 0x10000)
            fprintf(f, "\\u%04x", cp);
        else
            fprintf(f, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
                    0xdc00 + ((cp - 0x10000) & 0x3ff));
    }
    fputc('"', f);
}

typedef struct {
    const char *name;
    size_t shard;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* model.safetensors.index.json for the written shards, to a temporary file beside out. */
static int write_index(st_report *r, const shard *s, size_t n, char names[][80], const char *out,
                       char *tmp)
{
    size_t total = 0, k = 0;
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++)
        total += s[i].plan.n;
    entry *e = malloc((total + 1) * sizeof(entry));
    if (e == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < s[i].plan.n; t++) {
            e[k++] = (entry){s[i].plan.t[t].name, i};
            size += s[i].plan.t[t].nbytes;
        }
    qsort(e, k, sizeof(entry), entry_cmp); /* k > 0: each shard holds a tensor it lists */
    /* the shards' temporary files were just made in this folder */
    int fd = st_cv_temp_beside(out, tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL; /* GCOVR_EXCL_BR_LINE: see above */
    if (f == NULL) {                            /* GCOVR_EXCL_BR_LINE: see above */
        if (fd >= 0)                            /* GCOVR_EXCL_BR_LINE: see above */
            close(fd);                          /* GCOVR_EXCL_LINE: see above */
        free(e);                                /* GCOVR_EXCL_LINE: see above */
        st_report_add(r, ST_R_CV_OUTPUT, 0, 0,  /* GCOVR_EXCL_LINE: see above */
                      "cannot create the index; nothing is written");
        st_report_fail(r, ST_E_IO); /* GCOVR_EXCL_LINE: see above */
        return -1;                  /* GCOVR_EXCL_LINE: see above */
    }
    fprintf(f, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n  \"weight_map\": {",
            (unsigned long long)size);
    for (size_t i = 0; i < k; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        py_json_str(f, e[i].name);
        fprintf(f, ": \"%s\"", names[e[i].shard]);
    }
    fputs("\n  }\n}\n", f);
    free(e);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0; /* GCOVR_EXCL_BR_LINE: a failing disk */
    bad |= fclose(f) != 0;
    if (bad) {       /* GCOVR_EXCL_BR_LINE: a full disk while writing a few kB */
        unlink(tmp); /* GCOVR_EXCL_LINE: see above */
        st_report_add(r, ST_R_CV_OUTPUT, 0, 0,
                      "writing the index failed; nothing is written"); /* GCOVR_EXCL_LINE */
        st_report_fail(r, ST_E_IO); /* GCOVR_EXCL_LINE: see above */
        return -1;                  /* GCOVR_EXCL_LINE: see above */
    }
    return 0;
}

/* ---- convert ---------------------------------------------------------------------------- */

/* Where the set goes: OUTPUT a folder (index model.safetensors.index.json in it), or a path
 * ending in .index.json (the index's own name, the shards beside it). */
static int output_paths(const char *output, char *dir, char *index)
{
    struct stat st;
    size_t n = strlen(output);
    if (n > 4096) /* PATH_MAX: no such folder, no such file */
        return -1;
    if (stat(output, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(index, 4200, "%s/model.safetensors.index.json", output);
        snprintf(dir, 4200, "%s/", output);
        return 0;
    }
    if (n < 11 || strcmp(output + n - 11, ".index.json") != 0)
        return -1;
    memcpy(index, output, n + 1);
    const char *slash = strrchr(output, '/');
    snprintf(dir, 4200, "%.*s", slash ? (int)(slash - output) + 1 : 0, output);
    return 0;
}

void st_cv_convert_index(st_ctx *ctx, st_report *r, const char *input, const char *output)
{
    index_map x = {0};
    char dir[4200], index[4200], itmp[4200], (*names)[80] = NULL;
    shard *s = NULL;
    size_t done = 0;
    int ok = output_paths(output, dir, index) == 0;
    if (!ok) {
        st_report_add(r, ST_R_CV_OUTPUT, 0, 0,
                      "a sharded input needs an output folder or a *.index.json output name");
        st_report_fail(r, ST_E_IO);
        return;
    }
    if (read_index(input, &x) != 0 || x.n_files == 0) {
        st_report_add(r, ST_R_CV_REFUSED, 0, 0,
                      "the index cannot be read again, or lists no "
                      "shard");
        index_free(&x);
        return;
    }
    s = calloc(x.n_files, sizeof(shard));
    names = calloc(x.n_files, sizeof(*names));
    ok = s != NULL && names != NULL;             /* GCOVR_EXCL_BR_LINE: allocation failure */
    for (size_t i = 0; ok && i < x.n_files; i++) /* GCOVR_EXCL_BR_LINE: allocation failure */
        s[i].fd = -1;
    for (; ok && done < x.n_files; done++) {
        char out[4300]; /* the folder's name is at most 4096 bytes */
        snprintf(names[done], 80, "model-%05zu-of-%05zu.safetensors", done + 1, x.n_files);
        snprintf(out, sizeof(out), "%s%s", dir, names[done]);
        ok = load_shard(ctx, r, input, x.files[done], &s[done], 1) == 0 &&
             names_agree(r, &x, x.files[done], &s[done].plan) == 0 &&
             st_cv_write_temp(ctx, r, &s[done].src, &s[done].plan, out, s[done].tmp) == 0;
        s[done].written = ok;
    }
    int indexed = ok && write_index(r, s, x.n_files, names, index, itmp) == 0;
    ok = indexed;
    /* every file is verified and synced: publish them, the index last */
    size_t renamed = 0;
    for (; ok && renamed < x.n_files; renamed++) {
        char out[4300];
        snprintf(out, sizeof(out), "%s%s", dir, names[renamed]);
        if (st_cv_publish(r, s[renamed].tmp, out) != 0)
            break; /* its temporary file stays written: removed below */
        s[renamed].written = 0;
    }
    ok = ok && renamed == x.n_files && st_cv_publish(r, itmp, index) == 0;
    if (!ok && indexed)
        unlink(itmp);
    for (size_t i = 0; !ok && i < renamed; i++) { /* no partial set stays */
        char out[4300];
        snprintf(out, sizeof(out), "%s%s", dir, names[i]);
        unlink(out);
    }
    if (ok)
        st_cv_sync_dir(index);
    if (s != NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        shards_free(s, x.n_files);
    free(names);
    index_free(&x);
}

/* ---- compare ---------------------------------------------------------------------------- */

/* The union of the shards' plans, each tensor with the source of its shard (kept open in
 * *set until st_cv_set_free). 0, or -1 with the reason in r. */
int st_cv_index_plan(st_ctx *ctx, st_report *r, const char *path, st_cv_set *set)
{
    index_map x = {0};
    memset(set, 0, sizeof(*set));
    if (read_index(path, &x) != 0) {
        st_report_add(r, ST_R_CV_REFUSED, 0, 0, "the index cannot be read again");
        index_free(&x);
        return -1;
    }
    set->s = calloc(x.n_files + 1, sizeof(shard));
    set->n = x.n_files;
    int ok = set->s != NULL;                     /* GCOVR_EXCL_BR_LINE: allocation failure */
    for (size_t i = 0; i < x.n_files && ok; i++) /* GCOVR_EXCL_BR_LINE: allocation failure */
        ((shard *)set->s)[i].fd = -1;
    size_t nt = 0, na = 0;
    for (size_t i = 0; ok && i < x.n_files; i++) {
        shard *sh = &((shard *)set->s)[i];
        ok = load_shard(ctx, r, path, x.files[i], sh, 0) == 0;
        nt += sh->plan.n;
        na += sh->plan.n_alias;
    }
    st_cv_plan *p = &set->plan;
    p->t = ok ? calloc(nt + 1, sizeof(st_cv_tensor)) : NULL;
    p->alias = ok ? calloc(na + 1, sizeof(st_cv_alias)) : NULL;
    ok = ok && p->t != NULL && p->alias != NULL; /* GCOVR_EXCL_BR_LINE: allocation failure */
    for (size_t i = 0; ok && i < x.n_files; i++) {
        shard *sh = &((shard *)set->s)[i];
        for (size_t k = 0; k < sh->plan.n; k++) {
            p->t[p->n] = sh->plan.t[k];
            p->t[p->n++].src = &sh->src;
        }
        for (size_t k = 0; k < sh->plan.n_alias; k++) {
            p->alias[p->n_alias] = sh->plan.alias[k];
            p->alias[p->n_alias++].t.src = &sh->src;
        }
        free(sh->plan.t);
        free(sh->plan.alias);
        memset(&sh->plan, 0, sizeof(sh->plan));
    }
    index_free(&x);
    return ok ? 0 : -1;
}

void st_cv_set_free(st_cv_set *set)
{
    st_cv_plan_free(&set->plan);
    if (set->s != NULL)
        shards_free(set->s, set->n);
    memset(set, 0, sizeof(*set));
}
