/*
 * url.c - the URLs stcheck requests, parsed strictly.
 *
 * Only absolute http and https URLs are requested (libcurl is also told so: CURLOPT_PROTOCOLS_
 * STR). Credentials in a URL (user:pass@host) are refused rather than stripped: they would be
 * sent to every host a redirect names and appear in reports. A URL is printable ASCII; the
 * fragment is never sent. hf:// references follow huggingface_hub's HfFileSystem spelling
 * (hf://[datasets/|spaces/]OWNER/REPO[@REV]/PATH) and resolve like hf_hub_url().
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

/* host[:port] or [v6][:port]; n bytes. */
static int parse_authority(const char *a, size_t n, st_url *u)
{
    size_t h = 0;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL || close == a + 1)
            return -1;
        h = (size_t)(close - a) + 1;
        for (size_t i = 1; i + 1 < h; i++)
            if (!(strchr("0123456789abcdefABCDEF:.", a[i]) != NULL))
                return -1;
    } else
        while (h < n && host_char(a[h]))
            h++;
    if (h == 0 || h >= ST_HOST_MAX)
        return -1;
    for (size_t i = 0; i < h; i++)
        u->host[i] = (a[i] >= 'A' && a[i] <= 'Z') ? (char)(a[i] - 'A' + 'a') : a[i];
    u->host[h] = '\0';
    u->port = u->https ? 443 : 80;
    if (h == n)
        return 0;
    if (a[h] != ':' || h + 1 == n || n - h - 1 > 5)
        return -1;
    unsigned port = 0;
    for (size_t i = h + 1; i < n; i++) {
        if (a[i] < '0' || a[i] > '9')
            return -1;
        port = port * 10 + (unsigned)(a[i] - '0');
    }
    if (port == 0 || port > 65535)
        return -1;
    u->port = port;
    return 0;
}

int st_url_parse(const char *s, st_url *u)
{
    size_t n = strlen(s), skip;
    memset(u, 0, sizeof(*u));
    if (n >= ST_URL_MAX || !printable(s, n))
        return -1;
    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8, u->https = 1;
    else
        return -1;
    const char *a = s + skip;
    size_t alen = strcspn(a, "/?#");
    if (memchr(a, '@', alen) != NULL) /* user:pass@host */
        return -1;
    if (parse_authority(a, alen, u) != 0)
        return -1;
    u->path = a + alen;
    u->path_len = strcspn(u->path, "#");
    return 0;
}

int st_url_same_origin(const st_url *a, const st_url *b)
{
    return a->https == b->https && a->port == b->port && strcmp(a->host, b->host) == 0;
}

static int put(char *out, size_t size, size_t *at, const char *s, size_t n)
{
    if (n >= size - *at)
        return -1;
    memcpy(out + *at, s, n);
    *at += n;
    out[*at] = '\0';
    return 0;
}

static int resolve(const char *base, const char *ref, size_t len, char *out, size_t size)
{
    st_url b;
    size_t at = 0;
    if (size == 0 || len == 0 || st_url_parse(base, &b) != 0 || !printable(ref, len))
        return -1;
    out[0] = '\0';
    size_t scheme = 0; /* an absolute reference: scheme ":" first, before any / ? # */
    while (scheme < len && strchr("/?#:", ref[scheme]) == NULL)
        scheme++;
    if (scheme < len && ref[scheme] == ':' && scheme > 0)
        return put(out, size, &at, ref, len); /* parsed (and its scheme judged) by the caller */
    size_t origin = (size_t)(b.path - base);
    if (len >= 2 && ref[0] == '/' && ref[1] == '/') /* network-path reference */
        return put(out, size, &at, base, (size_t)(strstr(base, "//") - base)) ||
               put(out, size, &at, ref, len);
    if (put(out, size, &at, base, origin) != 0)
        return -1;
    if (ref[0] == '/')
        return put(out, size, &at, ref, len);
    /* relative: the base path up to its last '/' (before any query) */
    size_t plen = strcspn(b.path, "?#");
    const char *slash = NULL;
    for (size_t i = 0; i < plen; i++)
        if (b.path[i] == '/')
            slash = b.path + i;
    if (slash == NULL)
        return put(out, size, &at, "/", 1) || put(out, size, &at, ref, len);
    return put(out, size, &at, b.path, (size_t)(slash - b.path) + 1) ||
           put(out, size, &at, ref, len);
}

int st_url_resolve(const char *base, const char *ref, size_t len, char *out, size_t size)
{
    return resolve(base, ref, len, out, size) != 0 ? -1 : 0;
}

/* Without query, fragment or user:password@ (shown neither in reports nor in messages). */
const char *st_url_display(const char *url, char *out, size_t size)
{
    char tmp[ST_URL_MAX];
    size_t n = strcspn(url, "?#"), at = 0;
    const char *sep = strstr(url, "://");
    if (size == 0)
        return out;
    if (sep != NULL && (size_t)(sep - url) < n) {
        size_t a = (size_t)(sep - url) + 3, alen = strcspn(url + a, "/?#");
        const char *cred = memchr(url + a, '@', alen);
        if (cred != NULL && a < sizeof(tmp)) { /* scheme://, then what follows the '@' */
            memcpy(tmp, url, a);
            at = a;
            n -= (size_t)(cred + 1 - url);
            url = cred + 1;
        }
    }
    if (n > sizeof(tmp) - 1 - at)
        n = sizeof(tmp) - 1 - at;
    memcpy(tmp + at, url, n);
    n += at;
    if (n >= size)
        n = size - 1;
    memcpy(out, tmp, n);
    out[n] = '\0';
    return out;
}

int st_url_is_remote(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0 ||
           strncasecmp(s, "hf://", 5) == 0;
}

/* ---- hf:// ----------------------------------------------------------------------------- */

/* The Hub's repository names: [A-Za-z0-9_.-]{1,96}, not starting with '.' or '-' ("..", ".git"
 * and option-like names are never a repository). */
static int hub_name(const char *s, size_t n, char *out)
{
    if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-')
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!host_char(s[i]))
            return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A branch, tag or commit: [A-Za-z0-9_.-]{1,255}, and no ".." (refs/pr/N is not supported). */
static int hub_rev(const char *s, size_t n, char *out)
{
    if (n == 0 || n > 255 || s[0] == '.' || s[0] == '-')
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!host_char(s[i]) || (s[i] == '.' && i + 1 < n && s[i + 1] == '.'))
            return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int st_hub_path_ok(const char *p, size_t n)
{
    if (n == 0 || n > 1024 || p[0] == '/')
        return 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\'))
            return 0;
        if (i < n && p[i] != '/')
            continue;
        size_t len = i - start;
        if (len == 0 || (len == 1 && p[start] == '.') ||
            (len == 2 && p[start] == '.' && p[start + 1] == '.'))
            return 0;
        start = i + 1;
    }
    return 1;
}

int st_hf_parse(const char *s, st_hf_ref *h)
{
    memset(h, 0, sizeof(*h));
    if (strncasecmp(s, "hf://", 5) != 0)
        return -1;
    s += 5;
    static const char *const kinds[] = {"datasets/", "spaces/", "models/"};
    for (size_t i = 0; i < 3; i++) {
        size_t k = strlen(kinds[i]);
        if (strncmp(s, kinds[i], k) == 0) {
            if (i < 2)
                memcpy(h->kind, kinds[i], k - 1);
            s += k;
            break;
        }
    }
    size_t on = strcspn(s, "/");
    if (s[on] != '/' || hub_name(s, on, h->owner) != 0)
        return -1;
    s += on + 1;
    size_t rn = strcspn(s, "/@");
    if (hub_name(s, rn, h->repo) != 0)
        return -1;
    s += rn;
    memcpy(h->rev, "main", 5);
    if (*s == '@') {
        size_t vn = strcspn(s + 1, "/");
        if (hub_rev(s + 1, vn, h->rev) != 0)
            return -1;
        s += 1 + vn;
    }
    if (*s == '/')
        s++;
    h->path = s;
    size_t pn = strlen(s);
    if (pn > 0 && s[pn - 1] == '/') /* a folder: not a file to check */
        return -1;
    return pn == 0 || st_hub_path_ok(s, pn) ? 0 : -1;
}

const char *st_hf_endpoint(void)
{
    const char *e = getenv("HF_ENDPOINT");
    return e != NULL && e[0] != '\0' ? e : "https://huggingface.co";
}

/* Appends s percent-encoded: RFC 3986 unreserved bytes and (when keep_slash) '/' as they are. */
static int put_encoded(char *out, size_t size, size_t *at, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = host_char((char)c) || c == '~' || (keep_slash && c == '/');
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (plain ? put(out, size, at, (const char *)&c, 1) : put(out, size, at, esc, 3))
            return -1;
    }
    return 0;
}

static int put_endpoint(char *out, size_t size, size_t *at, const char *endpoint)
{
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    return put(out, size, at, endpoint, n);
}

int st_hf_resolve_url(const st_hf_ref *h, const char *endpoint, const char *path, char *out,
                      size_t size)
{
    size_t at = 0;
    if (size == 0)
        return -1;
    out[0] = '\0';
    return put_endpoint(out, size, &at, endpoint) ||
                   (h->kind[0] && (put(out, size, &at, "/", 1) ||
                                   put(out, size, &at, h->kind, strlen(h->kind)))) ||
                   put(out, size, &at, "/", 1) || put_encoded(out, size, &at, h->owner, 0) ||
                   put(out, size, &at, "/", 1) || put_encoded(out, size, &at, h->repo, 0) ||
                   put(out, size, &at, "/resolve/", 9) || put_encoded(out, size, &at, h->rev, 0) ||
                   put(out, size, &at, "/", 1) || put_encoded(out, size, &at, path, 1)
               ? -1
               : 0;
}

int st_hf_tree_url(const st_hf_ref *h, const char *endpoint, char *out, size_t size)
{
    size_t at = 0;
    const char *kind = h->kind[0] ? h->kind : "models";
    static const char tail[] = "?recursive=True&expand=False";
    if (size == 0)
        return -1;
    out[0] = '\0';
    return put_endpoint(out, size, &at, endpoint) || put(out, size, &at, "/api/", 5) ||
                   put(out, size, &at, kind, strlen(kind)) || put(out, size, &at, "/", 1) ||
                   put_encoded(out, size, &at, h->owner, 0) || put(out, size, &at, "/", 1) ||
                   put_encoded(out, size, &at, h->repo, 0) || put(out, size, &at, "/tree/", 6) ||
                   put_encoded(out, size, &at, h->rev, 0) ||
                   put(out, size, &at, tail, sizeof(tail) - 1)
               ? -1
               : 0;
}

int st_url_sibling(const char *base, const char *name, char *out, size_t size)
{
    st_url b, s;
    size_t at = 0, folder = 0;
    if (size == 0 || name[0] == '\0' || st_url_parse(base, &b) != 0)
        return -1;
    out[0] = '\0';
    /* the folder: the path up to its last '/', never into the query (a signed URL's query is
     * its own, not its siblings') */
    for (size_t i = 0; i < b.path_len && b.path[i] != '?'; i++)
        if (b.path[i] == '/')
            folder = i + 1;
    size_t prefix = (size_t)(b.path - base) + folder;
    if (put(out, size, &at, base, prefix) || (folder == 0 && put(out, size, &at, "/", 1)) ||
        put_encoded(out, size, &at, name, 0))
        return -1;
    /* GCOVR_EXCL_BR_START: an encoded name holds no '/', ':', '@' or '?', so the result parses
     * on base's origin (defence only) */
    int ok = st_url_parse(out, &s) == 0 && st_url_same_origin(&b, &s);
    return ok ? 0 : -1;
    /* GCOVR_EXCL_BR_STOP */
}
