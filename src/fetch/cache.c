/*
 * cache.c - the remote st_src: validated range reads through a bounded page cache.
 *
 * The first request asks for the first 64 KiB (a safetensors header of that size, the magic of
 * every format, the pickle view's first window) and learns the size from its Content-Range;
 * with the last 4 KiB the scanner reads for identification (fetched exactly: a run that reaches
 * the end of the file starts where the read does) a safetensors file costs 2 requests, 68 KiB.
 * Later reads fetch the 4 KiB pages they lack, one request per run of missing pages; a read that
 * continues where the last fetch ended doubles the read-ahead (up to 1 MiB: pickle streams), any
 * other read fetches only its pages (a zip's local headers among megabytes of storages). Reads of
 * 256 KiB and more bypass the cache. At most ST_CACHE_PAGES pages are kept (16 MiB), the least
 * recently used evicted.
 *
 * Every response is validated before a byte is used: 206 with a Content-Range that is exactly
 * the range asked for, the body exactly that long, and a total equal to the size seen first (a
 * file that changes under us is "could not check", like a local file that shrinks). A server
 * that ignores Range (200) is read as a stream from byte 0, only as far as needed, within
 * --max-fetch; its Content-Length must be the size. A short body is never parsed as complete.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "fetch.h"

typedef struct {
    uint64_t no;   /* page number: offset / ST_CACHE_PAGE */
    uint64_t used; /* clock at the last use */
    size_t len;    /* ST_CACHE_PAGE, or less for the file's last page */
    unsigned char *data;
} page;

struct st_remote {
    st_fetcher f;
    st_src_cb cb;
    uint64_t size; /* UINT64_MAX until the first response */
    int no_range;  /* the server ignored Range: every fetch streams from byte 0 */
    page *pages;   /* sorted by page number */
    size_t n_pages;
    uint64_t clock;
    uint64_t ahead_next; /* where the last fetch ended */
    uint64_t ahead;      /* current read-ahead */
    int status;          /* of the last response */
};

/* Where one fetch's body goes. */
typedef struct {
    unsigned char *dst;
    uint64_t off, len; /* the range asked for */
    uint64_t got;      /* bytes of it delivered */
    uint64_t pos;      /* 200 streams: bytes of the file seen */
    int too_long;
} sink;

static int sink_body(void *arg, const unsigned char *p, size_t n, const st_http_resp *resp)
{
    sink *k = arg;
    if (p == NULL) { /* a new response: what came before is void */
        k->got = k->pos = 0;
        k->too_long = 0;
        return 0;
    }
    if (resp->status == 206) {
        size_t room = (size_t)(k->len - k->got);
        memcpy(k->dst + k->got, p, n < room ? n : room);
        k->got += n < room ? n : room;
        k->too_long = n > room;
        return k->too_long;
    }
    /* 200: the whole file from byte 0; keep the part asked for */
    uint64_t end = k->off + k->len, at = k->pos;
    k->pos += n;
    if (k->pos > k->off && at < end) {
        uint64_t from = at > k->off ? at : k->off, to = k->pos < end ? k->pos : end;
        memcpy(k->dst + (from - k->off), p + (from - at), (size_t)(to - from));
        k->got += to - from;
    }
    return k->pos >= end;
}

/* The response to a request for [off, off+len) (clipped to the size at open); 0 when it is
 * what was asked for. opening: the size is learnt here. */
static int validate(st_remote *rm, const st_http_resp *resp, const sink *k, int opening)
{
    st_fetcher *f = &rm->f;
    uint64_t total = resp->status == 206 ? resp->total : resp->length;
    if (resp->encoded || resp->bad) {
        st_fetch_fail(f, ST_R_FETCH_BAD_RESPONSE, "%s",
                      resp->encoded ? "the server sent the bytes content-encoded (offsets are "
                                      "not the file's)"
                                    : "a malformed or repeated Content-Range or Content-Length");
        return -1;
    }
    if (resp->status == 416 && opening && resp->range_unsat && resp->total == 0) {
        rm->size = 0; /* an empty file has no byte 0 to ask for */
        return 0;
    }
    if (resp->status == 200 && !resp->has_length) {
        st_fetch_fail(f, ST_R_FETCH_BAD_RESPONSE,
                      "the server ignored Range and sent no Content-Length: the size is unknown");
        return -1;
    }
    if (resp->status == 206 && (!resp->has_range || resp->total == UINT64_MAX)) {
        st_fetch_fail(f, ST_R_FETCH_BAD_RESPONSE,
                      "a 206 response without a Content-Range giving the size");
        return -1;
    }
    if (resp->status != 206 && resp->status != 200) {
        st_fetch_fail(f, ST_R_FETCH_BAD_RESPONSE, "HTTP status %d to a range request",
                      resp->status);
        return -1;
    }
    /* No file holds more than 2^63 - 1 bytes (off_t), and the page arithmetic (page * 4096,
     * a run's end rounded up to a page) wraps near 2^64: a server announcing such a size made
     * the read of the file's last bytes loop ~2^52 times. */
    if (opening && total > (uint64_t)INT64_MAX) {
        st_fetch_fail(f, ST_R_FETCH_BAD_RESPONSE,
                      "the server gives a size of %llu bytes: above 2^63 - 1, no file is that "
                      "large",
                      (unsigned long long)total);
        return -1;
    }
    if (!opening && total != rm->size) {
        st_fetch_fail(f, ST_R_FETCH_CHANGED,
                      "the file's size changed between requests (%llu bytes, then %llu)",
                      (unsigned long long)rm->size, (unsigned long long)total);
        return -1;
    }
    uint64_t want = k->len;
    if (opening) /* the first request may ask past the end: the server clips it */
        want = total - k->off < k->len ? total - k->off : k->len;
    if (resp->status == 206 && (resp->first != k->off || resp->last - resp->first + 1 != want ||
                                (resp->has_length && resp->length != want))) {
        st_fetch_fail(f, ST_R_FETCH_BAD_RESPONSE,
                      "asked for bytes %llu-%llu, the server answered with Content-Range bytes "
                      "%llu-%llu",
                      (unsigned long long)k->off, (unsigned long long)(k->off + want - 1),
                      (unsigned long long)resp->first, (unsigned long long)resp->last);
        return -1;
    }
    if (k->too_long || k->got != want) {
        st_fetch_fail(f, ST_R_FETCH_BAD_RESPONSE,
                      "asked for %llu bytes at offset %llu, the body held %s%llu",
                      (unsigned long long)want, (unsigned long long)k->off,
                      k->too_long ? "more than " : "", (unsigned long long)k->got);
        return -1;
    }
    if (resp->status == 200 && !rm->no_range) {
        rm->no_range = 1;
        st_report_add(f->r, ST_R_FETCH_NO_RANGE, 0, 0,
                      "the server ignores Range requests: the file is read from its start as "
                      "far as needed (within --max-fetch)");
    }
    if (opening)
        rm->size = total;
    return 0;
}

/* One validated fetch of [off, off+len) into dst. */
static st_error fetch_into(st_remote *rm, uint64_t off, uint64_t len, unsigned char *dst,
                           int opening)
{
    st_http_resp resp;
    sink k = {dst, off, len, 0, 0, 0};
    uint64_t need = rm->no_range ? off + len : len; /* a stream starts at byte 0 */
    if (need > rm->f.max_bytes - rm->f.bytes) {
        st_fetch_fail(&rm->f, ST_R_FETCH_LIMIT,
                      "checking it needs more than --max-fetch (%llu bytes) downloaded",
                      (unsigned long long)rm->f.max_bytes);
        return rm->f.fail_err;
    }
    resp.status = 0;
    st_error e = st_fetch(&rm->f, off, len, sink_body, &k, &resp);
    rm->status = resp.status;
    if (e != ST_OK)
        return e;
    if (validate(rm, &resp, &k, opening) != 0)
        return rm->f.fail_err;
    return ST_OK;
}

/* Index of page no, or of where it would go (*found says which). */
static size_t find(const st_remote *rm, uint64_t no, int *found)
{
    size_t lo = 0, hi = rm->n_pages;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rm->pages[mid].no < no)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < rm->n_pages && rm->pages[lo].no == no;
    return lo;
}

static void evict(st_remote *rm)
{
    size_t lru = 0;
    for (size_t i = 1; i < rm->n_pages; i++)
        if (rm->pages[i].used < rm->pages[lru].used)
            lru = i;
    free(rm->pages[lru].data);
    memmove(&rm->pages[lru], &rm->pages[lru + 1], (rm->n_pages - lru - 1) * sizeof(page));
    rm->n_pages--;
}

/* Keeps the page no (len bytes at p); a failed allocation only loses the copy. */
static void keep(st_remote *rm, uint64_t no, const unsigned char *p, size_t len)
{
    int found;
    if (rm->n_pages == ST_CACHE_PAGES)
        evict(rm);
    size_t at = find(rm, no, &found);
    unsigned char *data = found ? NULL : malloc(len);
    if (data == NULL) /* GCOVR_EXCL_BR_LINE: already cached, or malloc failure */
        return;       /* GCOVR_EXCL_LINE: fill_run fetches only missing pages; malloc failure */
    memcpy(data, p, len);
    memmove(&rm->pages[at + 1], &rm->pages[at], (rm->n_pages - at) * sizeof(page));
    rm->pages[at] = (page){no, ++rm->clock, len, data};
    rm->n_pages++;
}

/* Keeps the whole pages of [off, off+len) held at buf, and the file's last page. */
static void keep_range(st_remote *rm, uint64_t off, const unsigned char *buf, uint64_t len)
{
    /* from the first page boundary: a fetch of the file's tail starts where the read did */
    for (uint64_t at = (ST_CACHE_PAGE - off % ST_CACHE_PAGE) % ST_CACHE_PAGE; at < len;
         at += ST_CACHE_PAGE) {
        uint64_t n = len - at < ST_CACHE_PAGE ? len - at : ST_CACHE_PAGE;
        if (n == ST_CACHE_PAGE || off + at + n == rm->size) /* never a partial page */
            keep(rm, (off + at) / ST_CACHE_PAGE, buf + at, (size_t)n);
    }
}

static int cached(const st_remote *rm, uint64_t no)
{
    int found;
    find(rm, no, &found);
    return found;
}

/* Fetches the run of missing pages starting at page p that [off, end) needs, plus read-ahead,
 * copies what [off, end) wants into buf and keeps the pages. Returns the page after the run. */
static st_error fill_run(st_remote *rm, uint64_t p, uint64_t off, uint64_t end, unsigned char *buf,
                         uint64_t *next)
{
    uint64_t q = p + 1;
    while (q * ST_CACHE_PAGE < end && !cached(rm, q))
        q++;
    uint64_t start = p * ST_CACHE_PAGE, stop = q * ST_CACHE_PAGE;
    if (start == rm->ahead_next && start > 0) /* sequential: read further ahead each time */
        rm->ahead = rm->ahead == 0                       ? ST_CACHE_FIRST
                    : rm->ahead * 2 > ST_CACHE_MAX_AHEAD ? ST_CACHE_MAX_AHEAD
                                                         : rm->ahead * 2;
    else
        rm->ahead = 0;
    if (start + rm->ahead > stop)
        for (uint64_t a = start + rm->ahead; stop < a && !cached(rm, q); q++)
            stop = (q + 1) * ST_CACHE_PAGE;
    if (stop > rm->size)
        stop = rm->size;
    if (stop == rm->size && off > start) /* the file's last bytes: exactly those */
        start = off;
    unsigned char *tmp = malloc((size_t)(stop - start));
    if (tmp == NULL)       /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    st_error e = fetch_into(rm, start, stop - start, tmp, 0);
    if (e == ST_OK) {
        uint64_t from = off > start ? off : start, to = end < stop ? end : stop;
        memcpy(buf + (from - off), tmp + (from - start), (size_t)(to - from));
        keep_range(rm, start, tmp, stop - start);
        rm->ahead_next = stop;
        *next = (stop + ST_CACHE_PAGE - 1) / ST_CACHE_PAGE;
    }
    free(tmp);
    return e;
}

st_error st_remote_read(void *arg, uint64_t off, void *buf, size_t len)
{
    st_remote *rm = arg;
    uint64_t end;
    if (st_add_u64(off, len, &end) || end > rm->size)
        return ST_E_INVAL;
    if (rm->f.failed)
        return rm->f.fail_err;
    if (len >= ST_CACHE_DIRECT)
        return fetch_into(rm, off, len, buf, 0);
    unsigned char *out = buf;
    for (uint64_t p = off / ST_CACHE_PAGE; p * ST_CACHE_PAGE < end;) {
        int found;
        size_t i = find(rm, p, &found);
        if (!found) {
            st_error e = fill_run(rm, p, off, end, out, &p);
            if (e != ST_OK)
                return e;
            continue;
        }
        page *pg = &rm->pages[i];
        uint64_t ps = p * ST_CACHE_PAGE, from = off > ps ? off : ps;
        uint64_t to = end < ps + pg->len ? end : ps + pg->len;
        memcpy(out + (from - off), pg->data + (from - ps), (size_t)(to - from));
        pg->used = ++rm->clock;
        p++;
    }
    return ST_OK;
}

st_remote *st_remote_open(st_transport *t, st_report *r, const char *url,
                          const char *const *headers, uint64_t max_bytes, st_error *err)
{
    st_remote *rm = calloc(1, sizeof(*rm));
    unsigned char *first = malloc(ST_CACHE_FIRST);
    if (rm != NULL)
        rm->pages = malloc(ST_CACHE_PAGES * sizeof(page));
    if (rm == NULL || first == NULL || rm->pages == NULL) { /* GCOVR_EXCL_BR_LINE: malloc */
        /* GCOVR_EXCL_START: malloc failure */
        free(first);
        st_remote_close(rm);
        *err = ST_E_NOMEM;
        return NULL;
        /* GCOVR_EXCL_STOP */
    }
    rm->size = UINT64_MAX;
    rm->cb = (st_src_cb){st_remote_read, rm};
    /* a --max-fetch below 64 KiB still lets a small file be read whole */
    uint64_t n = max_bytes < ST_CACHE_FIRST ? max_bytes : ST_CACHE_FIRST;
    *err = st_fetcher_init(&rm->f, t, r, url, headers, max_bytes) != 0
               ? rm->f.fail_err
               : fetch_into(rm, 0, n > 0 ? n : 1, first, 1);
    if (*err == ST_OK) {
        keep_range(rm, 0, first, rm->size < n ? rm->size : n);
        rm->ahead_next = rm->size < n ? rm->size : n;
    }
    free(first);
    return rm;
}

void st_remote_close(st_remote *rm)
{
    if (rm == NULL)
        return;
    for (size_t i = 0; i < rm->n_pages; i++)
        free(rm->pages[i].data);
    free(rm->pages);
    free(rm);
}

void st_remote_src(st_remote *rm, st_src *src)
{
    st_src_callback(src, &rm->cb, rm->size);
}

uint64_t st_remote_size(const st_remote *rm)
{
    return rm->size;
}

uint64_t st_remote_requests(const st_remote *rm)
{
    return rm->f.requests;
}

uint64_t st_remote_bytes(const st_remote *rm)
{
    return rm->f.bytes;
}

size_t st_remote_pages(const st_remote *rm)
{
    return rm->n_pages;
}

int st_remote_status(const st_remote *rm)
{
    return rm->status;
}
