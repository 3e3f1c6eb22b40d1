/*
 * fuzz_url.c - URL and hf:// parsing (src/fetch/url.c): the input is a URL, then (after a NUL)
 * a redirect Location resolved against it. Whatever parses must be http(s) without credentials,
 * its display form must hold no query and no '@' before the host, and every resolved redirect
 * is parsed again as fetch.c does. The second part is also a shard's name from a hostile index
 * (st_url_sibling): its URL must stay on the first URL's origin and in its folder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_url(const char *s)
{
    st_url u;
    char shown[ST_URL_MAX];
    st_url_display(s, shown, sizeof(shown));
    if (strchr(shown, '?') != NULL || strchr(shown, '#') != NULL)
        abort();
    if (st_url_parse(s, &u) != 0)
        return;
    if (u.host[0] == '\0' || u.port == 0 || u.port > 65535 || strchr(u.host, '@') != NULL)
        abort();
    if (strncasecmp(s, "http", 4) != 0)
        abort();
}

/* A shard named by an index at base: same origin, base's folder, the name encoded as one path
 * segment of unreserved bytes and escapes. */
static void check_sibling(const char *base, const char *name)
{
    char out[ST_URL_MAX];
    st_url a, b;
    if (st_url_sibling(base, name, out, sizeof(out)) != 0)
        return;
    if (st_url_parse(base, &a) != 0 || st_url_parse(out, &b) != 0 || !st_url_same_origin(&a, &b))
        abort();
    const char *last = strrchr(out, '/');
    if (last == NULL || strncmp(out, base, (size_t)(last - out)) != 0 || last[1] == '\0')
        abort();
    for (const char *p = last + 1; *p; p++)
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%", *p) ==
            NULL)
            abort();
    check_url(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * ST_URL_MAX)
        return 0;
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_url(s);
    size_t first = strlen(s);
    const char *loc = first < size ? s + first + 1 : "";
    char out[ST_URL_MAX];
    if (st_url_resolve(s, loc, strlen(loc), out, sizeof(out)) == 0) {
        if (strlen(out) >= sizeof(out))
            abort();
        check_url(out);
    }
    if (loc[0] != '\0')
        check_sibling(s, loc);
    st_hf_ref h;
    if (st_hf_parse(s, &h) == 0) {
        if (h.owner[0] == '\0' || h.repo[0] == '\0' || h.rev[0] == '\0')
            abort();
        if (h.path[0] != '\0' && !st_hub_path_ok(h.path, strlen(h.path)))
            abort();
        if (st_hf_resolve_url(&h, "http://127.0.0.1:1", h.path, out, sizeof(out)) == 0)
            check_url(out);
        if (st_hf_tree_url(&h, "https://huggingface.co/", out, sizeof(out)) == 0) {
            st_url u;
            if (st_url_parse(out, &u) != 0)
                abort(); /* what stcheck builds, it can request */
        }
    }
    free(s);
    return 0;
}
