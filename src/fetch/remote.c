/*
 * remote.c - the public entry points of remote checks: st_check_url, the Hub walk and the
 * context's fetch settings.
 *
 * A URL is checked only through st_check_url (and st_hub_check): st_check_path never fetches,
 * so a registry passing attacker-chosen paths cannot be made to issue requests. Reports are
 * named by the URL without its query (signed URLs carry credentials there); headers, HF_TOKEN
 * included, never reach a report, a message or a log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/escape.h"
#include "../scan.h"
#include "fetch.h"

enum { MAX_HEADERS = 64, LISTING_MAX = 64 << 20, MAX_PAGES = 1000 };

int st_remote_supported(void)
{
#ifdef ST_HAVE_CURL
    return 1;
#else
    return 0;
#endif
}

st_error st_ctx_set_max_fetch(st_ctx *ctx, uint64_t bytes)
{
    if (ctx == NULL || bytes == 0)
        return ST_E_INVAL;
    ctx->max_fetch = bytes;
    return ST_OK;
}

st_error st_ctx_add_header(st_ctx *ctx, const char *header)
{
    if (ctx == NULL || header == NULL || ctx->fetch_headers.n >= MAX_HEADERS)
        return ST_E_INVAL;
    size_t name = strcspn(header, ":");
    if (name == 0 || header[name] != ':' || strpbrk(header, "\r\n") != NULL)
        return ST_E_INVAL;
    for (size_t i = 0; i < name; i++) /* a token (RFC 9110 5.1): no space, no separator */
        if ((unsigned char)header[i] <= 0x20 || (unsigned char)header[i] >= 0x7f ||
            strchr("\"(),/:;<=>?@[\\]{}", header[i]) != NULL)
            return ST_E_INVAL;
    return st_strlist_add(&ctx->fetch_headers, header) == 0 ? ST_OK : ST_E_NOMEM;
}

st_error st_ctx_set_cacert(st_ctx *ctx, const char *path)
{
    if (ctx == NULL || path == NULL || path[0] == '\0')
        return ST_E_INVAL;
    st_strlist_clear(&ctx->fetch_cacert);
    return st_strlist_add(&ctx->fetch_cacert, path) == 0 ? ST_OK : ST_E_NOMEM;
}

st_error st_ctx_set_timeout(st_ctx *ctx, long seconds)
{
    if (ctx == NULL || seconds < 1 || seconds > 3600)
        return ST_E_INVAL;
    ctx->fetch_timeout = seconds;
    return ST_OK;
}

st_error st_ctx_set_fetch_timeout(st_ctx *ctx, long seconds)
{
    if (ctx == NULL || seconds < 1 || seconds > 86400)
        return ST_E_INVAL;
    ctx->fetch_deadline = seconds;
    return ST_OK;
}

st_error st_ctx_set_no_private_addresses(st_ctx *ctx, int on)
{
    if (ctx == NULL)
        return ST_E_INVAL;
    ctx->no_private_addrs = on != 0;
    return ST_OK;
}

uint64_t st_report_bytes_fetched(const st_report *r)
{
    return r ? r->bytes_fetched : 0;
}

uint64_t st_report_requests(const st_report *r)
{
    return r ? r->requests : 0;
}

int st_report_remote(const st_report *r)
{
    return r ? r->remote : 0;
}

/* The headers sent to a URL's origin: --header lines, and for the Hub an Authorization from
 * HF_TOKEN unless one was given. */
typedef struct {
    const char *v[MAX_HEADERS + 2];
    char *owned;
} header_set;

static int headers_for(const st_ctx *ctx, int hub, header_set *h)
{
    size_t n = 0;
    int has_auth = 0;
    h->owned = NULL;
    for (size_t i = 0; i < ctx->fetch_headers.n; i++) {
        h->v[n++] = ctx->fetch_headers.v[i];
        has_auth |= strncasecmp(ctx->fetch_headers.v[i], "authorization:", 14) == 0;
    }
    const char *tok = hub ? getenv("HF_TOKEN") : NULL;
    if (tok != NULL && tok[0] != '\0' && !has_auth && strpbrk(tok, "\r\n") == NULL) {
        size_t len = strlen(tok) + 32;
        if ((h->owned = malloc(len)) == NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
            return -1;                        /* GCOVR_EXCL_LINE: malloc failure */
        snprintf(h->owned, len, "Authorization: Bearer %s", tok);
        h->v[n++] = h->owned;
    }
    h->v[n] = NULL;
    return 0;
}

static void refuse(st_report *r, const char *why)
{
    st_report_add(r, ST_R_FETCH_URL, 0, 0, "%s", why);
    st_report_fail(r, ST_E_UNSUPPORTED);
}

/* GCOVR_EXCL_START: called on allocation failures only */
static void nomem(st_report *r)
{
    st_report_add(r, ST_R_NOMEM, 0, 0, "out of memory");
    st_report_fail(r, ST_E_NOMEM);
}
/* GCOVR_EXCL_STOP */

static st_transport *transport(const st_ctx *ctx, st_report *r)
{
    st_http_opts o = {ctx->fetch_cacert.n ? ctx->fetch_cacert.v[0] : NULL, ctx->fetch_timeout};
    st_transport *t = st_http_new(&o);
    /* the check's deadline starts now: a file with its shards, or a listing's pages */
    if (t != NULL) { /* GCOVR_EXCL_BR_LINE: NULL without STCHECK_REMOTE or on malloc failure */
        st_transport_deadline(t, ctx->fetch_deadline);
        t->no_private = ctx->no_private_addrs; /* addr.c: per check, as the deadline */
    }
    /* GCOVR_EXCL_START: builds without STCHECK_REMOTE (tests/remote_off_test.sh), malloc */
    if (t == NULL && !st_remote_supported())
        refuse(r, "this stcheck was built without remote support (STCHECK_REMOTE=OFF)");
    else if (t == NULL)
        nomem(r);
    /* GCOVR_EXCL_STOP */
    return t;
}

/* The siblings of a checked URL (a shard index's shards): resolved against its folder, fetched
 * with its transport and headers (sent to its origin only, as for the URL itself), each
 * request and byte counted into its report and the whole within its --max-fetch. */
typedef struct {
    st_transport *t;
    const char *url; /* the URL as given (before redirects): its folder holds the siblings */
    const char *const *headers;
    const st_remote *rm; /* the checked URL's own source: its bytes count too */
    uint64_t max_bytes, requests, bytes;
} sibling_set;

static st_error open_sibling(void *arg, const char *name, st_report *r, st_src *src, void **handle)
{
    sibling_set *s = arg;
    char url[ST_URL_MAX];
    st_error err;
    *handle = NULL;
    if (st_url_sibling(s->url, name, url, sizeof(url)) != 0) {
        refuse(r, "the file's URL next to the index is too long");
        return ST_E_UNSUPPORTED;
    }
    uint64_t used = st_remote_bytes(s->rm) + s->bytes;
    /* (each source stops within what it was given: used never exceeds max_bytes; defence) */
    uint64_t left = used < s->max_bytes ? s->max_bytes - used : 0; /* GCOVR_EXCL_BR_LINE */
    st_remote *rm = st_remote_open(s->t, r, url, s->headers, left, &err);
    if (rm == NULL)        /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    *handle = rm;
    if (err == ST_OK)
        st_remote_src(rm, src);
    else if (st_remote_status(rm) == 404)
        err = ST_E_NOTFILE;
    return err;
}

static void close_sibling(void *arg, void *handle)
{
    sibling_set *s = arg;
    st_remote *rm = handle;
    if (rm == NULL)
        return;
    s->requests += st_remote_requests(rm);
    s->bytes += st_remote_bytes(rm);
    st_remote_close(rm);
}

/* Opens url through the cache and runs the format checks over it. */
static void check_resolved(const st_ctx *ctx, st_report *r, const char *url, const header_set *h,
                           int walked)
{
    st_transport *t = transport(ctx, r);
    if (t == NULL) /* GCOVR_EXCL_BR_LINE: builds without STCHECK_REMOTE, malloc failure */
        return;    /* GCOVR_EXCL_LINE: builds without STCHECK_REMOTE, malloc failure */
    st_error err;
    st_remote *rm = st_remote_open(t, r, url, h->v, ctx->max_fetch, &err);
    if (rm == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        nomem(r);     /* GCOVR_EXCL_LINE: malloc failure */
    } else {
        sibling_set s = {t, url, h->v, rm, ctx->max_fetch, 0, 0};
        if (err == ST_OK) {
            char name[ST_URL_MAX];
            st_src src;
            st_dir dir = {NULL, NULL, 1};
            st_siblings sib = {open_sibling, close_sibling, &s};
            st_remote_src(rm, &src);
            st_scan_src(ctx, r, &src, st_url_display(url, name, sizeof(name)), walked ? &dir : NULL,
                        &sib);
        }
        r->requests = st_remote_requests(rm) + s.requests;
        r->bytes_fetched = st_remote_bytes(rm) + s.bytes;
        st_remote_close(rm);
    }
    t->free(t);
}

st_report *st_check_url(st_ctx *ctx, const char *url)
{
    char shown[ST_URL_MAX], resolved[ST_URL_MAX];
    if (ctx == NULL || url == NULL)
        return NULL;
    st_report *r = st_report_new(ctx, st_url_display(url, shown, sizeof(shown)));
    if (r == NULL)   /* GCOVR_EXCL_BR_LINE: malloc failure */
        return NULL; /* GCOVR_EXCL_LINE: malloc failure */
    r->remote = 1;
    int hub = strncasecmp(url, "hf://", 5) == 0;
    st_hf_ref hf;
    header_set h;
    if (hub && st_hf_parse(url, &hf) != 0) {
        refuse(r, "not an hf:// reference to a file: hf://[datasets/|spaces/]OWNER/REPO[@REV]/"
                  "PATH with plain names");
        return r;
    }
    if (hub && hf.path[0] == '\0') {
        refuse(r, "an hf:// reference without a file path names a repository: -r walks it");
        return r;
    }
    if (hub && st_hf_resolve_url(&hf, st_hf_endpoint(), hf.path, resolved, sizeof(resolved))) {
        refuse(r, "the hf:// reference is too long to resolve");
        return r;
    }
    if (headers_for(ctx, hub, &h) != 0) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        nomem(r);                         /* GCOVR_EXCL_LINE: malloc failure */
        return r;                         /* GCOVR_EXCL_LINE: malloc failure */
    }
    check_resolved(ctx, r, hub ? resolved : url, &h, 0);
    free(h.owned);
    return r;
}

/* ---- the Hub walk ----------------------------------------------------------------------- */

struct st_hub {
    char *ref; /* as given */
    st_hf_ref hf;
    const char *endpoint;
    st_hub_list list;
    st_report *failure; /* the listing could not be read: its findings, one item */
};

/* Appends a listing page's body, up to LISTING_MAX. */
typedef struct {
    unsigned char *buf;
    size_t len, cap;
    int over, nomem;
} body;

static int collect(void *arg, const unsigned char *p, size_t n, const st_http_resp *resp)
{
    body *b = arg;
    (void)resp;
    if (p == NULL) {
        b->len = 0;
        return 0;
    }
    if (n > LISTING_MAX - b->len)
        return b->over = 1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *q = realloc(b->buf, cap);
        if (q == NULL)           /* GCOVR_EXCL_BR_LINE: malloc failure */
            return b->nomem = 1; /* GCOVR_EXCL_LINE: malloc failure */
        b->buf = q;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return 0;
}

static void listing_failed(st_report *r, const char *why)
{
    st_report_add(r, ST_R_HUB_LISTING, 0, 0, "%s", why);
    st_report_fail(r, ST_E_IO);
}

/* One page at url; *next receives the next page's URL or "". 0, or -1 with findings in r.
 * The pages together are a download like a file's: within --max-fetch (ST643), besides the
 * 64 MiB a page may hold, 1,000 pages and tree_entries files; a listing cut by any of them is
 * one failed item, never a walk of the part that was read. */
static int list_page(const st_ctx *ctx, st_hub *h, st_transport *t, const header_set *hs, char *url,
                     char *next)
{
    st_report *r = h->failure;
    st_fetcher f;
    st_http_resp resp;
    body b = {NULL, 0, 0, 0, 0};
    char msg[512];
    int rc = -1;
    next[0] = '\0';
    /* (each page stops within what is left: bytes_fetched never exceeds max_fetch; defence) */
    uint64_t left = r->bytes_fetched < ctx->max_fetch /* GCOVR_EXCL_BR_LINE: defence */
                        ? ctx->max_fetch - r->bytes_fetched
                        : 0;
    if (st_fetcher_init(&f, t, r, url, hs->v, left) != 0)
        return -1;
    st_error e = st_fetch(&f, 0, 0, collect, &b, &resp);
    r->requests += f.requests;
    r->bytes_fetched += f.bytes;
    if (b.nomem)  /* GCOVR_EXCL_BR_LINE: malloc failure */
        nomem(r); /* GCOVR_EXCL_LINE: malloc failure */
    else if (b.over)
        listing_failed(r, "the listing is larger than 64 MiB");
    else if (e == ST_E_LIMIT)
        listing_failed(r, "the listing was cut short: its download exceeded a limit");
    else if (e != ST_OK)
        listing_failed(r, "the tree API request failed");
    else if (resp.status != 200) {
        snprintf(msg, sizeof(msg), "the tree API answered HTTP status %d", resp.status);
        listing_failed(r, msg);
    } else if (st_hub_parse(b.buf, b.len, (unsigned)ctx->limits[ST_LIMIT_JSON_DEPTH],
                            ctx->limits[ST_LIMIT_TREE_ENTRIES], &h->list, msg, sizeof(msg)) != 0)
        listing_failed(r, msg);
    else
        rc = 0;
    free(b.buf);
    if (rc == 0 && resp.next_len > 0) {
        st_url a, c;
        st_url_parse(f.origin_url, &a);
        if (st_url_resolve(url, resp.next, resp.next_len, next, ST_URL_MAX) != 0 ||
            st_url_parse(next, &c) != 0 || !st_url_same_origin(&a, &c)) {
            listing_failed(r, "the next page of the listing is not on the listing's host");
            rc = -1;
        }
    }
    return rc;
}

static void list_repo(const st_ctx *ctx, st_hub *h)
{
    char url[ST_URL_MAX], next[ST_URL_MAX];
    header_set hs;
    st_transport *t = transport(ctx, h->failure);
    if (t == NULL)                       /* GCOVR_EXCL_BR_LINE: no STCHECK_REMOTE, malloc */
        return;                          /* GCOVR_EXCL_LINE: no STCHECK_REMOTE, malloc */
    if (headers_for(ctx, 1, &hs) != 0) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        t->free(t);                      /* GCOVR_EXCL_LINE: malloc failure */
        nomem(h->failure);               /* GCOVR_EXCL_LINE: malloc failure */
        return;                          /* GCOVR_EXCL_LINE: malloc failure */
    }
    int rc = st_hf_tree_url(&h->hf, h->endpoint, url, sizeof(url));
    if (rc != 0)
        refuse(h->failure, "the hf:// reference is too long to resolve");
    for (int page = 0; rc == 0; page++) {
        if (page == MAX_PAGES) {
            listing_failed(h->failure, "the listing has more than 1,000 pages");
            break;
        }
        if (list_page(ctx, h, t, &hs, url, next) != 0 || next[0] == '\0')
            break;
        memcpy(url, next, strlen(next) + 1);
    }
    free(hs.owned);
    t->free(t);
    /* GCOVR_EXCL_BR_START: st_hub_list_finish fails on malloc failure only */
    if (h->failure->err == ST_OK && st_hub_list_finish(&h->list) != 0)
        nomem(h->failure); /* GCOVR_EXCL_LINE: malloc failure */
    /* GCOVR_EXCL_BR_STOP */
}

st_hub *st_hub_open(st_ctx *ctx, const char *ref)
{
    if (ctx == NULL || ref == NULL)
        return NULL;
    st_hub *h = calloc(1, sizeof(*h));
    if (h == NULL || (h->ref = strdup(ref)) == NULL ||
        (h->failure = st_report_new(ctx, ref)) == NULL) { /* GCOVR_EXCL_BR_LINE: malloc */
        st_hub_free(h);                                   /* GCOVR_EXCL_LINE: malloc failure */
        return NULL;                                      /* GCOVR_EXCL_LINE: malloc failure */
    }
    h->failure->remote = 1;
    h->endpoint = st_hf_endpoint();
    if (st_hf_parse(ref, &h->hf) != 0 || h->hf.path[0] != '\0')
        refuse(h->failure, "-r takes hf://[datasets/|spaces/]OWNER/REPO[@REV] (plain names)");
    else
        list_repo(ctx, h);
    if (h->failure->err == ST_OK && h->failure->n_findings == 0) {
        st_report_free(h->failure);
        h->failure = NULL;
    }
    return h;
}

size_t st_hub_count(const st_hub *h)
{
    return h == NULL ? 0 : h->failure ? 1 : h->list.n;
}

/* A fresh copy of the listing failure's report (an item may be checked more than once). */
static st_report *failure_copy(st_ctx *ctx, const st_hub *h)
{
    st_report *r = st_report_new(ctx, h->ref);
    if (r == NULL)   /* GCOVR_EXCL_BR_LINE: malloc failure */
        return NULL; /* GCOVR_EXCL_LINE: malloc failure */
    r->remote = 1;
    r->requests = h->failure->requests;
    r->bytes_fetched = h->failure->bytes_fetched;
    for (size_t i = 0; i < h->failure->n_findings; i++) {
        const st_finding *f = &h->failure->findings[i];
        for (size_t k = 0; k < ST_R_COUNT_; k++)
            if (strcmp(st_rules_get((st_rule_id)k)->id, f->id) == 0)
                st_report_add(r, (st_rule_id)k, f->offset, f->length, "%s", f->message);
    }
    st_report_fail(r, h->failure->err);
    return r;
}

st_report *st_hub_check(st_ctx *ctx, const st_hub *h, size_t i)
{
    char name[ST_URL_MAX + 1100], url[ST_URL_MAX], shown[1200];
    if (ctx == NULL || h == NULL || i >= st_hub_count(h))
        return NULL;
    st_report *r = h->failure ? failure_copy(ctx, h) : NULL;
    const st_hub_entry *e = h->failure ? NULL : &h->list.v[i];
    if (e != NULL) {
        snprintf(name, sizeof(name), "%s/%s", h->ref, e->path);
        r = st_report_new(ctx, name);
    }
    if (r == NULL)   /* GCOVR_EXCL_BR_LINE: malloc failure */
        return NULL; /* GCOVR_EXCL_LINE: malloc failure */
    r->remote = 1;
    st_escape(h->ref, strlen(h->ref), shown, sizeof(shown), 1000);
    if ((r->repository = strdup(shown)) == NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
        nomem(r);                                /* GCOVR_EXCL_LINE: malloc failure */
    if (e == NULL || r->err != ST_OK)
        return r;
    if (e->refused) {
        st_report_add(r, ST_R_HUB_PATH, 0, 0, "%s", e->message);
        return r;
    }
    header_set hs;
    if (st_hf_resolve_url(&h->hf, h->endpoint, e->path, url, sizeof(url)) != 0)
        refuse(r, "the file's URL is too long");
    else if (headers_for(ctx, 1, &hs) != 0) /* GCOVR_EXCL_BR_LINE: malloc failure */
        nomem(r);                           /* GCOVR_EXCL_LINE: malloc failure */
    else {
        check_resolved(ctx, r, url, &hs, 1);
        free(hs.owned);
    }
    return r;
}

void st_hub_free(st_hub *h)
{
    if (h == NULL)
        return;
    free(h->ref);
    st_hub_list_free(&h->list);
    st_report_free(h->failure);
    free(h);
}
