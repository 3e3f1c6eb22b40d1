/*
 * resp.c - the response header lines stcheck acts on, parsed from hostile servers.
 *
 * RFC 9110: a status line "HTTP/x[.y] NNN ...", Content-Range "bytes F-L/T" (or "bytes * /T" on
 * 416), Content-Length digits, Location, and Link's rel="next" (the Hub's pagination). Numbers
 * are exact u64 with overflow refused; a header that appears twice with a different meaning is
 * "bad": two Content-Range headers could let one reader see another range than the next.
 */
#include <string.h>
#include <strings.h>

#include "../core/checked.h"
#include "fetch.h"

static int digits(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    if (n == 0 || n > 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || st_mul_u64(x, 10, &x) ||
            st_add_u64(x, (uint64_t)(s[i] - '0'), &x))
            return -1;
    }
    *v = x;
    return 0;
}

int st_http_content_range(const char *v, size_t n, st_http_resp *r)
{
    if (n < 6 || strncasecmp(v, "bytes ", 6) != 0)
        return -1;
    v += 6, n -= 6;
    const char *slash = memchr(v, '/', n);
    if (slash == NULL)
        return -1;
    size_t rn = (size_t)(slash - v), tn = n - rn - 1;
    uint64_t total = UINT64_MAX;
    if (!(tn == 1 && slash[1] == '*') && digits(slash + 1, tn, &total) != 0)
        return -1;
    if (rn == 1 && v[0] == '*') {
        if (total == UINT64_MAX)
            return -1;
        r->range_unsat = 1;
        r->total = total;
        return 0;
    }
    const char *dash = memchr(v, '-', rn);
    uint64_t first, last;
    if (dash == NULL || digits(v, (size_t)(dash - v), &first) != 0 ||
        digits(dash + 1, rn - (size_t)(dash - v) - 1, &last) != 0 || last < first ||
        (total != UINT64_MAX && last >= total))
        return -1;
    r->has_range = 1;
    r->first = first;
    r->last = last;
    r->total = total;
    return 0;
}

static void status_line(st_http_resp *r, const char *s, size_t n)
{
    memset(r, 0, sizeof(*r));
    r->status = -1; /* malformed until proven otherwise */
    const char *sp = memchr(s, ' ', n);
    if (sp == NULL || (size_t)(s + n - sp) < 4)
        return;
    int code = 0;
    for (int i = 1; i <= 3; i++) {
        if (sp[i] < '0' || sp[i] > '9')
            return;
        code = code * 10 + (sp[i] - '0');
    }
    if ((size_t)(s + n - sp) > 4 && sp[4] != ' ')
        return;
    r->status = code;
}

/* Link: <url>; rel="next" (possibly among other links separated by commas). */
static void link_next(st_http_resp *r, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *lt = memchr(v + i, '<', n - i);
        if (lt == NULL)
            return;
        const char *gt = memchr(lt, '>', (size_t)(v + n - lt));
        if (gt == NULL)
            return;
        const char *end = memchr(gt, ',', (size_t)(v + n - gt));
        size_t plen = end ? (size_t)(end - gt) : (size_t)(v + n - gt);
        size_t ulen = (size_t)(gt - lt - 1);
        int is_next = 0;
        for (size_t k = 0; k + 8 <= plen; k++)
            if ((k + 10 <= plen && strncasecmp(gt + k, "rel=\"next\"", 10) == 0) ||
                strncasecmp(gt + k, "rel=next", 8) == 0)
                is_next = 1;
        if (is_next && ulen > 0 && ulen < sizeof(r->next)) {
            memcpy(r->next, lt + 1, ulen);
            r->next[ulen] = '\0';
            r->next_len = ulen;
            return;
        }
        i = (size_t)(gt - v) + plen;
    }
}

static int header_is(const char *s, size_t n, const char *name, const char **v, size_t *vn)
{
    size_t k = strlen(name);
    if (n <= k || s[k] != ':' || strncasecmp(s, name, k) != 0)
        return 0;
    s += k + 1, n -= k + 1;
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *v = s;
    *vn = n;
    return 1;
}

void st_http_header_line(st_http_resp *r, const char *s, size_t n)
{
    const char *v;
    size_t vn;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    if (n >= 5 && strncmp(s, "HTTP/", 5) == 0) {
        status_line(r, s, n);
        return;
    }
    if (header_is(s, n, "content-range", &v, &vn)) {
        st_http_resp tmp = *r;
        if (r->has_range || r->range_unsat || st_http_content_range(v, vn, &tmp) != 0)
            r->bad = 1;
        else
            *r = tmp;
    } else if (header_is(s, n, "content-length", &v, &vn)) {
        uint64_t len = 0;
        if (digits(v, vn, &len) != 0 || (r->has_length && r->length != len)) {
            r->bad = 1;
            return;
        }
        r->has_length = 1;
        r->length = len;
    } else if (header_is(s, n, "content-encoding", &v, &vn)) {
        if (!(vn == 8 && strncasecmp(v, "identity", 8) == 0))
            r->encoded = 1;
    } else if (header_is(s, n, "location", &v, &vn)) {
        if (vn < sizeof(r->location)) {
            memcpy(r->location, v, vn);
            r->location[vn] = '\0';
            r->location_len = vn;
        } else
            r->location_len = 0, r->bad = 1;
    } else if (header_is(s, n, "link", &v, &vn))
        link_next(r, v, vn);
}
