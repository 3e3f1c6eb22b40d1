/*
 * fetch.c - one logical request: redirects, retries and the download budget.
 *
 * Redirects are followed here, not by libcurl, so that each hop is judged: at most
 * ST_FETCH_MAX_REDIRECTS, only to http or https, never from https down to http, and the
 * headers given for a URL (HF_TOKEN, --header) are sent only while the request stays at that
 * URL's origin: the Hub redirects downloads to a CDN, which must not receive the token.
 * Requests after the first go straight to where the redirects led (a signed CDN URL), as
 * huggingface_hub does. 5xx, 429 and dropped connections are retried ST_FETCH_RETRIES times
 * with doubling delays. Every body byte counts against --max-fetch, error bodies too (and
 * they are cut at 64 KiB). The transport's deadline (--fetch-timeout) bounds the whole check in
 * time: the stall guard only drops transfers below 1 KiB/s, so a server trickling 2 KB/s would
 * otherwise hold a check for --max-fetch / 2 KB/s; past it no request starts, no retry waits and
 * a body stops (ST649). A connection the transport refused by the address rule (addr.c: a
 * non-public address after a public one, or any with --no-private-addresses) sent nothing: it
 * is ST650 at once, neither retried nor counted as a request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/escape.h"
#include "fetch.h"

enum { ERROR_BODY_MAX = 65536 };

unsigned st_fetch_backoff_ms = 250;

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t (*st_fetch_clock_ms)(void) = monotonic_ms;

uint64_t st_fetch_now_ms(void)
{
    return st_fetch_clock_ms();
}

void st_transport_deadline(st_transport *t, long seconds)
{
    t->deadline_s = seconds;
    t->deadline_ms = seconds > 0 ? st_fetch_now_ms() + (uint64_t)seconds * 1000u : 0;
}

uint64_t st_transport_ms_left(const st_transport *t)
{
    uint64_t now = st_fetch_now_ms(), end = t->deadline_ms;
    return end == 0 ? UINT64_MAX : end > now ? end - now : 0;
}

static int late(const st_fetcher *f)
{
    return st_transport_ms_left(f->t) == 0;
}

void st_fetch_fail(st_fetcher *f, st_rule_id id, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (f->failed) /* GCOVR_EXCL_BR_LINE: defensive: callers stop at the first failure */
        return;    /* GCOVR_EXCL_LINE: defensive: callers stop at the first failure */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    f->failed = 1;
    f->fail_err = id == ST_R_FETCH_LIMIT || id == ST_R_FETCH_DEADLINE ? ST_E_LIMIT : ST_E_IO;
    st_report_add(f->r, id, 0, 0, "%s", msg);
    st_report_fail(f->r, f->fail_err);
}

/* A URL as messages show it: no query (signed URLs carry credentials there), escaped. */
static const char *shown(const char *url, char *out, size_t size)
{
    char plain[ST_URL_MAX];
    st_url_display(url, plain, sizeof(plain));
    return st_escape(plain, strlen(plain), out, size, 300);
}

int st_fetcher_init(st_fetcher *f, st_transport *t, st_report *r, const char *url,
                    const char *const *headers, uint64_t max_bytes)
{
    char s[400];
    memset(f, 0, sizeof(*f));
    f->t = t;
    f->r = r;
    f->headers = headers;
    f->max_bytes = max_bytes;
    f->backoff_ms = st_fetch_backoff_ms;
    f->send_headers = 1;
    size_t n = strlen(url);
    if (n >= ST_URL_MAX || st_url_parse(url, &f->origin) != 0) {
        f->failed = 1;
        f->fail_err = ST_E_UNSUPPORTED;
        st_report_add(r, ST_R_FETCH_URL, 0, 0,
                      "not a URL stcheck requests (http or https, no credentials in it): %s",
                      shown(url, s, sizeof(s)));
        st_report_fail(r, ST_E_UNSUPPORTED);
        return -1;
    }
    memcpy(f->url, url, n + 1);
    memcpy(f->origin_url, url, n + 1);
    st_url_parse(f->origin_url, &f->origin); /* path now points into our own copy */
    return 0;
}

typedef struct {
    st_fetcher *f;
    st_body_fn fn;
    void *arg;
    int over;     /* the budget ran out */
    int late;     /* the deadline passed */
    uint64_t err; /* bytes of an error body seen */
} guard;

static int guarded(void *arg, const unsigned char *p, size_t n, const st_http_resp *resp)
{
    guard *g = arg;
    if (p == NULL)
        return g->fn(g->arg, NULL, 0, resp);
    if (n > g->f->max_bytes - g->f->bytes) {
        g->over = 1;
        return 1;
    }
    if (late(g->f)) { /* a trickle fast enough for the stall guard */
        g->late = 1;
        return 1;
    }
    g->f->bytes += n;
    if (resp->status == 200 || resp->status == 206)
        return g->fn(g->arg, p, n, resp);
    g->err += n; /* redirects and errors: the body is not the file */
    return g->err > ERROR_BODY_MAX;
}

static void pause_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0)
        ;
}

/* A retry's delay, never past the deadline (the loop then stops at it). */
static unsigned backoff(const st_fetcher *f, unsigned ms)
{
    uint64_t left = st_transport_ms_left(f->t);
    return left < ms ? (unsigned)left : ms;
}

static int is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Follows one redirect from url (in place); 0, or -1 with a finding. */
static int follow(st_fetcher *f, char *url, const st_http_resp *resp, int *send)
{
    char next[ST_URL_MAX], s[400];
    st_url from, to;
    if (resp->location_len == 0) {
        st_fetch_fail(f, ST_R_FETCH_REDIRECT, "HTTP %d redirect without a Location from %s",
                      resp->status, shown(url, s, sizeof(s)));
        return -1;
    }
    if (st_url_resolve(url, resp->location, resp->location_len, next, sizeof(next)) != 0 ||
        st_url_parse(next, &to) != 0) {
        char loc[ST_URL_MAX];
        memcpy(loc, resp->location, resp->location_len + 1);
        st_fetch_fail(f, ST_R_FETCH_REDIRECT,
                      "redirect to a URL stcheck does not request (only http and https, no "
                      "credentials in it): %s",
                      shown(loc, s, sizeof(s)));
        return -1;
    }
    st_url_parse(url, &from);
    if (from.https && !to.https) {
        st_fetch_fail(f, ST_R_FETCH_REDIRECT, "redirect from https down to http: %s",
                      shown(next, s, sizeof(s)));
        return -1;
    }
    *send = *send && st_url_same_origin(&to, &f->origin);
    memcpy(url, next, strlen(next) + 1);
    return 0;
}

static st_error deadline(st_fetcher *f)
{
    st_fetch_fail(f, ST_R_FETCH_DEADLINE,
                  "checking it took longer than --fetch-timeout (%ld s): the server sends too "
                  "slowly",
                  f->t->deadline_s);
    return f->fail_err;
}

st_error st_fetch(st_fetcher *f, uint64_t off, uint64_t len, st_body_fn fn, void *arg,
                  st_http_resp *resp)
{
    char url[ST_URL_MAX], err[256], s[400];
    unsigned hops = 0, tries = 0;
    int send = f->send_headers;
    if (f->failed)          /* GCOVR_EXCL_BR_LINE: defensive: callers check it first */
        return f->fail_err; /* GCOVR_EXCL_LINE: defensive: callers check it first */
    memcpy(url, f->url, strlen(f->url) + 1);
    for (;;) {
        guard g = {f, fn, arg, 0, 0, 0};
        err[0] = '\0';
        f->t->refused[0] = '\0';
        if (late(f))
            return deadline(f);
        f->requests++;
        st_error e = f->t->get(f->t, url, send ? f->headers : NULL, off, len, guarded, &g, resp,
                               err, sizeof(err));
        if (e != ST_OK && f->t->refused[0] != '\0') { /* addr.c: nothing was sent */
            f->requests--;
            st_fetch_fail(f, ST_R_FETCH_ADDRESS, "%s", f->t->refused);
            return f->fail_err;
        }
        if (g.over) {
            st_fetch_fail(f, ST_R_FETCH_LIMIT,
                          "checking it needs more than --max-fetch (%llu bytes) downloaded",
                          (unsigned long long)f->max_bytes);
            return f->fail_err;
        }
        if (g.late || (e != ST_OK && late(f))) /* libcurl's timeout was the time left */
            return deadline(f);
        int retry = e == ST_E_IO || (e == ST_OK && (resp->status >= 500 || resp->status == 429));
        if (retry && tries < ST_FETCH_RETRIES) {
            pause_ms(backoff(f, f->backoff_ms << tries++));
            continue;
        }
        if (e != ST_OK || resp->status < 200) {
            st_fetch_fail(f, ST_R_FETCH_FAILED, "GET %s: %s", shown(url, s, sizeof(s)),
                          e != ST_OK ? err : "malformed response");
            return f->fail_err;
        }
        if (is_redirect(resp->status)) {
            if (++hops > ST_FETCH_MAX_REDIRECTS) {
                st_fetch_fail(f, ST_R_FETCH_REDIRECT, "more than %d redirects from %s",
                              ST_FETCH_MAX_REDIRECTS, shown(f->url, s, sizeof(s)));
                return f->fail_err;
            }
            if (follow(f, url, resp, &send) != 0)
                return f->fail_err;
            continue;
        }
        if (resp->status >= 300 && resp->status != 416) { /* 416: the caller judges it */
            st_fetch_fail(f, ST_R_FETCH_FAILED, "GET %s: HTTP status %d%s",
                          shown(url, s, sizeof(s)), resp->status,
                          tries > 0 ? " (after retries)" : "");
            return f->fail_err;
        }
        if (hops > 0) { /* later requests go straight to the target */
            memcpy(f->url, url, strlen(url) + 1);
            f->send_headers = send;
        }
        return ST_OK;
    }
}
