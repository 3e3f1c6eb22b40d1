/*
 * http.c - the libcurl transport: one GET per call, nothing followed, nothing remembered.
 *
 * libcurl is told: http and https only (CURLOPT_PROTOCOLS_STR, and for redirects too, though
 * fetch.c follows them itself), TLS verification on (peer and host; --cacert adds a CA file),
 * no compression asked for (byte offsets must be the file's), no cookies, no .netrc, a
 * connect timeout, a stall guard: a transfer that moves less than 1 KiB/s over the timeout
 * is dropped (slow-loris), and a whole-request timeout of the time the check has left before
 * its deadline (--fetch-timeout: a trickle above 1 KiB/s), and the address rule of addr.c on every
 * address after DNS (no TCP connect to a refused one) and on every request before it is sent
 * (a reused connection). The easy handle is kept per transport so
 * the requests for one file reuse one connection. Error messages are libcurl's descriptions of the
 * code: they never hold a header or a URL.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"

#ifdef ST_HAVE_CURL
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

typedef struct {
    st_transport base;
    CURL *curl;
    st_http_opts opts;
    /* per request */
    st_http_resp *resp;
    st_body_fn fn;
    void *fn_arg;
    int stopped;
    int started; /* the body of the current response began */
    /* the URL's host, for an address refusal's message */
    char host[ST_HOST_MAX];
} http;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int global_ok;

static void global_init(void)
{
    global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    http *h = arg;
    (void)size; /* always 1 */
    st_http_header_line(h->resp, p, n);
    h->started = 0;
    return n;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    http *h = arg;
    (void)size;
    if (!h->started) {
        h->started = 1;
        /* defensive: no body sink stops at the announcement of a response */
        if (h->fn(h->fn_arg, NULL, 0, h->resp) != 0) { /* GCOVR_EXCL_BR_LINE: defensive */
            h->stopped = 1;                            /* GCOVR_EXCL_LINE: defensive */
            return 0;                                  /* GCOVR_EXCL_LINE: defensive */
        }
    }
    if (h->fn(h->fn_arg, (const unsigned char *)p, n, h->resp) != 0) {
        h->stopped = 1;
        return 0; /* CURLE_WRITE_ERROR: the transfer stops, which is what we asked */
    }
    return n;
}

/* Every new connection, after DNS and before the TCP connect: the address rule (addr.c). */
static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    http *h = arg;
    struct sockaddr_storage ss;
    (void)purpose; /* CURLSOCKTYPE_IPCXN: http and https open no other kind */
    memset(&ss, 0, sizeof(ss));
    /* curl gives a whole sockaddr_in6 for IPv6 (addrlen); a short one is judged as non-IP */
    if (a->addrlen <= sizeof(ss)) /* GCOVR_EXCL_BR_LINE: libcurl's addresses fit */
        memcpy(&ss, &a->addr, a->addrlen);
    if (st_transport_connect(&h->base, h->host, (const struct sockaddr *)&ss) != 0)
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

/* Every request, on a new or a reused connection, before a byte of it is sent: a connection
 * kept from before the check reached a public address is judged again. */
static int on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
    http *h = arg;
    struct sockaddr_storage ss;
    (void)local_ip;
    (void)port;
    (void)local_port;
    st_addr_parse(ip, &ss);
    return st_transport_connect(&h->base, h->host, (const struct sockaddr *)&ss) == 0
               ? CURL_PREREQFUNC_OK
               : CURL_PREREQFUNC_ABORT;
}

static void setup(http *h, const char *url, struct curl_slist *hl, char *range)
{
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->opts.cacert != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->opts.cacert);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->opts.timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->opts.timeout_s);
    if (h->base.deadline_ms != 0) { /* --fetch-timeout: the time the whole check has left */
        uint64_t left = st_transport_ms_left(&h->base);
        /* (fetch.c sends no request past the deadline: left > 0 but for a race; defence) */
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, /* GCOVR_EXCL_BR_LINE: defence */
                         (long)(left > 0 ? left : 1));
    }
    curl_easy_setopt(c, CURLOPT_USERAGENT, "stcheck/" ST_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (range[0] != '\0')
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, h);
}

static st_error http_get(st_transport *t, const char *url, const char *const *headers, uint64_t off,
                         uint64_t len, st_body_fn fn, void *arg, st_http_resp *resp, char *err,
                         size_t err_size)
{
    http *h = (http *)t;
    struct curl_slist *hl = NULL;
    char range[48] = "";
    if (len > 0)
        snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        struct curl_slist *n = curl_slist_append(hl, headers[i]);
        if (n == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
            /* GCOVR_EXCL_START: malloc failure */
            curl_slist_free_all(hl);
            snprintf(err, err_size, "out of memory");
            return ST_E_NOMEM;
            /* GCOVR_EXCL_STOP */
        }
        hl = n;
    }
    memset(resp, 0, sizeof(*resp));
    h->resp = resp;
    h->fn = fn;
    h->fn_arg = arg;
    h->stopped = h->started = 0;
    st_url u;
    snprintf(h->host, sizeof(h->host), "%s", st_url_parse(url, &u) == 0 ? u.host : "");
    t->refused[0] = '\0';
    setup(h, url, hl, range);
    CURLcode rc = curl_easy_perform(h->curl);
    curl_slist_free_all(hl);
    if (rc == CURLE_OK && !h->started)
        fn(arg, NULL, 0, resp); /* an empty body: still a new response */
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && h->stopped))
        return ST_OK;
    if (t->refused[0] != '\0') { /* the address rule: no byte was sent, a retry cannot help */
        snprintf(err, err_size, "the address is refused");
        return ST_E_INVAL;
    }
    snprintf(err, err_size, "%s", curl_easy_strerror(rc));
    /* a certificate that does not verify will not verify on a retry */
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ? ST_E_INVAL
                                                                                  : ST_E_IO;
}

static void http_free(st_transport *t)
{
    http *h = (http *)t;
    if (h == NULL) /* GCOVR_EXCL_BR_LINE: defensive: callers free only what they made */
        return;    /* GCOVR_EXCL_LINE: defensive */
    curl_easy_cleanup(h->curl);
    free(h);
}

st_transport *st_http_new(const st_http_opts *o)
{
    pthread_once(&once, global_init);
    http *h = global_ok ? calloc(1, sizeof(*h)) : NULL;
    if (h == NULL)   /* GCOVR_EXCL_BR_LINE: malloc or libcurl initialisation failure */
        return NULL; /* GCOVR_EXCL_LINE: malloc or libcurl initialisation failure */
    h->curl = curl_easy_init();
    if (h->curl == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        free(h);           /* GCOVR_EXCL_LINE: malloc failure */
        return NULL;       /* GCOVR_EXCL_LINE: malloc failure */
    }
    h->base.get = http_get;
    h->base.free = http_free;
    h->opts = *o;
    return &h->base;
}

#else /* built without STCHECK_REMOTE */

st_transport *st_http_new(const st_http_opts *o)
{
    (void)o;
    return NULL;
}

#endif
