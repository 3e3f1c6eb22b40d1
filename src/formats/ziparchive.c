/*
 * ziparchive.c - zip files: PyTorch checkpoints (torch.save since 1.6), TorchScript archives
 * (torch.jit.save), .npz and any other zip.
 *
 * Every member is judged by content, not only the checkpoint's data.pkl: each copy of a name,
 * each member whose name ends in .pkl (any case) or whose first bytes are a pickle is walked;
 * nested archives are checked within the nesting limit. In a PyTorch checkpoint the pickles are
 * judged by the torch profile and opcode rules, every persistent id must name an existing
 * <top>/data/<key> record at least numel x element-size bytes long, and storage records
 * referenced that way are raw tensor data: they are sized from the directory, never read.
 *
 * Two readers, two views (docs/formats/zip.md): Python's zipfile (numpy.load) is the view
 * zip.c walks; torch.load reads a file starting with a local header through miniz, which can
 * find another central directory. When the two differ (ST316) both are checked. In torch's
 * view records are found as PyTorchStreamReader finds them: the folder is the first entry's
 * name up to its first '/', and names are matched by miniz's case-insensitive binary search
 * (ST317 when that is not the exact last copy zipfile would return). A TorchScript archive
 * (a <folder>/constants.pkl record, serialization.py _is_torchscript_zip) runs code when
 * loaded: ST318, its pickles judged by the TorchScript profile.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "keras/keras.h"
#include "pickle.h"
#include "zip.h"

#define NAME_MAX_LEN 4096

typedef struct {
    st_input *in;
    st_zip z;
    int torch;
    int torch_reads;           /* torch.load reads this view (miniz name lookups) */
    int torchscript;           /* a TorchScript archive */
    int keras;                 /* a Keras 3 archive: keras.c judges its members by path */
    size_t npy;                /* members that are .npy arrays (an .npz when not torch's) */
    uint32_t *sorted;          /* miniz's sorted index, when torch reads this view */
    long data_pkl;             /* the entry torch unpickles as data.pkl, or -1 */
    long constants_pkl;        /* the entry torch.jit.load unpickles as constants.pkl, or -1 */
    char top[NAME_MAX_LEN];    /* "archive/" of archive/data.pkl */
    size_t top_len;            /* its bytes up to the slash (a NUL among them is kept) */
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

/* PyTorchStreamReader::init: the folder is the first entry's name up to its first '/' (none:
 * torch refuses the archive). getRecord(name) locates "<folder>/<name>" with miniz, as a C
 * string: a NUL inside the folder name ends every key there. */
static void torch_key(const zjob *j, const char *rec, char *out, size_t size)
{
    /* strlen(top) would stop at that NUL: the folder's own length is kept */
    if (memchr(j->top, 0, j->top_len) != NULL)
        rec = ""; /* the folder held a NUL: the key is what precedes it */
    snprintf(out, size, "%s%s", j->top, rec);
}

/* The entry zipfile returns for a name (getinfo: NUL ends names, the last copy wins), or -1. */
static long python_entry(const zjob *j, const char *want)
{
    size_t wl = strlen(want);
    for (size_t i = j->z.n; i-- > 0;) {
        const st_zip_entry *e = &j->z.e[i];
        const unsigned char *p = j->z.cd + e->name_off;
        const unsigned char *nul = memchr(p, 0, e->name_len);
        size_t len = nul ? (size_t)(nul - p) : e->name_len;
        if (len == wl && memcmp(p, want, wl) == 0)
            return (long)i;
    }
    return -1;
}

/* The entry torch reads for record rec; ST317 when zipfile would return another one. */
static long torch_record(zjob *j, const char *rec)
{
    char key[NAME_MAX_LEN + 64], shown[160], shown_t[160];
    torch_key(j, rec, key, sizeof(key));
    long t = st_zip_miniz_locate(&j->z, j->sorted, key);
    long p = python_entry(j, key);
    size_t kl = strlen(key);
    /* Exact copies of one name are ST301's; here the name itself is matched differently (case,
     * a NUL that zipfile cuts at). */
    int differs =
        t >= 0 ? j->z.e[t].name_len != kl || memcmp(j->z.cd + j->z.e[t].name_off, key, kl) != 0
               : p >= 0;
    if (differs) {
        char tn[NAME_MAX_LEN];
        if (t >= 0)
            st_zip_name(&j->z, &j->z.e[t], tn, sizeof(tn));
        st_report_add(j->in->report, ST_R_ZIP_LOOKUP_DIFFERS, t >= 0 ? j->z.e[t].local_off : 0, 0,
                      "record \"%s\": torch's reader returns entry %ld%s%s%s, Python's zipfile "
                      "entry %ld; both are checked",
                      st_escape(key, strlen(key), shown, sizeof(shown), 120), t,
                      t >= 0 ? " (\"" : "",
                      t >= 0 ? st_escape(tn, strlen(tn), shown_t, sizeof(shown_t), 120) : "",
                      t >= 0 ? "\")" : "", p);
    }
    return t;
}

/* A zip torch reads with PyTorchStreamReader: folder, data.pkl, TorchScript. */
static void torch_reader_layout(zjob *j)
{
    const st_zip_entry *e0 = &j->z.e[0];
    const unsigned char *n0 = j->z.cd + e0->name_off;
    const unsigned char *slash = memchr(n0, '/', e0->name_len);
    if (slash == NULL || (size_t)(slash - n0) + 1 >= sizeof(j->top))
        return; /* "file in archive is not in a subdirectory": torch loads nothing */
    size_t tl = (size_t)(slash - n0) + 1;
    memcpy(j->top, n0, tl);
    j->top[tl] = '\0';
    j->top_len = tl;
    const char *nul = memchr(j->top, 0, tl);
    if (nul != NULL)
        tl = (size_t)(nul - j->top);
    j->sorted = st_zip_miniz_sorted(&j->z);
    if (j->sorted == NULL) {
        keep_error(j, ST_E_NOMEM);
        return;
    }
    j->data_pkl = torch_record(j, "data.pkl");
    /* getAllRecords: names after the folder (C strings); _is_torchscript_zip looks for
     * constants.pkl among them */
    char name[NAME_MAX_LEN];
    for (size_t i = 0; i < j->z.n && !j->torchscript; i++) {
        st_zip_name(&j->z, &j->z.e[i], name, sizeof(name));
        j->torchscript = strncmp(name, j->top, tl) == 0 && strcmp(name + tl, "constants.pkl") == 0;
    }
    if (j->torchscript)
        j->constants_pkl = torch_record(j, "constants.pkl");
    /* without data.pkl torch loads nothing: the archive is checked as any zip (ST314) */
    j->torch = j->data_pkl >= 0 || j->torchscript;
    if (!j->torch) {
        free(j->sorted);
        j->sorted = NULL;
    }
}

/* torch.load hands a TorchScript archive to torch.jit.load, which compiles and runs its code. */
static void report_torchscript(zjob *j)
{
    char name[NAME_MAX_LEN], list[400], one[120];
    size_t tl = strlen(j->top), used = 0, n = 0;
    int cut = 0;
    list[0] = '\0';
    for (size_t i = 0; i < j->z.n; i++) {
        st_zip_name(&j->z, &j->z.e[i], name, sizeof(name));
        if (strncmp(name, j->top, tl) != 0 || strncmp(name + tl, "code/", 5) != 0 ||
            ends_with(name, "/") || ends_with(name, ".debug_pkl"))
            continue;
        n++; /* every code file counted, the list cut */
        if (cut)
            continue;
        st_escape(name + tl, strlen(name + tl), one, sizeof(one), 80);
        /* used stays below sizeof(list) - 8, so ", ..." always fits */
        if (used + strlen(one) + 3 < sizeof(list) - 8) {
            used +=
                (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", one);
        } else {
            used += (size_t)snprintf(list + used, sizeof(list) - used, ", ...");
            cut = 1;
        }
    }
    st_report_add(j->in->report, ST_R_TORCHSCRIPT, 0, 0,
                  "TorchScript archive: torch.load passes it to torch.jit.load, which runs its "
                  "code (%zu code file%s: %s)",
                  n, n == 1 ? "" : "s", n ? list : "none listed");
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
                     .profile = j->torchscript ? ST_PK_PROFILE_TORCHSCRIPT
                                : j->torch     ? ST_PK_PROFILE_TORCH
                                               : ST_PK_PROFILE_DATA,
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
        j->npy++;
        keep_error(j, st_npy_check_src(j->in, &src, name));
    } else if (is_pkl_name || st_pk_looks_like_pickle(buf, len < 4096 ? len : 4096))
        walk_member(j, buf, len, name);
    else if (st_zip_sniff_bytes(buf, len))
        keep_error(j, check_nested(j, buf, len, name));
    free(buf);
}

/* A member that is a model file of a format checked on its own (a GGUF llamafile's weights, an
 * HDF5 Keras model, safetensors, ONNX, ...: docs/formats/zip.md) is checked as a nested input.
 * Stored uncompressed it is read in place: weights run to gigabytes and the format modules read
 * what they need (the CRC is not verified: llamafile does not either). Compressed, it is
 * inflated within the zip limits and checked from memory. */
static void check_model_member(zjob *j, const st_zip_entry *e, const char *name)
{
    uint64_t size = j->in->src->size;
    if (e->method == 0 && e->csize == e->usize && e->data_off <= size &&
        e->usize <= size - e->data_off) {
        keep_error(j, st_check_nested_range(j->in, e->data_off, e->usize, name));
        return;
    }
    unsigned char *buf;
    size_t len;
    st_error err = st_zip_read(j->in, &j->z, e, UINT64_MAX, &buf, &len);
    if (err == ST_OK) {
        err = st_check_nested(j->in, buf, len, name);
        free(buf);
    }
    keep_error(j, err);
}

/* The probe's source: the member's first bytes, read so far; a read past them fails, so a sniff
 * that would look further (HDF5 behind a user block, a JSON index) decides on the prefix. */
typedef struct {
    const unsigned char *p;
    size_t len;
} prefix_src;

static st_error prefix_read(void *arg, uint64_t off, void *buf, size_t len)
{
    const prefix_src *s = arg;
    if (off > s->len || len > s->len - off)
        return ST_E_IO;
    memcpy(buf, s->p + off, len);
    return ST_OK;
}

/* Formats the table identifies by content whose files are models stcheck checks or names
 * (format.c's table). Not here: pickles, .npy and zips (judged in scan_member), and wrappers
 * whose content may be anything (tar, compressed streams, opaque containers, executables). */
static int is_model_format(const char *f)
{
    static const char *const models[] = {"safetensors",  "onnx",      "hdf5",       "joblib-zfile",
                                         "keras-config", "tflite",    "executorch", "coreml",
                                         "openvino",     "savedmodel"};
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
        if (strcmp(f, models[i]) == 0)
            return 1;
    return 0;
}

/* Whether a member's first bytes (and its name and size, as a file's would be) identify a model
 * format: a probe input over the prefix, identified as formats.c identifies a file. */
static int member_is_model(zjob *j, const st_zip_entry *e, const char *name,
                           const unsigned char *buf, size_t len)
{
    prefix_src ps = {buf, len};
    st_src_cb cb = {prefix_read, &ps};
    st_src src;
    st_src_callback(&src, &cb, e->usize < len ? len : e->usize);
    st_input probe = *j->in;
    probe.src = &src;
    probe.head = buf;
    probe.head_len = len;
    probe.tail = buf; /* the whole member when it fits the prefix, else no tail */
    probe.tail_len = e->usize == len ? len : 0;
    probe.name = name;
    probe.open_dir = NULL;
    const st_format *f = st_format_identify(&probe);
    return f != NULL && is_model_format(f->name);
}

/* Members that are neither .pkl nor referenced storages: a prefix decides whether to read on.
 * In a checkpoint (torch's raw storages) or a Keras 3 archive (keras.c judges its members by
 * path) only pickles, arrays, zips and GGUF are recognised. */
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
    int model = (len >= 4 && memcmp(buf, "GGUF", 4) == 0) ||
                (!interesting && !j->torch && !j->keras && member_is_model(j, e, name, buf, len));
    free(buf);
    if (model)
        check_model_member(j, e, name);
    else if (interesting)
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
    if (j->sorted != NULL) /* torch's reader: miniz's lookup */
        return st_zip_miniz_locate(&j->z, j->sorted, want);
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
    /* Room for top + "constants/" + key whole: a cut name could match a different entry (and
     * a name that would not fit is looked up by no one). */
    char name[sizeof(j->top) + sizeof("constants/") + sizeof(j->refs[0].key)], shown[160];
    for (size_t i = 0; i < j->n_refs; i++) {
        const st_pk_storage_ref *s = &j->refs[i];
        int len = snprintf(name, sizeof(name), "%sdata/%s", j->top, s->key);
        long k = len > 0 && (size_t)len < sizeof(name) ? find_entry(j, name) : -1;
        if (k < 0 && j->torchscript) { /* constants.pkl's tensors live in constants/ */
            len = snprintf(name, sizeof(name), "%sconstants/%s", j->top, s->key);
            k = len > 0 && (size_t)len < sizeof(name) ? find_entry(j, name) : -1;
        }
        st_escape(name, strlen(name), shown, sizeof(shown), 120);
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
 * into a scratch report, so nothing in it can change the verdict except this warning (and
 * out of memory, which fails the check closed). */
static void check_storage_pickle(zjob *j, size_t i)
{
    char name[NAME_MAX_LEN], shown[160];
    unsigned char *buf;
    size_t len;
    /* a storage that cannot be read is kept as an error, as any member's read (fail closed) */
    st_error err = st_zip_read(j->in, &j->z, &j->z.e[i], 4096, &buf, &len);
    if (err != ST_OK) {
        keep_error(j, err);
        return;
    }
    int looks = len >= 2 && buf[0] == 0x80 && st_pk_looks_like_pickle(buf, len);
    free(buf);
    if (!looks)
        return;
    if ((err = st_zip_read(j->in, &j->z, &j->z.e[i], UINT64_MAX, &buf, &len)) != ST_OK) {
        keep_error(j, err);
        return;
    }
    st_report *scratch = st_report_new(j->in->ctx, "");
    if (scratch == NULL) {
        free(buf);
        keep_error(j, ST_E_NOMEM);
        return;
    }
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
                      st_escape(name, strlen(name), shown, sizeof(shown), 120), scratch->n_imports);
    }
    /* out of memory in the scratch walk may have lost the very imports it looked for */
    if (e == ST_E_NOMEM || scratch->err == ST_E_NOMEM)
        keep_error(j, ST_E_NOMEM);
    st_pk_result_free(&res);
    st_report_free(scratch);
    free(buf);
}

static void check_storage_pickles(zjob *j)
{
    for (size_t i = 0; i < j->z.n && j->err == ST_OK; i++)
        if (j->referenced[i])
            check_storage_pickle(j, i);
}

/* ---- the check ------------------------------------------------------------------------- */

static void scan_members(zjob *j, int pkl_pass)
{
    char name[NAME_MAX_LEN];
    for (size_t i = 0; i < j->z.n && j->err == ST_OK; i++) {
        const st_zip_entry *e = &j->z.e[i];
        st_zip_name(&j->z, e, name, sizeof(name));
        /* any case: torch's lookups ignore it; and the records torch unpickles, by index */
        int pkl = st_name_has_suffix(name, ".pkl") || (long)i == j->data_pkl ||
                  (long)i == j->constants_pkl;
        if (pkl_pass && pkl)
            scan_member(j, e, name, 1);
        else if (!pkl_pass && !pkl && !j->referenced[i] && !ends_with(name, "/"))
            sniff_member(j, e, name);
    }
}

/* Checks one reading of the archive: z is taken over (freed here). */
static st_error check_view(st_input *in, st_zip *z, int torch_reads)
{
    zjob j;
    memset(&j, 0, sizeof(j));
    j.in = in;
    j.z = *z;
    j.data_pkl = j.constants_pkl = -1;
    if (j.z.n > 0) {
        j.referenced = calloc(j.z.n, 1);
        if (j.referenced == NULL)
            j.err = ST_E_NOMEM;
    }
    if (j.err == ST_OK && j.z.n > 0) {
        if (torch_reads)
            torch_reader_layout(&j);
        else
            find_torch_layout(&j);
        if (j.torchscript) {
            in->report->format = "torchscript";
            report_torchscript(&j);
        } else if (j.torch) {
            in->report->format = "pytorch";
        }
        if (j.torch)
            check_top_folder(&j);
        else
            check_missing_data_pkl(&j);
        /* a Keras 3 archive (keras/keras.c); its members are still judged below */
        j.keras = !j.torch && st_keras_is_archive(in, &j.z);
        if (j.keras)
            keep_error(&j, st_keras_check_archive(in, &j.z));
        scan_members(&j, 1); /* pickles first: they say which members are storages */
        if (j.torch && j.err == ST_OK) {
            check_storages(&j);
            check_storage_pickles(&j);
        }
        scan_members(&j, 0);
        if (!j.torch && j.npy > 0) /* numpy.load returns an NpzFile for any zip */
            in->report->kind = "npz";
    }
    if (j.err == ST_E_NOMEM)
        st_report_add(in->report, ST_R_NOMEM, 0, 0, "out of memory checking a zip archive");
    free(j.referenced);
    free(j.refs);
    free(j.sorted);
    st_zip_free(&j.z);
    memset(z, 0, sizeof(*z));
    return j.err;
}

/* torch.load uses its zip reader only when the first 4 bytes are a local header
 * (serialization.py _is_zipfile); otherwise it reads the bytes at offset 0 as a tar or as legacy
 * pickles, while zipfile (numpy.load) still finds the archive from its end. */
static void report_prefix_view(st_input *in)
{
    const char *what = st_tar_header_valid(in->head, in->head_len)       ? "a tar archive"
                       : st_pk_looks_like_pickle(in->head, in->head_len) ? "legacy pickles"
                                                                         : NULL;
    if (what != NULL)
        st_report_add(in->report, ST_R_LOADER_POLYGLOT, 0, 0,
                      "torch.load reads this file from offset 0 as %s, Python's zipfile as the "
                      "zip archive at its end; both are checked",
                      what);
}

st_error st_ziparchive_check(st_input *in)
{
    st_zip py, mz;
    int mz_ok = 0;
    in->report->format = "zip";
    int torch_zip = st_zip_sniff_bytes(in->head, in->head_len) && in->head[2] == 3;
    st_error err = st_zip_walk(in, &py), err2 = ST_OK;
    if (err == ST_OK && torch_zip)
        err = st_zip_walk_miniz(in, &mz, &mz_ok);
    int same = mz_ok && st_zip_same_view(&py, &mz);
    if (mz_ok && !same)
        st_report_add(in->report, ST_R_ZIP_VIEWS_DIFFER, mz.cd_start, mz.cd_size,
                      "torch's zip reader (miniz) finds %zu entries in the central directory at "
                      "offset %llu, Python's zipfile %zu at offset %llu; both views are checked",
                      mz.n, (unsigned long long)mz.cd_start, py.n, (unsigned long long)py.cd_start);
    if (err == ST_OK && !torch_zip && py.n > 0)
        report_prefix_view(in);
    if (err == ST_OK)
        err = check_view(in, &py, torch_zip && same);
    else
        st_zip_free(&py);
    if (mz_ok && !same)
        err2 = check_view(in, &mz, 1);
    else if (mz_ok)
        st_zip_free(&mz);
    return err != ST_OK ? err : err2;
}
