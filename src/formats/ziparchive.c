/*
 * ziparchive.c - zip files: PyTorch checkpoints (torch.save since 1.6), .npz and any other zip.
 *
 * Every member is judged by content, not only the checkpoint's data.pkl: each copy of a name,
 * each member whose name ends in .pkl or whose first bytes are a pickle is walked; nested
 * archives are checked within the nesting limit. In a PyTorch checkpoint the pickles are judged
 * by the torch profile and opcode rules, every persistent id must name an existing
 * <top>/data/<key> record at least numel x element-size bytes long, and storage records
 * referenced that way are raw tensor data: they are sized from the directory, never read.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "pickle.h"
#include "zip.h"

#define NAME_MAX_LEN 4096

typedef struct {
    st_input *in;
    st_zip z;
    int torch;
    char top[NAME_MAX_LEN];    /* "archive/" of archive/data.pkl */
    unsigned char *referenced; /* per entry: a storage record named by a persistent id */
    st_pk_storage_ref *refs;
    size_t n_refs;
    st_error err;
} zjob;

/* A local header at the start, or an end record near the end: Python's zipfile finds the
 * archive from its end, whatever precedes it. */
int st_ziparchive_sniff(const st_input *in)
{
    if (st_zip_sniff_bytes(in->head, in->head_len))
        return 95;
    for (size_t i = in->tail_len >= 22 ? in->tail_len - 22 + 1 : 0; i-- > 0;)
        if (in->tail[i] == 'P' && in->tail[i + 1] == 'K' && in->tail[i + 2] == 5 &&
            in->tail[i + 3] == 6)
            return 60;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static void keep_error(zjob *j, st_error e)
{
    if (j->err == ST_OK && e != ST_OK)
        j->err = e;
}

/* The checkpoint's top folder from the first entry named <top>data.pkl. */
static void find_torch_layout(zjob *j)
{
    char name[NAME_MAX_LEN];
    for (size_t i = 0; i < j->z.n; i++) {
        st_zip_name(&j->z, &j->z.e[i], name, sizeof(name));
        if (strcmp(name, "data.pkl") == 0 || ends_with(name, "/data.pkl")) {
            j->torch = 1;
            memcpy(j->top, name, strlen(name) - strlen("data.pkl"));
            j->top[strlen(name) - strlen("data.pkl")] = '\0';
            return;
        }
    }
}

static void add_refs(zjob *j, const st_pk_result *res)
{
    if (res->n_storages == 0)
        return;
    st_pk_storage_ref *p = realloc(j->refs, (j->n_refs + res->n_storages) * sizeof(*p));
    if (p == NULL) {
        keep_error(j, ST_E_NOMEM);
        return;
    }
    memcpy(p + j->n_refs, res->storages, res->n_storages * sizeof(*p));
    j->refs = p;
    j->n_refs += res->n_storages;
}

static st_error check_nested(zjob *j, const unsigned char *buf, size_t len, const char *name);

/* Walks the pickle in a member buffer. */
static void walk_member(zjob *j, const unsigned char *buf, size_t len, const char *name)
{
    st_src src = {-1, buf, len};
    st_pk_job job = {.in = j->in,
                     .src = &src,
                     .start = 0,
                     .end = len,
                     .member = name,
                     .profile = j->torch ? ST_PK_PROFILE_TORCH : ST_PK_PROFILE_DATA,
                     .torch_rules = j->torch};
    st_pk_result res;
    keep_error(j, st_pickle_walk(&job, &res));
    add_refs(j, &res);
    st_pk_result_free(&res);
}

/* Reads a whole member and judges it by content. */
static void scan_member(zjob *j, const st_zip_entry *e, const char *name, int is_pkl_name)
{
    unsigned char *buf;
    size_t len;
    st_error err = st_zip_read(j->in, &j->z, e, UINT64_MAX, &buf, &len);
    if (err != ST_OK) {
        keep_error(j, err);
        return;
    }
    if (st_npy_sniff_bytes(buf, len)) {
        st_src src = {-1, buf, len};
        keep_error(j, st_npy_check_src(j->in, &src, name));
    } else if (is_pkl_name || st_pk_looks_like_pickle(buf, len < 4096 ? len : 4096))
        walk_member(j, buf, len, name);
    else if (st_zip_sniff_bytes(buf, len))
        keep_error(j, check_nested(j, buf, len, name));
    free(buf);
}

/* Members that are neither .pkl nor referenced storages: a prefix decides whether to read on. */
static void sniff_member(zjob *j, const st_zip_entry *e, const char *name)
{
    unsigned char *buf;
    size_t len;
    st_error err = st_zip_read(j->in, &j->z, e, 4096, &buf, &len);
    if (err != ST_OK) {
        keep_error(j, err);
        return;
    }
    int interesting = st_pk_looks_like_pickle(buf, len) || st_zip_sniff_bytes(buf, len) ||
                      st_npy_sniff_bytes(buf, len);
    free(buf);
    if (interesting)
        scan_member(j, e, name, 0);
}

/* A member that is itself a zip: noted, then checked as an input of its own (depth-limited). */
static st_error check_nested(zjob *j, const unsigned char *buf, size_t len, const char *name)
{
    char shown[160];
    if (j->in->depth + 1 <= j->in->ctx->limits[ST_LIMIT_NESTING])
        st_report_add(j->in->report, ST_R_ZIP_NESTED, 0, len, "member \"%s\" is a zip archive",
                      st_escape(name, strlen(name), shown, sizeof(shown), 120));
    return st_check_nested(j->in, buf, len, name);
}

/* ---- PyTorch checks -------------------------------------------------------------------- */

/* Index of the entry with exactly this name (the last copy, as Python's zipfile would pick;
 * duplicates are reported separately), or -1. */
static long find_entry(const zjob *j, const char *want)
{
    size_t wl = strlen(want);
    for (size_t i = j->z.n; i-- > 0;) {
        const st_zip_entry *e = &j->z.e[i];
        if (e->name_len == wl && memcmp(j->z.cd + e->name_off, want, wl) == 0)
            return (long)i;
    }
    return -1;
}

/* Every persistent id must name an existing record that holds numel x element size bytes:
 * torch reads that many bytes from it (the class of the weights_only memory-corruption CVE). */
static void check_storages(zjob *j)
{
    /* Room for top + "data/" + key whole: a cut name could match a different entry. */
    char name[sizeof(j->top) + sizeof("data/") + sizeof(j->refs[0].key)], shown[160];
    for (size_t i = 0; i < j->n_refs; i++) {
        const st_pk_storage_ref *s = &j->refs[i];
        snprintf(name, sizeof(name), "%sdata/%s", j->top, s->key);
        st_escape(name, strlen(name), shown, sizeof(shown), 120);
        long k = find_entry(j, name);
        if (k < 0) {
            st_report_add(j->in->report, ST_R_TORCH_STORAGE, s->offset, 0,
                          "persistent id names storage \"%s\", which the archive lacks", shown);
            continue;
        }
        j->referenced[k] = 1;
        uint64_t need;
        if (s->elem_size == 0)
            continue; /* unknown storage type: reported with its import */
        if (st_mul_u64(s->numel, s->elem_size, &need) || j->z.e[k].usize < need)
            st_report_add(j->in->report, ST_R_TORCH_STORAGE, j->z.e[k].local_off, 0,
                          "storage \"%s\" holds %llu bytes; its persistent id needs %llu x %u",
                          shown, (unsigned long long)j->z.e[k].usize, (unsigned long long)s->numel,
                          s->elem_size);
    }
}

/* Entries outside the checkpoint's single top folder. */
static void check_top_folder(zjob *j)
{
    char name[NAME_MAX_LEN], shown[160], top[160];
    size_t tl = strlen(j->top);
    /* The top folder comes from an entry name too: hostile bytes, shown escaped. */
    st_escape(j->top, tl, top, sizeof(top), 120);
    for (size_t i = 0; i < j->z.n; i++) {
        const st_zip_entry *e = &j->z.e[i];
        if (e->name_len >= tl && memcmp(j->z.cd + e->name_off, j->top, tl) == 0)
            continue;
        st_zip_name(&j->z, e, name, sizeof(name));
        st_report_add(j->in->report, ST_R_ZIP_UNSAFE_NAME, e->local_off, 0,
                      "entry \"%s\" lies outside the checkpoint's top folder \"%s\"",
                      st_escape(name, strlen(name), shown, sizeof(shown), 120), top);
    }
}

/* A checkpoint's records without its data.pkl cannot be a loadable checkpoint. */
static void check_missing_data_pkl(zjob *j)
{
    char name[NAME_MAX_LEN];
    int version = 0, data = 0;
    for (size_t i = 0; i < j->z.n; i++) {
        st_zip_name(&j->z, &j->z.e[i], name, sizeof(name));
        version |= strcmp(name, "version") == 0 || ends_with(name, "/version");
        data |= strstr(name, "/data/") != NULL || strncmp(name, "data/", 5) == 0;
    }
    if (version && data)
        st_report_add(j->in->report, ST_R_TORCH_NO_PICKLE, 0, 0,
                      "PyTorch checkpoint layout (version, data/) without data.pkl");
}

/* A referenced storage is raw data and is never judged as a pickle; but one whose bytes are a
 * complete pickle that imports something is a smuggling attempt worth a warning. It is walked
 * into a scratch report, so nothing in it can change the verdict except this warning. */
static void check_storage_pickles(zjob *j)
{
    char name[NAME_MAX_LEN], shown[160];
    for (size_t i = 0; i < j->z.n; i++) {
        unsigned char *buf;
        size_t len;
        if (!j->referenced[i] || st_zip_read(j->in, &j->z, &j->z.e[i], 4096, &buf, &len) != ST_OK)
            continue;
        int looks = len >= 2 && buf[0] == 0x80 && st_pk_looks_like_pickle(buf, len);
        free(buf);
        if (!looks || st_zip_read(j->in, &j->z, &j->z.e[i], UINT64_MAX, &buf, &len) != ST_OK)
            continue;
        st_report *scratch = st_report_new(j->in->ctx, "");
        if (scratch != NULL) {
            st_src src = {-1, buf, len};
            st_input in = *j->in;
            in.open_dir = NULL; /* a member's siblings are members, not files */
            in.report = scratch;
            st_pk_job job = {
                .in = &in, .src = &src, .end = len, .profile = ST_PK_PROFILE_DATA, .single = 1};
            st_pk_result res;
            st_error e = st_pickle_walk(&job, &res);
            if (e == ST_OK && res.pickles == 1 && !res.malformed && scratch->n_imports > 0) {
                st_zip_name(&j->z, &j->z.e[i], name, sizeof(name));
                st_report_add(j->in->report, ST_R_TORCH_STORAGE_PICKLE, j->z.e[i].local_off, 0,
                              "storage \"%s\" parses as a pickle importing %zu globals",
                              st_escape(name, strlen(name), shown, sizeof(shown), 120),
                              scratch->n_imports);
            }
            st_pk_result_free(&res);
            st_report_free(scratch);
        }
        free(buf);
    }
}

/* ---- the check ------------------------------------------------------------------------- */

static void scan_members(zjob *j, int pkl_pass)
{
    char name[NAME_MAX_LEN];
    for (size_t i = 0; i < j->z.n && j->err == ST_OK; i++) {
        const st_zip_entry *e = &j->z.e[i];
        st_zip_name(&j->z, e, name, sizeof(name));
        int pkl = ends_with(name, ".pkl");
        if (pkl_pass && pkl)
            scan_member(j, e, name, 1);
        else if (!pkl_pass && !pkl && !j->referenced[i] && !ends_with(name, "/"))
            sniff_member(j, e, name);
    }
}

st_error st_ziparchive_check(st_input *in)
{
    zjob j;
    memset(&j, 0, sizeof(j));
    j.in = in;
    in->report->format = "zip";
    j.err = st_zip_walk(in, &j.z);
    if (j.err == ST_OK && j.z.n > 0) {
        j.referenced = calloc(j.z.n, 1);
        if (j.referenced == NULL)
            j.err = ST_E_NOMEM;
    }
    if (j.err == ST_OK && j.z.n > 0) {
        find_torch_layout(&j);
        if (j.torch) {
            in->report->format = "pytorch";
            check_top_folder(&j);
        } else {
            check_missing_data_pkl(&j);
        }
        scan_members(&j, 1); /* pickles first: they say which members are storages */
        if (j.torch && j.err == ST_OK) {
            check_storages(&j);
            check_storage_pickles(&j);
        }
        scan_members(&j, 0);
    }
    if (j.err == ST_E_NOMEM)
        st_report_add(in->report, ST_R_NOMEM, 0, 0, "out of memory checking a zip archive");
    free(j.referenced);
    free(j.refs);
    st_zip_free(&j.z);
    return j.err;
}
