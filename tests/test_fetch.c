/*
 * test_fetch.c - src/fetch/ through its internal API: URL and hf:// parsing, response header
 * lines, the Hub listing parser, and the remote source (fetch.c + cache.c) fed by a fake
 * transport that plays a script of server behaviours (a proper 206, a 200 ignoring Range, a
 * lying Content-Range, a size that changes, short and long bodies, drops, 5xx, redirects).
 * Real servers (nginx, the fault server, the Hub imitation) are in tests/remote_test.py.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/report.h"
#include "fake_transport.h"
#include "fetch/fetch.h"

/* ---- a fake transport ----------------------------------------------------------------- */
enum {
    A_OK,   /* 206 with the range asked (clipped), or 200 when no Range */
    A_FULL, /* 200 with the whole file (ignores Range) */
    A_FULL_NOLEN,
    A_WRONG_CR, /* 206, Content-Range one byte later */
    A_GROW,     /* 206, total one more than the file */
    A_SHORT,    /* 206, body one byte short */
    A_LONG,     /* 206, body one byte longer */
    A_DROP,     /* transport error */
    A_STATUS,   /* status st (no body) */
    A_REDIRECT, /* status 302 to loc */
    A_ENCODED,  /* 206 with Content-Encoding: gzip */
    A_DUP_CR,   /* two Content-Range headers */
    A_NO_CR,    /* 206 without Content-Range */
    A_STAR,     /* 206 with total '*' */
    A_BADLEN,   /* 206 whose Content-Length differs from the range */
    A_EMPTY416, /* 416 bytes * /0 */
    A_BIGBODY,  /* 404 with a 100 KiB body */
    A_NOLOC,    /* 302 without Location */
    A_PERM,     /* a transport error retrying cannot help (TLS verification) */
};

/* The fake transport sends bodies in pieces of this size. */
enum { PIECE = 7000 };

typedef struct {
    int action;
    int status;
    const char *loc;
} step;

typedef struct {
    st_transport base;
    uint64_t size;
    const step *script;
    size_t n_steps, at;
    int last; /* action repeated after the script */
    unsigned calls;
    const char *const *last_headers;
    char last_url[ST_URL_MAX];
    uint64_t last_off, last_len; /* the last Range asked for */
    const char *const *addrs;    /* per call: the address connected to (addr.c), or NULL */
    size_t n_addrs;
} fake;

/* The transport's connection to addr (an IPv4 or IPv6 literal) for url, as http.c judges it. */
static int fake_connect(st_transport *t, const char *url, const char *addr)
{
    struct sockaddr_storage ss;
    st_url u;
    assert_int_equal(st_url_parse(url, &u), 0);
    assert_int_equal(st_addr_parse(addr, &ss), 0);
    return st_transport_connect(t, u.host, (struct sockaddr *)&ss);
}

static st_error fake_get(st_transport *t, const char *url, const char *const *headers, uint64_t off,
                         uint64_t len, st_body_fn fn, void *arg, st_http_resp *resp, char *err,
                         size_t err_size)
{
    fake *f = (fake *)t;
    int act = f->at < f->n_steps ? f->script[f->at].action : f->last;
    const step *s = f->at < f->n_steps ? &f->script[f->at] : NULL;
    const char *addr = f->at < f->n_addrs ? f->addrs[f->at] : NULL;
    f->at++;
    f->calls++;
    f->last_headers = headers;
    f->last_off = off;
    f->last_len = len;
    snprintf(f->last_url, sizeof(f->last_url), "%s", url);
    memset(resp, 0, sizeof(*resp));
    if (addr != NULL && fake_connect(t, url, addr) != 0) {
        snprintf(err, err_size, "the address is refused"); /* as http.c */
        return ST_E_INVAL;
    }
    uint64_t a = off, b = len ? off + len : f->size;
    if (b > f->size)
        b = f->size;
    switch (act) {
    case A_DROP:
        snprintf(err, err_size, "Connection reset");
        return ST_E_IO;
    case A_PERM:
        snprintf(err, err_size, "SSL peer certificate or SSH remote key was not OK");
        return ST_E_INVAL;
    case A_STATUS:
        ft_line(resp, "HTTP/1.1 %d Whatever\r\n", s ? s->status : 500);
        ft_body(fn, arg, resp, 0, 0, PIECE);
        return ST_OK;
    case A_BIGBODY:
        ft_line(resp, "HTTP/1.1 404 Not Found\r\n");
        ft_body(fn, arg, resp, 0, f->size < 100000 ? f->size : 100000, PIECE);
        return ST_OK;
    case A_REDIRECT:
        ft_line(resp, "HTTP/1.1 302 Found\r\n");
        ft_line(resp, "Location: %s\r\n", s->loc);
        ft_body(fn, arg, resp, 0, 0, PIECE);
        return ST_OK;
    case A_NOLOC:
        ft_line(resp, "HTTP/1.1 302 Found\r\n");
        return ST_OK;
    case A_EMPTY416:
        ft_line(resp, "HTTP/1.1 416 Range Not Satisfiable\r\n");
        ft_line(resp, "Content-Range: bytes */0\r\n");
        return ST_OK;
    case A_FULL:
    case A_FULL_NOLEN:
        ft_line(resp, "HTTP/1.1 200 OK\r\n");
        if (act == A_FULL)
            ft_line(resp, "Content-Length: %llu\r\n", (unsigned long long)f->size);
        ft_body(fn, arg, resp, 0, f->size, PIECE);
        return ST_OK;
    default:
        break;
    }
    if (len == 0) {
        ft_line(resp, "HTTP/1.1 200 OK\r\n");
        ft_body(fn, arg, resp, 0, f->size, PIECE);
        return ST_OK;
    }
    ft_line(resp, "HTTP/1.1 206 Partial Content\r\n");
    uint64_t shift = act == A_WRONG_CR, total = f->size + (act == A_GROW);
    if (act == A_STAR)
        ft_line(resp, "Content-Range: bytes %llu-%llu/*\r\n", (unsigned long long)a,
                (unsigned long long)b - 1);
    else if (act != A_NO_CR)
        ft_line(resp, "Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)(a + shift),
                (unsigned long long)(b - 1 + shift), (unsigned long long)total);
    if (act == A_DUP_CR)
        ft_line(resp, "Content-Range: bytes 0-0/%llu\r\n", (unsigned long long)total);
    if (act == A_ENCODED)
        ft_line(resp, "Content-Encoding: gzip\r\n");
    ft_line(resp, "Content-Length: %llu\r\n", (unsigned long long)(b - a + (act == A_BADLEN)));
    ft_body(fn, arg, resp, a, b - (act == A_SHORT) + (act == A_LONG && b < f->size), PIECE);
    return ST_OK;
}

static void fake_free(st_transport *t)
{
    (void)t;
}

static fake new_fake(uint64_t size, const step *script, size_t n, int last)
{
    fake f;
    memset(&f, 0, sizeof(f));
    f.base.get = fake_get;
    f.base.free = fake_free;
    f.size = size;
    f.script = script;
    f.n_steps = n;
    f.last = last;
    return f;
}

static st_ctx *g_ctx;

static st_report *new_report(void)
{
    st_report *r = st_report_new(g_ctx, "test");
    assert_non_null(r);
    return r;
}

/* The report's finding ids, space-separated. */
static const char *ids_of(const st_report *r)
{
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_findings; i++) {
        strncat(buf, r->findings[i].id, sizeof(buf) - strlen(buf) - 2);
        if (i + 1 < r->n_findings)
            strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
    }
    return buf;
}

static int setup(void **state)
{
    (void)state;
    st_fetch_backoff_ms = 0;
    g_ctx = st_ctx_new();
    return g_ctx == NULL;
}

static int teardown(void **state)
{
    (void)state;
    st_ctx_free(g_ctx);
    return 0;
}

#define URL "http://h.test/dir/model.bin"

/* Opens a remote over the fake and reads [off, off+len); returns the error of the read (or
 * of the open) and leaves the findings in *rp. */
static st_error open_read(fake *f, uint64_t max, uint64_t off, size_t len, st_report **rp,
                          uint64_t *requests)
{
    st_report *r = new_report();
    st_error err;
    st_remote *rm = st_remote_open(&f->base, r, URL, NULL, max, &err);
    assert_non_null(rm);
    if (err == ST_OK && len > 0) {
        unsigned char *buf = malloc(len);
        st_src src;
        st_remote_src(rm, &src);
        err = st_src_read(&src, off, buf, len);
        for (size_t i = 0; err == ST_OK && i < len; i++)
            assert_int_equal(buf[i], ft_byte_at(off + i));
        free(buf);
    }
    if (requests)
        *requests = st_remote_requests(rm);
    st_remote_close(rm);
    *rp = r;
    return err;
}

static void expect_read(int action, uint64_t size, uint64_t off, size_t len, st_error want,
                        const char *ids)
{
    step s[] = {{A_OK, 0, NULL}, {action, 0, NULL}};
    fake f = new_fake(size, s, 2, action);
    st_report *r;
    assert_int_equal(open_read(&f, 1u << 30, off, len, &r, NULL), want);
    assert_string_equal(ids_of(r), ids);
    st_report_free(r);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_url_parse(void **state)
{
    (void)state;
    st_url u;
    assert_int_equal(st_url_parse("HTTPS://Example.COM:8443/a/b?q=1#frag", &u), 0);
    assert_int_equal(u.https, 1);
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.port, 8443);
    assert_int_equal(u.path_len, strlen("/a/b?q=1"));
    assert_int_equal(st_url_parse("http://h", &u), 0);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "");
    assert_int_equal(st_url_parse("https://[::1]:9/x", &u), 0);
    assert_string_equal(u.host, "[::1]");
    assert_int_equal(st_url_parse("https://[::1]/x", &u), 0);
    assert_int_equal(u.port, 443);
    static const char *const bad[] = {
        "ftp://h/x",        "file:///etc/passwd", "http://user:pw@h/x",
        "http:///x",        "http://h:0/x",       "http://h:65536/",
        "http://h:123456/", "http://h:8a/",       "http://h:/x",
        "http://[]/x",      "http://[::1/x",      "http://[zz]/x",
        "http://h x/",      "http://h/\x01",      "http://h/\xc3\xa9",
        "http://h!x/",      "http://[::1]x",      "h/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(st_url_parse(bad[i], &u), -1);
    char longu[ST_URL_MAX + 10];
    memset(longu, 'a', sizeof(longu));
    memcpy(longu, "http://h/", 9);
    longu[sizeof(longu) - 1] = '\0';
    assert_int_equal(st_url_parse(longu, &u), -1);
    char host[300];
    memset(host, 'a', sizeof(host));
    memcpy(host, "http://", 7);
    host[sizeof(host) - 1] = '\0';
    assert_int_equal(st_url_parse(host, &u), -1);

    st_url a, b;
    st_url_parse("http://h:80/x", &a);
    st_url_parse("http://H/y", &b);
    assert_true(st_url_same_origin(&a, &b));
    st_url_parse("https://h/y", &b);
    assert_false(st_url_same_origin(&a, &b));
    st_url_parse("http://h:81/y", &b);
    assert_false(st_url_same_origin(&a, &b));
    st_url_parse("http://g/y", &b);
    assert_false(st_url_same_origin(&a, &b));

    char out[64];
    assert_string_equal(st_url_display("http://h/a?token=x#f", out, sizeof(out)), "http://h/a");
    assert_string_equal(st_url_display("http://h/abcdef", out, 9), "http://h");
    assert_string_equal(st_url_display("http://h/", out, 0), out);
    assert_string_equal(st_url_display("http://u:p@h/x?q", out, sizeof(out)), "http://h/x");
    assert_string_equal(st_url_display("http://u:p@h/x?q", out, 5), "http");
    assert_string_equal(st_url_display("mailto:a@b", out, sizeof(out)), "mailto:a@b");
    char huge[ST_URL_MAX + 100], shown[ST_URL_MAX + 100];
    memset(huge, 'a', sizeof(huge));
    memcpy(huge, "http://u@h/", 11);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(strlen(st_url_display(huge, shown, sizeof(shown))), ST_URL_MAX - 1);
    assert_true(st_url_is_remote("HTTP://x"));
    assert_true(st_url_is_remote("https://x"));
    assert_true(st_url_is_remote("hf://o/r"));
    assert_false(st_url_is_remote("./http://x"));
}

static void test_url_resolve(void **state)
{
    (void)state;
    char out[ST_URL_MAX];
#define RES(base, ref, want)                                                                       \
    do {                                                                                           \
        assert_int_equal(st_url_resolve(base, ref, strlen(ref), out, sizeof(out)), 0);             \
        assert_string_equal(out, want);                                                            \
    } while (0)
    RES("http://h/a/b?q", "https://cdn/x", "https://cdn/x");
    RES("http://h/a/b?q", "file:///etc/passwd", "file:///etc/passwd");
    RES("https://h:1/a/b", "//cdn:2/x?y", "https://cdn:2/x?y");
    RES("http://h/a/b?q=/z", "/c", "http://h/c");
    RES("http://h/a/b?q=/z", "c?d", "http://h/a/c?d");
    RES("http://h", "c", "http://h/c");
    RES("http://h?x", "c", "http://h/c");
    RES("http://h/a", ":x", "http://h/:x");
    assert_int_equal(st_url_resolve("http://h/", "x", 0, out, sizeof(out)), -1);
    assert_int_equal(st_url_resolve("ftp://h/", "x", 1, out, sizeof(out)), -1);
    assert_int_equal(st_url_resolve("http://h/", "x\n", 2, out, sizeof(out)), -1);
    assert_int_equal(st_url_resolve("http://h/", "x", 1, out, 0), -1);
    assert_int_equal(st_url_resolve("http://h/", "/abcdef", 7, out, 8), -1);
    assert_int_equal(st_url_resolve("http://h/", "//abcdef", 8, out, 8), -1);
    assert_int_equal(st_url_resolve("http://h/a/b", "cdefgh", 6, out, 12), -1);
    assert_int_equal(st_url_resolve("http://h/a/b", "https://x", 9, out, 5), -1);
    /* every output size short of the result fails cleanly */
    static const char *const cases[][2] = {{"http://h/a/b?q", "https://cdn/x"},
                                           {"https://h:1/a/b", "//cdn:2/x"},
                                           {"http://h/a/b", "/c"},
                                           {"http://h", "c"},
                                           {"http://h/a/b", "c"}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        assert_int_equal(
            st_url_resolve(cases[c][0], cases[c][1], strlen(cases[c][1]), out, sizeof(out)), 0);
        size_t need = strlen(out) + 1;
        for (size_t n = 1; n < need; n++)
            assert_int_equal(st_url_resolve(cases[c][0], cases[c][1], strlen(cases[c][1]), out, n),
                             -1);
    }
#undef RES
}

/* A shard index's siblings: the index's folder, never its query, names percent-encoded. */
static void test_url_sibling(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(st_url_sibling("http://h/a/i.json?sig=1#f", "s 1.bin", out, sizeof(out)), 0);
    assert_string_equal(out, "http://h/a/s%201.bin");
    assert_int_equal(st_url_sibling("https://h:8/i.json", "s?#/", out, sizeof(out)), 0);
    assert_string_equal(out, "https://h:8/s%3F%23%2F");
    assert_int_equal(st_url_sibling("http://h", "x", out, sizeof(out)), 0);
    assert_string_equal(out, "http://h/x");
    assert_int_equal(st_url_sibling("http://h/a?q=/b", "x", out, sizeof(out)), 0);
    assert_string_equal(out, "http://h/x");
    assert_int_equal(st_url_sibling("ftp://h/a", "x", out, sizeof(out)), -1);
    assert_int_equal(st_url_sibling("http://h/a", "", out, sizeof(out)), -1);
    assert_int_equal(st_url_sibling("http://h/a", "x", out, 0), -1);
    for (size_t n = 1; n <= strlen("http://h/a/x"); n++)
        assert_int_equal(st_url_sibling("http://h/a/b", "x", out, n), -1);
}

static void test_hf(void **state)
{
    (void)state;
    st_hf_ref h;
    char out[ST_URL_MAX];
    assert_int_equal(st_hf_parse("hf://org/model@v1.0/sub/a b.safetensors", &h), 0);
    assert_string_equal(h.owner, "org");
    assert_string_equal(h.repo, "model");
    assert_string_equal(h.rev, "v1.0");
    assert_string_equal(h.path, "sub/a b.safetensors");
    assert_int_equal(st_hf_resolve_url(&h, "http://e:1/", h.path, out, sizeof(out)), 0);
    assert_string_equal(out, "http://e:1/org/model/resolve/v1.0/sub/a%20b.safetensors");
    assert_int_equal(st_hf_tree_url(&h, "http://e:1", out, sizeof(out)), 0);
    assert_string_equal(out, "http://e:1/api/models/org/model/tree/v1.0?recursive=True&"
                             "expand=False");
    assert_int_equal(st_hf_parse("hf://datasets/o/d", &h), 0);
    assert_string_equal(h.kind, "datasets");
    assert_string_equal(h.rev, "main");
    assert_string_equal(h.path, "");
    assert_int_equal(st_hf_resolve_url(&h, "http://e", "x", out, sizeof(out)), 0);
    assert_string_equal(out, "http://e/datasets/o/d/resolve/main/x");
    assert_int_equal(st_hf_tree_url(&h, "http://e", out, sizeof(out)), 0);
    assert_string_equal(out, "http://e/api/datasets/o/d/tree/main?recursive=True&expand=False");
    assert_int_equal(st_hf_parse("HF://spaces/o/s/", &h), 0);
    assert_string_equal(h.kind, "spaces");
    assert_int_equal(st_hf_parse("hf://models/o/m", &h), 0);
    assert_string_equal(h.kind, "");
    for (int kind = 0; kind < 2; kind++) {
        st_hf_ref k;
        assert_int_equal(st_hf_parse(kind ? "hf://datasets/o/r@v/p q~" : "hf://o/r/x", &k), 0);
        assert_int_equal(st_hf_resolve_url(&k, "http://e//", k.path, out, sizeof(out)), 0);
        for (size_t n = 1; n < strlen(out) + 1; n++)
            assert_int_equal(st_hf_resolve_url(&k, "http://e//", k.path, out, n), -1);
        assert_int_equal(st_hf_resolve_url(&k, "http://e//", k.path, out, sizeof(out)), 0);
        assert_int_equal(st_hf_tree_url(&k, "http://e", out, sizeof(out)), 0);
        for (size_t n = 1; n < strlen(out) + 1; n++)
            assert_int_equal(st_hf_tree_url(&k, "http://e", out, n), -1);
    }
    assert_int_equal(st_hf_resolve_url(&h, "http://e", "x", out, 10), -1);
    assert_int_equal(st_hf_resolve_url(&h, "http://e", "x", out, 0), -1);
    assert_int_equal(st_hf_tree_url(&h, "http://e", out, 10), -1);
    assert_int_equal(st_hf_tree_url(&h, "http://e", out, 0), -1);
    static const char *const bad[] = {
        "http://o/r", "hf://o",        "hf://o/",        "hf:///r",       "hf://.o/r",
        "hf://o/-r",  "hf://o/r@",     "hf://o/r@..x/f", "hf://o/r@a..b", "hf://o/r@-x",
        "hf://o/r/.", "hf://o/r/../x", "hf://o/r/a//b",  "hf://o/r/a\\b", "hf://o/r/x/",
        "hf://o!/r",  "hf://o/r@x y",  "hf://o/r/a\x01b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(st_hf_parse(bad[i], &h), -1);
    char name[200] = "hf://o/";
    memset(name + 7, 'a', 100);
    assert_int_equal(st_hf_parse(name, &h), -1);
    unsetenv("HF_ENDPOINT");
    assert_string_equal(st_hf_endpoint(), "https://huggingface.co");
    setenv("HF_ENDPOINT", "", 1);
    assert_string_equal(st_hf_endpoint(), "https://huggingface.co");
    setenv("HF_ENDPOINT", "http://mirror", 1);
    assert_string_equal(st_hf_endpoint(), "http://mirror");
    unsetenv("HF_ENDPOINT");
    char longp[1100];
    memset(longp, 'a', sizeof(longp));
    assert_false(st_hub_path_ok(longp, sizeof(longp)));
    assert_false(st_hub_path_ok("", 0));
    assert_false(st_hub_path_ok("a\x7f", 2));
    assert_true(st_hub_path_ok("a/.b/c..", 8));
}

static void test_resp(void **state)
{
    (void)state;
    st_http_resp r;
    memset(&r, 0, sizeof(r));
#define LINE(s) st_http_header_line(&r, s, strlen(s))
    LINE("HTTP/1.1 206 Partial Content\r\n");
    assert_int_equal(r.status, 206);
    LINE("content-range:  bytes 10-19/100 \r\n");
    assert_true(r.has_range);
    assert_true(r.first == 10 && r.last == 19 && r.total == 100);
    LINE("Content-Range: bytes 10-19/100");
    assert_true(r.bad);
    LINE("HTTP/2 200");
    assert_int_equal(r.status, 200);
    assert_false(r.bad);
    static const char *const bad_status[] = {"HTTP/1.1", "HTTP/1.1 2x0 OK", "HTTP/1.1 20",
                                             "HTTP/1.1 2000"};
    for (size_t i = 0; i < 4; i++) {
        LINE(bad_status[i]);
        assert_int_equal(r.status, -1);
    }
    static const char *const bad_cr[] = {"bytes",
                                         "bits 0-1/2",
                                         "bytes 0-1",
                                         "bytes 0-1/x",
                                         "bytes */*",
                                         "bytes 1-0/5",
                                         "bytes 0-5/5",
                                         "bytes -1/5",
                                         "bytes 0-/5",
                                         "bytes 01/5",
                                         "bytes 0-99999999999999999999/*"};
    for (size_t i = 0; i < sizeof(bad_cr) / sizeof(bad_cr[0]); i++) {
        memset(&r, 0, sizeof(r));
        assert_int_equal(st_http_content_range(bad_cr[i], strlen(bad_cr[i]), &r), -1);
    }
    memset(&r, 0, sizeof(r));
    assert_int_equal(st_http_content_range("bytes */7", 9, &r), 0);
    assert_true(r.range_unsat && r.total == 7);
    memset(&r, 0, sizeof(r));
    assert_int_equal(st_http_content_range("bytes 0-4/*", 11, &r), 0);
    assert_true(r.total == UINT64_MAX);
    memset(&r, 0, sizeof(r));
    LINE("Content-Range: bytes */7");
    LINE("Content-Range: bytes */7");
    assert_true(r.bad);
    memset(&r, 0, sizeof(r));
    LINE("Content-Length: 12");
    LINE("Content-Length: 12");
    assert_false(r.bad);
    LINE("Content-Length: 13");
    assert_true(r.bad);
    memset(&r, 0, sizeof(r));
    LINE("Content-Length: 1x");
    assert_true(r.bad && !r.has_length);
    memset(&r, 0, sizeof(r));
    LINE("Content-Encoding: identity");
    assert_false(r.encoded);
    LINE("Content-Encoding: gzip");
    assert_true(r.encoded);
    LINE("Location: \t/next \t");
    assert_string_equal(r.location, "/next");
    char longl[ST_URL_MAX + 20] = "Location: ";
    memset(longl + 10, 'a', ST_URL_MAX + 5);
    longl[ST_URL_MAX + 15] = '\0';
    LINE(longl);
    assert_true(r.bad && r.location_len == 0);
    memset(&r, 0, sizeof(r));
    LINE("Link: <http://a/1>; rel=\"prev\", <http://a/2>; rel=\"next\"");
    assert_string_equal(r.next, "http://a/2");
    memset(&r, 0, sizeof(r));
    LINE("Link: <http://a/3>; rel=next");
    assert_string_equal(r.next, "http://a/3");
    memset(&r, 0, sizeof(r));
    LINE("Link: <http://a/3>; rel=\"prev\"");
    LINE("Link: http://a/3");
    LINE("Link: <http://a/3");
    LINE("Link: <>; rel=next");
    LINE("X-Other: 1");
    LINE("Range");
    assert_int_equal(r.next_len, 0);
#undef LINE
}

static void test_cache_reads(void **state)
{
    (void)state;
    uint64_t size = (40u << 20) + 123; /* past the cache: eviction */
    fake f = new_fake(size, NULL, 0, A_OK);
    st_report *r = new_report();
    st_error err;
    st_remote *rm = st_remote_open(&f.base, r, URL, NULL, UINT64_MAX, &err);
    assert_int_equal(err, ST_OK);
    assert_true(st_remote_size(rm) == size);
    st_src src;
    st_remote_src(rm, &src);
    unsigned char buf[300000];
    /* the first 64 KiB came with the open: no request */
    assert_int_equal(st_src_read(&src, 100, buf, 5000), ST_OK);
    assert_int_equal(st_remote_requests(rm), 1);
    assert_int_equal(st_src_read(&src, 100, buf, 0), ST_OK);
    /* the last bytes: one request for the pages */
    assert_int_equal(st_src_read(&src, size - 4096, buf, 4096), ST_OK);
    assert_int_equal(buf[4095], ft_byte_at(size - 1));
    assert_int_equal(st_remote_requests(rm), 2);
    assert_int_equal(st_src_read(&src, size - 10, buf, 10), ST_OK);
    assert_int_equal(st_remote_requests(rm), 2);
    /* sequential reads: read-ahead grows */
    for (uint64_t off = 65536; off < 65536 + 8 * 65536; off += 4096) {
        assert_int_equal(st_src_read(&src, off, buf, 4096), ST_OK);
        for (size_t i = 0; i < 4096; i += 997)
            assert_int_equal(buf[i], ft_byte_at(off + i));
    }
    assert_true(st_remote_requests(rm) < 8);
    /* a read elsewhere fetches whole, aligned pages: one request for the run of 3 it spans */
    uint64_t req = st_remote_requests(rm);
    assert_int_equal(st_src_read(&src, 5000000 + 100, buf, 9000), ST_OK);
    assert_int_equal(st_remote_requests(rm), req + 1);
    assert_true(f.last_off == 5000000 / 4096 * 4096 && f.last_len == 3 * 4096);
    assert_int_equal(buf[8999], ft_byte_at(5000000 + 100 + 8999));
    assert_int_equal(st_src_read(&src, 5000000 + 200, buf, 8000), ST_OK); /* cached */
    assert_int_equal(st_remote_requests(rm), req + 1);
    /* a read spanning cached and missing pages */
    assert_int_equal(st_src_read(&src, 60000, buf, 200000), ST_OK);
    for (size_t i = 0; i < 200000; i += 331)
        assert_int_equal(buf[i], ft_byte_at(60000 + i));
    /* a direct read (bypasses the cache) */
    assert_int_equal(st_src_read(&src, 1000000, buf, sizeof(buf)), ST_OK);
    assert_int_equal(buf[sizeof(buf) - 1], ft_byte_at(1000000 + sizeof(buf) - 1));
    /* scattered reads past the cache's capacity evict the least recently used pages */
    for (uint64_t p = 0; p < 4200; p++)
        assert_int_equal(st_src_read(&src, (2u << 20) + p * 8192, buf, 10), ST_OK);
    assert_int_equal(st_remote_pages(rm), ST_CACHE_PAGES); /* bounded memory: 16 MiB */
    assert_int_equal(st_src_read(&src, (2u << 20) + 4199 * 8192, buf, 10), ST_OK);
    assert_int_equal(buf[9], ft_byte_at((2u << 20) + 4199 * 8192 + 9));
    assert_int_equal(st_src_read(&src, size, buf, 1), ST_E_INVAL);
    assert_int_equal(st_remote_read(rm, UINT64_MAX, buf, 2), ST_E_INVAL);
    assert_true(st_remote_bytes(rm) > 0);
    st_remote_close(rm);
    st_remote_close(NULL);
    assert_string_equal(ids_of(r), "");
    st_report_free(r);
}

static void test_cache_small_and_empty(void **state)
{
    (void)state;
    st_report *r;
    uint64_t req;
    fake f = new_fake(100, NULL, 0, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 100, &r, &req), ST_OK);
    assert_int_equal(req, 1);
    st_report_free(r);
    step s416[] = {{A_EMPTY416, 0, NULL}};
    f = new_fake(0, s416, 1, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_OK);
    assert_string_equal(ids_of(r), "");
    st_report_free(r);
    /* a budget below 64 KiB still reads a small file */
    f = new_fake(100, NULL, 0, A_OK);
    assert_int_equal(open_read(&f, 1000, 0, 100, &r, NULL), ST_OK);
    st_report_free(r);
    f = new_fake(100, NULL, 0, A_OK);
    assert_int_equal(open_read(&f, 50, 0, 100, &r, NULL), ST_E_LIMIT);
    assert_string_equal(ids_of(r), "ST643");
    st_report_free(r);
}

static void test_cache_no_range(void **state)
{
    (void)state;
    st_report *r;
    uint64_t req;
    /* a server that ignores Range: streamed from byte 0 as far as needed */
    fake f = new_fake(1u << 20, NULL, 0, A_FULL);
    assert_int_equal(open_read(&f, UINT64_MAX, 500000, 1000, &r, &req), ST_OK);
    assert_string_equal(ids_of(r), "ST645");
    assert_int_equal(req, 2);
    st_report_free(r);
    f = new_fake(1u << 20, NULL, 0, A_FULL);
    assert_int_equal(open_read(&f, 300000, 500000, 1000, &r, NULL), ST_E_LIMIT);
    assert_string_equal(ids_of(r), "ST645 ST643");
    st_report_free(r);
    f = new_fake(1u << 20, NULL, 0, A_FULL_NOLEN);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_E_IO);
    assert_string_equal(ids_of(r), "ST641");
    st_report_free(r);
}

static void test_cache_bad_responses(void **state)
{
    (void)state;
    uint64_t big = 2u << 20;
    expect_read(A_WRONG_CR, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_GROW, big, 900000, 100, ST_E_IO, "ST642");
    expect_read(A_SHORT, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_LONG, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_ENCODED, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_DUP_CR, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_NO_CR, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_STAR, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_BADLEN, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_EMPTY416, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_FULL, big, 900000, 100, ST_OK, "ST645");
    expect_read(A_FULL_NOLEN, big, 900000, 100, ST_E_IO, "ST641");
    expect_read(A_DROP, big, 900000, 300000, ST_E_IO, "ST640");
    expect_read(A_BIGBODY, big, 900000, 100, ST_E_IO, "ST640");
    /* a 200 whose Content-Length is not the size */
    expect_read(A_FULL, big + 1, 900000, 100, ST_OK, "ST645");
    step grow200[] = {{A_OK, 0, NULL}, {A_FULL, 0, NULL}};
    fake f = new_fake(big, grow200, 2, A_FULL);
    st_report *r = new_report();
    st_error err;
    st_remote *rm = st_remote_open(&f.base, r, URL, NULL, UINT64_MAX, &err);
    f.size++; /* the server's file grew */
    unsigned char buf[100];
    st_src src;
    st_remote_src(rm, &src);
    assert_int_equal(st_src_read(&src, 900000, buf, 100), ST_E_IO);
    assert_string_equal(ids_of(r), "ST642");
    /* later reads fail at once, without another finding or request */
    unsigned calls = f.calls;
    assert_int_equal(st_src_read(&src, 900000, buf, 100), ST_E_IO);
    assert_int_equal(f.calls, calls);
    assert_string_equal(ids_of(r), "ST642");
    st_remote_close(rm);
    st_report_free(r);
    /* the first response: other statuses, no size */
    static const int firsts[] = {A_NO_CR, A_STAR, A_WRONG_CR, A_SHORT};
    for (size_t i = 0; i < 4; i++) {
        step s[] = {{firsts[i], 0, NULL}};
        f = new_fake(big, s, 1, A_OK);
        assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_E_IO);
        assert_string_equal(ids_of(r), "ST641");
        st_report_free(r);
    }
    step s204[] = {{A_STATUS, 204, NULL}};
    f = new_fake(big, s204, 1, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_E_IO);
    assert_string_equal(ids_of(r), "ST641");
    st_report_free(r);
}

/* A size near 2^64 (Content-Range bytes 0-65535/18446744073709551614): the page arithmetic
 * (page * 4096, the end of a run rounded up to a page) wrapped, and reading the file's last
 * 4 KiB looped for ~2^52 steps. No file is larger than 2^63 - 1 bytes (off_t): refused. */
static void test_cache_huge_size(void **state)
{
    (void)state;
    expect_read(A_OK, UINT64_MAX - 1, UINT64_MAX - 4097, 4096, ST_E_IO, "ST641");
    expect_read(A_OK, (uint64_t)INT64_MAX + 1, 0, 0, ST_E_IO, "ST641");
    expect_read(A_OK, INT64_MAX, (uint64_t)INT64_MAX - 4096, 4096, ST_OK, "");
    expect_read(A_FULL, UINT64_MAX - 1, 0, 0, ST_E_IO, "ST641");
}

static void test_fetch_retries_and_status(void **state)
{
    (void)state;
    st_report *r;
    uint64_t req;
    step flaky[] = {{A_STATUS, 500, NULL}, {A_DROP, 0, NULL}, {A_STATUS, 429, NULL}};
    fake f = new_fake(1000, flaky, 3, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 1000, &r, &req), ST_OK);
    assert_int_equal(req, 4);
    assert_string_equal(ids_of(r), "");
    st_report_free(r);
    f = new_fake(1000, NULL, 0, A_DROP);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_int_equal(req, 1 + ST_FETCH_RETRIES);
    assert_string_equal(ids_of(r), "ST640");
    assert_non_null(strstr(r->findings[0].message, "Connection reset"));
    st_report_free(r);
    f = new_fake(1000, NULL, 0, A_PERM);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_int_equal(req, 1); /* not retried */
    assert_string_equal(ids_of(r), "ST640");
    st_report_free(r);
    step s503[] = {{A_STATUS, 503, NULL}};
    f = new_fake(1000, s503, 1, A_STATUS);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_non_null(strstr(r->findings[0].message, "after retries"));
    st_report_free(r);
    step s404[] = {{A_STATUS, 404, NULL}};
    f = new_fake(1000, s404, 1, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_int_equal(req, 1);
    assert_string_equal(ids_of(r), "ST640");
    st_report_free(r);
    step s101[] = {{A_STATUS, 101, NULL}};
    f = new_fake(1000, s101, 1, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_string_equal(ids_of(r), "ST640");
    st_report_free(r);
}

static void test_fetch_redirects(void **state)
{
    (void)state;
    st_report *r;
    uint64_t req;
    const char *const headers[] = {"Authorization: Bearer x", NULL};
    /* same host: headers kept; another host: dropped, and later requests go there directly */
    step s[] = {{A_REDIRECT, 0, "/other/model.bin"},
                {A_REDIRECT, 0, "https://cdn.test/m?sig=1"},
                {A_OK, 0, NULL}};
    fake f = new_fake(300000, s, 3, A_OK);
    st_error err;
    r = new_report();
    st_remote *rm = st_remote_open(&f.base, r, URL, headers, UINT64_MAX, &err);
    assert_int_equal(err, ST_OK);
    assert_null(f.last_headers);
    assert_string_equal(f.last_url, "https://cdn.test/m?sig=1");
    unsigned char buf[10];
    st_src src;
    st_remote_src(rm, &src);
    assert_int_equal(st_src_read(&src, 200000, buf, 10), ST_OK);
    assert_string_equal(f.last_url, "https://cdn.test/m?sig=1");
    assert_null(f.last_headers);
    assert_int_equal(st_remote_requests(rm), 4);
    st_remote_close(rm);
    st_report_free(r);
    step same[] = {{A_REDIRECT, 0, "http://H.test/x"}, {A_OK, 0, NULL}};
    f = new_fake(1000, same, 2, A_OK);
    r = new_report();
    rm = st_remote_open(&f.base, r, URL, headers, UINT64_MAX, &err);
    assert_ptr_equal(f.last_headers, headers);
    st_remote_close(rm);
    st_report_free(r);
    /* refused: a loop, file://, ftp://, credentials, https -> http, no Location */
    step loop[] = {{A_REDIRECT, 0, "/loop"}};
    f = new_fake(1000, loop, 1, A_REDIRECT);
    f.script = loop;
    f.n_steps = 100;
    step loops[100];
    for (int i = 0; i < 100; i++)
        loops[i] = loop[0];
    f.script = loops;
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_int_equal(req, ST_FETCH_MAX_REDIRECTS + 1);
    assert_string_equal(ids_of(r), "ST644");
    st_report_free(r);
    static const char *const targets[] = {"file:///etc/passwd", "ftp://h/x", "http://u:p@h/x",
                                          "http://h:99999/"};
    for (size_t i = 0; i < 4; i++) {
        step t[] = {{A_REDIRECT, 0, targets[i]}};
        f = new_fake(1000, t, 1, A_OK);
        assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_E_IO);
        assert_string_equal(ids_of(r), "ST644");
        assert_null(strstr(r->findings[0].message, "u:p"));
        st_report_free(r);
    }
    step down[] = {{A_REDIRECT, 0, "http://h.test/x"}};
    f = new_fake(1000, down, 1, A_OK);
    r = new_report();
    rm = st_remote_open(&f.base, r, "https://h.test/x", NULL, UINT64_MAX, &err);
    assert_int_equal(err, ST_E_IO);
    assert_string_equal(ids_of(r), "ST644");
    st_remote_close(rm);
    st_report_free(r);
    /* every redirect status; a Location that cannot be resolved */
    static const int codes[] = {301, 303, 307, 308};
    for (size_t i = 0; i < 4; i++) {
        step t[] = {{A_STATUS, codes[i], NULL}};
        f = new_fake(1000, t, 1, A_OK);
        assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_E_IO);
        assert_string_equal(ids_of(r), "ST644");
        st_report_free(r);
    }
    step unres[] = {{A_REDIRECT, 0, "/a b"}};
    f = new_fake(1000, unres, 1, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_E_IO);
    assert_string_equal(ids_of(r), "ST644");
    st_report_free(r);
    /* https to https elsewhere; then back to the first origin: the headers stay dropped */
    step hops[] = {{A_REDIRECT, 0, "https://cdn.test/a"},
                   {A_REDIRECT, 0, "https://h.test/b"},
                   {A_OK, 0, NULL}};
    f = new_fake(1000, hops, 3, A_OK);
    r = new_report();
    rm = st_remote_open(&f.base, r, "https://h.test/x", headers, UINT64_MAX, &err);
    assert_int_equal(err, ST_OK);
    assert_null(f.last_headers);
    st_remote_close(rm);
    st_report_free(r);
    step noloc[] = {{A_NOLOC, 0, NULL}};
    f = new_fake(1000, noloc, 1, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_E_IO);
    assert_string_equal(ids_of(r), "ST644");
    st_report_free(r);
}

static void test_fetch_limits_and_url(void **state)
{
    (void)state;
    st_report *r;
    fake f = new_fake(1u << 20, NULL, 0, A_OK);
    assert_int_equal(open_read(&f, 100000, 500000, 60000, &r, NULL), ST_E_LIMIT);
    assert_string_equal(ids_of(r), "ST643");
    st_report_free(r);
    f = new_fake(1u << 20, NULL, 0, A_OK);
    assert_int_equal(open_read(&f, 0, 0, 0, &r, NULL), ST_E_LIMIT);
    assert_string_equal(ids_of(r), "ST643");
    st_report_free(r);
    /* the budget is also enforced on bodies (an error body counts too) */
    step big[] = {{A_BIGBODY, 0, NULL}};
    f = new_fake(1u << 20, big, 1, A_OK);
    assert_int_equal(open_read(&f, 65536 + 1000, 0, 0, &r, NULL), ST_E_LIMIT);
    assert_string_equal(ids_of(r), "ST643");
    st_report_free(r);
    /* a URL longer than stcheck requests */
    char *huge = malloc(ST_URL_MAX + 10);
    memset(huge, 'a', ST_URL_MAX + 9);
    memcpy(huge, "http://h/", 9);
    huge[ST_URL_MAX + 9] = '\0';
    r = new_report();
    st_error e2;
    st_remote *rm2 = st_remote_open(&f.base, r, huge, NULL, 100, &e2);
    assert_int_equal(e2, ST_E_UNSUPPORTED);
    assert_string_equal(ids_of(r), "ST646");
    st_remote_close(rm2);
    st_report_free(r);
    free(huge);
    /* one real pause between retries */
    st_fetch_backoff_ms = 1;
    step once[] = {{A_DROP, 0, NULL}};
    f = new_fake(1000, once, 1, A_OK);
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, NULL), ST_OK);
    st_report_free(r);
    st_fetch_backoff_ms = 0;
    /* not a URL stcheck requests */
    r = new_report();
    st_error err;
    st_remote *rm = st_remote_open(&f.base, r, "ftp://h/x?secret", NULL, 100, &err);
    assert_int_equal(err, ST_E_UNSUPPORTED);
    assert_string_equal(ids_of(r), "ST646");
    assert_null(strstr(r->findings[0].message, "secret"));
    assert_int_equal(r->err, ST_E_UNSUPPORTED);
    st_remote_close(rm);
    st_report_free(r);
}

static void test_hub_parse(void **state)
{
    (void)state;
    st_hub_list l = {NULL, 0, 0};
    char msg[256];
    const char *good =
        "[{\"type\":\"directory\",\"oid\":\"1\",\"size\":0,\"path\":\"sub\"},"
        "{\"type\":\"file\",\"oid\":\"2\",\"size\":12,\"path\":\"sub/b.bin\",\"lfs\":{\"x\":[1]}},"
        "{\"type\":\"file\",\"size\":3,\"path\":\"a.bin\"},"
        "{\"type\":\"file\",\"path\":\"..\"},{\"type\":\"file\",\"path\":\"/abs\"},"
        "{\"type\":\"file\",\"path\":\"x\\u0000y\"},{\"type\":\"file\",\"path\":\"a.bin\"},"
        "{\"type\":\"submodule-with-a-long-type\",\"path\":\"../m\"}]";
    assert_int_equal(
        st_hub_parse((const unsigned char *)good, strlen(good), 64, 100, &l, msg, sizeof(msg)), 0);
    assert_int_equal(l.n, 6);
    assert_int_equal(st_hub_list_finish(&l), 0);
    assert_string_equal(l.v[0].path, "..");
    assert_true(l.v[0].refused);
    assert_string_equal(l.v[2].path, "a.bin");
    assert_true(l.v[3].refused); /* the second a.bin */
    assert_non_null(strstr(l.v[3].message, "twice"));
    assert_string_equal(l.v[4].path, "sub/b.bin");
    assert_true(l.v[4].size == 12 && !l.v[4].refused);
    assert_true(l.v[1].refused); /* "/abs" sorts after ".." */
    st_hub_list_free(&l);
    static const struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"{}", "not a JSON array"},
        {"[1]", "not an object"},
        {"[{\"type\":1}]", "type is not a string"},
        {"[{\"path\":1}]", "path is not a string"},
        {"[{\"size\":-1}]", "size is not"},
        {"[{\"type\":\"file\"}]", "without a path"},
        {"[{\"type\":\"file\",\"type\":\"file\"}]", "not strict JSON"},
        {"[", "not strict JSON"},
        {"[{\"a\":", "not strict JSON"},
        {"[{\"lfs\":{\"a\":[1,", "not strict JSON"},
        {"[{\"a\"", "not strict JSON"},
        {"[{\"path\":\"a\"", "not strict JSON"},
        {"[] x", "not strict JSON"},
        {"", "not strict JSON"},
        {"[{\"type\":\"file\",\"path\":\"a\"},{\"type\":\"file\",\"path\":\"b\"}]", "limit"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        l = (st_hub_list){NULL, 0, 0};
        assert_int_equal(st_hub_parse((const unsigned char *)bad[i].json, strlen(bad[i].json), 64,
                                      1, &l, msg, sizeof(msg)),
                         -1);
        assert_non_null(strstr(msg, bad[i].msg));
        st_hub_list_free(&l);
    }
    l = (st_hub_list){NULL, 0, 0};
    assert_int_equal(st_hub_parse((const unsigned char *)"[]", 2, 64, 1, &l, msg, sizeof(msg)), 0);
    assert_int_equal(st_hub_list_finish(&l), 0);
    assert_int_equal(l.n, 0);
    st_hub_list_free(&l);
    /* many entries: the list grows */
    char *many = malloc(200 * 40 + 10);
    size_t at = 0;
    many[at++] = '[';
    for (int i = 0; i < 200; i++)
        at += (size_t)snprintf(many + at, 40, "%s{\"type\":\"file\",\"path\":\"f%03d\"}",
                               i ? "," : "", 199 - i);
    many[at++] = ']';
    l = (st_hub_list){NULL, 0, 0};
    assert_int_equal(st_hub_parse((unsigned char *)many, at, 64, 1000, &l, msg, sizeof(msg)), 0);
    assert_int_equal(st_hub_list_finish(&l), 0);
    assert_int_equal(l.n, 200);
    assert_string_equal(l.v[0].path, "f000");
    st_hub_list_free(&l);
    free(many);
}

static void test_public_api(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(st_remote_supported(), 1);
    /* the defaults docs/remote.md, --help and the man page state (remote_test checks those) */
    assert_true(ctx->max_fetch == (uint64_t)256 << 20);
    assert_int_equal(ctx->fetch_timeout, 30);
    assert_int_equal(ctx->fetch_deadline, 300);
    assert_int_equal(st_ctx_set_max_fetch(ctx, 0), ST_E_INVAL);
    assert_int_equal(st_ctx_set_max_fetch(NULL, 1), ST_E_INVAL);
    assert_int_equal(st_ctx_set_max_fetch(ctx, 1000), ST_OK);
    assert_int_equal(st_ctx_add_header(ctx, "X-A: 1"), ST_OK);
    static const char *const bad_headers[] = {"no colon", ": v",          "X A: v", "X\x01: v",
                                              "X(: v",    "X: a\r\nY: b", "X: \n"};
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++)
        assert_int_equal(st_ctx_add_header(ctx, bad_headers[i]), ST_E_INVAL);
    assert_int_equal(st_ctx_add_header(NULL, "X: 1"), ST_E_INVAL);
    assert_int_equal(st_ctx_add_header(ctx, "X\x7f: 1"), ST_E_INVAL);
    assert_int_equal(st_ctx_set_cacert(ctx, NULL), ST_E_INVAL);
    assert_int_equal(st_ctx_add_header(ctx, NULL), ST_E_INVAL);
    for (int i = 1; i < 64; i++)
        assert_int_equal(st_ctx_add_header(ctx, "X-B: 1"), ST_OK);
    assert_int_equal(st_ctx_add_header(ctx, "X-C: 1"), ST_E_INVAL);
    assert_int_equal(st_ctx_set_cacert(ctx, ""), ST_E_INVAL);
    assert_int_equal(st_ctx_set_cacert(NULL, "x"), ST_E_INVAL);
    assert_int_equal(st_ctx_set_cacert(ctx, "a.pem"), ST_OK);
    assert_int_equal(st_ctx_set_cacert(ctx, "b.pem"), ST_OK);
    assert_int_equal(st_ctx_set_timeout(ctx, 0), ST_E_INVAL);
    assert_int_equal(st_ctx_set_timeout(ctx, 3601), ST_E_INVAL);
    assert_int_equal(st_ctx_set_timeout(NULL, 5), ST_E_INVAL);
    assert_int_equal(st_ctx_set_timeout(ctx, 5), ST_OK);
    assert_int_equal(st_ctx_set_fetch_timeout(ctx, 0), ST_E_INVAL);
    assert_int_equal(st_ctx_set_fetch_timeout(ctx, 86401), ST_E_INVAL);
    assert_int_equal(st_ctx_set_fetch_timeout(NULL, 5), ST_E_INVAL);
    assert_int_equal(st_ctx_set_fetch_timeout(ctx, 86400), ST_OK);
    assert_int_equal(ctx->fetch_deadline, 86400);
    assert_int_equal(ctx->no_private_addrs, 0); /* the default: public -> private refused */
    assert_int_equal(st_ctx_set_no_private_addresses(NULL, 1), ST_E_INVAL);
    assert_int_equal(st_ctx_set_no_private_addresses(ctx, 7), ST_OK);
    assert_int_equal(ctx->no_private_addrs, 1);
    assert_int_equal(st_ctx_set_no_private_addresses(ctx, 0), ST_OK);
    assert_int_equal(ctx->no_private_addrs, 0);
    assert_null(st_check_url(NULL, "http://x"));
    assert_null(st_check_url(ctx, NULL));
    /* refused before any request */
    static const struct {
        const char *url, *ids;
    } refused[] = {{"ftp://127.0.0.1:1/x", "ST646"},
                   {"http://user:pw@127.0.0.1:1/x", "ST646"},
                   {"hf://o/../x", "ST646"},
                   {"hf://o/r", "ST646"}};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        st_report *r = st_check_url(ctx, refused[i].url);
        assert_string_equal(ids_of(r), refused[i].ids);
        assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
        assert_true(st_report_remote(r));
        assert_true(st_report_requests(r) == 0 && st_report_bytes_fetched(r) == 0);
        assert_null(strstr(st_report_path(r), "pw@"));
        st_report_free(r);
    }
    /* the hf:// reference too long to resolve */
    char longref[ST_URL_MAX] = "hf://o/r/";
    memset(longref + 9, 'a', ST_URL_MAX - 20);
    longref[ST_URL_MAX - 11] = '\0';
    st_report *r = st_check_url(ctx, longref);
    assert_string_equal(ids_of(r), "ST646");
    st_report_free(r);
    /* an endpoint so long that no URL fits */
    char endpoint[ST_URL_MAX];
    memset(endpoint, 'e', sizeof(endpoint));
    memcpy(endpoint, "http://127.0.0.1:1/", 19);
    endpoint[ST_URL_MAX - 10] = '\0';
    setenv("HF_ENDPOINT", endpoint, 1);
    r = st_check_url(ctx, "hf://o/r/x");
    assert_string_equal(ids_of(r), "ST646");
    st_report_free(r);
    st_hub *lh = st_hub_open(ctx, "hf://o/r");
    r = st_hub_check(ctx, lh, 0);
    assert_string_equal(ids_of(r), "ST646");
    st_report_free(r);
    st_hub_free(lh);
    unsetenv("HF_ENDPOINT");
    /* st_check_path never fetches, whatever the path */
    r = st_check_path(ctx, "http://127.0.0.1:1/x.safetensors");
    assert_string_equal(ids_of(r), "ST902");
    assert_false(st_report_remote(r));
    st_report_free(r);
    assert_true(st_report_requests(NULL) == 0 && st_report_bytes_fetched(NULL) == 0);
    assert_false(st_report_remote(NULL));
    /* Hub walks: a reference that is not a repository is one failing item */
    assert_null(st_hub_open(NULL, "hf://o/r"));
    assert_null(st_hub_open(ctx, NULL));
    st_hub *h = st_hub_open(ctx, "hf://o/r/file");
    assert_int_equal(st_hub_count(h), 1);
    r = st_hub_check(ctx, h, 0);
    assert_string_equal(ids_of(r), "ST646");
    assert_string_equal(st_report_repository(r), "hf://o/r/file");
    st_report_free(r);
    assert_null(st_hub_check(ctx, h, 1));
    assert_null(st_hub_check(NULL, h, 0));
    st_hub_free(h);
    st_hub_free(NULL);
    assert_int_equal(st_hub_count(NULL), 0);
    /* an unreachable endpoint (a closed port on loopback): the listing failed */
    setenv("HF_ENDPOINT", "http://127.0.0.1:1", 1);
    setenv("HF_TOKEN", "", 1);
    r = st_check_url(ctx, "hf://o/r/x");
    assert_string_equal(ids_of(r), "ST640");
    st_report_free(r);
    setenv("HF_TOKEN", "tok", 1);
    st_ctx *withauth = st_ctx_new();
    assert_int_equal(st_ctx_add_header(withauth, "authorization: Bearer other"), ST_OK);
    r = st_check_url(withauth, "hf://o/r/x");
    assert_string_equal(ids_of(r), "ST640");
    st_report_free(r);
    st_ctx_free(withauth);
    setenv("HF_TOKEN", "tok\nen", 1); /* a token with a line break is never sent */
    h = st_hub_open(ctx, "hf://o/r");
    r = st_hub_check(ctx, h, 0);
    assert_string_equal(ids_of(r), "ST640 ST648");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    st_report_free(r);
    st_hub_free(h);
    setenv("HF_ENDPOINT", "ftp://127.0.0.1:1", 1);
    h = st_hub_open(ctx, "hf://o/r");
    r = st_hub_check(ctx, h, 0);
    assert_string_equal(ids_of(r), "ST646");
    st_report_free(r);
    st_hub_free(h);
    unsetenv("HF_ENDPOINT");
    unsetenv("HF_TOKEN");
    st_ctx_free(ctx);
}

/* ---- the deadline (--fetch-timeout) over a fake clock -------------------------------- */
static uint64_t fake_now;
static uint64_t fake_tick; /* each request advances the clock this much */

static uint64_t fake_clock(void)
{
    return fake_now;
}

static st_error ticking_get(st_transport *t, const char *url, const char *const *headers,
                            uint64_t off, uint64_t len, st_body_fn fn, void *arg,
                            st_http_resp *resp, char *err, size_t err_size)
{
    fake_now += fake_tick;
    return fake_get(t, url, headers, off, len, fn, arg, resp, err, err_size);
}

/* A remote over the fake with its deadline at 1,000 ms; reads [off, off+len). */
static st_error deadline_read(const step *s, size_t n, int last, uint64_t start, uint64_t tick,
                              uint64_t off, size_t len, const char *ids, uint64_t requests)
{
    fake f = new_fake(1u << 20, s, n, last);
    f.base.get = ticking_get;
    f.base.deadline_ms = 1000;
    f.base.deadline_s = 1;
    fake_now = start;
    fake_tick = tick;
    st_report *r = new_report();
    st_error err;
    st_remote *rm = st_remote_open(&f.base, r, URL, NULL, UINT64_MAX, &err);
    assert_non_null(rm);
    if (err == ST_OK) {
        unsigned char buf[100];
        st_src src;
        st_remote_src(rm, &src);
        err = st_src_read(&src, off, buf, len);
    }
    assert_string_equal(ids_of(r), ids);
    assert_int_equal(st_remote_requests(rm), requests);
    if (ids[0] != '\0') {
        assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR); /* could not check */
        assert_non_null(strstr(r->findings[r->n_findings - 1].message, "--fetch-timeout (1 s)"));
    }
    st_remote_close(rm);
    st_report_free(r);
    return err;
}

static void test_fetch_deadline(void **state)
{
    (void)state;
    uint64_t (*real_clock)(void) = st_fetch_clock_ms;
    st_fetch_clock_ms = fake_clock;
    /* in time: the open and a later read */
    assert_int_equal(deadline_read(NULL, 0, A_OK, 0, 400, 900000, 100, "", 2), ST_OK);
    /* past it before the first request: none is sent */
    assert_int_equal(deadline_read(NULL, 0, A_OK, 1000, 0, 0, 0, "ST649", 0), ST_E_LIMIT);
    /* past it while a body comes (a trickle the stall guard lets through): stopped */
    assert_int_equal(deadline_read(NULL, 0, A_OK, 0, 600, 900000, 100, "ST649", 2), ST_E_LIMIT);
    /* a dropped connection past it is not retried */
    step drops[] = {{A_OK, 0, NULL}};
    assert_int_equal(deadline_read(drops, 1, A_DROP, 0, 600, 900000, 100, "ST649", 2), ST_E_LIMIT);
    /* a retry's delay ends at the deadline: 100 s of backoff cut to 5 ms, then past it */
    st_fetch_backoff_ms = 100000;
    assert_int_equal(deadline_read(NULL, 0, A_DROP, 990, 5, 0, 0, "ST649", 2), ST_E_LIMIT);
    /* a 500 answered after the deadline: no pause, no retry */
    step s500[] = {{A_STATUS, 500, NULL}};
    assert_int_equal(deadline_read(s500, 1, A_OK, 0, 1200, 0, 0, "ST649", 1), ST_E_LIMIT);
    st_fetch_backoff_ms = 0;
    /* no deadline: the clock does not matter */
    fake f = new_fake(1000, NULL, 0, A_OK);
    fake_now = UINT64_MAX / 2;
    st_report *r;
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 1000, &r, NULL), ST_OK);
    st_report_free(r);
    st_fetch_clock_ms = real_clock;
    st_transport_deadline(&f.base, 0);
    assert_true(f.base.deadline_ms == 0 && f.base.deadline_s == 0);
    st_transport_deadline(&f.base, 2);
    assert_true(f.base.deadline_ms >= 2000 && f.base.deadline_s == 2);
}

/* ---- the address rule (addr.c) ----------------------------------------------------------- */

/* The classifier, at every range's edges: NULL for public, else a word of the class. */
static void test_addr_classify(void **state)
{
    (void)state;
    static const struct {
        const char *a, *cls;
    } t[] = {
        {"0.0.0.0", "unspecified"},
        {"0.255.255.255", "unspecified"},
        {"1.0.0.0", NULL},
        {"8.8.8.8", NULL},
        {"9.255.255.255", NULL},
        {"10.0.0.0", "private (10."},
        {"10.255.255.255", "private (10."},
        {"11.0.0.0", NULL},
        {"100.63.255.255", NULL},
        {"100.64.0.0", "shared"},
        {"100.127.255.255", "shared"},
        {"100.128.0.0", NULL},
        {"126.255.255.255", NULL},
        {"127.0.0.1", "loopback"},
        {"127.255.255.254", "loopback"},
        {"128.0.0.0", NULL},
        {"169.253.255.255", NULL},
        {"169.254.169.254", "link-local (169.254"},
        {"169.255.0.0", NULL},
        {"172.15.255.255", NULL},
        {"172.16.0.0", "private (172.16"},
        {"172.31.255.255", "private (172.16"},
        {"172.32.0.0", NULL},
        {"191.255.255.255", NULL},
        {"192.0.0.0", "IETF"},
        {"192.0.0.255", "IETF"},
        {"192.0.1.0", NULL},
        {"192.167.255.255", NULL},
        {"192.168.0.1", "private (192.168"},
        {"192.168.255.255", "private (192.168"},
        {"192.169.0.0", NULL},
        {"198.17.255.255", NULL},
        {"198.18.0.0", "benchmarking"},
        {"198.19.255.255", "benchmarking"},
        {"198.20.0.0", NULL},
        {"223.255.255.255", NULL},
        {"224.0.0.1", "multicast"},
        {"239.255.255.255", "multicast"},
        {"240.0.0.1", "reserved"},
        {"255.255.255.254", "reserved"},
        {"255.255.255.255", "broadcast"},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"::2", "unspecified"}, /* IPv4-compatible 0.0.0.2 */
        {"::127.0.0.1", "loopback"},
        {"::8.8.8.8", NULL},
        {"::ffff:0:0", "unspecified"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:10.1.2.3", "private (10."},
        {"::ffff:169.254.169.254", "link-local (169.254"},
        {"::ffff:8.8.8.8", NULL},
        {"::fffe:127.0.0.1", NULL}, /* not a mapped prefix: a public IPv6 address */
        {"64:ff9b::7f00:1", "loopback"},
        {"64:ff9b::192.168.1.1", "private (192.168"},
        {"64:ff9b::8.8.8.8", NULL},
        {"64:ff9b:1::8.8.8.8", NULL},
        {"fbff:ffff::1", NULL},
        {"fc00::1", "unique-local"},
        {"fdff:ffff::1", "unique-local"},
        {"fe7f::1", NULL},
        {"fe80::1", "link-local (fe80"},
        {"febf:ffff::1", "link-local (fe80"},
        {"fec0::1", "site-local"},
        {"feff::1", "site-local"},
        {"ff02::1", "multicast"},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"},
        {"2001:4860:4860::8888", NULL},
        {"2606:4700::1111", NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sockaddr_storage ss;
        assert_int_equal(st_addr_parse(t[i].a, &ss), 0);
        assert_int_equal(ss.ss_family, strchr(t[i].a, ':') ? AF_INET6 : AF_INET);
        const char *cls = st_addr_class((struct sockaddr *)&ss);
        if (t[i].cls == NULL && cls != NULL)
            fail_msg("%s: %s, want public", t[i].a, cls);
        if (t[i].cls != NULL && (cls == NULL || strstr(cls, t[i].cls) != cls))
            fail_msg("%s: %s, want %s", t[i].a, cls ? cls : "public", t[i].cls);
        assert_int_equal(st_addr_public((struct sockaddr *)&ss), t[i].cls == NULL);
    }
    struct sockaddr un = {.sa_family = AF_UNIX}; /* only IPv4 and IPv6 are judged */
    assert_string_equal(st_addr_class(&un), "non-IP");
    assert_false(st_addr_public(&un));
    /* what is not a numeric address (a scoped IPv6 one, a name) is AF_UNSPEC: not public */
    struct sockaddr_storage ss;
    const char *const odd[] = {"fe80::1%eth0", "localhost", "", "1.2.3", "::ffff:1.2.3.4.5"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(st_addr_parse(odd[i], &ss), -1);
        assert_int_equal(ss.ss_family, AF_UNSPEC);
        assert_string_equal(st_addr_class((struct sockaddr *)&ss), "non-IP");
    }
}

/* The rule through fetch.c and cache.c: a check on a public address is refused a non-public
 * one after a redirect, or on a later request (a DNS answer that changed); a check that
 * starts on the local network may stay there (nothing public reached yet), unless
 * no_private; a refused connection sends nothing, is not retried and is not counted. */
static void test_fetch_address_rule(void **state)
{
    (void)state;
    st_report *r;
    uint64_t req;
    /* public, then a redirect to the cloud metadata address */
    step meta[] = {{A_REDIRECT, 0, "http://metadata.test/latest"}, {A_OK, 0, NULL}};
    static const char *const meta_at[] = {"93.184.216.34", "169.254.169.254"};
    fake f = new_fake(1000, meta, 2, A_OK);
    f.addrs = meta_at;
    f.n_addrs = 2;
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_string_equal(ids_of(r), "ST650");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    assert_string_equal(r->findings[0].message,
                        "refused to connect to metadata.test: its address 169.254.169.254 is "
                        "link-local (169.254.0.0/16, cloud metadata), not public, after the check "
                        "connected to a public address");
    assert_int_equal(req, 1); /* the refused one sent nothing */
    assert_int_equal(f.calls, 2);
    st_report_free(r);
    /* public for the first read, then DNS rebinding to loopback for a later range */
    step rebind[] = {{A_OK, 0, NULL}, {A_OK, 0, NULL}};
    static const char *const rebind_at[] = {"93.184.216.34", "::ffff:127.0.0.1"};
    f = new_fake(300000, rebind, 2, A_OK);
    f.addrs = rebind_at;
    f.n_addrs = 2;
    assert_int_equal(open_read(&f, UINT64_MAX, 200000, 10, &r, &req), ST_E_IO);
    assert_string_equal(ids_of(r), "ST650");
    assert_non_null(strstr(r->findings[0].message, "h.test: its address ::ffff:127.0.0.1 is "
                                                   "loopback"));
    assert_int_equal(req, 1);
    assert_int_equal(f.calls, 2); /* not retried */
    st_report_free(r);
    /* a check inside the local network stays allowed there (public -> private is the rule) */
    step local[] = {{A_REDIRECT, 0, "http://other.test/x"}, {A_OK, 0, NULL}, {A_OK, 0, NULL}};
    static const char *const local_at[] = {"127.0.0.1", "10.1.2.3", "fd00::1"};
    f = new_fake(300000, local, 3, A_OK);
    f.addrs = local_at;
    f.n_addrs = 3;
    assert_int_equal(open_read(&f, UINT64_MAX, 200000, 10, &r, &req), ST_OK);
    assert_string_equal(ids_of(r), "");
    assert_int_equal(req, 3);
    st_report_free(r);
    /* ... and private -> public -> private is refused at the second private one */
    step back[] = {
        {A_REDIRECT, 0, "http://cdn.test/x"}, {A_REDIRECT, 0, "http://h.test/y"}, {A_OK, 0, NULL}};
    static const char *const back_at[] = {"10.0.0.1", "8.8.8.8", "10.0.0.1"};
    f = new_fake(1000, back, 3, A_OK);
    f.addrs = back_at;
    f.n_addrs = 3;
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_string_equal(ids_of(r), "ST650");
    assert_int_equal(req, 2);
    st_report_free(r);
    /* no_private: the first URL's address is refused; a public one is not */
    step first[] = {{A_OK, 0, NULL}};
    static const char *const first_at[] = {"192.168.1.10"};
    f = new_fake(1000, first, 1, A_OK);
    f.addrs = first_at;
    f.n_addrs = 1;
    f.base.no_private = 1;
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_E_IO);
    assert_string_equal(ids_of(r), "ST650");
    assert_string_equal(r->findings[0].message,
                        "refused to connect to h.test: its address 192.168.1.10 is private "
                        "(192.168.0.0/16), not public (--no-private-addresses)");
    assert_int_equal(req, 0);
    st_report_free(r);
    step pub[] = {{A_OK, 0, NULL}};
    static const char *const pub_at[] = {"2606:4700::1111"};
    f = new_fake(1000, pub, 1, A_OK);
    f.addrs = pub_at;
    f.n_addrs = 1;
    f.base.no_private = 1;
    assert_int_equal(open_read(&f, UINT64_MAX, 0, 0, &r, &req), ST_OK);
    assert_string_equal(ids_of(r), "");
    assert_true(f.base.seen_public && f.base.refused[0] == '\0');
    st_report_free(r);
    /* an address refused, then another allowed (happy eyeballs): the outcome is the last */
    fake g = new_fake(1000, NULL, 0, A_OK);
    g.base.seen_public = 1;
    assert_int_equal(fake_connect(&g.base, URL, "fe80::1"), -1);
    assert_non_null(strstr(g.base.refused, "link-local (fe80::/10)"));
    assert_int_equal(fake_connect(&g.base, URL, "1.1.1.1"), 0);
    assert_string_equal(g.base.refused, "");
    /* an address of another family is refused under the rule, shown as '?' */
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(st_transport_connect(&g.base, "h.test", &un), -1);
    assert_string_equal(g.base.refused, "refused to connect to h.test: its address ? is non-IP, "
                                        "not public, after the check connected to a public "
                                        "address");
}

/* ---- a loopback server counting connections -------------------------------------------- */
typedef struct {
    int fd;
    unsigned port;
    int accepted;
    int requests;       /* request heads read */
    int keep;           /* keep the connection open for more requests (answers must say so) */
    const char *answer; /* the whole response */
    char request[4096]; /* the last request's head */
    pthread_t thread;
} counter;

static void *count_loop(void *arg)
{
    counter *c = arg;
    for (;;) {
        int s = accept(c->fd, NULL, NULL);
        if (s < 0)
            break;
        if (c->answer == NULL) { /* the stop signal */
            close(s);
            break;
        }
        c->accepted++;
        for (;;) {
            size_t n = 0;
            while (n + 1 < sizeof(c->request)) {
                ssize_t k = read(s, c->request + n, sizeof(c->request) - 1 - n);
                if (k <= 0)
                    break;
                n += (size_t)k;
                c->request[n] = '\0';
                if (strstr(c->request, "\r\n\r\n") != NULL)
                    break;
            }
            c->request[n] = '\0';
            if (n == 0)
                break;
            c->requests++;
            if (write(s, c->answer, strlen(c->answer)) < 0 || !c->keep)
                break;
        }
        close(s);
    }
    return NULL;
}

static void counter_start(counter *c, const char *answer)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    memset(c, 0, sizeof(*c));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(c->fd, 16), 0);
    assert_int_equal(getsockname(c->fd, (struct sockaddr *)&a, &al), 0);
    c->port = ntohs(a.sin_port);
    c->answer = answer;
    assert_int_equal(pthread_create(&c->thread, NULL, count_loop, c), 0);
}

static void counter_stop(counter *c)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)c->port);
    c->answer = NULL;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
    pthread_join(c->thread, NULL);
    close(s);
    close(c->fd);
}

#define NOT_FOUND "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

/* st_check_path never fetches: given http://, https:// and hf:// names that point at a live
 * loopback server, it makes no connection and reports a missing local file, while
 * st_check_url on the same names does connect (the counter works). */
static void test_check_path_never_fetches(void **state)
{
    (void)state;
    counter c;
    char url[128], tls[128], endpoint[64];
    counter_start(&c, NOT_FOUND);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x.safetensors", c.port);
    snprintf(tls, sizeof(tls), "https://127.0.0.1:%u/x.safetensors", c.port);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u", c.port);
    setenv("HF_ENDPOINT", endpoint, 1);
    st_ctx *ctx = st_ctx_new();
    const char *const names[] = {url, tls, "hf://o/r/x.safetensors", "HF://o/r/x.safetensors"};
    for (size_t i = 0; i < 4; i++) {
        st_report *r = st_check_path(ctx, names[i]);
        assert_string_equal(ids_of(r), "ST902"); /* no such local file */
        assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
        assert_false(st_report_remote(r));
        assert_true(st_report_requests(r) == 0 && st_report_bytes_fetched(r) == 0);
        st_report_free(r);
    }
    assert_int_equal(c.accepted, 0);
    /* the control: st_check_url requests the same names (the first 64 KiB, as documented) */
    st_report *r = st_check_url(ctx, url);
    assert_string_equal(ids_of(r), "ST640");
    assert_true(st_report_remote(r) && st_report_requests(r) == 1);
    st_report_free(r);
    assert_int_equal(c.accepted, 1);
    assert_non_null(strstr(c.request, "GET /x.safetensors HTTP/1.1\r\n"));
    assert_non_null(strstr(c.request, "\r\nRange: bytes=0-65535\r\n"));
    r = st_check_url(ctx, "hf://o/r/x.safetensors");
    assert_string_equal(ids_of(r), "ST640");
    st_report_free(r);
    assert_int_equal(c.accepted, 2);
    assert_non_null(strstr(c.request, "GET /o/r/resolve/main/x.safetensors HTTP/1.1\r\n"));
    st_ctx_free(ctx);
    unsetenv("HF_ENDPOINT");
    counter_stop(&c);
}

/* The libcurl transport itself (http.c): only http and https (CURLOPT_PROTOCOLS_STR: file://,
 * ftp://, dict://, gopher:// fail without a byte read or a connection made), a redirect is
 * handed back, never followed (fetch.c judges each hop). */
typedef struct {
    size_t bytes;
    int responses;
} drain;

static int drain_body(void *arg, const unsigned char *p, size_t n, const st_http_resp *resp)
{
    drain *d = arg;
    (void)resp;
    d->responses += p == NULL;
    d->bytes += n;
    return 0;
}

static void test_http_transport(void **state)
{
    (void)state;
    counter c;
    char url[128], err[256];
    counter_start(&c, "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n"
                      "Set-Cookie: session=s1; Path=/\r\nConnection: close\r\n\r\n");
    st_http_opts o = {NULL, 5};
    st_transport *t = st_http_new(&o);
    assert_non_null(t);
    st_http_resp resp;
    drain d = {0, 0};
    snprintf(url, sizeof(url), "ftp://127.0.0.1:%u/x", c.port);
    const char *const refused[] = {"file:///etc/passwd", url, "dict://127.0.0.1:1/x",
                                   "gopher://127.0.0.1:1/x"};
    for (size_t i = 0; i < 4; i++) {
        err[0] = '\0';
        assert_int_equal(t->get(t, refused[i], NULL, 0, 0, drain_body, &d, &resp, err, sizeof(err)),
                         ST_E_IO);
        assert_int_equal(d.bytes, 0);
        assert_non_null(strstr(err, "protocol")); /* "Unsupported protocol" */
    }
    assert_int_equal(c.accepted, 0);
    /* a redirect comes back as it is */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/start", c.port);
    const char *const headers[] = {"X-Test: 1", NULL};
    assert_int_equal(t->get(t, url, headers, 10, 20, drain_body, &d, &resp, err, sizeof(err)),
                     ST_OK);
    assert_int_equal(resp.status, 302);
    assert_string_equal(resp.location, "/elsewhere");
    assert_int_equal(c.accepted, 1);
    assert_non_null(strstr(c.request, "\r\nRange: bytes=10-29\r\n"));
    assert_non_null(strstr(c.request, "\r\nX-Test: 1\r\n"));
    assert_null(strstr(c.request, "Accept-Encoding")); /* never compressed */
    /* no cookie engine: what a server sets is never sent back */
    assert_int_equal(t->get(t, url, NULL, 0, 0, drain_body, &d, &resp, err, sizeof(err)), ST_OK);
    assert_int_equal(c.accepted, 2);
    assert_null(strstr(c.request, "Cookie"));
    assert_null(strstr(c.request, "X-Test")); /* headers are per request */
    t->free(t);
    counter_stop(&c);
    /* the connect timeout: a listener whose accept queue is full drops SYNs, so the connect
     * hangs until --timeout (1 s here) */
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), fill[4];
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 0), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(fill[i], (struct sockaddr *)&a, sizeof(a));
    }
    usleep(100000);
    o.timeout_s = 1;
    t = st_http_new(&o);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", (unsigned)ntohs(a.sin_port));
    assert_int_equal(t->get(t, url, NULL, 0, 10, drain_body, &d, &resp, err, sizeof(err)), ST_E_IO);
    assert_non_null(strstr(err, "Timeout"));
    t->free(t);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

/* The address rule in the libcurl transport: a refused address gets no TCP connection
 * (CURLOPT_OPENSOCKETFUNCTION, after DNS), and a kept connection is judged again before a
 * request is sent on it (CURLOPT_PREREQFUNCTION). The loopback server stands for the local
 * network; seen_public stands for a public connection made earlier in the check. */
static void test_http_address_rule(void **state)
{
    (void)state;
    counter c;
    char url[128], err[256];
    st_http_resp resp;
    drain d = {0, 0};
    counter_start(&c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.keep = 1;
    st_http_opts o = {NULL, 5};
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", c.port);
    /* no_private: no connection at all */
    st_transport *t = st_http_new(&o);
    t->no_private = 1;
    assert_int_equal(t->get(t, url, NULL, 0, 0, drain_body, &d, &resp, err, sizeof(err)),
                     ST_E_INVAL);
    assert_string_equal(err, "the address is refused");
    assert_string_equal(t->refused, "refused to connect to 127.0.0.1: its address 127.0.0.1 is "
                                    "loopback, not public (--no-private-addresses)");
    assert_int_equal(c.accepted, 0);
    t->free(t);
    /* by default a check starting on loopback may go on there, on one kept connection */
    t = st_http_new(&o);
    assert_int_equal(t->get(t, url, NULL, 0, 0, drain_body, &d, &resp, err, sizeof(err)), ST_OK);
    assert_int_equal(t->get(t, url, NULL, 0, 0, drain_body, &d, &resp, err, sizeof(err)), ST_OK);
    assert_true(c.accepted == 1 && c.requests == 2 && d.bytes == 4);
    assert_string_equal(t->refused, "");
    /* after a public connection: the kept connection sends no request... */
    t->seen_public = 1;
    assert_int_equal(t->get(t, url, NULL, 0, 0, drain_body, &d, &resp, err, sizeof(err)),
                     ST_E_INVAL);
    assert_non_null(strstr(t->refused, "after the check connected to a public address"));
    t->free(t);
    /* ... and a new one is not made */
    t = st_http_new(&o);
    t->seen_public = 1;
    snprintf(url, sizeof(url), "http://localhost:%u/x", c.port);
    assert_int_equal(t->get(t, url, NULL, 0, 0, drain_body, &d, &resp, err, sizeof(err)),
                     ST_E_INVAL);
    assert_non_null(strstr(t->refused, "refused to connect to localhost: its address "));
    t->free(t);
    usleep(50000); /* the server notices the closed connection */
    assert_true(c.accepted == 1 && c.requests == 2);
    c.keep = 0;
    counter_stop(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_url_resolve),
        cmocka_unit_test(test_url_sibling),
        cmocka_unit_test(test_hf),
        cmocka_unit_test(test_resp),
        cmocka_unit_test(test_cache_reads),
        cmocka_unit_test(test_cache_small_and_empty),
        cmocka_unit_test(test_cache_no_range),
        cmocka_unit_test(test_cache_bad_responses),
        cmocka_unit_test(test_cache_huge_size),
        cmocka_unit_test(test_fetch_retries_and_status),
        cmocka_unit_test(test_fetch_redirects),
        cmocka_unit_test(test_fetch_limits_and_url),
        cmocka_unit_test(test_hub_parse),
        cmocka_unit_test(test_public_api),
        cmocka_unit_test(test_fetch_deadline),
        cmocka_unit_test(test_addr_classify),
        cmocka_unit_test(test_fetch_address_rule),
        cmocka_unit_test(test_check_path_never_fetches),
        cmocka_unit_test(test_http_transport),
        cmocka_unit_test(test_http_address_rule),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
