/*
 * hub.c - the Hub's tree API listing, read with the strict JSON scanner.
 *
 * GET /api/models/OWNER/REPO/tree/REV?recursive=True&expand=False answers a JSON array of
 * objects such as {"type":"file","oid":"…","size":123,"path":"a/b.safetensors","lfs":{…}} and
 * {"type":"directory",…}; more pages are named by a Link: <…>; rel="next" header
 * (huggingface_hub's list_repo_tree, paginate()). Only "file" entries are checked. A listing is
 * server input like any file: strict JSON (duplicate keys refused), and a path is used only when
 * it is relative with no ".", ".." or empty component, no backslash, control byte or NUL; any
 * other path, and a path listed twice, is a problem item (ST647) that fails the repository.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/escape.h"
#include "../json/json.h"
#include "fetch.h"

static int add(st_hub_list *l, st_hub_entry e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        st_hub_entry *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
            return -1; /* GCOVR_EXCL_LINE: malloc failure */
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = e;
    return 0;
}

/* A refused path: kept escaped (it may hold NUL or control bytes) with why. */
static int add_refused(st_hub_list *l, const char *p, size_t n, const char *why)
{
    char shown[600], msg[800];
    st_escape(p, n, shown, sizeof(shown), 400);
    snprintf(msg, sizeof(msg), "the listing names \"%s\": %s", shown, why);
    st_hub_entry e = {strdup(shown), 0, 1, strdup(msg)};
    if (e.path == NULL || e.message == NULL || add(l, e) != 0) { /* GCOVR_EXCL_BR_LINE: malloc */
        free(e.path);    /* GCOVR_EXCL_LINE: malloc failure */
        free(e.message); /* GCOVR_EXCL_LINE: malloc failure */
        return -1;       /* GCOVR_EXCL_LINE: malloc failure */
    }
    return 0;
}

typedef struct {
    char type[16];
    char *path;
    size_t path_len;
    int nul;
    uint64_t size;
} entry;

static int key_is(const st_json_tok *k, const char *name)
{
    return k->str_len == strlen(name) && memcmp(k->str, name, k->str_len) == 0;
}

/* One field of an entry object; -1 with msg on a value of the wrong type. */
static int field(st_json *j, const st_json_tok *k, entry *e, char *msg, size_t ms)
{
    st_json_tok v;
    int is_type = key_is(k, "type"), is_path = key_is(k, "path"), is_size = key_is(k, "size");
    if (st_json_next(j, &v) != ST_JSON_OK)
        return -1;
    if ((is_type || is_path) && v.type != ST_JT_STRING)
        return snprintf(msg, ms, "an entry's %s is not a string", is_type ? "type" : "path"), -1;
    if (is_size && !(v.type == ST_JT_NUMBER && (v.flags & ST_JSON_F_UINT)))
        return snprintf(msg, ms, "an entry's size is not a non-negative integer"), -1;
    if (is_type) {
        size_t n = v.str_len < sizeof(e->type) - 1 ? v.str_len : sizeof(e->type) - 1;
        memcpy(e->type, v.str, n);
        e->type[n] = '\0';
    } else if (is_path) {
        free(e->path);
        if ((e->path = malloc(v.str_len + 1)) == NULL)     /* GCOVR_EXCL_BR_LINE: malloc */
            return snprintf(msg, ms, "out of memory"), -1; /* GCOVR_EXCL_LINE: malloc */
        memcpy(e->path, v.str, v.str_len);
        e->path[v.str_len] = '\0';
        e->path_len = v.str_len;
        e->nul = (v.flags & ST_JSON_F_NUL) != 0;
    } else if (is_size)
        e->size = v.u64;
    else if (st_json_skip(j, &v) != ST_JSON_OK)
        return -1;
    return 0;
}

/* The fields of one entry (its '{' read); appends a file entry to l. */
static int parse_entry(st_json *j, st_hub_list *l, char *msg, size_t ms)
{
    entry e = {"", NULL, 0, 0, 0};
    st_json_tok k;
    int rc = -1;
    for (;;) {
        if (st_json_next(j, &k) != ST_JSON_OK)
            goto out;
        if (k.type == ST_JT_OBJ_END)
            break;
        if (field(j, &k, &e, msg, ms) != 0)
            goto out;
    }
    rc = 0;
    if (strcmp(e.type, "file") != 0) /* directories: their files are listed too */
        goto out;
    if (e.path == NULL) {
        snprintf(msg, ms, "a file entry without a path");
        rc = -1;
    } else if (e.nul || !st_hub_path_ok(e.path, e.path_len))
        rc = add_refused(l, e.path, e.path_len,
                         "not a relative path of plain names (absolute, an empty, \".\" or \"..\" "
                         "component, a backslash, a control byte or NUL, or over 1024 bytes)");
    else {
        rc = add(l, (st_hub_entry){e.path, e.size, 0, NULL});
        e.path = rc == 0 ? NULL : e.path;
    }
out:
    free(e.path);
    return rc;
}

int st_hub_parse(const unsigned char *buf, size_t len, unsigned max_depth, uint64_t max_entries,
                 st_hub_list *l, char *msg, size_t msg_size)
{
    st_json *j = st_json_new(buf, len, max_depth);
    st_json_tok t;
    int rc = -1;
    msg[0] = '\0';
    if (j == NULL) /* GCOVR_EXCL_BR_LINE: malloc failure (a listing is cut below 2 GiB) */
        return snprintf(msg, msg_size, "out of memory"), -1; /* GCOVR_EXCL_LINE: malloc */
    if (st_json_next(j, &t) != ST_JSON_OK)
        goto out;
    if (t.type != ST_JT_ARR_BEGIN) {
        snprintf(msg, msg_size, "the listing is not a JSON array");
        goto out;
    }
    for (;;) {
        if (st_json_next(j, &t) != ST_JSON_OK)
            goto out;
        if (t.type == ST_JT_ARR_END)
            break;
        if (t.type != ST_JT_OBJ_BEGIN) {
            snprintf(msg, msg_size, "a listing entry is not an object");
            goto out;
        }
        if (parse_entry(j, l, msg, msg_size) != 0)
            goto out;
        if (l->n > max_entries) {
            snprintf(msg, msg_size, "more than %llu files listed (limit tree_entries)",
                     (unsigned long long)max_entries);
            goto out;
        }
    }
    if (st_json_next(j, &t) != ST_JSON_OK)
        goto out;
    rc = 0;
out:
    if (rc != 0 && msg[0] == '\0')
        snprintf(msg, msg_size, "not strict JSON at byte %zu: %s", st_json_error_offset(j),
                 st_json_error_detail(j));
    st_json_free(j);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const st_hub_entry *)a)->path, ((const st_hub_entry *)b)->path);
}

int st_hub_list_finish(st_hub_list *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), by_path);
    for (size_t i = 1; i < l->n; i++) {
        if (l->v[i].refused || strcmp(l->v[i].path, l->v[i - 1].path) != 0)
            continue;
        char msg[1400];
        snprintf(msg, sizeof(msg), "the listing names \"%.1200s\" twice", l->v[i].path);
        char *m = strdup(msg);
        if (m == NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
            return -1; /* GCOVR_EXCL_LINE: malloc failure */
        l->v[i].refused = 1;
        l->v[i].message = m;
    }
    return 0;
}

void st_hub_list_free(st_hub_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].message);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}
