/*
 * sarif.c - SARIF 2.1.0 as GitHub code scanning reads it (docs/report-sarif.md).
 *
 * One run: tool.driver names every rule (id, titles, help from docs/rules.md, default level);
 * each finding is a result. Model files are binary, and GitHub does not show a result whose
 * only region is a byte range, so the primary location points at line 1 and the exact byte
 * range travels in a related location and in the result's properties.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/escape.h"
#include "../core/hash.h"
#include "doc.h"

#define ST_INFO_URI "https://github.com/stcheck/stcheck"
#define ST_SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

typedef struct {
    cJSON *root;
    cJSON *results;
    cJSON *notes; /* toolExecutionNotifications: files that could not be checked */
    char *cwd;    /* artifact URIs are relative to it */
} sarif_doc;

static const char *level(st_severity s)
{
    return s == ST_SEV_ERROR ? "error" : s == ST_SEV_WARNING ? "warning" : "note";
}

/* A message string under key: st_escape_sarif's form (no input text reads as a placeholder or
 * an embedded link; valid UTF-8 without controls). flags: 0 for anything holding input text;
 * ST_SARIF_LINES and ST_SARIF_MARKDOWN only for our own rule documentation. */
static cJSON *add_message(cJSON *o, const char *key, const char *s, int flags)
{
    char *e = st_escape_sarif(s, flags);
    cJSON *item = e ? cJSON_AddStringToObject(o, key, e) : NULL;
    free(e);
    return item;
}

/* A message object ({"text": ...}). */
static cJSON *text_object(const char *text)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL && add_message(o, "text", text, 0) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* cJSON's Add* return NULL on failure; this folds a chain of them into one test. */
static int put(cJSON *parent, const char *key, cJSON *item)
{
    if (item == NULL)
        return -1;
    if (!cJSON_AddItemToObject(parent, key, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

static cJSON *rule_json(const st_rule *ru)
{
    cJSON *o = cJSON_CreateObject(), *conf = cJSON_CreateObject(), *help = cJSON_CreateObject();
    char anchor[160], *a;
    errno = 0;
    char *doc = st_rule_explain(ru->id); /* NULL: no section in docs/rules.md, or no memory */
    /* doc is NULL without memory, or for a rule without a section in docs/rules.md: every rule
     * has one (test_report's test_rules_documented); the summary stays the fallback */
    int nomem = doc == NULL && errno == ENOMEM;              /* GCOVR_EXCL_BR_LINE: as said */
    const char *help_text = doc != NULL ? doc : ru->summary; /* GCOVR_EXCL_BR_LINE: as said */
    /* GitHub's anchor for "## ST101 file-too-short" is "#st101-file-too-short" */
    snprintf(anchor, sizeof(anchor), "%s/blob/main/docs/rules.md#%s-%s", ST_INFO_URI, ru->id,
             ru->title);
    for (a = strchr(anchor, '#'); *a; a++)
        *a = (char)(*a >= 'A' && *a <= 'Z' ? *a - 'A' + 'a' : *a);
    int bad =
        nomem || o == NULL || conf == NULL || help == NULL || !st_json_text(o, "id", ru->id) ||
        !st_json_text(o, "name", ru->title) || put(o, "shortDescription", text_object(ru->title)) ||
        put(o, "fullDescription", text_object(ru->summary)) ||
        !add_message(help, "text", help_text, ST_SARIF_LINES) ||
        !add_message(help, "markdown", help_text, ST_SARIF_LINES | ST_SARIF_MARKDOWN) ||
        !st_json_text(o, "helpUri", anchor) || !st_json_text(conf, "level", level(ru->severity)) ||
        !cJSON_AddBoolToObject(conf, "enabled", ru->severity != ST_SEV_OFF);
    free(doc);
    if (!bad) {
        bad = put(o, "help", help) | put(o, "defaultConfiguration", conf); /* both consumed */
        help = conf = NULL;
    }
    cJSON_Delete(help);
    cJSON_Delete(conf);
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *driver_json(void)
{
    cJSON *d = cJSON_CreateObject(), *rules = cJSON_CreateArray();
    int bad = d == NULL || rules == NULL || !st_json_text(d, "name", "stcheck") ||
              !st_json_text(d, "version", ST_VERSION_STRING) ||
              !st_json_text(d, "semanticVersion", ST_VERSION_STRING) ||
              !st_json_text(d, "informationUri", ST_INFO_URI);
    for (size_t i = 0; !bad && i < st_rule_count(); i++) {
        cJSON *ru = rule_json(st_rule_at(i));
        /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
        bad = ru == NULL || !cJSON_AddItemToArray(rules, ru);
        /* GCOVR_EXCL_BR_STOP */
        if (bad)
            cJSON_Delete(ru);
    }
    if (bad || put(d, "rules", rules)) {
        cJSON_Delete(d);
        cJSON_Delete(bad ? rules : NULL);
        return NULL;
    }
    return d;
}

static void *sarif_create(void)
{
    sarif_doc *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->cwd = getcwd(NULL, 0); /* NULL (unknown) only loses the relative form */
    s->root = cJSON_CreateObject();
    cJSON *runs = cJSON_CreateArray(), *run = cJSON_CreateObject(), *tool = cJSON_CreateObject();
    s->results = cJSON_CreateArray();
    s->notes = cJSON_CreateArray();
    int bad = s->root == NULL || runs == NULL || run == NULL || tool == NULL ||
              s->results == NULL || s->notes == NULL ||
              !st_json_text(s->root, "$schema", ST_SARIF_SCHEMA) ||
              !st_json_text(s->root, "version", "2.1.0");
    if (!bad) {
        bad = put(tool, "driver", driver_json()) | put(run, "tool", tool);
        tool = NULL;
    }
    if (!bad) {
        cJSON_AddItemToArray(runs, run); /* cannot fail: both exist */
        bad = put(s->root, "runs", runs);
        run = runs = NULL;
    }
    cJSON_Delete(tool);
    cJSON_Delete(run);
    cJSON_Delete(runs);
    if (bad) {
        cJSON_Delete(s->root);
        cJSON_Delete(s->results);
        cJSON_Delete(s->notes);
        free(s->cwd);
        free(s);
        return NULL;
    }
    return s;
}

static void sarif_destroy(void *state)
{
    sarif_doc *s = state;
    cJSON_Delete(s->root);
    cJSON_Delete(s->results);
    cJSON_Delete(s->notes);
    free(s->cwd);
    free(s);
}

/* RFC 3986 unreserved characters and '/' pass; every other byte is percent-encoded. */
static char *uri_encode(const char *prefix, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t pl = strlen(prefix), n = strlen(path);
    char *out = malloc(pl + 3 * n + 1), *o;
    if (out == NULL)
        return NULL;
    memcpy(out, prefix, pl);
    o = out + pl;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/", *p) != NULL) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* The artifact URI: relative to the working directory when the file lies under it (what code
 * scanning resolves against the checkout), else an absolute file: URI. */
static char *artifact_uri(const sarif_doc *s, const char *path)
{
    if (path[0] == '/') {
        size_t cl = s->cwd ? strlen(s->cwd) : 0;
        if (cl > 1 && strncmp(path, s->cwd, cl) == 0 && path[cl] == '/')
            path += cl + 1;
        else
            return uri_encode("file://", path);
    }
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    return uri_encode("", path);
}

static cJSON *location_json(const char *uri, const st_finding *f, int primary)
{
    cJSON *loc = cJSON_CreateObject(), *phys = cJSON_CreateObject();
    cJSON *art = cJSON_CreateObject(), *reg = cJSON_CreateObject();
    int bad =
        loc == NULL || phys == NULL || art == NULL || reg == NULL || !st_json_text(art, "uri", uri);
    if (!bad && primary)
        bad = !cJSON_AddNumberToObject(reg, "startLine", 1);
    else if (!bad)
        bad = !cJSON_AddNumberToObject(loc, "id", 1) ||
              !cJSON_AddNumberToObject(reg, "byteOffset", (double)f->offset) ||
              !cJSON_AddNumberToObject(reg, "byteLength", (double)f->length) ||
              put(loc, "message", text_object("bytes the finding concerns"));
    if (!bad) {
        bad = put(phys, "artifactLocation", art) | put(phys, "region", reg);
        art = reg = NULL;
        bad |= put(loc, "physicalLocation", phys);
        phys = NULL;
    }
    cJSON_Delete(art);
    cJSON_Delete(reg);
    cJSON_Delete(phys);
    if (bad) {
        cJSON_Delete(loc);
        return NULL;
    }
    return loc;
}

static cJSON *one_item_array(cJSON *item)
{
    cJSON *a = cJSON_CreateArray();
    /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
    if (a == NULL || item == NULL || !cJSON_AddItemToArray(a, item)) {
        /* GCOVR_EXCL_BR_STOP */
        cJSON_Delete(a);
        cJSON_Delete(item);
        return NULL;
    }
    return a;
}

/* A fingerprint that survives unrelated edits: FNV-1a over rule id, URI and message. */
static void fingerprint(const char *id, const char *uri, const char *msg, char out[17])
{
    uint64_t h = ST_FNV1A64_INIT;
    const char *parts[] = {id, uri, msg};
    for (size_t k = 0; k < 3; k++) /* each part's terminating NUL separates it from the next */
        h = st_fnv1a64(h, parts[k], strlen(parts[k]) + 1);
    for (int i = 15; i >= 0; i--, h >>= 4)
        out[i] = "0123456789abcdef"[h & 15];
    out[16] = '\0';
}

static long rule_index(const char *id)
{
    for (size_t i = 0; i < st_rule_count(); i++)
        if (strcmp(st_rule_at(i)->id, id) == 0)
            return (long)i;
    return -1;
}

/* A result's file as the other reports name it: its format (the policy's name), kind, wrapper. */
static int put_file_kind(cJSON *props, const st_report *r)
{
    return !st_json_text(props, "format", r->format) ||
           !st_json_text(props, "kind", st_report_kind(r)) ||
           (r->wrapper ? !st_json_text(props, "wrapper", r->wrapper)
                       : !cJSON_AddNullToObject(props, "wrapper"));
}

static cJSON *result_json(const char *uri, const st_report *r, const st_finding *f)
{
    char fp[17];
    fingerprint(f->id, uri, f->message, fp);
    cJSON *o = cJSON_CreateObject(), *fps = cJSON_CreateObject(), *props = cJSON_CreateObject();
    int bad = o == NULL || fps == NULL || props == NULL || !st_json_text(o, "ruleId", f->id) ||
              !cJSON_AddNumberToObject(o, "ruleIndex", (double)rule_index(f->id)) ||
              !st_json_text(o, "level", level(f->severity)) ||
              put(o, "message", text_object(f->message)) ||
              put(o, "locations", one_item_array(location_json(uri, f, 1))) ||
              put(o, "relatedLocations", one_item_array(location_json(uri, f, 0))) ||
              !st_json_text(fps, "stcheckFinding/v1", fp) ||
              !cJSON_AddNumberToObject(props, "byteOffset", (double)f->offset) ||
              !cJSON_AddNumberToObject(props, "byteLength", (double)f->length) ||
              !st_json_text(props, "severity", st_severity_name(f->severity)) ||
              put_file_kind(props, r);
    if (!bad) {
        bad = put(o, "partialFingerprints", fps) | put(o, "properties", props);
        fps = props = NULL;
    }
    cJSON_Delete(fps);
    cJSON_Delete(props);
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A file that could not be checked is a tool execution notification as well as its findings:
 * code scanning then shows that the run was incomplete. */
static int add_note(sarif_doc *s, const st_report *r, const char *uri)
{
    /* the whole path: a fixed buffer would cut it inside a UTF-8 sequence */
    static const char lead[] = "could not check ";
    const char *why = st_error_name(r->err);
    size_t pl = strlen(r->path), wl = strlen(why);
    char *text = malloc(sizeof(lead) + pl + 2 + wl);
    if (text == NULL)
        return -1;
    memcpy(text, lead, sizeof(lead) - 1);
    memcpy(text + sizeof(lead) - 1, r->path, pl);
    memcpy(text + sizeof(lead) - 1 + pl, ": ", 2);
    memcpy(text + sizeof(lead) + 1 + pl, why, wl + 1);
    cJSON *n = cJSON_CreateObject(), *loc = cJSON_CreateObject(), *phys = cJSON_CreateObject();
    cJSON *art = cJSON_CreateObject();
    int bad = n == NULL || loc == NULL || phys == NULL || art == NULL ||
              !st_json_text(n, "level", "error") || put(n, "message", text_object(text)) ||
              !st_json_text(art, "uri", uri);
    free(text);
    if (!bad) {
        bad = put(phys, "artifactLocation", art) | put(loc, "physicalLocation", phys) |
              put(n, "locations", one_item_array(loc));
        art = phys = loc = NULL;
        /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
        bad = bad || !cJSON_AddItemToArray(s->notes, n);
        /* GCOVR_EXCL_BR_STOP */
    }
    cJSON_Delete(art);
    cJSON_Delete(phys);
    cJSON_Delete(loc);
    if (bad)
        cJSON_Delete(n);
    return bad ? -1 : 0;
}

static int sarif_add(void *state, const st_report *r)
{
    sarif_doc *s = state;
    char *uri = artifact_uri(s, r->path);
    int bad = uri == NULL;
    for (size_t i = 0; !bad && i < r->n_findings; i++) {
        cJSON *res = result_json(uri, r, &r->findings[i]);
        /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
        bad = res == NULL || !cJSON_AddItemToArray(s->results, res);
        /* GCOVR_EXCL_BR_STOP */
        if (bad)
            cJSON_Delete(res);
    }
    if (!bad && st_report_verdict(r) == ST_VERDICT_ERROR)
        bad = add_note(s, r, uri);
    free(uri);
    return bad ? -1 : 0;
}

static int sarif_finish(sarif_doc *s)
{
    cJSON *run = cJSON_GetArrayItem(cJSON_GetObjectItem(s->root, "runs"), 0);
    cJSON *inv = cJSON_CreateObject();
    /* GCOVR_EXCL_BR_START: the root always holds runs[0] (sarif_create) */
    int bad = run == NULL || inv == NULL ||
              /* GCOVR_EXCL_BR_STOP */
              !cJSON_AddBoolToObject(inv, "executionSuccessful", cJSON_GetArraySize(s->notes) == 0);
    if (!bad) {
        /* each put consumes its item, so all three run whatever the others did */
        bad = put(inv, "toolExecutionNotifications", s->notes) |
              put(run, "invocations", one_item_array(inv)) | put(run, "results", s->results);
        s->notes = s->results = inv = NULL;
    }
    cJSON_Delete(inv);
    return bad ? -1 : 0;
}

static int sarif_write(void *state, FILE *out)
{
    sarif_doc *s = state;
    if (s->results == NULL || sarif_finish(s) != 0)
        return -1;
    char *text = cJSON_Print(s->root);
    if (text == NULL)
        return -1;
    int rc = fputs(text, out) < 0 || fputc('\n', out) == EOF ? -1 : 0;
    cJSON_free(text);
    return rc;
}

const st_doc_ops st_doc_sarif_ops = {sarif_create, sarif_add, sarif_write, sarif_destroy};
