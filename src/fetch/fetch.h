/*
 * fetch.h - remote sources: URLs checked through HTTP range requests (issue 14).
 *
 * Layers, each in its own file, bottom up:
 *   url.c    strict http(s) URL and hf:// parsing, redirect resolution (no input is trusted)
 *   resp.c   response header lines: status, Content-Range, Content-Length, Location, Link
 *   http.c   the libcurl transport: one GET, never following redirects itself
 *   fetch.c  one logical request: redirects (bounded, credentials only to the first origin),
 *            retries with backoff on 5xx and dropped connections, the --max-fetch budget
 *   cache.c  the remote st_src: validated range reads through a bounded block cache
 *   hub.c    the Hub's tree API listing for -r hf://OWNER/REPO[@REV]
 *   remote.c st_check_url, the hub walk and the context setters (the public entry points)
 * Format modules never see any of it: they call st_src_read as for a local file.
 */
#ifndef ST_FETCH_H
#define ST_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/report.h"
#include "../core/source.h"

/* ---- url.c ------------------------------------------------------------------------------ */
enum { ST_URL_MAX = 4096, ST_HOST_MAX = 256 };

typedef struct {
    int https;              /* 0: http, 1: https */
    char host[ST_HOST_MAX]; /* lower-cased; an IPv6 literal keeps its brackets */
    unsigned port;          /* explicit, or 80 / 443 */
    const char *path;       /* into the parsed string: "/..." with the query, or "" */
    size_t path_len;        /* up to the fragment, which is never sent */
} st_url;

/* Parses an absolute http or https URL. Refused (-1): other schemes, credentials in the
 * authority (user:pass@ would be sent and shown), bytes outside printable ASCII, an empty or
 * malformed host or port, a longer URL than ST_URL_MAX. */
int st_url_parse(const char *s, st_url *u);
/* Same scheme, host and port: where credentials may be sent. */
int st_url_same_origin(const st_url *a, const st_url *b);
/* Resolves a Location (len bytes, not NUL-terminated) against base into out; the result is
 * parsed again by st_url_parse. -1 when it cannot be resolved or does not fit. */
int st_url_resolve(const char *base, const char *ref, size_t len, char *out, size_t size);
/* "scheme://host[:port]/path" without query or fragment, for messages (a signed URL's query
 * holds credentials). Returns out. */
const char *st_url_display(const char *url, char *out, size_t size);
/* The URL of the file name (a plain name, percent-encoded here) in base's folder: base's
 * path up to its last '/', without base's query. -1 when base does not parse, the result does
 * not fit or is not on base's origin. */
int st_url_sibling(const char *base, const char *name, char *out, size_t size);
/* Nonzero when s starts with http://, https:// or hf:// (any case): the CLI's URL test. */
int st_url_is_remote(const char *s);

typedef struct {
    char kind[16]; /* "" for models, "datasets" or "spaces" */
    char owner[97];
    char repo[97];
    char rev[256];    /* "main" unless @REV was given */
    const char *path; /* after OWNER/REPO[@REV]/ (into the parsed string), or "" */
} st_hf_ref;

/* Parses hf://[datasets/|spaces/]OWNER/REPO[@REV][/PATH]. -1 on a malformed reference or a
 * path that st_hub_path_ok refuses. */
int st_hf_parse(const char *s, st_hf_ref *h);
/* The endpoint (HF_ENDPOINT, or https://huggingface.co), without a trailing slash. */
const char *st_hf_endpoint(void);
/* {endpoint}/[kind/]OWNER/REPO/resolve/REV/PATH, percent-encoded; -1 when it does not fit. */
int st_hf_resolve_url(const st_hf_ref *h, const char *endpoint, const char *path, char *out,
                      size_t size);
/* {endpoint}/api/{kind|models}/OWNER/REPO/tree/REV?recursive=True&expand=False */
int st_hf_tree_url(const st_hf_ref *h, const char *endpoint, char *out, size_t size);
/* A repository path a listing may name: relative, no "." or ".." or empty component, no
 * backslash, control byte or NUL, at most 1024 bytes. */
int st_hub_path_ok(const char *p, size_t n);

/* ---- resp.c ----------------------------------------------------------------------------- */
typedef struct {
    int status;           /* of the last status line; 0 before one */
    int has_range;        /* one well-formed Content-Range: bytes F-L/T */
    int range_unsat;      /* Content-Range: bytes * /T (416) */
    uint64_t first, last; /* inclusive */
    uint64_t total;       /* UINT64_MAX when the server wrote '*' */
    int has_length;
    uint64_t length; /* Content-Length */
    int bad;         /* a repeated or malformed Content-Range/Content-Length */
    int encoded;     /* a Content-Encoding other than identity: byte offsets are not the file's */
    char location[ST_URL_MAX];
    size_t location_len;
    char next[ST_URL_MAX]; /* Link: <...>; rel="next" */
    size_t next_len;
} st_http_resp;

/* Feeds one header line (status line included, CRLF optional). A status line starts a new
 * response: every field is reset. */
void st_http_header_line(st_http_resp *r, const char *line, size_t n);
/* Parses "bytes F-L/T" or "bytes * /T" (no space); 0 ok, -1 malformed. */
int st_http_content_range(const char *v, size_t n, st_http_resp *r);

/* ---- http.c / the transport interface -------------------------------------------------- */
/* Receives a response body in pieces. A call with p == NULL announces a new response (after a
 * retry or redirect): what was received before is void. Returns 0 to go on, 1 to stop the
 * transfer (enough bytes: not an error). */
typedef int (*st_body_fn)(void *arg, const unsigned char *p, size_t n, const st_http_resp *resp);

typedef struct st_transport st_transport;
struct st_transport {
    /* One GET of url, never following a redirect. Range bytes=off-(off+len-1) when len > 0.
     * headers (NULL-terminated "Name: value" lines) are sent as given. ST_OK when a response
     * arrived whole or the body callback stopped it; ST_E_IO when the connection failed, timed
     * out or dropped (retried), ST_E_INVAL when retrying cannot help (TLS verification, an
     * unusable --cacert); err receives a message naming no header or URL. */
    st_error (*get)(st_transport *t, const char *url, const char *const *headers, uint64_t off,
                    uint64_t len, st_body_fn fn, void *arg, st_http_resp *resp, char *err,
                    size_t err_size);
    void (*free)(st_transport *t);
    /* The whole check's deadline (--fetch-timeout), as st_fetch_now_ms() time; 0: none. Set
     * by whoever made the transport; every request on it (a file, its shards, a listing's
     * pages) must end by then: http.c gives libcurl the time left, fetch.c stops bodies and
     * retries past it (ST649). */
    uint64_t deadline_ms;
    long deadline_s; /* the --fetch-timeout it came from, for messages */
    /* The address rule (addr.c), judged by get() through st_transport_connect for every
     * address it connects to, after DNS and before any byte is sent. Set by whoever made it. */
    int no_private;    /* --no-private-addresses: no non-public address at all */
    int seen_public;   /* a connection of this check went to a public address */
    char refused[512]; /* why get() was refused a connection (ST650), "" otherwise */
};

typedef struct {
    const char *cacert; /* or NULL: the system's CAs */
    long timeout_s;     /* connect timeout, and the window of the stall guard */
} st_http_opts;

/* The libcurl transport, or NULL when out of memory (or built without STCHECK_REMOTE). */
st_transport *st_http_new(const st_http_opts *o);

/* ---- addr.c ----------------------------------------------------------------------------- */
struct sockaddr;
/* NULL for a public address, else its class for messages ("loopback", "private (10.0.0.0/8)",
 * ...). IPv4: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16,
 * 198.18/15, 224/4, 240/4 (255.255.255.255 included); IPv6: ::1, fc00::/7, fe80::/10,
 * fec0::/10, ff00::/8,
 * and ::/96, ::ffff:0:0/96, 64:ff9b::/96 by the IPv4 address they embed; other families. */
const char *st_addr_class4(uint32_t a); /* a in host order */
const char *st_addr_class6(const unsigned char a[16]);
const char *st_addr_class(const struct sockaddr *sa);
int st_addr_public(const struct sockaddr *sa);
struct sockaddr_storage;
/* A numeric IPv4 or IPv6 address (libcurl's CURLINFO_PRIMARY_IP form) into ss; -1 (ss left
 * AF_UNSPEC, which is not public) when ip is neither. */
int st_addr_parse(const char *ip, struct sockaddr_storage *ss);
/* The rule, for a connection to sa (host: the URL's, for the message): 0 to connect, -1
 * (t->refused says why) when sa is not public and t->no_private is set or the check already
 * connected to a public address. */
int st_transport_connect(st_transport *t, const char *host, const struct sockaddr *sa);

/* ---- fetch.c ---------------------------------------------------------------------------- */
enum { ST_FETCH_MAX_REDIRECTS = 10, ST_FETCH_RETRIES = 3 };

typedef struct {
    st_transport *t;
    st_report *r;         /* findings go here */
    char url[ST_URL_MAX]; /* where requests go (after the first redirects: the target) */
    int send_headers;     /* url has the origin the headers were given for */
    st_url origin;        /* that origin */
    char origin_url[ST_URL_MAX];
    const char *const *headers; /* credentials and other headers, sent to origin only */
    uint64_t requests;          /* HTTP requests sent, redirects and retries included */
    uint64_t bytes;             /* body bytes received */
    uint64_t max_bytes;         /* --max-fetch */
    unsigned backoff_ms;        /* first retry's delay; doubles */
    int failed;                 /* a finding was recorded: later requests fail at once */
    st_error fail_err;          /* what they return */
} st_fetcher;

/* The first retry's delay (doubling after), 250 ms; tests lower it. */
extern unsigned st_fetch_backoff_ms;
/* A monotonic clock in milliseconds (CLOCK_MONOTONIC); tests replace it. */
extern uint64_t (*st_fetch_clock_ms)(void);
uint64_t st_fetch_now_ms(void);
/* Sets t's deadline seconds from now (0: none). */
void st_transport_deadline(st_transport *t, long seconds);
/* Milliseconds before t's deadline: 0 once it has passed, UINT64_MAX when there is none. */
uint64_t st_transport_ms_left(const st_transport *t);

/* 0, or -1 (and a finding) when url cannot be requested. */
int st_fetcher_init(st_fetcher *f, st_transport *t, st_report *r, const char *url,
                    const char *const *headers, uint64_t max_bytes);
/* One GET (Range when len > 0) following redirects and retrying, the response given back for
 * the caller to validate. Errors record a finding once and return ST_E_IO or ST_E_LIMIT. */
st_error st_fetch(st_fetcher *f, uint64_t off, uint64_t len, st_body_fn fn, void *arg,
                  st_http_resp *resp);
/* Records a fetch finding (first one only) with url shown without query. */
void st_fetch_fail(st_fetcher *f, st_rule_id id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- cache.c ---------------------------------------------------------------------------- */
enum {
    ST_CACHE_PAGE = 4096,           /* cache granularity: a fetch covers whole pages */
    ST_CACHE_FIRST = 65536,         /* the speculative first read */
    ST_CACHE_MAX_AHEAD = 1u << 20,  /* read-ahead grows to this on sequential reads */
    ST_CACHE_DIRECT = 256u * 1024u, /* reads this large bypass the cache */
    ST_CACHE_PAGES = 4096,          /* bounded memory: 16 MiB of pages */
};

typedef struct st_remote st_remote;
/* Opens url: the first request learns the size (and reads the first 64 KiB). *err is ST_OK,
 * or the error of the first request (a finding is in r; the remote still gives its request
 * counts). NULL only when out of memory. */
st_remote *st_remote_open(st_transport *t, st_report *r, const char *url,
                          const char *const *headers, uint64_t max_bytes, st_error *err);
void st_remote_close(st_remote *rm);
/* The st_src reading through the cache (valid while rm is open). */
void st_remote_src(st_remote *rm, st_src *src);
uint64_t st_remote_size(const st_remote *rm);
uint64_t st_remote_requests(const st_remote *rm);
uint64_t st_remote_bytes(const st_remote *rm);
/* Pages the cache holds now (at most ST_CACHE_PAGES: tests check the bound). */
size_t st_remote_pages(const st_remote *rm);
/* The status of the last response (0 before one): 404 tells a missing file from a failure. */
int st_remote_status(const st_remote *rm);
/* The st_src read callback (exposed for tests). */
st_error st_remote_read(void *rm, uint64_t off, void *buf, size_t len);

/* ---- hub.c ------------------------------------------------------------------------------ */
typedef struct {
    char *path;    /* repository path as listed (validated), or its escaped form if refused */
    uint64_t size; /* as listed */
    int refused;   /* not checked: the path is refused (ST647) */
    char *message; /* refused items: the finding's message */
} st_hub_entry;

typedef struct {
    st_hub_entry *v;
    size_t n, cap;
} st_hub_list;

/* Parses one page of the tree API (a JSON array of objects with "type", "path", "size") and
 * appends its files to l (refused paths become problem items). 0, or -1 when the JSON is not a
 * listing (msg receives why) or memory ran out. */
int st_hub_parse(const unsigned char *buf, size_t len, unsigned max_depth, uint64_t max_entries,
                 st_hub_list *l, char *msg, size_t msg_size);
void st_hub_list_free(st_hub_list *l);
/* Sorts by path and turns duplicates into problem items. */
int st_hub_list_finish(st_hub_list *l);

#endif /* ST_FETCH_H */
