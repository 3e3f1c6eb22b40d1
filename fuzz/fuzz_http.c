/*
 * fuzz_http.c - response header lines from a hostile server (src/fetch/resp.c): the input is
 * split into lines and fed as curl delivers them; every parsed field is checked against the
 * invariants fetch.c and cache.c rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const st_http_resp *r)
{
    if (r->has_range && (r->last < r->first || (r->total != UINT64_MAX && r->last >= r->total)))
        abort();
    if (r->has_range && r->range_unsat)
        abort();
    if (r->location_len >= sizeof(r->location) || r->next_len >= sizeof(r->next))
        abort();
    if (r->location_len != 0 && strlen(r->location) > r->location_len)
        abort();
    if (r->status != -1 && (r->status < 0 || r->status > 999))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_http_resp r;
    memset(&r, 0, sizeof(r));
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        st_http_header_line(&r, p, n);
        check(&r);
        /* the value alone, as a Content-Range */
        st_http_resp c;
        memset(&c, 0, sizeof(c));
        if (st_http_content_range(p, n, &c) == 0) {
            check(&c);
            if (!c.has_range && !c.range_unsat)
                abort();
        }
        p += n;
    }
    return 0;
}
