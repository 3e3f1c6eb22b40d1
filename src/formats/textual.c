/*
 * textual.c - what a model folder holds besides models: identified positively, never guessed.
 *
 * A folder walk (-r) reaches this only for content that no model format claims. A file is then
 * skipped (ST608, info) only when its content is positively identified as a type no loader runs
 * code from, and only after its pickle view was ruled out: pickle.load, joblib.load and
 * torch.load's legacy path read a stream from byte 0, and a protocol-0 pickle is ASCII text, so
 * the opcode walker runs over every such file first, and a stream that imports anything before
 * it stops or fails is checked as the pickle it is.
 *
 * Identified here:
 *   - git-lfs pointer files (the model itself was never downloaded): could not check (ST507);
 *   - empty files (Hugging Face's .no_exist markers, .lock files): ST608;
 *   - images, documents and audio by their magic numbers (PNG, JPEG, GIF, WebP, TIFF, BMP, PDF,
 *     WAV, FLAC, Ogg, MP3 with an ID3 tag): ST608;
 *   - sentencepiece models (a ModelProto protobuf, *.model) and msgpack (*.msgpack, Flax): data
 *     that loads without any code path, framed here but not inspected (ST505, info);
 *   - text: the whole file valid UTF-8 without control bytes other than tab, line feed, vertical
 *     tab, form feed and carriage return (markdown, JSON, YAML, vocab/merges, licences): ST608,
 *     or, named *.py, Python source that trust_remote_code runs (ST609, warning).
 * Anything else is "could not check" (ST506), unless a policy lowers ST506 for the path.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "pickle.h"

/* ---- a buffered forward reader over a source --------------------------------------------- */

typedef struct {
    const st_src *src;
    uint64_t pos; /* next byte to deliver */
    unsigned char buf[65536];
    uint64_t base; /* offset of buf[0] */
    size_t len;    /* bytes valid in buf */
    int io_error;
} cursor;

/* The next byte, or -1 at the end (or on a read error: io_error is then set). */
static int next_byte(cursor *c)
{
    if (c->pos >= c->src->size)
        return -1;
    /* GCOVR_EXCL_BR_START: pos < base never holds (the cursor only moves forward), kept */
    if (c->pos < c->base || c->pos >= c->base + c->len) {
        /* GCOVR_EXCL_BR_STOP */
        uint64_t left = c->src->size - c->pos;
        size_t n = left < sizeof(c->buf) ? (size_t)left : sizeof(c->buf);
        if (st_src_read(c->src, c->pos, c->buf, n) != ST_OK) {
            c->io_error = 1;
            return -1;
        }
        c->base = c->pos;
        c->len = n;
    }
    return c->buf[c->pos++ - c->base];
}

/* Skips n bytes; 0 when they all exist. */
static int skip(cursor *c, uint64_t n)
{
    if (n > c->src->size - c->pos)
        return -1;
    c->pos += n;
    return 0;
}

/* A big-endian unsigned integer of n bytes (n <= 8); 0 when present. */
static int read_be(cursor *c, unsigned n, uint64_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        int b = next_byte(c);
        if (b < 0)
            return -1;
        *v = *v << 8 | (uint64_t)b;
    }
    return 0;
}

/* ---- git-lfs pointers ------------------------------------------------------------------- */

#define LFS_MAGIC "version https://git-lfs.github.com/spec/v1\n"

int st_lfs_pointer_check(st_input *in)
{
    size_t m = sizeof(LFS_MAGIC) - 1;
    /* the spec keeps pointers below 1024 bytes; git-lfs itself reads at most that much */
    if (in->src->size >= 1024 || in->head_len < m || memcmp(in->head, LFS_MAGIC, m) != 0)
        return 0;
    char oid[100] = "?", shown[120];
    for (size_t i = m; i + 11 < in->head_len; i++)
        if (in->head[i - 1] == '\n' && memcmp(in->head + i, "oid sha256:", 11) == 0) {
            size_t n = 0;
            while (i + 11 + n < in->head_len && n < 64 && in->head[i + 11 + n] != '\n')
                n++;
            memcpy(oid, in->head + i + 11, n);
            oid[n] = '\0';
            break;
        }
    in->report->format = "lfs-pointer";
    st_report_add(in->report, ST_R_LFS_POINTER, 0, in->src->size,
                  "git-lfs pointer (oid sha256:%s): the file itself was never downloaded, so "
                  "the model was not seen; could not check",
                  st_escape(oid, strlen(oid), shown, sizeof(shown), 70));
    st_report_fail(in->report, ST_E_UNSUPPORTED);
    return 1;
}

/* ---- the pickle view -------------------------------------------------------------------- */

/* Nonzero when a module text has the shape of a Python module path: dot-separated identifiers
 * (ASCII letters, digits and '_', not starting with a digit; any non-ASCII byte allowed, as
 * identifiers may be Unicode). Text like "mport torch" - what INST reads from a Python source
 * line "import torch" - names no module a loader can find, so it does not make a text file a
 * pickle; the file is still judged for what it is. */
static int module_importable(const char *m)
{
    int at_start = 1;
    for (const unsigned char *p = (const unsigned char *)m;; p++) {
        unsigned c = *p;
        if (c == '.' || c == '\0') {
            if (at_start)
                return 0; /* empty component */
            if (c == '\0')
                return 1;
            at_start = 1;
            continue;
        }
        int ok = c >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (!at_start && c >= '0' && c <= '9');
        if (!ok)
            return 0;
        at_start = 0;
    }
}

/* Nonzero when pickle.load from byte 0 would import something before it stops or fails (or the
 * walk could not tell). Judged on a scratch report with the built-in severities, so that a
 * policy turning a finding off cannot hide an import from this decision. */
static int pickle_view_imports(const st_input *in)
{
    st_report *scratch = st_report_new(in->ctx, "pickle view");
    if (scratch == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return 1;        /* GCOVR_EXCL_LINE: allocation failure: judged a pickle (fail closed) */
    scratch->sevmap = NULL;
    st_input probe = *in;
    probe.report = scratch;
    probe.digest = NULL;
    probe.open_dir = NULL;
    probe.on_tensor = NULL;
    st_pk_job job = {
        .in = &probe, .src = in->src, .end = in->src->size, .profile = ST_PK_PROFILE_DATA};
    st_pk_result res;
    st_error err = st_pickle_walk(&job, &res);
    st_pk_result_free(&res);
    int acts = err != ST_OK || scratch->err != ST_OK || scratch->truncated;
    size_t importable = 0;
    for (size_t i = 0; i < scratch->n_imports; i++)
        importable += module_importable(scratch->imports[i].module);
    acts = acts || importable > 0;
    for (size_t i = 0; !acts && i < scratch->n_findings; i++) {
        const char *id = scratch->findings[i].id;
        acts = strcmp(id, st_rules_get(ST_R_PK_UNRESOLVED)->id) == 0 ||
               strcmp(id, st_rules_get(ST_R_PK_EXT)->id) == 0 ||
               strcmp(id, st_rules_get(ST_R_PK_NAME_TOO_LONG)->id) == 0 ||
               (scratch->n_imports == 0 &&
                (strcmp(id, st_rules_get(ST_R_PK_MALICIOUS)->id) == 0 ||
                 strcmp(id, st_rules_get(ST_R_PK_UNKNOWN_GLOBAL)->id) == 0));
    }
    st_report_free(scratch);
    return acts;
}

static uint64_t le32(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

/* ---- images ----------------------------------------------------------------------------- */

static const char *media_kind(const st_input *in)
{
    const unsigned char *h = in->head;
    size_t n = in->head_len;
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "PNG image";
    if (n >= 3 && memcmp(h, "\xff\xd8\xff", 3) == 0)
        return "JPEG image";
    if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0))
        return "GIF image";
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0 &&
        le32(h + 4) == in->src->size - 8)
        return "WebP image";
    if (n >= 8 && (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0))
        return "TIFF image";
    if (n >= 14 && h[0] == 'B' && h[1] == 'M' && le32(h + 2) == in->src->size)
        return "BMP image";
    if (n >= 8 && memcmp(h, "%PDF-1.", 7) == 0)
        return "PDF document";
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WAVE", 4) == 0 &&
        le32(h + 4) == in->src->size - 8)
        return "WAV audio";
    if (n >= 4 && memcmp(h, "fLaC", 4) == 0)
        return "FLAC audio";
    if (n >= 4 && memcmp(h, "OggS", 4) == 0)
        return "Ogg media";
    if (n >= 10 && memcmp(h, "ID3", 3) == 0)
        return "MP3 audio";
    return NULL;
}

/* ---- data formats that load without code ------------------------------------------------ */

static int varint(cursor *c, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        int b = next_byte(c);
        if (b < 0)
            return -1;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* One SentencePiece (ModelProto.pieces): piece (1, bytes), score (2, float), type (3, enum). */
static int sp_piece(cursor *c, uint64_t end)
{
    while (c->pos < end) {
        uint64_t tag, v;
        if (varint(c, &tag) != 0)
            return -1;
        unsigned field = (unsigned)(tag >> 3), wt = (unsigned)(tag & 7);
        if (field == 1 && wt == 2) {
            if (varint(c, &v) != 0 || v > end - c->pos || skip(c, v) != 0)
                return -1;
        } else if (field == 2 && wt == 5) {
            if (skip(c, 4) != 0)
                return -1;
        } else if (field == 3 && wt == 0) {
            if (varint(c, &v) != 0)
                return -1;
        } else
            return -1;
    }
    return c->pos == end ? 0 : -1;
}

/* sentencepiece_model.proto ModelProto: pieces (1), trainer_spec (2), normalizer_spec (3),
 * self_test_data (4), denormalizer_spec (5), all length-delimited and tiling the file, pieces
 * framed field by field. */
static int is_sentencepiece(const st_input *in)
{
    cursor *c = calloc(1, sizeof(*c));
    int ok = c != NULL, pieces = 0; /* GCOVR_EXCL_BR_LINE: allocation failure */
    if (c != NULL)                  /* GCOVR_EXCL_BR_LINE: allocation failure */
        c->src = in->src;
    while (ok && c->pos < in->src->size) {
        uint64_t tag, len;
        ok = varint(c, &tag) == 0 && (tag & 7) == 2 && (tag >> 3) >= 1 && (tag >> 3) <= 5 &&
             varint(c, &len) == 0 && len <= in->src->size - c->pos;
        if (ok && tag >> 3 == 1) {
            pieces++;
            ok = sp_piece(c, c->pos + len) == 0;
        } else if (ok)
            ok = skip(c, len) == 0;
    }
    /* a read error fails the read that sets io_error, and with it the framing: kept */
    ok = ok && pieces > 0 && !c->io_error; /* GCOVR_EXCL_BR_LINE: as said */
    free(c);
    return ok;
}

/* The size of one msgpack value's header: adds its children to *pending and skips its
 * payload. -1 on a byte msgpack never uses or a payload past the end. */
static int msgpack_one(cursor *c, uint64_t *pending)
{
    int b = next_byte(c);
    uint64_t n = 0;
    if (b < 0 || b == 0xc1)
        return -1;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    /* GCOVR_EXCL_BR_START: pending never exceeds the file size (is_msgpack), and a header adds
     * at most 2^33: the sums cannot overflow; the checks stay */
    if (b <= 0x8f)
        return st_add_u64(*pending, 2 * (uint64_t)(b & 0x0f), pending) ? -1 : 0;
    if (b <= 0x9f)
        return st_add_u64(*pending, (uint64_t)(b & 0x0f), pending) ? -1 : 0;
    /* GCOVR_EXCL_BR_STOP */
    if (b <= 0xbf)
        return skip(c, (uint64_t)(b & 0x1f));
    static const unsigned char fixed[] = {[0xca - 0xc4] = 4, [0xcb - 0xc4] = 8, [0xcc - 0xc4] = 1,
                                          [0xcd - 0xc4] = 2, [0xce - 0xc4] = 4, [0xcf - 0xc4] = 8,
                                          [0xd0 - 0xc4] = 1, [0xd1 - 0xc4] = 2, [0xd2 - 0xc4] = 4,
                                          [0xd3 - 0xc4] = 8, [0xd4 - 0xc4] = 2, [0xd5 - 0xc4] = 3,
                                          [0xd6 - 0xc4] = 5, [0xd7 - 0xc4] = 9, [0xd8 - 0xc4] = 17};
    switch (b) {
    case 0xc4: /* bin 8/16/32 */
    case 0xd9: /* str 8/16/32 */
        return read_be(c, 1, &n) == 0 ? skip(c, n) : -1;
    case 0xc5:
    case 0xda:
        return read_be(c, 2, &n) == 0 ? skip(c, n) : -1;
    case 0xc6:
    case 0xdb:
        return read_be(c, 4, &n) == 0 ? skip(c, n) : -1;
    case 0xc7: /* ext 8/16/32: length, type byte, data */
        return read_be(c, 1, &n) == 0 ? skip(c, n + 1) : -1;
    case 0xc8:
        return read_be(c, 2, &n) == 0 ? skip(c, n + 1) : -1;
    case 0xc9:
        return read_be(c, 4, &n) == 0 ? skip(c, n + 1) : -1;
    case 0xdc:
    case 0xde:
        if (read_be(c, 2, &n) != 0)
            return -1;
        break;
    case 0xdd:
    case 0xdf:
        if (read_be(c, 4, &n) != 0)
            return -1;
        break;
    default:
        return skip(c, fixed[b - 0xc4]);
    }
    if (b == 0xde || b == 0xdf)
        n *= 2;                                       /* at most 2^33: no overflow */
    return st_add_u64(*pending, n, pending) ? -1 : 0; /* GCOVR_EXCL_BR_LINE: as above */
}

/* One msgpack map (Flax's serialization.to_bytes writes the state dict as one) that frames the
 * whole file exactly. Iterative: only a count of values still to read is kept, and it can never
 * exceed the bytes left (each value takes at least one). */
static int is_msgpack(const st_input *in)
{
    if (in->head_len == 0 || /* GCOVR_EXCL_BR_LINE: a file of some bytes has a head */
        !((in->head[0] & 0xf0) == 0x80 || in->head[0] == 0xde || in->head[0] == 0xdf))
        return 0;
    cursor *c = calloc(1, sizeof(*c));
    if (c == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return 0;  /* GCOVR_EXCL_LINE: allocation failure: not msgpack, then not text */
    c->src = in->src;
    uint64_t pending = 1;
    int ok = 1;
    while (ok && pending > 0) {
        pending--;
        ok = msgpack_one(c, &pending) == 0 && pending <= in->src->size - c->pos;
    }
    ok = ok && c->pos == in->src->size && !c->io_error; /* GCOVR_EXCL_BR_LINE: as for pieces */
    free(c);
    return ok;
}

/* ---- text ------------------------------------------------------------------------------- */

typedef struct {
    unsigned need;        /* continuation bytes still expected */
    unsigned char lo, hi; /* bounds of the next continuation byte */
} utf8_state;

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF) without control
 * bytes other than \t \n \v \f \r and without DEL: what a terminal or editor shows as text. */
static int utf8_feed(utf8_state *s, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (s->need > 0) {
            if (c < s->lo || c > s->hi)
                return -1;
            s->lo = 0x80;
            s->hi = 0xbf;
            s->need--;
            continue;
        }
        if (c < 0x80) {
            if ((c < 0x20 && (c < '\t' || c > '\r')) || c == 0x7f)
                return -1;
            continue;
        }
        s->lo = 0x80;
        s->hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            s->need = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            s->need = 2;
            s->lo = c == 0xe0 ? 0xa0 : 0x80;
            s->hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            s->need = 3;
            s->lo = c == 0xf0 ? 0x90 : 0x80;
            s->hi = c == 0xf4 ? 0x8f : 0xbf;
        } else
            return -1;
    }
    return 0;
}

/* 1 text, 0 not text, -1 read error. Reads the whole file, 64 KiB at a time. */
static int is_text(const st_input *in)
{
    enum { CHUNK = 65536 };
    unsigned char *buf = malloc(CHUNK);
    utf8_state s = {0, 0x80, 0xbf};
    int rc = buf != NULL ? 1 : -1; /* GCOVR_EXCL_BR_LINE: allocation failure */
    for (uint64_t off = 0; rc == 1 && off < in->src->size; off += CHUNK) {
        size_t n = in->src->size - off < CHUNK ? (size_t)(in->src->size - off) : CHUNK;
        if (st_src_read(in->src, off, buf, n) != ST_OK)
            rc = -1;
        else if (utf8_feed(&s, buf, n) != 0)
            rc = 0;
    }
    free(buf);
    return rc == 1 && s.need > 0 ? 0 : rc;
}

/* The file name's last component. */
static const char *base_name(const char *name)
{
    const char *slash = name ? strrchr(name, '/') : NULL;
    return slash ? slash + 1 : name ? name : "";
}

/* What a text file is, by its name (the content is text either way). */
static const char *text_kind(const char *name)
{
    static const struct {
        const char *suffix, *kind;
    } kinds[] = {
        {".md", "markdown"},
        {".markdown", "markdown"},
        {".rst", "reStructuredText"},
        {".json", "JSON"},
        {".jsonl", "JSON Lines"},
        {".yaml", "YAML"},
        {".yml", "YAML"},
        {".toml", "TOML"},
        {"vocab.txt", "tokenizer vocabulary"},
        {"merges.txt", "tokenizer merges"},
        {".vocab", "tokenizer vocabulary"},
        {".txt", "plain text"},
        {".csv", "CSV"},
        {".tsv", "TSV"},
        {".cfg", "configuration"},
        {".ini", "configuration"},
        {".gitattributes", "git attributes"},
        {".gitignore", "git ignore list"},
        {"license", "licence"},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (st_name_has_suffix(base_name(name), kinds[i].suffix))
            return kinds[i].kind;
    return "text";
}

/* ---- the walk's identification ---------------------------------------------------------- */

static st_error skipped(st_input *in, const char *format, const char *what)
{
    in->report->format = format;
    st_report_add(in->report, ST_R_NOT_MODEL, 0, in->src->size,
                  "not a model file: %s; no model format claims it and its pickle view "
                  "imports nothing; skipped",
                  what);
    return ST_OK;
}

static st_error not_inspected(st_input *in, const char *format, const char *what)
{
    in->report->format = format;
    st_report_add(in->report, ST_R_NOT_INSPECTED, 0, in->src->size,
                  "%s: data that loads without running code; framing checked, content not "
                  "inspected",
                  what);
    return ST_OK;
}

static st_error unidentified(st_input *in)
{
    char what[256], shown[160];
    st_magic_describe(in->head, in->head_len, what, sizeof(what));
    in->report->format = "unknown";
    st_report_add(in->report, ST_R_UNIDENTIFIED, 0, in->head_len,
                  "no model format claims this content and it is no known non-model type "
                  "(libmagic: %s): could not check",
                  st_escape(what, strlen(what), shown, sizeof(shown), 120));
    /* a policy may lower ST506 for a path pattern; below error it no longer blocks the file */
    return in->ctx->sev[ST_R_UNIDENTIFIED] >= ST_SEV_ERROR ? ST_E_UNSUPPORTED : ST_OK;
}

st_error st_nonmodel_check(st_input *in)
{
    const char *name = base_name(in->name);
    if (in->src->size > 0 && pickle_view_imports(in)) {
        in->report->format = "pickle";
        return st_rawpickle_check(in); /* what pickle.load would run from byte 0 */
    }
    if (in->src->size == 0)
        return skipped(in, "empty", "an empty file");
    const char *image = media_kind(in);
    if (image != NULL)
        return skipped(in, "media", image);
    if (st_name_has_suffix(name, ".model") && is_sentencepiece(in))
        return not_inspected(in, "sentencepiece", "a sentencepiece model (protobuf)");
    if (st_name_has_suffix(name, ".msgpack") && is_msgpack(in))
        return not_inspected(in, "msgpack", "msgpack data (Flax)");
    int text = is_text(in);
    if (text < 0) {
        st_report_add(in->report, ST_R_IO, 0, 0, "could not read the whole file");
        return ST_E_IO;
    }
    if (text == 0)
        return unidentified(in);
    if (st_name_has_suffix(name, ".py")) {
        char shown[160];
        in->report->format = "python";
        st_report_add(in->report, ST_R_PYTHON_SOURCE, 0, in->src->size,
                      "Python source \"%s\": transformers' trust_remote_code imports and runs it; "
                      "review it",
                      st_escape(name, strlen(name), shown, sizeof(shown), 120));
        return ST_OK;
    }
    char what[80];
    snprintf(what, sizeof(what), "%s text (UTF-8)", text_kind(name));
    return skipped(in, "text", what);
}
