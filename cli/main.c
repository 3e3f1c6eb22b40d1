/*
 * main.c - the stcheck command: a thin shell over include/stcheck.h.
 *
 * The option table below is the single source for getopt_long and for --help; a test compares
 * it with the man page. Exit codes: 0 every file passed, 1 findings, 2 could not check (wins
 * over 1), 3 usage error.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "convert_cmd.h"
#include "stcheck.h"

/* Paths, folder names and loader messages come from strangers: shown escaped (never a raw
 * control byte, so no forged line or terminal escape). A buffer per use, so one printf can
 * show two. */
#define SHOWN(s) st_escape_display((s), (char[4096]){0}, 4096)

enum { EXIT_PASS = 0, EXIT_FINDINGS = 1, EXIT_NOCHECK = 2, EXIT_USAGE = 3 };
enum {
    OPT_LIST_RULES = 256,
    OPT_POLICY,
    OPT_CHECK_POLICY,
    OPT_PRINT_POLICY,
    OPT_FAIL_ON,
    OPT_EXPLAIN,
    OPT_COLOR,
    OPT_FILES_FROM,
    OPT_JSON_OUTPUT,
    OPT_SARIF_OUTPUT,
    OPT_JUNIT_OUTPUT,
    OPT_DIGEST,
    OPT_DEEP,
    OPT_EXPECT,
    OPT_MAX_FETCH,
    OPT_HEADER,
    OPT_CACERT,
    OPT_TIMEOUT,
    OPT_FETCH_TIMEOUT,
    OPT_NO_PRIVATE_ADDRESSES
};
enum { MAX_JOBS = 256 };

typedef struct {
    const char *name;
    int has_arg;
    int val;
    const char *arg;
    const char *help;
} cli_option;

static const cli_option options[] = {
    {"strict", no_argument, 's', NULL, "warnings fail a file too"},
    {"format", required_argument, 'f', "FMT",
     "standard output: text (default), json, jsonl (a line per file), sarif or junit"},
    {"json-output", required_argument, OPT_JSON_OUTPUT, "FILE",
     "also write the JSON document to FILE (whatever --format says)"},
    {"sarif-output", required_argument, OPT_SARIF_OUTPUT, "FILE",
     "also write SARIF 2.1.0 (code scanning) to FILE"},
    {"junit-output", required_argument, OPT_JUNIT_OUTPUT, "FILE",
     "also write JUnit XML (CI test report) to FILE"},
    {"recursive", no_argument, 'r', NULL,
     "check folders: every file below them, links resolved but not followed"},
    {"digest", no_argument, OPT_DIGEST, NULL,
     "print each file's SHA-256 (of the very bytes checked)"},
    {"expect", required_argument, OPT_EXPECT, "FILE",
     "fail files whose SHA-256 differs from, or is missing in, a sha256sum manifest"},
    {"deep", no_argument, OPT_DEEP, NULL,
     "read every safetensors tensor: report NaN and Inf values"},
    {"jobs", required_argument, 'j', "N",
     "check N files at once (default: number of cores); output keeps input order"},
    {"max-fetch", required_argument, OPT_MAX_FETCH, "BYTES",
     "URLs: download at most BYTES per file (K, M, G suffixes; default 256M), else could not "
     "check"},
    {"header", required_argument, OPT_HEADER, "LINE",
     "URLs: send the header 'Name: value' (repeatable), only to the URL's own host"},
    {"cacert", required_argument, OPT_CACERT, "FILE",
     "URLs: also trust the CA certificates in FILE"},
    {"timeout", required_argument, OPT_TIMEOUT, "SECONDS",
     "URLs: connect timeout, and drop transfers slower than 1 KiB/s that long (default 30)"},
    {"fetch-timeout", required_argument, OPT_FETCH_TIMEOUT, "SECONDS",
     "URLs: a file's whole check may take SECONDS (default 300), else could not check"},
    {"no-private-addresses", no_argument, OPT_NO_PRIVATE_ADDRESSES, NULL,
     "URLs: never connect to a loopback, private or link-local address, even the first"},
    {"files-from", required_argument, OPT_FILES_FROM, "FILE",
     "also check the paths listed in FILE, one per line (- for standard input)"},
    {"null", no_argument, '0', NULL, "with --files-from: paths are separated by NUL bytes"},
    {"policy", required_argument, OPT_POLICY, "FILE",
     "apply a policy over the built-in one: a JSON file, or a shipped policy by name (strict, "
     "registry, permissive)"},
    {"fail-on", required_argument, OPT_FAIL_ON, "SEV",
     "lowest severity that fails a file: info, warning, error, none"},
    {"check-policy", required_argument, OPT_CHECK_POLICY, "FILE",
     "validate a policy file and exit (0 valid, 3 invalid)"},
    {"print-policy", no_argument, OPT_PRINT_POLICY, NULL,
     "print the effective policy as JSON and exit"},
    {"list-rules", no_argument, OPT_LIST_RULES, NULL,
     "list every finding id with its severity and summary"},
    {"explain", required_argument, OPT_EXPLAIN, "ID", "print a finding id's documentation"},
    {"quiet", no_argument, 'q', NULL, "text output: print only files that do not pass"},
    {"color", required_argument, OPT_COLOR, "WHEN",
     "colour text output: auto (default), always, never"},
    {"version", no_argument, 'V', NULL, "print the version and exit"},
    {"help", no_argument, 'h', NULL, "print this help and exit"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* Documents: the one on standard output (--format json|sarif|junit) and the --*-output files. */
enum { SINK_STDOUT, SINK_JSON, SINK_SARIF, SINK_JUNIT, N_SINKS };

typedef struct {
    int strict;
    int text;
    int jsonl;
    int doc_format; /* st_doc_format on standard output, when !text && !jsonl */
    int quiet;
    int color;
    int null_sep;
    int recursive;
    int digest;
    int deep;
    const char *expect;
    const char *files_from;
    const char *sink_path[N_SINKS]; /* NULL: not asked for; [SINK_STDOUT] is unused */
    int print_policy;
    int jobs;
    const char *fail_on;
    const char *policy;
    /* URLs (docs/remote.md) */
    const char *max_fetch, *cacert, *timeout, *fetch_timeout;
    int no_private_addresses;
    char **headers;
    size_t n_headers;
} cli_config;

static int set_format(cli_config *cfg, const char *name)
{
    static const struct {
        const char *name;
        int text, jsonl, doc;
    } formats[] = {{"text", 1, 0, 0},
                   {"jsonl", 0, 1, 0},
                   {"json", 0, 0, ST_DOC_JSON},
                   {"sarif", 0, 0, ST_DOC_SARIF},
                   {"junit", 0, 0, ST_DOC_JUNIT}};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(name, formats[i].name) == 0) {
            cfg->text = formats[i].text;
            cfg->jsonl = formats[i].jsonl;
            cfg->doc_format = formats[i].doc;
            return 0;
        }
    return -1;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: stcheck [OPTIONS] FILE...\n"
                 "Check model files without executing anything in them.\n\nOptions:\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        char left[64];
        const cli_option *o = &options[i];
        if (o->val < 256)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->val, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        fprintf(out, "  %-24s %s\n", left, o->help);
    }
    fprintf(out, "\nExit status:\n"
                 "  0  every file passed\n"
                 "  1  at least one file failed on findings\n"
                 "  2  at least one file could not be checked (wins over 1)\n"
                 "  3  usage error\n");
}

static int by_id(const void *a, const void *b)
{
    return strcmp((*(const st_rule *const *)a)->id, (*(const st_rule *const *)b)->id);
}

/* In id order (rules.def groups ids by theme, and a later id may sit beside an older one). */
static int list_rules(void)
{
    size_t n = st_rule_count();
    const st_rule **v = malloc((n ? n : 1) * sizeof(*v));
    if (v == NULL)
        return EXIT_NOCHECK;
    for (size_t i = 0; i < n; i++)
        v[i] = st_rule_at(i);
    qsort(v, n, sizeof(*v), by_id);
    for (size_t i = 0; i < n; i++)
        printf("%s  %-7s  %-28s %s\n", v[i]->id, st_severity_name(v[i]->severity), v[i]->title,
               v[i]->summary);
    free(v);
    return EXIT_PASS;
}

/* Optimal string alignment distance, case-insensitive, for "did you mean" (short strings). */
static size_t distance(const char *a, const char *b)
{
    enum { MAXLEN = 48 };
    size_t la = strlen(a), lb = strlen(b), d[MAXLEN + 1][MAXLEN + 1];
    if (la > MAXLEN || lb > MAXLEN)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        for (size_t j = 0; j <= lb; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = i + j;
                continue;
            }
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + cost;
            best = d[i - 1][j] + 1 < best ? d[i - 1][j] + 1 : best;
            best = d[i][j - 1] + 1 < best ? d[i][j - 1] + 1 : best;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* Close enough to be a typo: at most a third of the word, and at least 1 edit allowed. */
static int near(size_t dist, const char *word)
{
    size_t len = strlen(word);
    return dist <= (len >= 6 ? len / 3 : 1);
}

/* --explain takes an id in any case (st101) or a rule name as --list-rules shows it. */
static int explain(const char *arg)
{
    const st_rule *hit = NULL, *close = NULL;
    size_t best = SIZE_MAX;
    for (size_t i = 0; hit == NULL && i < st_rule_count(); i++) {
        const st_rule *r = st_rule_at(i);
        if (strcasecmp(r->id, arg) == 0 || strcasecmp(r->title, arg) == 0)
            hit = r;
        size_t dt = distance(arg, r->title);
        if (dt < best)
            best = dt, close = r;
    }
    char *doc = st_rule_explain(hit ? hit->id : arg);
    if (doc == NULL) {
        fprintf(stderr, "stcheck: --explain: no finding id or rule name '%s'", SHOWN(arg));
        if (close != NULL && near(best, close->title))
            fprintf(stderr, "; did you mean %s (%s)?", close->id, close->title);
        fprintf(stderr, " (stcheck --list-rules lists them)\n");
        return EXIT_USAGE;
    }
    fputs(doc, stdout);
    free(doc);
    return EXIT_PASS;
}

/* One line for a mistyped option: the closest option, or that an abbreviation is ambiguous
 * (getopt_long's own messages name argv[0]'s full path, and the whole help followed). */
static int bad_option(const char *arg, int optopt_c)
{
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
        fprintf(stderr, "stcheck: unknown option '-%c' (stcheck --help lists the options)\n",
                optopt_c > 32 && optopt_c < 127 ? optopt_c : '?');
        return EXIT_USAGE;
    }
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
    size_t len = strlen(name), best = SIZE_MAX, prefixed = 0;
    const cli_option *close = NULL;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strcmp(options[i].name, name) == 0) {
            fprintf(stderr, "stcheck: option '--%s' takes no argument\n", options[i].name);
            return EXIT_USAGE;
        }
        prefixed += strncmp(options[i].name, name, len) == 0;
        size_t dt = distance(name, options[i].name);
        if (dt < best)
            best = dt, close = &options[i];
    }
    if (prefixed > 1) {
        fprintf(stderr, "stcheck: option '--%s' is ambiguous; it could be", SHOWN(name));
        for (size_t i = 0; i < N_OPTIONS; i++)
            if (strncmp(options[i].name, name, len) == 0)
                fprintf(stderr, " --%s", options[i].name);
        fprintf(stderr, "\n");
    } else if (close != NULL && near(best, close->name))
        fprintf(stderr, "stcheck: unknown option '--%s'; did you mean '--%s'?\n", SHOWN(name),
                close->name);
    else
        fprintf(stderr, "stcheck: unknown option '--%s' (stcheck --help lists the options)\n",
                SHOWN(name));
    return EXIT_USAGE;
}

static int exit_for(st_verdict v)
{
    return v == ST_VERDICT_ERROR ? EXIT_NOCHECK : v == ST_VERDICT_FAIL ? EXIT_FINDINGS : EXIT_PASS;
}

static int worse(int a, int b)
{
    return a > b ? a : b;
}

typedef struct {
    const cli_config *cfg;
    st_doc *docs[N_SINKS];
    int code;
    size_t files, passed, failed, errors;
    size_t repo[3]; /* the current -r walk: passed, failed, could not check */
} emitter;

/* Writes one report (text now, or into the JSON document) and folds in its exit code. */
/* A checked file, rendered: what goes to standard output (text or JSON Lines) is written to
 * memory by whichever thread checked the file, so the thread that keeps input order only copies
 * bytes. The report itself is kept only when a document (JSON, SARIF, JUnit) needs it. */
typedef struct {
    st_report *r; /* NULL once rendered, unless a document needs it */
    char *out;
    size_t len;
    st_verdict v;
    int failed; /* out of memory, or a rendering error */
} result;

static result render(const cli_config *cfg, int keep, st_report *r)
{
    result res = {NULL, NULL, 0, ST_VERDICT_ERROR, r == NULL};
    if (r == NULL)
        return res;
    res.v = st_report_verdict(r);
    int quiet = cfg->quiet && res.v == ST_VERDICT_PASS;
    if (cfg->jsonl || (cfg->text && !quiet)) {
        FILE *f = open_memstream(&res.out, &res.len);
        res.failed = f == NULL || (cfg->jsonl ? st_write_jsonl(f, r)
                                              : st_write_text_color(f, r, cfg->color)) != 0;
        if (f != NULL && fclose(f) != 0)
            res.failed = 1;
    }
    if (keep)
        res.r = r;
    else
        st_report_free(r);
    return res;
}

/* One thing to check: a path or URL as given, or an entry of a folder or Hub walk (-r). */
typedef struct {
    const char *path;
    const st_tree *tree;
    size_t index;
    int last_of_tree;  /* the walk's last entry: its repository verdict follows */
    const st_hub *hub; /* -r hf://OWNER/REPO: entry index of this listing */
    int url;           /* path is a URL: only st_check_url fetches */
} item;

/* Text output: after a walk's last file, the repository's verdict (the worst of its files). */
static void emit_repo(emitter *em, const item *it, st_verdict v)
{
    if (it->tree == NULL && it->hub == NULL)
        return;
    em->repo[v]++;
    if (!it->last_of_tree)
        return;
    size_t n = em->repo[0] + em->repo[1] + em->repo[2];
    st_verdict rv = em->repo[2]   ? ST_VERDICT_ERROR
                    : em->repo[1] ? ST_VERDICT_FAIL
                                  : ST_VERDICT_PASS;
    if (em->cfg->text && !(em->cfg->quiet && rv == ST_VERDICT_PASS))
        printf("%s: REPOSITORY %s (%zu file%s: %zu passed, %zu failed, %zu could not check)\n",
               SHOWN(it->path),
               rv == ST_VERDICT_PASS   ? "PASS"
               : rv == ST_VERDICT_FAIL ? "FAIL"
                                       : "COULD NOT CHECK",
               n, n == 1 ? "" : "s", em->repo[0], em->repo[1], em->repo[2]);
    memset(em->repo, 0, sizeof(em->repo));
}

/* Writes one result (and adds its report to the documents) and folds in its exit code. */
static void emit(emitter *em, result *res, const item *it)
{
    if (res->failed && res->r == NULL && res->out == NULL) {
        fprintf(stderr, "stcheck: out of memory checking %s\n", SHOWN(it->path));
        em->code = EXIT_NOCHECK;
        emit_repo(em, it, ST_VERDICT_ERROR);
        return;
    }
    st_verdict v = res->v;
    em->code = worse(em->code, exit_for(v));
    em->files++;
    em->passed += v == ST_VERDICT_PASS;
    em->failed += v == ST_VERDICT_FAIL;
    em->errors += v == ST_VERDICT_ERROR;
    for (int k = 0; res->r != NULL && k < N_SINKS; k++)
        if (em->docs[k] != NULL && st_doc_add(em->docs[k], res->r) != 0)
            em->code = EXIT_NOCHECK;
    if (res->failed || (res->len > 0 && fwrite(res->out, 1, res->len, stdout) != res->len))
        em->code = EXIT_NOCHECK;
    free(res->out);
    st_report_free(res->r);
    emit_repo(em, it, v);
}

static int needs_reports(const emitter *em)
{
    for (int k = 0; k < N_SINKS; k++)
        if (em->docs[k] != NULL)
            return 1;
    return 0;
}

static st_report *check_item(st_ctx *ctx, const item *it)
{
    if (it->hub != NULL)
        return st_hub_check(ctx, it->hub, it->index);
    if (it->url)
        return st_check_url(ctx, it->path);
    return it->tree ? st_tree_check(ctx, it->tree, it->index) : st_check_path(ctx, it->path);
}

/* A pool of workers that check files in chunks of consecutive indexes; the main thread emits
 * reports strictly in input order, so -jN output is identical to -j1. Files are handed out and
 * signalled a chunk at a time (a small file takes microseconds: per-file hand-offs would cost
 * more than the checks). Workers stay within a window of chunks ahead of the output, so memory
 * does not grow with the number of files. */
enum { CHUNK = 128 };

typedef struct {
    st_ctx *ctx;
    const cli_config *cfg;
    int keep; /* documents need the reports */
    const item *files;
    int n, nchunks, next, emitted, window;
    result *slots;
    unsigned char *done; /* per chunk */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} pool;

/* Checks and renders chunk c, then marks it done (called without the lock held). */
static void run_chunk(pool *p, int c)
{
    int end = (c + 1) * CHUNK < p->n ? (c + 1) * CHUNK : p->n;
    for (int i = c * CHUNK; i < end; i++)
        p->slots[i] = render(p->cfg, p->keep, check_item(p->ctx, &p->files[i]));
    pthread_mutex_lock(&p->mu);
    p->done[c] = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->next < p->nchunks && p->next >= p->emitted + p->window)
            pthread_cond_wait(&p->cv, &p->mu);
        int c = p->next < p->nchunks ? p->next++ : -1;
        pthread_mutex_unlock(&p->mu);
        if (c < 0)
            return NULL;
        run_chunk(p, c);
    }
}

static void run_parallel(emitter *em, st_ctx *ctx, const item *files, int n, int jobs)
{
    int nchunks = (n + CHUNK - 1) / CHUNK;
    pool p = {ctx,
              em->cfg,
              needs_reports(em),
              files,
              n,
              nchunks,
              0,
              0,
              2 * jobs,
              calloc((size_t)n, sizeof(result)),
              calloc((size_t)nchunks, 1),
              PTHREAD_MUTEX_INITIALIZER,
              PTHREAD_COND_INITIALIZER};
    pthread_t tid[MAX_JOBS];
    int started = 0;
    if (p.slots != NULL && p.done != NULL)
        for (; started < jobs; started++)
            if (pthread_create(&tid[started], NULL, worker, &p) != 0)
                break;
    if (started == 0) { /* no threads: check in this one */
        for (int i = 0; i < n; i++) {
            result res = render(em->cfg, needs_reports(em), check_item(ctx, &files[i]));
            emit(em, &res, &files[i]);
        }
    } else {
        for (int c = 0; c < nchunks; c++) {
            pthread_mutex_lock(&p.mu);
            while (!p.done[c])
                pthread_cond_wait(&p.cv, &p.mu);
            pthread_mutex_unlock(&p.mu);
            int end = (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n;
            for (int i = c * CHUNK; i < end; i++)
                emit(em, &p.slots[i], &files[i]);
            pthread_mutex_lock(&p.mu);
            p.emitted = c + 1;
            pthread_cond_broadcast(&p.cv);
            pthread_mutex_unlock(&p.mu);
        }
        for (int t = 0; t < started; t++)
            pthread_join(tid[t], NULL);
    }
    free(p.slots);
    free(p.done);
}

/* Paths from the command line, then from --files-from (lines, or NUL-separated with -0). */
typedef struct {
    char **v;
    size_t n, cap;
    char *owned; /* the listing's bytes, which the read paths point into */
} path_list;

/* Room for one more element in a growable array (doubling); 0, or -1 when out of memory. */
static int grow(void *v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? 2 * *cap : 64;
    void *q = ncap > SIZE_MAX / 2 / elem ? NULL : realloc(*(void **)v, ncap * elem);
    if (q == NULL)
        return -1;
    *(void **)v = q;
    *cap = ncap;
    return 0;
}

static int add_path(path_list *l, char *p)
{
    if (grow(&l->v, &l->cap, l->n, sizeof(*l->v)) != 0)
        return -1;
    l->v[l->n++] = p;
    return 0;
}

static int read_listing(path_list *l, const char *from, int null_sep)
{
    FILE *f = strcmp(from, "-") == 0 ? stdin : fopen(from, "rb");
    size_t len = 0, cap = 0;
    if (f == NULL) {
        fprintf(stderr, "stcheck: cannot open %s\n", SHOWN(from));
        return EXIT_USAGE;
    }
    for (;;) { /* read it all: a listing is small next to the files it names */
        if (len == cap) {
            char *q = realloc(l->owned, cap = cap ? cap * 2 : 65536);
            if (q == NULL)
                return EXIT_NOCHECK;
            l->owned = q;
        }
        size_t got = fread(l->owned + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    if (f != stdin)
        fclose(f);
    char *q = realloc(l->owned, len + 1);
    if (q == NULL)
        return EXIT_NOCHECK;
    l->owned = q;
    l->owned[len] = null_sep ? '\0' : '\n';
    for (size_t i = 0, start = 0; i <= len; i++) {
        char c = l->owned[i];
        if (c != (null_sep ? '\0' : '\n'))
            continue;
        l->owned[i] = '\0';
        if (i > start && add_path(l, l->owned + start) != 0)
            return EXIT_NOCHECK;
        start = i + 1;
    }
    return 0;
}

static void free_docs(emitter *em)
{
    for (int k = 0; k < N_SINKS; k++)
        st_doc_free(em->docs[k]);
}

/* Writes each document: to standard output, or to its file (a failure is "could not check":
 * a gate must not pass on a report nobody can read). */
static void write_docs(emitter *em)
{
    for (int k = 0; k < N_SINKS; k++) {
        if (em->docs[k] == NULL)
            continue;
        const char *path = em->cfg->sink_path[k];
        FILE *f = k == SINK_STDOUT ? stdout : fopen(path, "w");
        int bad = f == NULL || st_doc_write(em->docs[k], f) != 0;
        if (f != NULL && f != stdout)
            bad |= fclose(f) != 0;
        if (bad) {
            fprintf(stderr, "stcheck: cannot write %s\n",
                    k == SINK_STDOUT ? "output" : SHOWN(path));
            em->code = EXIT_NOCHECK;
        }
    }
}

/* Checks every file; returns the exit code. t0: when listing began (-r walks are timed too). */
static int run(const cli_config *cfg, st_ctx *ctx, const item *files, int n, struct timespec t0)
{
    struct timespec t1;
    emitter em = {.cfg = cfg, .code = EXIT_PASS};
    static const st_doc_format kinds[N_SINKS] = {0, ST_DOC_JSON, ST_DOC_SARIF, ST_DOC_JUNIT};
    for (int k = 0; k < N_SINKS; k++) {
        int wanted = k == SINK_STDOUT ? !cfg->text && !cfg->jsonl : cfg->sink_path[k] != NULL;
        if (!wanted)
            continue;
        em.docs[k] = st_doc_new(k == SINK_STDOUT ? (st_doc_format)cfg->doc_format : kinds[k]);
        if (em.docs[k] == NULL) {
            fprintf(stderr, "stcheck: out of memory\n");
            free_docs(&em);
            return EXIT_NOCHECK;
        }
    }
    if (cfg->jobs <= 1 || n <= 1)
        for (int i = 0; i < n; i++) {
            result res = render(cfg, needs_reports(&em), check_item(ctx, &files[i]));
            emit(&em, &res, &files[i]);
        }
    else
        run_parallel(&em, ctx, files, n, cfg->jobs < n ? cfg->jobs : n);
    write_docs(&em);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "stcheck: cannot write output\n");
        em.code = EXIT_NOCHECK;
    }
    free_docs(&em);
    if (cfg->text) { /* on stderr: stdout stays identical whatever -j */
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr,
                "stcheck: %zu file%s: %zu passed, %zu failed, %zu could not check (%.2f s)\n",
                em.files, em.files == 1 ? "" : "s", em.passed, em.failed, em.errors, secs);
    }
    return em.code;
}

/* The items to check: each path, and with -r each folder's entries in walk order. */
typedef struct {
    item *v;
    size_t n, cap;
    st_tree **trees;
    size_t n_trees;
    st_hub **hubs;
    size_t n_hubs;
} item_list;

static int add_item(item_list *l, item it)
{
    if (grow(&l->v, &l->cap, l->n, sizeof(*l->v)) != 0)
        return -1;
    l->v[l->n++] = it;
    return 0;
}

static int add_tree(item_list *l, st_ctx *ctx, const char *root)
{
    st_tree **q = realloc(l->trees, (l->n_trees + 1) * sizeof(*q));
    if (q == NULL)
        return -1;
    l->trees = q;
    st_tree *t = st_tree_open(ctx, root);
    if (t == NULL)
        return -1;
    l->trees[l->n_trees++] = t;
    for (size_t i = 0; i < st_tree_count(t); i++)
        if (add_item(l, (item){root, t, i, i + 1 == st_tree_count(t), NULL, 0}) != 0)
            return -1;
    return 0;
}

/* A URL to fetch rather than a path: http://, https:// or hf:// (a local file of that name is
 * still reachable as ./http://...). */
static int st_url_is_remote_arg(const char *arg)
{
    return strncasecmp(arg, "http://", 7) == 0 || strncasecmp(arg, "https://", 8) == 0 ||
           strncasecmp(arg, "hf://", 5) == 0;
}

/* -r hf://[datasets/|spaces/]OWNER/REPO[@REV]: a reference with no file path after the repo. */
static int is_hub_repo(const char *arg)
{
    if (strncasecmp(arg, "hf://", 5) != 0)
        return 0;
    arg += 5;
    if (strncmp(arg, "datasets/", 9) == 0 || strncmp(arg, "spaces/", 7) == 0)
        arg += arg[0] == 'd' ? 9 : 7;
    const char *slash = strchr(arg, '/');
    return slash != NULL && strchr(slash + 1, '/') == NULL;
}

static int add_hub(item_list *l, st_ctx *ctx, const char *ref)
{
    st_hub **q = realloc(l->hubs, (l->n_hubs + 1) * sizeof(*q));
    if (q == NULL)
        return -1;
    l->hubs = q;
    st_hub *h = st_hub_open(ctx, ref);
    if (h == NULL)
        return -1;
    l->hubs[l->n_hubs++] = h;
    for (size_t i = 0; i < st_hub_count(h); i++)
        if (add_item(l, (item){ref, NULL, i, i + 1 == st_hub_count(h), h, 1}) != 0)
            return -1;
    return 0;
}

/* A URL argument: walked (-r hf://OWNER/REPO) or checked through range requests. */
static int add_url(const cli_config *cfg, item_list *l, st_ctx *ctx, const char *arg)
{
    if (!st_remote_supported()) {
        fprintf(stderr,
                "stcheck: %s: this stcheck was built without remote support (STCHECK_REMOTE=OFF): "
                "URLs cannot be checked\n",
                SHOWN(arg));
        return EXIT_USAGE;
    }
    if (cfg->recursive && is_hub_repo(arg))
        return add_hub(l, ctx, arg) != 0 ? EXIT_NOCHECK : 0;
    return add_item(l, (item){arg, NULL, 0, 0, NULL, 1}) != 0 ? EXIT_NOCHECK : 0;
}

static int check_all(const cli_config *cfg, st_ctx *ctx, const path_list *paths)
{
    item_list l = {NULL, 0, 0, NULL, 0, NULL, 0};
    int code = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* the walk (link resolution) is part of the run */
    for (size_t i = 0; code == 0 && i < paths->n; i++) {
        if (st_url_is_remote_arg(paths->v[i])) {
            if ((code = add_url(cfg, &l, ctx, paths->v[i])) == EXIT_NOCHECK)
                fprintf(stderr, "stcheck: out of memory listing %s\n", SHOWN(paths->v[i]));
            continue;
        }
        struct stat st;
        int dir = stat(paths->v[i], &st) == 0 && S_ISDIR(st.st_mode);
        int walk = cfg->recursive && dir;
        if (dir && !walk) /* checked as given (could not check), with what was meant */
            fprintf(stderr, "stcheck: %s is a folder: use -r to check the files in it\n",
                    SHOWN(paths->v[i]));
        if ((walk ? add_tree(&l, ctx, paths->v[i])
                  : add_item(&l, (item){paths->v[i], NULL, 0, 0, NULL, 0})) != 0) {
            fprintf(stderr, "stcheck: out of memory listing %s\n", SHOWN(paths->v[i]));
            code = EXIT_NOCHECK;
        }
    }
    if (code == 0)
        code = l.n > INT32_MAX ? EXIT_USAGE : run(cfg, ctx, l.v, (int)l.n, t0);
    for (size_t i = 0; i < l.n_trees; i++)
        st_tree_free(l.trees[i]);
    free(l.trees);
    for (size_t i = 0; i < l.n_hubs; i++)
        st_hub_free(l.hubs[i]);
    free(l.hubs);
    free(l.v);
    return code;
}

/* The folder holding this executable, or "" (Linux /proc; elsewhere names need a path). */
static void exe_dir(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(out, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        out[0] = '\0';
}

/* Where shipped policies are looked up by name, in order: the share folder of the prefix this
 * binary runs from (an install, relocated or not), rules/ beside the build folder (a build of
 * the source tree that is not installed, as the README builds it: its own policies, not those of
 * an older install), and the prefix it was built for. */
enum { DIR_MAX = 4096 + 32 }; /* a folder of PATH_MAX and the longest suffix added below */

static size_t policy_dirs(char dirs[3][DIR_MAX])
{
    char exe[4096];
    exe_dir(exe, sizeof(exe));
    size_t n = 0;
    if (exe[0] != '\0') {
        snprintf(dirs[n++], DIR_MAX, "%s/../share/stcheck/rules", exe);
        snprintf(dirs[n++], DIR_MAX, "%s/../rules", exe);
    }
    snprintf(dirs[n++], DIR_MAX, "%s", ST_POLICY_DIR);
    return n;
}

/* A --policy argument: a path when it has a slash; otherwise a shipped policy's name first
 * ("strict" or "strict.json" finds strict.json), and a file of that name in the working folder
 * only when no shipped policy has it. The shipped name wins because CI runs stcheck inside the
 * checkout it judges: a file named "strict" or "registry" added by the change under review must
 * not replace the policy the pipeline asked for ("./strict" names such a file on purpose).
 * Returns the path to load: arg, or the policy found by name (in buf, of PATH_MAX bytes at
 * least). */
static const char *resolve_policy(const char *arg, char *buf)
{
    if (strchr(arg, '/') != NULL || strcmp(arg, "default") == 0)
        return arg;
    char dirs[3][DIR_MAX], cand[DIR_MAX + 4096];
    size_t n = policy_dirs(dirs);
    size_t al = strlen(arg);
    int has_ext = al > 5 && strcmp(arg + al - 5, ".json") == 0;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(cand, sizeof(cand), "%s/%s%s", dirs[i], arg, has_ext ? "" : ".json");
        if (len > 0 && (size_t)len < sizeof(cand) && access(cand, R_OK) == 0 &&
            realpath(cand, buf) != NULL)
            return buf;
    }
    return arg;
}

/* The load failed and arg was no path: say where the shipped policies are. */
static void policy_hint(const char *arg)
{
    if (strchr(arg, '/') != NULL || access(arg, F_OK) == 0)
        return;
    char dirs[3][DIR_MAX], real[PATH_MAX];
    size_t n = policy_dirs(dirs), shown = 0;
    fprintf(stderr, "stcheck: policies are looked up by name in");
    for (size_t i = 0; i < n; i++) /* the folders that exist, or where an install puts them */
        if (realpath(dirs[i], real) != NULL)
            fprintf(stderr, "%s %s", shown++ ? "," : "", SHOWN(real));
    if (shown == 0)
        fprintf(stderr, " %s", SHOWN(ST_POLICY_DIR));
    fprintf(stderr, " (shipped: strict, registry, permissive)\n");
}

/* BYTES with an optional K, M or G suffix (powers of 1024); 0 or -1. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = *end == 'K' || *end == 'k'   ? 10
                : *end == 'M' || *end == 'm' ? 20
                : *end == 'G' || *end == 'g' ? 30
                                             : 0;
    if (shift != 0)
        end++;
    if (*end != '\0' || v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* --max-fetch, --header, --cacert, --timeout, --fetch-timeout, --no-private-addresses
 * (docs/remote.md); 0 or a usage
 * error. Header values are never echoed: they may be credentials. */
static int configure_remote(const cli_config *cfg, st_ctx *ctx)
{
    uint64_t bytes;
    if (cfg->max_fetch != NULL &&
        (parse_bytes(cfg->max_fetch, &bytes) != 0 || st_ctx_set_max_fetch(ctx, bytes) != ST_OK)) {
        fprintf(stderr, "stcheck: --max-fetch takes a positive byte count (K, M, G suffixes)\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < cfg->n_headers; i++)
        if (st_ctx_add_header(ctx, cfg->headers[i]) != ST_OK) {
            fprintf(stderr, "stcheck: --header takes 'Name: value' (a token name, no line "
                            "breaks; at most 64 headers)\n");
            return EXIT_USAGE;
        }
    if (cfg->cacert != NULL &&
        (access(cfg->cacert, R_OK) != 0 || st_ctx_set_cacert(ctx, cfg->cacert) != ST_OK)) {
        fprintf(stderr, "stcheck: --cacert: cannot read %s\n", SHOWN(cfg->cacert));
        return EXIT_USAGE;
    }
    char *end;
    long secs = cfg->timeout ? strtol(cfg->timeout, &end, 10) : 0;
    if (cfg->timeout != NULL &&
        (*cfg->timeout == '\0' || *end != '\0' || st_ctx_set_timeout(ctx, secs) != ST_OK)) {
        fprintf(stderr, "stcheck: --timeout takes a number of seconds from 1 to 3600\n");
        return EXIT_USAGE;
    }
    secs = cfg->fetch_timeout ? strtol(cfg->fetch_timeout, &end, 10) : 0;
    if (cfg->fetch_timeout != NULL && (*cfg->fetch_timeout == '\0' || *end != '\0' ||
                                       st_ctx_set_fetch_timeout(ctx, secs) != ST_OK)) {
        fprintf(stderr, "stcheck: --fetch-timeout takes a number of seconds from 1 to 86400\n");
        return EXIT_USAGE;
    }
    st_ctx_set_no_private_addresses(ctx, cfg->no_private_addresses); /* ctx is not NULL */
    return 0;
}

/* Applies --policy, --fail-on and --strict, in that order; 0 or a usage error. */
static int configure(const cli_config *cfg, st_ctx *ctx)
{
    char err[512], found[PATH_MAX];
    const char *policy = cfg->policy ? resolve_policy(cfg->policy, found) : NULL;
    if (policy != NULL && st_ctx_load_policy(ctx, policy, err, sizeof(err)) != ST_OK) {
        if (policy != cfg->policy) /* found by name: name the file that failed */
            fprintf(stderr, "stcheck: policy %s (%s): %s\n", SHOWN(cfg->policy), SHOWN(policy),
                    SHOWN(err));
        else {
            fprintf(stderr, "stcheck: policy %s: %s\n", SHOWN(cfg->policy), SHOWN(err));
            policy_hint(cfg->policy);
        }
        return EXIT_USAGE;
    }
    if (cfg->fail_on != NULL && st_ctx_set_fail_on(ctx, cfg->fail_on) != ST_OK) {
        fprintf(stderr, "stcheck: --fail-on takes info, warning, error or none\n");
        return EXIT_USAGE;
    }
    st_ctx_set_strict(ctx, cfg->strict);
    st_ctx_set_digest(ctx, cfg->digest);
    st_ctx_set_deep(ctx, cfg->deep);
    if (cfg->expect != NULL && st_ctx_load_manifest(ctx, cfg->expect, err, sizeof(err)) != ST_OK) {
        fprintf(stderr, "stcheck: manifest %s: %s\n", SHOWN(cfg->expect), SHOWN(err));
        return EXIT_USAGE;
    }
    return configure_remote(cfg, ctx);
}

static int check_policy(const char *arg)
{
    char err[512], found[PATH_MAX];
    const char *path = resolve_policy(arg, found);
    st_ctx *ctx = st_ctx_new();
    if (ctx == NULL)
        return EXIT_NOCHECK;
    int ok = st_ctx_load_policy(ctx, path, err, sizeof(err)) == ST_OK;
    st_ctx_free(ctx);
    if (!ok) {
        fprintf(stderr, "stcheck: policy %s: %s\n", SHOWN(path), SHOWN(err));
        return EXIT_USAGE;
    }
    printf("%s: valid policy\n", SHOWN(path));
    return EXIT_PASS;
}

static int print_policy(st_ctx *ctx)
{
    char *json = st_ctx_policy_json(ctx);
    if (json == NULL)
        return EXIT_NOCHECK;
    puts(json);
    free(json);
    return EXIT_PASS;
}

int main(int argc, char **argv)
{
    struct option longopts[N_OPTIONS + 1];
    char shortopts[2 * N_OPTIONS + 3];
    size_t s = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cli_config cfg = {.jobs = cores > 0 ? (int)(cores < MAX_JOBS ? cores : MAX_JOBS) : 1,
                      .text = 1};
    int color = -1; /* auto: only on a terminal, and not when NO_COLOR is set */

    /* subcommands (cli/convert_cmd.c): a file named so is given as ./convert */
    if (argc > 1 && (strcmp(argv[1], "convert") == 0 || strcmp(argv[1], "compare") == 0))
        return st_cli_convert(argc - 1, argv + 1);
    shortopts[s++] = '+'; /* stop at the first file name; "--" ends options */
    shortopts[s++] = ':'; /* report a missing argument as ':' (own messages, opterr = 0) */
    for (size_t i = 0; i < N_OPTIONS; i++) {
        longopts[i] = (struct option){options[i].name, options[i].has_arg, NULL, options[i].val};
        if (options[i].val < 256) {
            shortopts[s++] = (char)options[i].val;
            if (options[i].has_arg == required_argument)
                shortopts[s++] = ':';
        }
    }
    shortopts[s] = '\0';
    memset(&longopts[N_OPTIONS], 0, sizeof(longopts[0]));

    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            cfg.strict = 1;
            break;
        case 'f':
            if (set_format(&cfg, optarg) != 0) {
                fprintf(stderr, "stcheck: unknown format '%s' (text, json, jsonl, sarif, junit)\n",
                        SHOWN(optarg));
                return EXIT_USAGE;
            }
            break;
        case OPT_LIST_RULES:
            return list_rules();
        case OPT_POLICY:
            cfg.policy = optarg;
            break;
        case 'q':
            cfg.quiet = 1;
            break;
        case 'r':
            cfg.recursive = 1;
            break;
        case OPT_DIGEST:
            cfg.digest = 1;
            break;
        case OPT_DEEP:
            cfg.deep = 1;
            break;
        case OPT_EXPECT:
            cfg.expect = optarg;
            break;
        case OPT_FILES_FROM:
            cfg.files_from = optarg;
            break;
        case OPT_MAX_FETCH:
            cfg.max_fetch = optarg;
            break;
        case OPT_CACERT:
            cfg.cacert = optarg;
            break;
        case OPT_TIMEOUT:
            cfg.timeout = optarg;
            break;
        case OPT_FETCH_TIMEOUT:
            cfg.fetch_timeout = optarg;
            break;
        case OPT_NO_PRIVATE_ADDRESSES:
            cfg.no_private_addresses = 1;
            break;
        case OPT_HEADER: {
            char **q = realloc(cfg.headers, (cfg.n_headers + 1) * sizeof(*q));
            if (q == NULL)
                return EXIT_NOCHECK;
            cfg.headers = q;
            cfg.headers[cfg.n_headers++] = optarg;
            break;
        }
        case OPT_JSON_OUTPUT:
            cfg.sink_path[SINK_JSON] = optarg;
            break;
        case OPT_SARIF_OUTPUT:
            cfg.sink_path[SINK_SARIF] = optarg;
            break;
        case OPT_JUNIT_OUTPUT:
            cfg.sink_path[SINK_JUNIT] = optarg;
            break;
        case '0':
            cfg.null_sep = 1;
            break;
        case OPT_COLOR:
            if (strcmp(optarg, "always") == 0)
                color = 1;
            else if (strcmp(optarg, "never") == 0)
                color = 0;
            else if (strcmp(optarg, "auto") == 0)
                color = -1;
            else {
                fprintf(stderr, "stcheck: --color takes auto, always or never\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_EXPLAIN:
            return explain(optarg);
        case 'j': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v < 1 || v > MAX_JOBS) {
                fprintf(stderr, "stcheck: --jobs takes a number from 1 to %d\n", MAX_JOBS);
                return EXIT_USAGE;
            }
            cfg.jobs = (int)v;
            break;
        }
        case OPT_FAIL_ON:
            cfg.fail_on = optarg;
            break;
        case OPT_CHECK_POLICY:
            return check_policy(optarg);
        case OPT_PRINT_POLICY:
            cfg.print_policy = 1;
            break;
        case 'V':
            printf("stcheck %s\n", ST_VERSION_STRING);
            return EXIT_PASS;
        case 'h':
            usage(stdout);
            return EXIT_PASS;
        case ':':
            fprintf(stderr, "stcheck: option '%s' needs an argument\n", SHOWN(argv[optind - 1]));
            return EXIT_USAGE;
        default:
            return bad_option(argv[optind - 1], optopt);
        }
    }
    cfg.color = color >= 0 ? color : isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    st_ctx *ctx = st_ctx_new();
    if (ctx == NULL) {
        fprintf(stderr, "stcheck: out of memory\n");
        return EXIT_NOCHECK;
    }
    path_list paths = {NULL, 0, 0, NULL};
    int code = configure(&cfg, ctx);
    for (int i = optind; code == 0 && i < argc; i++)
        if (add_path(&paths, argv[i]) != 0)
            code = EXIT_NOCHECK;
    if (code == 0 && cfg.files_from != NULL)
        code = read_listing(&paths, cfg.files_from, cfg.null_sep);
    if (code == 0 && cfg.print_policy)
        code = print_policy(ctx);
    else if (code == 0 && paths.n == 0) {
        fprintf(stderr, "stcheck: no files given\n");
        usage(stderr);
        code = EXIT_USAGE;
    } else if (code == 0)
        code = check_all(&cfg, ctx, &paths);
    free(paths.v);
    free(paths.owned);
    free(cfg.headers);
    st_ctx_free(ctx);
    return code;
}
