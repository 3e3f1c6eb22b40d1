/*
 * zip.c - the zip structure, walked by our own bounded code (APPNOTE 6.3.10: end of central
 * directory record, ZIP64 end record and locator, central directory headers, local headers,
 * the ZIP64 extra field). Every copy of every entry is seen, including duplicates, local headers
 * the directory does not list, and bytes before or after the archive.
 *
 * Why not libzip for structure or reading: libzip 1.7 resolves duplicate names to the first
 * entry (Python's zipfile uses the last), refuses archives with prepended data that zipfile and
 * torch accept, and checks CRCs only on a read to EOF. Members are therefore read at exactly the
 * offsets their own headers give, stored or inflated with zlib (which libzip itself uses for
 * deflate), and CRC-checked here. Other methods (bzip2, lzma, zstd) are refused: their content
 * cannot be checked, so the file cannot be (fail closed).
 *
 * Refused outright: multi-disk archives, encrypted entries.
 */
#include "zip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/checked.h"
#include "../core/escape.h"

#define EOCD_LEN 22u
#define EOCD64_LEN 56u
#define LOC64_LEN 20u
#define CEN_LEN 46u
#define LOC_LEN 30u
#define U32MAX 0xFFFFFFFFu

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static uint32_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

int st_zip_sniff_bytes(const unsigned char *p, size_t n)
{
    return n >= 4 && p[0] == 'P' && p[1] == 'K' &&
           ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6));
}

static st_error structure(st_input *in, uint64_t off, const char *what)
{
    st_report_add(in->report, ST_R_ZIP_STRUCTURE, off, 0, "malformed zip: %s", what);
    return ST_OK; /* a finding: the archive is refused, the check itself finished */
}

static st_error io_error(st_input *in, uint64_t off)
{
    st_report_add(in->report, ST_R_IO, off, 0, "could not read zip structure");
    return ST_E_IO;
}

/* ---- end records ----------------------------------------------------------------------- */

typedef struct {
    uint64_t eocd_off; /* where the end record (or ZIP64 end record) actually is */
    uint64_t entries, cd_size, cd_off;
    int found;
} end_info;

/* Finds the end record as Python's zipfile does (Lib/zipfile.py _EndRecData): the last 22
 * bytes when they are an end record with an empty comment; otherwise the last signature in the
 * final 64 KiB + 22 bytes, which needs 22 bytes after it (its comment length is not checked:
 * a shorter comment is accepted). */
static st_error find_eocd(st_input *in, end_info *ei, unsigned char rec[EOCD_LEN])
{
    uint64_t size = in->src->size;
    size_t tail = size < EOCD_LEN + 65536u ? (size_t)size : EOCD_LEN + 65536u;
    unsigned char *t = malloc(tail ? tail : 1);
    if (t == NULL)
        return ST_E_NOMEM;
    if (st_src_read(in->src, size - tail, t, tail) != ST_OK) {
        free(t);
        return io_error(in, size - tail);
    }
    long best = -1;
    if (tail >= EOCD_LEN && le32(t + tail - EOCD_LEN) == 0x06054b50u && t[tail - 2] == 0 &&
        t[tail - 1] == 0)
        best = (long)(tail - EOCD_LEN);
    for (size_t i = tail >= 4 ? tail - 4 + 1 : 0; best < 0 && i-- > 0;)
        if (t[i] == 'P' && t[i + 1] == 'K' && t[i + 2] == 5 && t[i + 3] == 6) {
            if (tail - i >= EOCD_LEN)
                best = (long)i;
            break; /* rfind: the last signature, or no archive */
        }
    if (best >= 0) {
        memcpy(rec, t + best, EOCD_LEN);
        ei->eocd_off = size - tail + (uint64_t)best;
        ei->found = 1;
        uint64_t end = ei->eocd_off + EOCD_LEN + le16(rec + 20);
        if (end < size)
            st_report_add(in->report, ST_R_ZIP_EXTRA_BYTES, end, size - end,
                          "%llu bytes follow the zip end record", (unsigned long long)(size - end));
    }
    free(t);
    return ST_OK;
}

/* Fills entries/cd_size/cd_off from the end record, or the ZIP64 one when fields saturate. */
static st_error read_ends(st_input *in, end_info *ei, const unsigned char rec[EOCD_LEN],
                          size_t *soft)
{
    if (le16(rec + 4) != 0 || le16(rec + 6) != 0 || le16(rec + 8) != le16(rec + 10))
        return structure(in, ei->eocd_off, "multi-disk archives are not supported");
    ei->entries = le16(rec + 10);
    ei->cd_size = le32(rec + 12);
    ei->cd_off = le32(rec + 16);
    int saturated = ei->entries == 0xFFFF || ei->cd_size == U32MAX || ei->cd_off == U32MAX;
    unsigned char loc[LOC64_LEN], e64[EOCD64_LEN];
    uint64_t loc_off = ei->eocd_off >= LOC64_LEN + EOCD64_LEN ? ei->eocd_off - LOC64_LEN : 0;
    /* inside the file: a failed read is an I/O error, not an absent locator */
    if (loc_off > 0 && st_src_read(in->src, loc_off, loc, LOC64_LEN) != ST_OK)
        return io_error(in, loc_off);
    int has_loc = loc_off > 0 && le32(loc) == 0x07064b50u;
    /* Like Python's zipfile, a ZIP64 locator is honoured whenever present (torch writes one
     * for every archive); it is required when the plain fields saturate. */
    if (!has_loc)
        return saturated ? structure(in, ei->eocd_off, "ZIP64 fields without a ZIP64 locator")
                         : ST_OK;
    /* The ZIP64 end record precedes its locator (prepended data shifts both alike). */
    uint64_t e64_off = loc_off - EOCD64_LEN;
    if (st_src_read(in->src, e64_off, e64, EOCD64_LEN) != ST_OK)
        return io_error(in, e64_off);
    if (le32(e64) != 0x06064b50u) { /* zipfile then keeps the plain record's fields */
        st_report_add(in->report, ST_R_ZIP_STRUCTURE, e64_off, 0,
                      "malformed zip: a ZIP64 locator without the ZIP64 end record before it");
        *soft += !saturated; /* without saturated fields the plain record is read on */
        return ST_OK;
    }
    ei->entries = st_le64(e64 + 32);
    ei->cd_size = st_le64(e64 + 40);
    ei->cd_off = st_le64(e64 + 48);
    ei->eocd_off = e64_off;
    return ST_OK;
}

/* ---- central directory ----------------------------------------------------------------- */

/* Applies the ZIP64 extra field (id 0x0001) to saturated sizes and offset. */
static int apply_zip64(const unsigned char *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                       uint64_t *loff)
{
    while (xlen >= 4) {
        size_t id = le16(x), len = le16(x + 2);
        if (len > xlen - 4)
            return -1;
        if (id == 1) {
            const unsigned char *p = x + 4;
            size_t left = len;
            uint64_t *f[3] = {usize, csize, loff};
            for (int i = 0; i < 3; i++) {
                if (*f[i] != U32MAX)
                    continue;
                if (left < 8)
                    return -1;
                *f[i] = st_le64(p);
                p += 8;
                left -= 8;
            }
        }
        x += 4 + len;
        xlen -= 4 + len;
    }
    return 0;
}

/* Entries as zipfile's _RealGetContents reads them: while bytes of the directory remain (the
 * record's count is not used; miniz reads exactly that many: a difference is reported). */
static st_error parse_central(st_input *in, st_zip *z, uint64_t count)
{
    uint64_t pos = 0, cap = z->cd_size / CEN_LEN; /* each entry takes at least 46 bytes */
    z->e = calloc(cap ? (size_t)cap : 1, sizeof(*z->e));
    if (z->e == NULL)
        return ST_E_NOMEM;
    while (pos < z->cd_size && z->n < cap) {
        if (z->n >= in->ctx->limits[ST_LIMIT_ZIP_ENTRIES]) {
            st_report_add(in->report, ST_R_LIMIT, z->cd_start + pos, 0,
                          "more than %llu zip entries",
                          (unsigned long long)in->ctx->limits[ST_LIMIT_ZIP_ENTRIES]);
            return ST_E_LIMIT;
        }
        const unsigned char *h = z->cd + pos;
        if (z->cd_size - pos < CEN_LEN || le32(h) != 0x02014b50u)
            return structure(in, z->cd_start + pos, "central directory entry expected");
        size_t nl = le16(h + 28), xl = le16(h + 30), cl = le16(h + 32);
        if (z->cd_size - pos - CEN_LEN < (uint64_t)nl + xl + cl)
            return structure(in, z->cd_start + pos, "central directory entry truncated");
        st_zip_entry *e = &z->e[z->n];
        e->flags = (uint16_t)le16(h + 8);
        e->method = (uint16_t)le16(h + 10);
        e->crc = le32(h + 16);
        e->csize = le32(h + 20);
        e->usize = le32(h + 24);
        e->local_off = le32(h + 42);
        e->name_off = (uint32_t)(pos + CEN_LEN);
        e->name_len = (uint32_t)nl;
        if (apply_zip64(h + CEN_LEN + nl, xl, &e->usize, &e->csize, &e->local_off) != 0)
            return structure(in, z->cd_start + pos, "bad ZIP64 extra field");
        if (le16(h + 34) != 0)
            return structure(in, z->cd_start + pos, "entry on another disk");
        z->n++;
        pos += CEN_LEN + nl + xl + cl;
    }
    if (pos != z->cd_size)
        return structure(in, z->cd_start + pos, "central directory entry truncated");
    if (z->n != count)
        st_report_add(in->report, ST_R_ZIP_STRUCTURE, z->cd_start, z->cd_size,
                      "malformed zip: the end record counts %llu entries, the central directory "
                      "holds %zu (zipfile reads them all, miniz the count)",
                      (unsigned long long)count, z->n);
    return ST_OK;
}

void st_zip_name(const st_zip *z, const st_zip_entry *e, char *out, size_t size)
{
    size_t n = e->name_len < size - 1 ? e->name_len : size - 1;
    memcpy(out, z->cd + e->name_off, n);
    out[n] = '\0';
}

static const char *shown(const st_zip *z, const st_zip_entry *e, char *buf, size_t size)
{
    return st_escape(z->cd + e->name_off, e->name_len, buf, size, 100);
}

/* ---- local headers --------------------------------------------------------------------- */

static st_error check_local(st_input *in, st_zip *z, st_zip_entry *e)
{
    unsigned char h[LOC_LEN], nb[512];
    char name[128];
    uint64_t off = e->local_off, end;
    if (st_add_u64(off, LOC_LEN, &end) || end > z->cd_start)
        return structure(in, off, "local header outside the archive");
    if (st_src_read(in->src, off, h, LOC_LEN) != ST_OK)
        return io_error(in, off);
    if (le32(h) != 0x04034b50u)
        return structure(in, off, "local header signature expected");
    size_t nl = le16(h + 26), xl = le16(h + 28);
    e->data_off = off + LOC_LEN + nl + xl;
    int mismatch = nl != e->name_len || le16(h + 8) != e->method;
    for (size_t done = 0; !mismatch && done < nl;) { /* names compared byte for byte */
        size_t k = nl - done < sizeof(nb) ? nl - done : sizeof(nb);
        if (st_src_read(in->src, off + LOC_LEN + done, nb, k) != ST_OK)
            return io_error(in, off);
        mismatch = memcmp(nb, z->cd + e->name_off + done, k) != 0;
        done += k;
    }
    if (!(e->flags & 8)) { /* without a data descriptor the local sizes and CRC are real */
        uint64_t lc = le32(h + 18), lu = le32(h + 22);
        int z64 = lc == U32MAX || lu == U32MAX; /* ZIP64 local extra: trust the directory */
        mismatch |= le32(h + 14) != e->crc || (!z64 && (lc != e->csize || lu != e->usize));
    }
    if (mismatch)
        st_report_add(in->report, ST_R_ZIP_HEADER_MISMATCH, off, LOC_LEN,
                      "local header of \"%s\" disagrees with the central directory",
                      shown(z, e, name, sizeof(name)));
    if (st_add_u64(e->data_off, e->csize, &end) || end > z->cd_start) {
        st_report_add(in->report, ST_R_ZIP_OVERLAP, off, 0,
                      "data of \"%s\" runs into the central directory or past the file",
                      shown(z, e, name, sizeof(name)));
        return ST_OK;
    }
    e->readable = 1;
    return ST_OK;
}

static int by_local(const void *a, const void *b)
{
    const st_zip_entry *x = *(st_zip_entry *const *)a, *y = *(st_zip_entry *const *)b;
    return (x->local_off > y->local_off) - (x->local_off < y->local_off);
}

/* End of an entry's bytes, with its data descriptor when flag bit 3 says one follows. */
static uint64_t entry_end(const st_input *in, const st_zip *z, const st_zip_entry *e)
{
    uint64_t end = e->data_off + e->csize;
    if (!(e->flags & 8))
        return end;
    unsigned char d[4];
    uint64_t len = (e->csize >= U32MAX || e->usize >= U32MAX) ? 20 : 12;
    if (end + 4 <= z->cd_start && st_src_read(in->src, end, d, 4) == ST_OK &&
        le32(d) == 0x08074b50u)
        len += 4;
    return end + len <= z->cd_start ? end + len : z->cd_start;
}

/* Scans [a, b) for a local header signature: an entry the directory does not list. */
static st_error scan_gap(st_input *in, uint64_t a, uint64_t b, int *found)
{
    unsigned char buf[4096 + 3];
    for (uint64_t p = a; p + 4 <= b && !*found;) {
        size_t n = b - p < sizeof(buf) ? (size_t)(b - p) : sizeof(buf);
        if (st_src_read(in->src, p, buf, n) != ST_OK)
            return io_error(in, p);
        for (size_t i = 0; i + 4 <= n; i++)
            if (buf[i] == 'P' && buf[i + 1] == 'K' && buf[i + 2] == 3 && buf[i + 3] == 4) {
                st_report_add(in->report, ST_R_ZIP_HIDDEN_LOCAL, p + i, 4,
                              "local header at offset %llu is not in the central directory",
                              (unsigned long long)(p + i));
                *found = 1;
                break;
            }
        p += n > 3 ? n - 3 : n;
    }
    return ST_OK;
}

/* Sorted by position, entries must not share or overlap bytes; gaps must hold no entries. */
static st_error check_layout(st_input *in, st_zip *z)
{
    st_zip_entry **s = malloc((z->n ? z->n : 1) * sizeof(*s));
    size_t k = 0;
    int hidden = 0;
    st_error err = ST_OK;
    if (s == NULL)
        return ST_E_NOMEM;
    for (size_t i = 0; i < z->n; i++)
        if (z->e[i].readable)
            s[k++] = &z->e[i];
    qsort(s, k, sizeof(*s), by_local);
    uint64_t pos = z->delta;
    for (size_t i = 0; i < k && err == ST_OK; i++) {
        char a[128];
        if (s[i]->local_off < pos) {
            st_report_add(in->report, ST_R_ZIP_OVERLAP, s[i]->local_off, 0,
                          "entry \"%s\" shares or overlaps the bytes of another entry",
                          shown(z, s[i], a, sizeof(a)));
        } else if (!hidden) {
            err = scan_gap(in, pos, s[i]->local_off, &hidden);
        }
        uint64_t end = entry_end(in, z, s[i]);
        pos = end > pos ? end : pos;
    }
    if (err == ST_OK && !hidden)
        err = scan_gap(in, pos, z->cd_start, &hidden);
    free(s);
    return err;
}

/* ---- names ----------------------------------------------------------------------------- */

static const char *unsafe_reason(const unsigned char *n, size_t len)
{
    if (len == 0)
        return "empty name";
    if (memchr(n, 0, len))
        return "NUL byte (readers truncate the name)";
    if (memchr(n, '\\', len))
        return "backslash";
    if (n[0] == '/' || (len >= 2 && n[1] == ':'))
        return "absolute path";
    for (size_t i = 0; i < len;) { /* any ".." path component */
        size_t j = i;
        while (j < len && n[j] != '/')
            j++;
        if (j - i == 2 && n[i] == '.' && n[i + 1] == '.')
            return "'..' component";
        i = j + 1;
    }
    return NULL;
}

/* qsort has no user pointer: the archive being sorted, per thread. */
static _Thread_local const st_zip *name_cmp_zip;

static int by_name(const void *a, const void *b)
{
    const st_zip_entry *x = *(st_zip_entry *const *)a, *y = *(st_zip_entry *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(name_cmp_zip->cd + x->name_off, name_cmp_zip->cd + y->name_off, n);
    if (c != 0)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static st_error check_names(st_input *in, st_zip *z)
{
    char a[128];
    for (size_t i = 0; i < z->n; i++) {
        const char *why = unsafe_reason(z->cd + z->e[i].name_off, z->e[i].name_len);
        if (why != NULL)
            st_report_add(in->report, ST_R_ZIP_UNSAFE_NAME, z->e[i].local_off, 0,
                          "entry \"%s\": %s", shown(z, &z->e[i], a, sizeof(a)), why);
    }
    st_zip_entry **s = malloc((z->n ? z->n : 1) * sizeof(*s));
    if (s == NULL)
        return ST_E_NOMEM;
    for (size_t i = 0; i < z->n; i++)
        s[i] = &z->e[i];
    name_cmp_zip = z;
    qsort(s, z->n, sizeof(*s), by_name);
    for (size_t i = 1; i < z->n; i++)
        if (by_name(&s[i - 1], &s[i]) == 0 && (i < 2 || by_name(&s[i - 2], &s[i]) != 0))
            st_report_add(in->report, ST_R_ZIP_DUP_NAME, s[i]->local_off, 0,
                          "entry name \"%s\" appears more than once; readers pick different "
                          "copies",
                          shown(z, s[i], a, sizeof(a)));
    free(s);
    return ST_OK;
}

/* ---- the walk -------------------------------------------------------------------------- */

static st_error locate_cd(st_input *in, st_zip *z, const end_info *ei, int *ok)
{
    *ok = 0;
    if (ei->cd_size > ei->eocd_off)
        return structure(in, ei->eocd_off, "central directory larger than the archive");
    z->cd_start = ei->eocd_off - ei->cd_size;
    if (z->cd_start < ei->cd_off)
        return structure(in, ei->eocd_off, "central directory offset past its position");
    /* Python's zipfile shifts every offset by the bytes found before the archive. */
    z->delta = z->cd_start - ei->cd_off;
    if (ei->entries > in->ctx->limits[ST_LIMIT_ZIP_ENTRIES]) {
        st_report_add(in->report, ST_R_LIMIT, ei->eocd_off, 0, "%llu zip entries (limit %llu)",
                      (unsigned long long)ei->entries,
                      (unsigned long long)in->ctx->limits[ST_LIMIT_ZIP_ENTRIES]);
        return ST_E_LIMIT;
    }
    z->cd_size = ei->cd_size;
    z->cd = malloc(z->cd_size ? z->cd_size : 1); /* bounded by the file's size */
    if (z->cd == NULL)
        return ST_E_NOMEM;
    if (st_src_read(in->src, z->cd_start, z->cd, z->cd_size) != ST_OK)
        return io_error(in, z->cd_start);
    *ok = 1;
    return ST_OK;
}

st_error st_zip_walk(st_input *in, st_zip *z)
{
    end_info ei;
    unsigned char rec[EOCD_LEN] = {0};
    int ok;
    memset(z, 0, sizeof(*z));
    memset(&ei, 0, sizeof(ei));
    st_error err = find_eocd(in, &ei, rec);
    if (err != ST_OK)
        return err;
    if (!ei.found)
        return structure(in, 0, "no end of central directory record");
    size_t before = in->report->counts[ST_SEV_ERROR], soft = 0;
    if ((err = read_ends(in, &ei, rec, &soft)) != ST_OK ||
        in->report->counts[ST_SEV_ERROR] > before + soft)
        return err;
    if ((err = locate_cd(in, z, &ei, &ok)) != ST_OK || !ok)
        return err;
    if ((err = parse_central(in, z, ei.entries)) != ST_OK)
        return err;
    for (size_t i = 0; i < z->n && err == ST_OK; i++) {
        if (st_add_u64(z->e[i].local_off, z->delta, &z->e[i].local_off))
            return structure(in, 0, "entry offset overflows");
        err = check_local(in, z, &z->e[i]);
    }
    if (err == ST_OK && z->delta > 0)
        st_report_add(in->report, ST_R_ZIP_EXTRA_BYTES, 0, z->delta,
                      "%llu bytes precede the first zip entry (a polyglot's other view)",
                      (unsigned long long)z->delta);
    if (err == ST_OK)
        err = check_layout(in, z);
    if (err == ST_OK)
        err = check_names(in, z);
    return err;
}

void st_zip_free(st_zip *z)
{
    free(z->e);
    free(z->cd);
    memset(z, 0, sizeof(*z));
}

/* ---- reading members ------------------------------------------------------------------- */

static st_error refuse_member(st_input *in, const st_zip *z, const st_zip_entry *e)
{
    char a[128];
    if (e->flags & (1u | 0x40u | 0x2000u)) {
        st_report_add(in->report, ST_R_ZIP_FLAGS, e->local_off, 0,
                      "entry \"%s\" is marked encrypted (flags 0x%04x): its content cannot be "
                      "checked",
                      shown(z, e, a, sizeof(a)), e->flags);
        return ST_E_UNSUPPORTED;
    }
    if (e->method != 0 && e->method != 8) {
        st_report_add(in->report, ST_R_ZIP_METHOD, e->local_off, 0,
                      "entry \"%s\" uses compression method %u, which stcheck cannot read",
                      shown(z, e, a, sizeof(a)), e->method);
        return ST_E_UNSUPPORTED;
    }
    return ST_OK;
}

/* Absolute and ratio limits, checked before anything is allocated from the declared size. */
static st_error check_bomb(st_input *in, const st_zip *z, const st_zip_entry *e)
{
    char a[128];
    uint64_t lim = in->ctx->limits[ST_LIMIT_MEMBER_BYTES];
    uint64_t ratio = in->ctx->limits[ST_LIMIT_ZIP_RATIO], cap;
    int too_big = e->usize > lim;
    /* deflate cannot expand more than 1032:1; beyond 1 MiB the ratio limit applies too */
    int impossible = e->method == 8 && (st_mul_u64(e->csize, 1032, &cap) || e->usize > cap + 1024);
    uint64_t denom = e->csize < UINT64_MAX ? e->csize + 1 : e->csize; /* never zero */
    int ratio_bad = e->method == 8 && e->usize > (1u << 20) && e->usize / denom > ratio;
    if (!too_big && !impossible && !ratio_bad)
        return ST_OK;
    st_report_add(in->report, ST_R_ZIP_BOMB, e->local_off, 0,
                  "entry \"%s\" declares %llu bytes from %llu compressed (limits: %llu bytes, "
                  "ratio %llu)",
                  shown(z, e, a, sizeof(a)), (unsigned long long)e->usize,
                  (unsigned long long)e->csize, (unsigned long long)lim, (unsigned long long)ratio);
    return ST_E_LIMIT;
}

/* Inflates raw deflate data into out (want bytes). For a full read (verify) the stream must
 * end exactly at want: more output, a truncated or corrupt stream sets *bad. */
static st_error inflate_into(st_input *in, const st_zip_entry *e, unsigned char *out, size_t want,
                             int full, size_t *got, int *bad)
{
    unsigned char chunk[65536], spill[64];
    z_stream zs;
    uint64_t read = 0;
    st_error err = ST_OK;
    memset(&zs, 0, sizeof(zs));
    /* GCOVR_EXCL_START: inflateInit2 fails only when zlib cannot allocate its state (inside
     * libz, out of reach of the tests' wrapped malloc) */
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return ST_E_NOMEM;
    /* GCOVR_EXCL_STOP */
    zs.next_out = out;
    zs.avail_out = want < UINT32_MAX ? (uInt)want : UINT32_MAX;
    for (;;) {
        if (zs.avail_in == 0 && read < e->csize) {
            size_t n = e->csize - read < sizeof(chunk) ? (size_t)(e->csize - read) : sizeof(chunk);
            if (st_src_read(in->src, e->data_off + read, chunk, n) != ST_OK) {
                err = ST_E_IO;
                break;
            }
            read += n;
            zs.next_in = chunk;
            zs.avail_in = (uInt)n;
        }
        if (zs.avail_out == 0 && zs.total_out < want) { /* zlib counts in 32-bit windows */
            size_t left = want - (size_t)zs.total_out;
            zs.next_out = out + zs.total_out;
            zs.avail_out = left < UINT32_MAX ? (uInt)left : UINT32_MAX;
        } else if (zs.avail_out == 0) {
            if (!full)
                break;           /* a prefix was asked for, and it is here */
            zs.next_out = spill; /* any output past want is a size lie */
            zs.avail_out = sizeof(spill);
        }
        int rc = inflate(&zs, Z_NO_FLUSH);
        if (zs.total_out > want) {
            *bad = 1;
            break;
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && (zs.avail_in > 0 || read < e->csize))) {
            *bad = full; /* corrupt or truncated stream */
            break;
        }
    }
    *got = zs.total_out < want ? (size_t)zs.total_out : want;
    inflateEnd(&zs);
    return err;
}

st_error st_zip_read(st_input *in, const st_zip *z, const st_zip_entry *e, uint64_t max,
                     unsigned char **out, size_t *len)
{
    char a[128];
    *out = NULL;
    *len = 0;
    if (!e->readable)
        return ST_E_UNSUPPORTED; /* its header was already reported */
    st_error err = refuse_member(in, z, e);
    int full = max >= e->usize;
    if (err == ST_OK && full)
        err = check_bomb(in, z, e);
    if (err != ST_OK)
        return err;
    uint64_t want = full ? e->usize : max;
    if (e->method == 0 && want > e->csize)
        want = e->csize;
    unsigned char *buf = malloc(want ? (size_t)want : 1);
    if (buf == NULL)
        return ST_E_NOMEM;
    size_t got = 0;
    int bad = 0;
    if (e->method == 0) {
        if (st_src_read(in->src, e->data_off, buf, (size_t)want) != ST_OK)
            err = ST_E_IO;
        got = (size_t)want;
        bad = full && e->csize != e->usize;
    } else {
        err = inflate_into(in, e, buf, (size_t)want, full, &got, &bad);
    }
    if (err == ST_OK && full && (bad || got != e->usize || crc32_z(0L, buf, got) != e->crc))
        st_report_add(in->report, ST_R_ZIP_CRC, e->local_off, 0,
                      "entry \"%s\": data does not match its declared size and CRC-32",
                      shown(z, e, a, sizeof(a)));
    if (err != ST_OK) {
        free(buf);
        if (err == ST_E_IO)
            st_report_add(in->report, ST_R_IO, e->data_off, 0, "could not read a zip member");
        return err;
    }
    *out = buf;
    *len = got;
    return ST_OK;
}

/* ---- torch's reader: miniz 2.1.0 under PyTorchStreamReader ------------------------------ */
/*
 * torch.load reads a file whose first 4 bytes are a local header (serialization.py
 * _is_zipfile) with caffe2/serialize/inline_container.cc PyTorchStreamReader, which calls
 * miniz's mz_zip_reader_init (third_party/miniz-2.1.0/miniz.c). miniz reads differently from
 * Python's zipfile:
 *   - end record (mz_zip_reader_locate_header_sig): the last signature, scanning back from
 *     the end in 4 KiB chunks, with at least 22 bytes after it; the comment length is ignored;
 *   - ZIP64: the locator right before the end record gives the ZIP64 end record's absolute
 *     offset (zipfile assumes it sits right before the locator);
 *   - the central directory is read at the offset the record gives, absolute: no adjustment
 *     for prepended bytes (zipfile places it right before the end record and shifts every
 *     local header offset by the difference), as many entries as the record counts;
 *   - names are looked up by a binary search over a heap sort of the lower-cased names.
 */

/* mz_zip_reader_locate_header_sig for the end record. */
static st_error miniz_find_eocd(st_input *in, uint64_t *at, int *found)
{
    unsigned char buf[4096];
    uint64_t size = in->src->size, cur = size > sizeof(buf) ? size - sizeof(buf) : 0;
    *found = 0;
    if (size < EOCD_LEN)
        return ST_OK;
    for (;;) {
        size_t n = size - cur < sizeof(buf) ? (size_t)(size - cur) : sizeof(buf);
        if (st_src_read(in->src, cur, buf, n) != ST_OK)
            return io_error(in, cur);
        for (size_t i = n >= 4 ? n - 4 + 1 : 0; i-- > 0;)
            if (le32(buf + i) == 0x06054b50u && size - (cur + i) >= EOCD_LEN) {
                *at = cur + i;
                *found = 1;
                return ST_OK;
            }
        if (cur == 0 || size - cur >= 0xFFFFu + EOCD_LEN)
            return ST_OK;
        cur = cur > sizeof(buf) - 3 ? cur - (sizeof(buf) - 3) : 0;
    }
}

typedef struct {
    uint64_t eocd, total, cd_off, cd_size;
} miniz_end;

/* mz_zip_reader_read_central_dir up to reading the directory: 1 when miniz accepts it, 0 when
 * it refuses, -1 when a read inside the file failed (an I/O error, not a refusal). */
static int miniz_ends(st_input *in, uint64_t eocd, miniz_end *me)
{
    unsigned char rec[EOCD_LEN], loc[LOC64_LEN], e64[EOCD64_LEN];
    uint64_t size = in->src->size;
    int zip64 = 0;
    int has_loc = eocd >= LOC64_LEN + EOCD64_LEN;
    if (st_src_read(in->src, eocd, rec, EOCD_LEN) != ST_OK ||
        (has_loc && st_src_read(in->src, eocd - LOC64_LEN, loc, LOC64_LEN) != ST_OK))
        return -1;
    if (has_loc && le32(loc) == 0x07064b50u) {
        uint64_t off = st_le64(loc + 8);
        if (off > size - EOCD64_LEN)
            return 0;
        if (st_src_read(in->src, off, e64, EOCD64_LEN) != ST_OK)
            return -1;
        zip64 = le32(e64) == 0x06064b50u;
    }
    uint64_t total = le16(rec + 10), this_disk_entries = le16(rec + 8);
    uint64_t disk = le16(rec + 4), cd_disk = le16(rec + 6);
    me->cd_size = le32(rec + 12);
    me->cd_off = le32(rec + 16);
    if (zip64) {
        if (st_le64(e64 + 4) < EOCD64_LEN - 12 || le32(loc + 16) != 1 ||
            st_le64(e64 + 32) > U32MAX || st_le64(e64 + 24) > U32MAX || st_le64(e64 + 40) > U32MAX)
            return 0;
        total = st_le64(e64 + 32);
        this_disk_entries = st_le64(e64 + 24);
        me->cd_size = st_le64(e64 + 40);
        disk = le32(e64 + 16);
        cd_disk = le32(e64 + 20);
        me->cd_off = st_le64(e64 + 48);
    }
    uint64_t end;
    if (total != this_disk_entries || ((disk | cd_disk) != 0 && (disk != 1 || cd_disk != 1)) ||
        me->cd_size < total * CEN_LEN || st_add_u64(me->cd_off, me->cd_size, &end) || end > size)
        return 0;
    me->eocd = eocd;
    me->total = total;
    return 1;
}

/* The per-entry checks of mz_zip_reader_read_central_dir, then the entry as torch reads it:
 * sizes and offset from the directory (ZIP64 extra applied), data after the local header's
 * own name and extra lengths. 0 when miniz rejects the archive, -1 when a read failed. */
static int miniz_entry(st_input *in, st_zip *z, uint64_t pos, uint64_t left, uint64_t *used)
{
    const unsigned char *h = z->cd + pos;
    if (left < CEN_LEN || le32(h) != 0x02014b50u)
        return 0;
    size_t nl = le16(h + 28), xl = le16(h + 30), cl = le16(h + 32);
    uint64_t csize = le32(h + 20), usize = le32(h + 24), loff = le32(h + 42), end;
    if (csize != U32MAX && usize != U32MAX &&
        ((le16(h + 10) == 0 && usize != csize) || (usize && !csize)))
        return 0;
    if (le16(h + 34) == 0xFFFF || (le16(h + 34) != 0 && le16(h + 34) != 1))
        return 0;
    if (csize != U32MAX && loff + LOC_LEN + csize > in->src->size)
        return 0;
    if ((le16(h + 8) & 0x2000) || CEN_LEN + (uint64_t)nl + xl + cl > left)
        return 0;
    st_zip_entry *e = &z->e[z->n++];
    memset(e, 0, sizeof(*e));
    e->flags = (uint16_t)le16(h + 8);
    e->method = (uint16_t)le16(h + 10);
    e->crc = le32(h + 16);
    e->csize = csize;
    e->usize = usize;
    e->local_off = loff;
    e->name_off = (uint32_t)(pos + CEN_LEN);
    e->name_len = (uint32_t)nl;
    if ((csize == U32MAX || usize == U32MAX || loff == U32MAX) &&
        apply_zip64(h + CEN_LEN + nl, xl, &e->usize, &e->csize, &e->local_off) != 0)
        return 0;
    unsigned char lh[LOC_LEN];
    int in_file = !st_add_u64(e->local_off, LOC_LEN, &end) && end <= in->src->size;
    if (in_file && st_src_read(in->src, e->local_off, lh, LOC_LEN) != ST_OK)
        return -1;
    if (in_file && le32(lh) == 0x04034b50u) {
        e->data_off = e->local_off + LOC_LEN + le16(lh + 26) + le16(lh + 28);
        e->readable = !st_add_u64(e->data_off, e->csize, &end) && end <= in->src->size;
    }
    *used = CEN_LEN + (uint64_t)nl + xl + cl;
    return 1;
}

st_error st_zip_walk_miniz(st_input *in, st_zip *z, int *ok)
{
    uint64_t eocd;
    int found;
    miniz_end me;
    memset(z, 0, sizeof(*z));
    *ok = 0;
    st_error err = miniz_find_eocd(in, &eocd, &found);
    if (err != ST_OK || !found)
        return err;
    int r = miniz_ends(in, eocd, &me);
    if (r <= 0)
        return r < 0 ? io_error(in, eocd) : ST_OK;
    if (me.total > in->ctx->limits[ST_LIMIT_ZIP_ENTRIES]) {
        st_report_add(in->report, ST_R_LIMIT, me.eocd, 0, "%llu zip entries (limit %llu)",
                      (unsigned long long)me.total,
                      (unsigned long long)in->ctx->limits[ST_LIMIT_ZIP_ENTRIES]);
        return ST_E_LIMIT;
    }
    z->cd_start = me.cd_off;
    z->cd_size = me.cd_size;
    z->cd = malloc(me.cd_size ? (size_t)me.cd_size : 1); /* within the file: checked */
    z->e = calloc(me.total ? (size_t)me.total : 1, sizeof(*z->e));
    /* on failure nothing is handed back: the caller frees only a view it is given (*ok) */
    if (z->cd == NULL || z->e == NULL) {
        st_zip_free(z);
        return ST_E_NOMEM;
    }
    if (st_src_read(in->src, z->cd_start, z->cd, (size_t)z->cd_size) != ST_OK) {
        st_zip_free(z);
        return io_error(in, me.cd_off);
    }
    uint64_t pos = 0, used;
    for (uint64_t i = 0; i < me.total; i++) {
        int r2 = miniz_entry(in, z, pos, z->cd_size - pos, &used);
        if (r2 <= 0) {
            st_zip_free(z);
            /* 0: miniz refuses the archive, torch loads nothing from it */
            return r2 < 0 ? io_error(in, me.cd_off + pos) : ST_OK;
        }
        pos += used;
    }
    *ok = 1;
    return ST_OK;
}

/* MZ_TOLOWER: ASCII only. */
static unsigned char mz_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* mz_zip_reader_filename_less */
static int mz_less(const st_zip *z, uint32_t a, uint32_t b)
{
    const unsigned char *l = z->cd + z->e[a].name_off, *r = z->cd + z->e[b].name_off;
    uint32_t ll = z->e[a].name_len, rl = z->e[b].name_len, n = ll < rl ? ll : rl, i = 0;
    unsigned char x = 0, y = 0;
    for (; i < n; i++)
        if ((x = mz_lower(l[i])) != (y = mz_lower(r[i])))
            break;
    return i == n ? ll < rl : x < y;
}

static void mz_sift(const st_zip *z, uint32_t *ix, uint64_t root, uint64_t end)
{
    for (;;) {
        uint64_t child = (root << 1) + 1;
        if (child >= end)
            break;
        child += (child + 1 < end) && mz_less(z, ix[child], ix[child + 1]);
        if (!mz_less(z, ix[root], ix[child]))
            break;
        uint32_t t = ix[root];
        ix[root] = ix[child];
        ix[child] = t;
        root = child;
    }
}

uint32_t *st_zip_miniz_sorted(const st_zip *z)
{
    uint32_t *ix = malloc((z->n ? z->n : 1) * sizeof(*ix));
    if (ix == NULL)
        return NULL;
    for (size_t i = 0; i < z->n; i++)
        ix[i] = (uint32_t)i;
    if (z->n <= 1)
        return ix;
    /* mz_zip_reader_sort_central_dir_offsets_by_filename: the same heap sort, so that equal
     * (case-insensitively) names end up in the same order and the search picks the same one */
    for (uint64_t start = (z->n - 2) >> 1;; start--) {
        mz_sift(z, ix, start, z->n);
        if (start == 0)
            break;
    }
    for (uint64_t end = z->n - 1; end > 0; end--) {
        uint32_t t = ix[end];
        ix[end] = ix[0];
        ix[0] = t;
        mz_sift(z, ix, 0, end);
    }
    return ix;
}

/* mz_zip_locate_file_binary_search with mz_zip_filename_compare; name is a C string (torch
 * passes std::string::c_str(): it ends at the first NUL). */
long st_zip_miniz_locate(const st_zip *z, const uint32_t *sorted, const char *name)
{
    size_t rl = strlen(name);
    int64_t l = 0, h = (int64_t)z->n - 1;
    while (l <= h) {
        int64_t m = l + ((h - l) >> 1);
        const st_zip_entry *e = &z->e[sorted[m]];
        const unsigned char *p = z->cd + e->name_off;
        size_t n = e->name_len < rl ? e->name_len : rl, i = 0;
        unsigned char x = 0, y = 0;
        for (; i < n; i++)
            if ((x = mz_lower(p[i])) != (y = mz_lower((unsigned char)name[i])))
                break;
        long comp = i == n ? (long)e->name_len - (long)rl : (long)x - (long)y;
        if (comp == 0)
            return (long)sorted[m];
        if (comp < 0)
            l = m + 1;
        else
            h = m - 1;
    }
    return -1;
}

/* Nonzero when the two readings list the same entries at the same bytes. */
int st_zip_same_view(const st_zip *a, const st_zip *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const st_zip_entry *x = &a->e[i], *y = &b->e[i];
        if (x->local_off != y->local_off || x->csize != y->csize || x->usize != y->usize ||
            x->method != y->method || x->name_len != y->name_len ||
            memcmp(a->cd + x->name_off, b->cd + y->name_off, x->name_len) != 0 ||
            (x->readable && y->readable && x->data_off != y->data_off))
            return 0;
    }
    return 1;
}
