/*
 * jinja.c - a bounded Jinja tokenizer and parser for GGUF chat templates, judged by an
 * allowlist (docs/formats/gguf.md lists every entry and why it is there).
 *
 * Servers render tokenizer.chat_template with Jinja2 (llama-cpp-python did so unsandboxed:
 * CVE-2024-34359), minja or their own engines. The template is never rendered here: it is
 * tokenized as Jinja's lexer does (tags end only when brackets are balanced; string escapes
 * decoded as Python's unicode-escape) and every construct is checked against lists of what
 * real chat templates use: statements, filters, tests, globals and methods. Attribute and item
 * access only to names without a leading underscore; no string literal holding "__"; item
 * access only by literals, numbers and plain names that no string expression was assigned to.
 * Everything else is ST741 - this covers the published sandbox escapes (dunder chains,
 * attr/format filters, cycler/joiner/lipsum globals) without naming them.
 *
 * Two passes over the template: the first collects macro names and names assigned from string
 * expressions; the second judges. No recursion: blocks and brackets live on explicit stacks
 * bounded by the chat_template_depth limit.
 */
#include <stdlib.h>
#include <string.h>

#include "../../core/escape.h"
#include "../../core/hash.h"
#include "gguf.h"

#define MAX_STACK 1024 /* the limit's hard maximum */
#define TEXT_SHOW 60
#define MAX_TEXT_FINDINGS 8
#define TAINT_PASSES 16 /* first passes propagating tainted names */

enum { K_END, K_NAME, K_STR, K_NUM, K_OP, K_BAD };

typedef struct {
    int kind;
    size_t pos, len; /* in the template */
} tok;

typedef struct {
    const char *p; /* a name, by reference into the template */
    size_t n;
} nref;

typedef struct {
    nref *v;       /* hash slots (see nl_has) */
    size_t n, cap; /* names held; slots */
} nlist;

enum { B_IF = 1, B_FOR, B_MACRO, B_CALL, B_SET, B_GEN, B_IFELSE, B_FORELSE };

typedef struct {
    const char *s;
    size_t n, i;
    const st_jj_sink *sink;
    int judge; /* second pass: findings are reported */
    size_t errors, texts;
    unsigned maxd;
    nlist macros, tainted;
    int blocks[MAX_STACK];
    size_t bpos[MAX_STACK];
    unsigned nb;
    int nomem;
    size_t tag_end;  /* tokens of the current tag end here */
    int raw;         /* the tag was {% raw %} */
    nref pending[8]; /* names a set/for statement assigns */
    size_t npending;
    struct expr *x; /* the expression checker's state, allocated once */
} jj;

/* ---- allowlists ------------------------------------------------------------------------------ */

static const char *const statements[] = {
    "if",    "elif",     "else",  "endif",      "for",          "endfor",
    "set",   "endset",   "macro", "endmacro",   "call",         "endcall",
    "break", "continue", "raw",   "generation", "endgeneration"};

static const char *const filters[] = {
    "abs",        "batch",   "capitalize", "center",  "count",  "d",      "default",    "dictsort",
    "e",          "escape",  "first",      "float",   "indent", "int",    "items",      "join",
    "last",       "length",  "list",       "lower",   "map",    "max",    "min",        "reject",
    "rejectattr", "replace", "reverse",    "round",   "safe",   "select", "selectattr", "slice",
    "sort",       "string",  "striptags",  "sum",     "title",  "tojson", "trim",       "truncate",
    "unique",     "upper",   "wordcount",  "wordwrap"};

static const char *const tests[] = {
    "defined",  "undefined", "none",    "string", "number", "integer", "float", "mapping",
    "sequence", "iterable",  "boolean", "true",   "false",  "odd",     "even",  "divisibleby",
    "equalto",  "eq",        "ne",      "lt",     "le",     "gt",      "ge",    "greaterthan",
    "lessthan", "in",        "sameas",  "lower",  "upper"};

static const char *const globals[] = {"range",        "namespace", "raise_exception",
                                      "strftime_now", "dict",      "caller"};

static const char *const methods[] = {"strip",      "lstrip",   "rstrip",  "split",   "rsplit",
                                      "startswith", "endswith", "lower",   "upper",   "title",
                                      "capitalize", "replace",  "items",   "keys",    "values",
                                      "get",        "count",    "find",    "rfind",   "splitlines",
                                      "isdigit",    "isalpha",  "isalnum", "isspace", "cycle"};

/* Names that are Jinja's or a web framework's objects, not data: reaching them is the first
 * step of every published escape (cycler.__init__.__globals__, lipsum.__globals__, self...). */
static const char *const denied_names[] = {
    "cycler",       "joiner",  "lipsum", "self",    "config",
    "request",      "session", "g",      "url_for", "get_flashed_messages",
    "loop_controls"};

/* Attributes without a leading underscore that still reach interpreter internals. */
static const char *const denied_attrs[] = {
    "gi_frame", "gi_code",  "gi_yieldfrom", "cr_frame", "cr_code",      "cr_await",
    "ag_code",  "ag_frame", "f_globals",    "f_locals", "f_back",       "f_builtins",
    "f_code",   "tb_frame", "tb_next",      "co_code",  "func_globals", "func_code",
    "im_func",  "im_self",  "mro",          "format",   "format_map"};

static int in_list(const char *const *list, size_t n, const char *p, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], p, len) == 0)
            return 1;
    return 0;
}
#define IN(list, p, n) in_list(list, sizeof(list) / sizeof(list[0]), p, n)

/* Nonzero when the policy added kind:name (kind with its colon) to the allowlist. */
static int extra(const jj *j, const char *kind, const char *p, size_t n)
{
    size_t k = strlen(kind);
    for (size_t i = 0; i < j->sink->n_extra; i++) {
        const char *e = j->sink->extra[i];
        if (strncmp(e, kind, k) == 0 && strlen(e + k) == n && memcmp(e + k, p, n) == 0)
            return 1;
    }
    return 0;
}

/* Names are kept in an open-addressing hash set (cap slots, a power of two, at most half
 * full; an empty slot has p == NULL): a template of 1 MiB assigns ~50,000 names, and a list
 * searched linearly made the check quadratic (seconds per template, and a file may hold many
 * tokenizer.chat_template.* keys). */
static size_t nl_hash(const char *p, size_t n)
{
    return (size_t)st_fnv1a64(ST_FNV1A64_INIT, p, n);
}

static int nl_has(const nlist *l, const char *p, size_t n)
{
    for (size_t i = l->cap ? nl_hash(p, n) & (l->cap - 1) : 0; l->cap && l->v[i].p != NULL;
         i = (i + 1) & (l->cap - 1))
        if (l->v[i].n == n && memcmp(l->v[i].p, p, n) == 0)
            return 1;
    return 0;
}

static void nl_put(nref *v, size_t cap, nref r)
{
    size_t i = nl_hash(r.p, r.n) & (cap - 1);
    while (v[i].p != NULL)
        i = (i + 1) & (cap - 1);
    v[i] = r;
}

static void nl_add(jj *j, nlist *l, const char *p, size_t n)
{
    if (nl_has(l, p, n))
        return;
    if (2 * (l->n + 1) > l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        nref *v = calloc(cap, sizeof(*v));
        if (v == NULL) {  /* GCOVR_EXCL_BR_LINE: malloc failure */
            j->nomem = 1; /* GCOVR_EXCL_LINE: malloc failure */
            return;       /* GCOVR_EXCL_LINE: malloc failure */
        }
        for (size_t i = 0; i < l->cap; i++)
            if (l->v[i].p != NULL)
                nl_put(v, cap, l->v[i]);
        free(l->v);
        l->v = v;
        l->cap = cap;
    }
    nl_put(l->v, l->cap, (nref){p, n});
    l->n++;
}

/* ---- findings ----------------------------------------------------------------------------------
 */

/* The message is pre + the escaped text a + post. */
static void found(jj *j, st_jj_kind kind, size_t pos, size_t len, const char *pre, const char *a,
                  size_t alen, const char *post)
{
    if (!j->judge)
        return;
    char shown[TEXT_SHOW + 16], msg[TEXT_SHOW + 200];
    st_escape(a, alen, shown, sizeof(shown), TEXT_SHOW);
    snprintf(msg, sizeof(msg), "%s%s%s", pre, shown, post);
    if (kind != ST_JJ_TEXT && kind != ST_JJ_URL)
        j->errors++;
    j->sink->found(j->sink->arg, kind, pos, len, msg);
}

static void syntax(jj *j, size_t pos, const char *what)
{
    found(j, ST_JJ_SYNTAX, pos, 0, "", what, strlen(what), "");
}

/* ---- tokenizer
 * ----------------------------------------------------------------------------------- */

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void skip_ws(jj *j)
{
    while (j->i < j->n &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int starts(const jj *j, size_t at, const char *lit)
{
    size_t n = strlen(lit);
    return at + n <= j->n && memcmp(j->s + at, lit, n) == 0;
}

static tok next_tok(jj *j)
{
    static const char *const two[] = {"**", "//", "==", "!=", "<=", ">="};
    skip_ws(j);
    tok t = {K_END, j->i, 0};
    if (j->i >= j->n)
        return t;
    const char *s = j->s;
    size_t i = j->i;
    char c = s[i];
    if (is_alpha(c)) {
        while (i < j->n && (is_alpha(s[i]) || is_digit(s[i])))
            i++;
        t.kind = K_NAME;
    } else if (is_digit(c)) {
        while (i < j->n &&
               (is_digit(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == 'e' || s[i] == 'E'))
            i++;
        t.kind = K_NUM;
    } else if (c == '\'' || c == '"') {
        for (i++; i < j->n && s[i] != c; i++)
            if (s[i] == '\\')
                i++;
        if (i >= j->n) {
            t.kind = K_BAD;
            j->i = j->n;
            t.len = j->n - t.pos;
            return t;
        }
        i++;
        t.kind = K_STR;
    } else {
        t.kind = K_OP;
        i++;
        for (size_t k = 0; k < sizeof(two) / sizeof(two[0]); k++)
            if (starts(j, j->i, two[k]))
                i = j->i + 2;
        if (strchr("+-*/%~<>=|.,:()[]{}!", c) == NULL)
            t.kind = K_BAD;
    }
    t.len = i - t.pos;
    j->i = i;
    return t;
}

static int tok_is(const jj *j, const tok *t, const char *lit)
{
    return t->len == strlen(lit) && memcmp(j->s + t->pos, lit, t->len) == 0 && t->kind != K_STR;
}

/* ---- string literals: decoded as Python's unicode-escape
 * ------------------------------------------ */

static int hexval(char c)
{
    return is_digit(c)              ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

/* Decodes the literal into out (ASCII view: code points above 0x7f become 0x80); returns the
 * length, or (size_t)-1 for a \N{...} escape, which is never judged safe. */
static size_t decode(const jj *j, const tok *t, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = t->pos + 1; i + 1 < t->pos + t->len && k < cap; i++) {
        char c = j->s[i];
        if (c != '\\') {
            out[k++] = c;
            continue;
        }
        char e = j->s[++i];
        unsigned long v = 0;
        int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
        if (e == 'N')
            return (size_t)-1;
        if (digits) {
            for (int d = 0; d < digits && i + 1 < t->pos + t->len - 1 && hexval(j->s[i + 1]) >= 0;
                 d++)
                v = v * 16 + (unsigned long)hexval(j->s[++i]);
            out[k++] = v < 0x80 ? (char)v : (char)0x80;
        } else if (e >= '0' && e <= '7') {
            v = (unsigned long)(e - '0');
            for (int d = 1; d < 3 && j->s[i + 1] >= '0' && j->s[i + 1] <= '7'; d++)
                v = v * 8 + (unsigned long)(j->s[++i] - '0');
            out[k++] = v < 0x80 ? (char)v : (char)0x80;
        } else {
            out[k++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
    }
    return k;
}

/* ---- expressions
 * ----------------------------------------------------------------------------------- */

enum { BR_PAREN = 1, BR_LIST, BR_DICT, BR_SUB, BR_CALL };

typedef struct {
    int type;
    int strings, concat, filter, tokens, tainted; /* subscripts: what the key holds */
    /* a filter's call: its name, and the argument being read (see filter_arg) */
    size_t fpos, flen;
    unsigned argi, arg_tokens, val_tokens; /* positional index; tokens of the argument */
    int kw;                                /* the argument is name=value */
    tok first, value;                      /* its first token; a keyword argument's value */
} bracket;

typedef struct expr {
    jj *j;
    int emit; /* {{ }}: top-level string literals are emitted text */
    int want; /* 1: an operand is expected */
    tok prev;
    int after_dot, after_pipe, after_is, after_test, kw_attribute;
    int tail_us;     /* the last non-empty string literal ended with '_' */
    tok call_filter; /* a filter name followed by '(': the call's bracket records it */
    unsigned d;
    bracket st[MAX_STACK];
} expr;

static void check_text(jj *j, const char *p, size_t n, size_t pos);

static void judge_string(expr *x, const tok *t)
{
    jj *j = x->j;
    char *buf = malloc(t->len); /* decoded text is never longer than the literal */
    if (buf == NULL) {          /* GCOVR_EXCL_BR_LINE: malloc failure */
        j->nomem = 1;           /* GCOVR_EXCL_LINE: malloc failure */
        return;                 /* GCOVR_EXCL_LINE: malloc failure */
    }
    size_t n = decode(j, t, buf, t->len);
    if (n == (size_t)-1) {
        found(j, ST_JJ_DENIED, t->pos, t->len, "string ", j->s + t->pos, t->len,
              " uses a \\N{...} escape");
        free(buf);
        return;
    }
    /* adjacent literals are one string: '_' '_class_' '_' holds "__" where they meet */
    int dunder = x->prev.kind == K_STR && x->tail_us && n > 0 && buf[0] == '_';
    for (size_t i = 0; i + 1 < n; i++)
        dunder |= buf[i] == '_' && buf[i + 1] == '_';
    if (n > 0)
        x->tail_us = buf[n - 1] == '_';
    int lead =
        n > 0 && buf[0] == '_' && (x->kw_attribute || (x->d > 0 && x->st[x->d - 1].type == BR_SUB));
    if (dunder || lead)
        found(j, ST_JJ_DENIED, t->pos, t->len, "string ", j->s + t->pos, t->len,
              " names an underscore attribute (sandbox escape)");
    else if (x->emit && x->d == 0)
        check_text(j, buf, n, t->pos);
    free(buf);
}

static int keyword(const jj *j, const tok *t)
{
    static const char *const kw[] = {"true", "false", "none", "True", "False", "None", "and",
                                     "or",   "not",   "in",   "is",   "if",    "else"};
    return IN(kw, j->s + t->pos, t->len);
}

/* The innermost subscript the current token is inside (through any other brackets), or NULL. */
static bracket *enclosing_sub(expr *x)
{
    for (unsigned i = x->d; i > 0; i--)
        if (x->st[i - 1].type == BR_SUB)
            return &x->st[i - 1];
    return NULL;
}

/* A bare name in operand position (called or not). */
static void judge_name(expr *x, const tok *t, const tok *next)
{
    jj *j = x->j;
    const char *p = j->s + t->pos;
    if (p[0] == '_')
        found(j, ST_JJ_DENIED, t->pos, t->len, "name ", p, t->len, " starts with an underscore");
    else if (IN(denied_names, p, t->len) && !extra(j, "name:", p, t->len))
        found(j, ST_JJ_DENIED, t->pos, t->len, "global ", p, t->len, " is not allowed");
    else if (tok_is(j, next, "(") && !IN(globals, p, t->len) && !nl_has(&j->macros, p, t->len) &&
             !extra(j, "global:", p, t->len))
        found(j, ST_JJ_DENIED, t->pos, t->len, "call of ", p, t->len,
              ": not an allowed global or a macro");
    /* x[(k)] is x[k]: a tainted name taints the key through parentheses and other brackets */
    bracket *sub = enclosing_sub(x);
    if (sub != NULL && nl_has(&j->tainted, p, t->len))
        sub->tainted = 1;
}

static int loop_item(const jj *j, const tok *t)
{
    return tok_is(j, t, "previtem") || tok_is(j, t, "nextitem");
}

static int judge_attr(expr *x, const tok *t, const tok *next)
{
    jj *j = x->j;
    const char *p = j->s + t->pos;
    if (t->kind != K_NAME) {
        syntax(j, t->pos, "a name must follow '.'");
        return -1;
    }
    if (p[0] == '_' || (IN(denied_attrs, p, t->len) && !extra(j, "attribute:", p, t->len)))
        found(j, ST_JJ_DENIED, t->pos, t->len, "attribute ", p, t->len, " is not allowed");
    else if (tok_is(j, next, "(") && !IN(methods, p, t->len) && !extra(j, "method:", p, t->len))
        found(j, ST_JJ_DENIED, t->pos, t->len, "method ", p, t->len, " is not allowed");
    /* loop.previtem and loop.nextitem are items of the iterable, which may be strings: a key
     * reaching them is computed like a tainted name */
    bracket *sub = enclosing_sub(x);
    if (sub != NULL && loop_item(j, t))
        sub->tainted = 1;
    return 0;
}

static int open_bracket(expr *x, int type, const tok *t)
{
    if (x->d >= x->j->maxd || x->d >= MAX_STACK) {
        found(x->j, ST_JJ_LIMIT, t->pos, 0, "brackets nested deeper than ", "the limit", 9, "");
        return -1;
    }
    /* A call inside a key returns a value of unknown type: a macro's or caller()'s output is
     * a string, and Jinja's getitem falls back to getattr for strings (x[m()] is x.__class__
     * when m emits "__class__"). */
    bracket *sub = type == BR_CALL ? enclosing_sub(x) : NULL;
    if (sub != NULL)
        sub->concat = 1;
    memset(&x->st[x->d], 0, sizeof(x->st[0]));
    x->st[x->d].type = type;
    if (type == BR_CALL && x->call_filter.len > 0) {
        x->st[x->d].fpos = x->call_filter.pos;
        x->st[x->d].flen = x->call_filter.len;
    }
    x->call_filter.len = 0;
    x->d++;
    x->want = 1;
    return 0;
}

static int close_bracket(expr *x, const tok *t)
{
    jj *j = x->j;
    char c = j->s[t->pos];
    if (x->d == 0) {
        syntax(j, t->pos, "a closing bracket without an opening one");
        return -1;
    }
    const bracket *b = &x->st[--x->d];
    if (!((c == ')' && (b->type == BR_PAREN || b->type == BR_CALL)) ||
          (c == ']' && (b->type == BR_LIST || b->type == BR_SUB)) ||
          (c == '}' && b->type == BR_DICT))) {
        syntax(j, t->pos, "mismatched brackets");
        return -1;
    }
    if (b->type == BR_SUB &&
        (b->concat || b->filter || (b->strings && b->tokens > 1) || b->tainted))
        found(j, ST_JJ_DENIED, t->pos, 1, "item access by a computed key", "", 0,
              ": only literals, numbers and plain names");
    x->want = 0;
    return 0;
}

static int is_closer(const jj *j, const tok *t)
{
    return tok_is(j, t, ")") || tok_is(j, t, "]") || tok_is(j, t, "}");
}

static int is_binop(const jj *j, const tok *t)
{
    static const char *const ops[] = {"+",  "-",  "*",    "/",  "//", "%",  "**",  "~",
                                      "==", "!=", "<",    "<=", ">",  ">=", "and", "or",
                                      "in", "if", "else", ",",  ":",  "="};
    return t->kind != K_STR && IN(ops, j->s + t->pos, t->len);
}

static void note_sub(expr *x, const tok *t)
{
    bracket *sub = enclosing_sub(x);
    if (sub != NULL && sub != &x->st[x->d - 1]) {
        /* inside parentheses, a list or a dict within the key: x[('_' ~ '_class__')] and
         * x[{'k': '_x'}['k']] are computed keys, whatever the brackets hide */
        if (t->kind == K_STR || tok_is(x->j, t, "~") || tok_is(x->j, t, "|"))
            sub->concat = 1;
        return;
    }
    if (sub == NULL || tok_is(x->j, t, "]"))
        return;
    bracket *b = sub;
    b->tokens++;
    b->strings += t->kind == K_STR;
    b->concat |= tok_is(x->j, t, "~") || (b->strings && tok_is(x->j, t, "+"));
    b->filter |= tok_is(x->j, t, "|");
}

/* ---- filter arguments that name an attribute, a filter or a test ---------------------------- */

enum { ROLE_NONE, ROLE_ATTR, ROLE_FILTER, ROLE_TEST };

/* What positional argument argi of filter f names (Jinja 3.1 filters.py): map's first is a
 * filter (call_filter), select/reject's a test (call_test), selectattr/rejectattr's an attribute
 * then a test, and sum, join, unique, min, max and sort take an attribute (make_attrgetter). */
static int arg_role(const char *f, size_t n, unsigned argi)
{
    static const struct {
        const char *name;
        unsigned argi;
        int role;
    } roles[] = {
        {"map", 0, ROLE_FILTER},      {"select", 0, ROLE_TEST},     {"reject", 0, ROLE_TEST},
        {"selectattr", 0, ROLE_ATTR}, {"selectattr", 1, ROLE_TEST}, {"rejectattr", 0, ROLE_ATTR},
        {"rejectattr", 1, ROLE_TEST}, {"sum", 0, ROLE_ATTR},        {"join", 1, ROLE_ATTR},
        {"unique", 1, ROLE_ATTR},     {"min", 1, ROLE_ATTR},        {"max", 1, ROLE_ATTR},
        {"sort", 2, ROLE_ATTR}};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (roles[i].argi == argi && strlen(roles[i].name) == n && memcmp(roles[i].name, f, n) == 0)
            return roles[i].role;
    return ROLE_NONE;
}

/* An attribute path as make_attrgetter splits it ('.'; sort and its make_multi_attrgetter
 * also split on ','): no segment may start with '_' or be a denied attribute. */
static int attr_path_ok(const jj *j, const char *p, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '.' && p[i] != ',')
            continue;
        size_t len = i - start;
        if ((len > 0 && p[start] == '_') ||
            (IN(denied_attrs, p + start, len) && !extra(j, "attribute:", p + start, len)))
            return 0;
        start = i + 1;
    }
    return 1;
}

/* The literal t given where filter b names an attribute, filter or test. */
static void judge_role_literal(expr *x, const bracket *b, int role, const tok *t, int kw)
{
    jj *j = x->j;
    static const char *const what[] = {"", "an attribute", "a filter", "a test"};
    char *buf = malloc(t->len);
    if (buf == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        j->nomem = 1;  /* GCOVR_EXCL_LINE: malloc failure */
        return;        /* GCOVR_EXCL_LINE: malloc failure */
    }
    size_t n = decode(j, t, buf, t->len);
    /* what judge_string denied already (\N{}, "__" anywhere, attribute='_x') */
    int reported = n == (size_t)-1 || (kw && n > 0 && buf[0] == '_');
    for (size_t i = 0; !reported && i + 1 < n; i++)
        reported = buf[i] == '_' && buf[i + 1] == '_';
    int ok = reported || (role == ROLE_ATTR     ? attr_path_ok(j, buf, n)
                          : role == ROLE_FILTER ? IN(filters, buf, n) || extra(j, "filter:", buf, n)
                                                : IN(tests, buf, n) || extra(j, "test:", buf, n));
    if (!ok) {
        char pre[64];
        snprintf(pre, sizeof(pre), "%s named by filter ", what[role]);
        found(j, ST_JJ_DENIED, t->pos, t->len, pre, j->s + b->fpos, b->flen, " is not allowed");
    }
    free(buf);
}

/* One argument of a filter call is complete (at ',' or ')'). An attribute, filter or test
 * named by a computed value is an attribute walk or a denied filter under another name:
 * map('attr', k), map(attribute=k), selectattr(k) with k = '_' ~ '_class__'. */
static void filter_arg(expr *x, bracket *b)
{
    jj *j = x->j;
    if (b->arg_tokens == 0)
        return; /* a trailing comma, or no arguments */
    int role = b->kw ? (tok_is(j, &b->first, "attribute") ? ROLE_ATTR : ROLE_NONE)
                     : arg_role(j->s + b->fpos, b->flen, b->argi++);
    const tok *v = b->kw ? &b->value : &b->first;
    unsigned nv = b->kw ? b->val_tokens : b->arg_tokens;
    int kw = b->kw;
    b->arg_tokens = b->val_tokens = 0;
    b->kw = 0;
    if (role == ROLE_NONE)
        return;
    if (nv == 1 && v->kind == K_STR)
        judge_role_literal(x, b, role, v, kw);
    else
        found(j, ST_JJ_DENIED, v->pos, v->len, "filter ", j->s + b->fpos, b->flen,
              ": an attribute, filter or test name that is not a string literal");
}

/* Records the tokens of a filter call's arguments (those directly inside its brackets). */
static void note_call(expr *x, const tok *t)
{
    if (x->d == 0 || x->st[x->d - 1].type != BR_CALL || x->st[x->d - 1].flen == 0)
        return;
    bracket *b = &x->st[x->d - 1];
    if (tok_is(x->j, t, ",") || tok_is(x->j, t, ")")) {
        filter_arg(x, b);
    } else if (b->kw) {
        if (b->val_tokens++ == 0)
            b->value = *t;
    } else if (b->arg_tokens == 1 && b->first.kind == K_NAME && tok_is(x->j, t, "=")) {
        b->kw = 1; /* name=value: the value follows */
    } else if (b->arg_tokens++ == 0) {
        b->first = *t;
    }
}

/* A token where an operand is expected. */
static int operand(expr *x, const tok *t, const tok *next)
{
    jj *j = x->j;
    if (t->kind == K_STR) {
        judge_string(x, t);
        x->want = 0;
    } else if (t->kind == K_NUM) {
        x->want = 0;
    } else if (t->kind == K_NAME && tok_is(j, t, "not")) {
        return 0;
    } else if (t->kind == K_NAME) {
        if (!keyword(j, t))
            judge_name(x, t, next);
        x->want = 0;
    } else if (tok_is(j, t, "(") || tok_is(j, t, "[") || tok_is(j, t, "{")) {
        char c = j->s[t->pos];
        return open_bracket(x, c == '(' ? BR_PAREN : c == '[' ? BR_LIST : BR_DICT, t);
    } else if (tok_is(j, t, "-") || tok_is(j, t, "+")) {
        return 0;
    } else if (tok_is(j, t, ":") && x->d > 0 && x->st[x->d - 1].type == BR_SUB) {
        return 0; /* a slice without a start: [:n], [::-1] */
    } else if (is_closer(j, t) && x->d > 0 &&
               (tok_is(j, &x->prev, "(") || tok_is(j, &x->prev, "[") || tok_is(j, &x->prev, "{") ||
                tok_is(j, &x->prev, ",") || tok_is(j, &x->prev, ":"))) {
        return close_bracket(x, t); /* empty brackets, trailing commas, open slices */
    } else {
        syntax(j, t->pos, "an operand was expected");
        return -1;
    }
    return 0;
}

/* A token after a complete operand. */
static int postfix(expr *x, const tok *t)
{
    jj *j = x->j;
    int test_arg = x->after_test;
    x->after_test = 0;
    if (tok_is(j, t, "."))
        x->after_dot = 1;
    else if (tok_is(j, t, "|"))
        x->after_pipe = 1;
    else if (tok_is(j, t, "is"))
        x->after_is = 1;
    else if (tok_is(j, t, "(")) {
        /* Only names are called: a global or macro (judge_name), a method (judge_attr), a
         * filter or test. (x.pop)() or x[0]() calls what neither list has judged. */
        if (x->prev.kind != K_NAME)
            found(j, ST_JJ_DENIED, t->pos, 1, "a call of a computed value", "", 0,
                  ": only globals, macros and allowed methods are called");
        return open_bracket(x, BR_CALL, t);
    } else if (tok_is(j, t, "["))
        return open_bracket(x, BR_SUB, t);
    else if (is_closer(j, t))
        return close_bracket(x, t);
    else if (tok_is(j, t, "not"))
        return 0; /* not in */
    else if (is_binop(j, t)) {
        int eq = tok_is(j, t, "=") && x->prev.kind == K_NAME;
        x->kw_attribute = eq && x->prev.len == 9 && memcmp(j->s + x->prev.pos, "attribute", 9) == 0;
        if (eq && j->s[x->prev.pos] == '_')
            found(j, ST_JJ_DENIED, x->prev.pos, x->prev.len, "keyword argument ",
                  j->s + x->prev.pos, x->prev.len, " starts with an underscore");
        x->want = 1;
    } else if (t->kind == K_STR && x->prev.kind == K_STR) {
        judge_string(x, t); /* adjacent literals are one string */
    } else if (test_arg && (t->kind == K_STR || t->kind == K_NUM || t->kind == K_NAME)) {
        if (t->kind == K_STR)
            judge_string(x, t); /* "is divisibleby 3", "is sameas none" */
    } else {
        syntax(j, t->pos, "an operator was expected");
        return -1;
    }
    return 0;
}

/* The name after '.', '|' or 'is'. */
static int named(expr *x, const tok *t, const tok *next)
{
    jj *j = x->j;
    const char *p = j->s + t->pos;
    if (x->after_dot) {
        x->after_dot = 0;
        return judge_attr(x, t, next);
    }
    if (t->kind != K_NAME) {
        syntax(j, t->pos, "a name must follow '|' or 'is'");
        return -1;
    }
    if (x->after_pipe) {
        x->after_pipe = 0;
        if (!IN(filters, p, t->len) && !extra(j, "filter:", p, t->len))
            found(j, ST_JJ_DENIED, t->pos, t->len, "filter ", p, t->len, " is not allowed");
        if (tok_is(j, next, "("))
            x->call_filter = *t; /* its arguments are judged by note_call */
        return 0;
    }
    if (tok_is(j, t, "not"))
        return 0; /* is not */
    x->after_is = 0;
    x->after_test = 1;
    if (!IN(tests, p, t->len) && !extra(j, "test:", p, t->len))
        found(j, ST_JJ_DENIED, t->pos, t->len, "test ", p, t->len, " is not allowed");
    return 0;
}

static tok tag_next(jj *j)
{
    if (j->i >= j->tag_end) {
        tok t = {K_END, j->tag_end, 0};
        return t;
    }
    size_t n = j->n;
    j->n = j->tag_end;
    tok t = next_tok(j);
    j->n = n;
    return t;
}

/* Checks the tokens from t to the end of the tag as one expression: 0, or -1 after a syntax
 * error (reported). */
static int parse_expr(jj *j, tok t, int emit)
{
    expr *x = j->x;
    memset(x, 0, offsetof(expr, st));
    x->j = j;
    x->emit = emit;
    x->want = 1;
    int rc = 0;
    tok nt = tag_next(j);
    for (; t.kind != K_END && rc == 0; x->prev = t, t = nt, nt = tag_next(j)) {
        if (t.kind == K_BAD) {
            syntax(j, t.pos,
                   j->s[t.pos] == '"' || j->s[t.pos] == '\'' ? "unterminated string"
                                                             : "a character Jinja does not know");
            return -1;
        }
        note_sub(x, &t);
        note_call(x, &t);
        if (x->after_dot || x->after_pipe || x->after_is)
            rc = named(x, &t, &nt);
        else if (x->want)
            rc = operand(x, &t, &nt);
        else
            rc = postfix(x, &t);
    }
    if (rc == 0 && (x->d > 0 || x->want || x->after_dot || x->after_pipe || x->after_is)) {
        syntax(j, t.pos, x->d > 0 ? "an unclosed bracket" : "the expression ends too early");
        rc = -1;
    }
    return rc;
}

/* ---- emitted text
 * ------------------------------------------------------------------------------------ */

static int role_word(const char *p, size_t n)
{
    /* roles, and the keys of the JSON a tool call is framed in */
    static const char *const roles[] = {
        "system",   "user",      "assistant",  "model",     "tool",       "ipython",
        "function", "developer", "bot",        "human",     "name",       "arguments",
        "content",  "type",      "parameters", "tool_call", "tool_calls", "tool_response"};
    return IN(roles, p, n);
}

/* Nonzero when text holds more than role markers (<...>, [...]), role names, whitespace and
 * punctuation. */
static int beyond_markers(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (c == '<' || c == '[') {
            char close = c == '<' ? '>' : ']';
            size_t k = i + 1;
            while (k < n && k - i < 64 && p[k] != close && p[k] != ' ' && p[k] != '\n')
                k++;
            if (k < n && p[k] == close) {
                i = k + 1;
                continue;
            }
            i++;
        } else if (is_alpha(c) || is_digit(c) || (unsigned char)c >= 0x80) {
            size_t k = i;
            while (k < n && (is_alpha(p[k]) || is_digit(p[k]) || (unsigned char)p[k] >= 0x80))
                k++;
            if (!role_word(p + i, k - i))
                return 1;
            i = k;
        } else {
            i++;
        }
    }
    return 0;
}

static int contains(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(p + i, lit, m) == 0)
            return 1;
    return 0;
}

/* A tool call written into the template itself: a JSON "name" given as a literal. */
static int literal_tool_call(const char *p, size_t n)
{
    for (size_t i = 0; i + 7 < n; i++) {
        if (memcmp(p + i, "\"name\":", 7) != 0)
            continue;
        size_t k = i + 7;
        while (k < n && p[k] == ' ')
            k++;
        if (k + 1 < n && p[k] == '"' && is_alpha(p[k + 1]))
            return 1;
    }
    return 0;
}

static void check_text(jj *j, const char *p, size_t n, size_t pos)
{
    if (!j->judge)
        return;
    if (contains(p, n, "://") || contains(p, n, "www.") || literal_tool_call(p, n))
        found(j, ST_JJ_URL, pos, n, "emits \"", p, n, "\": a URL or a tool call of its own");
    else if (beyond_markers(p, n) && j->texts++ < MAX_TEXT_FINDINGS)
        found(j, ST_JJ_TEXT, pos, n, "emits the text \"", p, n, "\"");
}

/* ---- statements
 * -------------------------------------------------------------------------------------- */

static int push_block(jj *j, int b, size_t pos)
{
    if (j->nb >= j->maxd || j->nb >= MAX_STACK) {
        found(j, ST_JJ_LIMIT, pos, 0, "blocks nested deeper than ", "the limit", 9, "");
        return -1;
    }
    j->bpos[j->nb] = pos;
    j->blocks[j->nb++] = b;
    return 0;
}

static int top(const jj *j)
{
    return j->nb ? j->blocks[j->nb - 1] : 0;
}

static int inside(const jj *j, int b1, int b2)
{
    for (unsigned i = j->nb; i > 0; i--)
        if (j->blocks[i - 1] == b1 || j->blocks[i - 1] == b2)
            return 1;
    return 0;
}

/* The names a set/for statement assigns, up to its "=" or "in" (left in *t). */
static void targets(jj *j, tok *t, const char *stop)
{
    j->npending = 0;
    while (t->kind != K_END && !tok_is(j, t, stop)) {
        if (t->kind == K_NAME && j->s[t->pos] == '_')
            found(j, ST_JJ_DENIED, t->pos, t->len, "name ", j->s + t->pos, t->len,
                  " starts with an underscore");
        else if (t->kind == K_NAME && j->npending < 8)
            j->pending[j->npending++] = (nref){j->s + t->pos, t->len};
        else if (t->kind != K_NAME && !tok_is(j, t, ",") && !tok_is(j, t, ".") &&
                 !tok_is(j, t, "(") && !tok_is(j, t, ")")) {
            syntax(j, t->pos, "an assignment target must be names");
            return;
        }
        *t = tag_next(j);
    }
}

/* First pass: the assigned names become tainted when the value is built from strings. */
static void taint_pending(jj *j)
{
    size_t save = j->i;
    int strings = 0;
    /* a value built from a tainted name is tainted too (for k in ks, set k2 = k), and so is a
     * macro's output: set k = m() holds the text m emits */
    for (tok t = tag_next(j); t.kind != K_END; t = tag_next(j))
        strings |= t.kind == K_STR || tok_is(j, &t, "~") || tok_is(j, &t, "join") ||
                   tok_is(j, &t, "string") || loop_item(j, &t) ||
                   (t.kind == K_NAME && (nl_has(&j->tainted, j->s + t.pos, t.len) ||
                                         nl_has(&j->macros, j->s + t.pos, t.len)));
    j->i = save;
    for (size_t i = 0; strings && i < j->npending; i++)
        nl_add(j, &j->tainted, j->pending[i].p, j->pending[i].n);
}

static void end_block(jj *j, const tok *kw, int b1, int b2)
{
    if (top(j) == b1 || (b2 && top(j) == b2))
        j->nb--;
    else
        syntax(j, kw->pos, "an end tag without its block");
}

static void rest_empty(jj *j)
{
    tok t = tag_next(j);
    if (t.kind != K_END)
        syntax(j, t.pos, "unexpected tokens after the statement");
}

static void stmt_for(jj *j, const tok *kw)
{
    tok t = tag_next(j);
    targets(j, &t, "in");
    if (!tok_is(j, &t, "in")) {
        syntax(j, kw->pos, "for without in");
        return;
    }
    if (!j->judge)
        taint_pending(j);
    size_t save = j->i;
    int recursive = 0;
    for (tok r = tag_next(j); r.kind != K_END; r = tag_next(j))
        if (tok_is(j, &r, "recursive") && !recursive++)
            found(j, ST_JJ_DENIED, r.pos, r.len, "", "recursive", 9, " loops are not allowed");
    j->i = save;
    push_block(j, B_FOR, kw->pos);
    if (!recursive)
        parse_expr(j, tag_next(j), 0);
}

static void stmt_set(jj *j, const tok *kw)
{
    tok t = tag_next(j);
    targets(j, &t, "=");
    if (!tok_is(j, &t, "=")) {
        /* {% set x %}...{% endset %}: x holds the block's output, a string */
        for (size_t i = 0; !j->judge && i < j->npending; i++)
            nl_add(j, &j->tainted, j->pending[i].p, j->pending[i].n);
        push_block(j, B_SET, kw->pos);
        return;
    }
    if (!j->judge)
        taint_pending(j);
    parse_expr(j, tag_next(j), 0);
}

static void stmt_macro(jj *j, const tok *kw)
{
    tok name = tag_next(j);
    if (name.kind != K_NAME) {
        syntax(j, kw->pos, "macro without a name");
        return;
    }
    if (j->s[name.pos] == '_')
        found(j, ST_JJ_DENIED, name.pos, name.len, "name ", j->s + name.pos, name.len,
              " starts with an underscore");
    if (!j->judge)
        nl_add(j, &j->macros, j->s + name.pos, name.len);
    push_block(j, B_MACRO, kw->pos);
    size_t save = j->i;
    tok prev = name;
    /* the parameters (names after '(' or ','): any caller may pass a string, so x[param]
     * is an item access by a string expression */
    for (tok t = tag_next(j); !j->judge && t.kind != K_END; prev = t, t = tag_next(j))
        if (t.kind == K_NAME && (tok_is(j, &prev, "(") || tok_is(j, &prev, ",")))
            nl_add(j, &j->tainted, j->s + t.pos, t.len);
    j->i = save;
    tok t = tag_next(j);
    if (t.kind != K_END)
        parse_expr(j, t, 0);
}

/* {% raw %}: literal text up to {% endraw %}. Jinja's lexer ends the block at the first
 * "{%[-+]?\s*endraw" (\s: any whitespace, newlines included): the first "endraw" in the
 * text must be that tag's, or the block ends where this reader and Jinja disagree (a
 * "{%\nendraw %}" let a {{ }} after it pass as literal text here and run in Jinja). */
static void stmt_raw(jj *j, size_t tag_close)
{
    for (size_t i = tag_close; i + 6 <= j->n; i++) {
        if (memcmp(j->s + i, "endraw", 6) != 0)
            continue;
        size_t k = i;
        while (k > tag_close && strchr(" \t\n\r", j->s[k - 1]) != NULL)
            k--;
        if (k > tag_close && (j->s[k - 1] == '-' || j->s[k - 1] == '+'))
            k--;
        if (k < tag_close + 2 || j->s[k - 2] != '{' || j->s[k - 1] != '%') {
            syntax(j, i, "\"endraw\" inside a raw block, outside an endraw tag");
            j->i = j->n;
            return;
        }
        check_text(j, j->s + tag_close, k - 2 - tag_close, tag_close);
        j->i = k - 2; /* the endraw tag is read as a statement next */
        return;
    }
    syntax(j, tag_close, "raw without endraw");
    j->i = j->n;
}

/* One {% %} tag; tokens end at j->tag_end. Returns nonzero when the walk must stop. */
static void statement(jj *j)
{
    tok kw = tag_next(j);
    const char *p = j->s + kw.pos;
    if (kw.kind != K_NAME) {
        syntax(j, kw.pos, "a statement name was expected");
        return;
    }
    if (!IN(statements, p, kw.len) && !tok_is(j, &kw, "endraw")) {
        found(j, ST_JJ_DENIED, kw.pos, kw.len, "statement ", p, kw.len, " is not allowed");
        return;
    }
    if (tok_is(j, &kw, "if") || tok_is(j, &kw, "elif")) {
        if (tok_is(j, &kw, "if"))
            push_block(j, B_IF, kw.pos);
        else if (top(j) != B_IF)
            syntax(j, kw.pos, "elif outside an if");
        parse_expr(j, tag_next(j), 0);
    } else if (tok_is(j, &kw, "else")) {
        if (top(j) == B_IF || top(j) == B_FOR)
            j->blocks[j->nb - 1] = top(j) == B_IF ? B_IFELSE : B_FORELSE;
        else
            syntax(j, kw.pos, "else outside an if or a for");
        rest_empty(j);
    } else if (tok_is(j, &kw, "endif")) {
        end_block(j, &kw, B_IF, B_IFELSE);
    } else if (tok_is(j, &kw, "for")) {
        stmt_for(j, &kw);
    } else if (tok_is(j, &kw, "endfor")) {
        end_block(j, &kw, B_FOR, B_FORELSE);
    } else if (tok_is(j, &kw, "set")) {
        stmt_set(j, &kw);
    } else if (tok_is(j, &kw, "endset")) {
        end_block(j, &kw, B_SET, 0);
    } else if (tok_is(j, &kw, "macro")) {
        stmt_macro(j, &kw);
    } else if (tok_is(j, &kw, "endmacro")) {
        end_block(j, &kw, B_MACRO, 0);
    } else if (tok_is(j, &kw, "call")) {
        push_block(j, B_CALL, kw.pos);
        parse_expr(j, tag_next(j), 0);
    } else if (tok_is(j, &kw, "endcall")) {
        end_block(j, &kw, B_CALL, 0);
    } else if (tok_is(j, &kw, "break") || tok_is(j, &kw, "continue")) {
        if (!inside(j, B_FOR, B_FORELSE))
            syntax(j, kw.pos, "break or continue outside a loop");
        rest_empty(j);
    } else if (tok_is(j, &kw, "generation")) {
        push_block(j, B_GEN, kw.pos);
    } else if (tok_is(j, &kw, "endgeneration")) {
        end_block(j, &kw, B_GEN, 0);
    } else if (tok_is(j, &kw, "raw")) {
        j->raw = 1; /* stmt_raw reads on after the tag */
    } else {        /* endraw */
        rest_empty(j);
    }
}

/* ---- the walk
 * ------------------------------------------------------------------------------------- */

/* Finds the end of a tag starting at j->i as Jinja's lexer does: the closing delimiter counts
 * only where brackets are balanced. Returns its index (at the optional '-'/'+'), or j->n. */
static size_t scan_tag(jj *j, const char *close)
{
    size_t depth = 0, save = j->i, end = j->n;
    for (;;) {
        skip_ws(j);
        if (j->i >= j->n)
            break;
        size_t k = j->i + (j->s[j->i] == '-' || j->s[j->i] == '+');
        if (depth == 0 && starts(j, k, close)) {
            end = j->i;
            break;
        }
        tok t = next_tok(j);
        if (t.kind == K_BAD && (j->s[t.pos] == '"' || j->s[t.pos] == '\''))
            break;
        if (t.kind == K_OP && t.len == 1 && strchr("([{", j->s[t.pos]))
            depth++;
        else if (t.kind == K_OP && t.len == 1 && strchr(")]}", j->s[t.pos]) && depth > 0)
            depth--;
    }
    j->i = save;
    return end;
}

/* One tag from j->i (just after its opening delimiter); 0, or -1 when the walk stops. */
static int tag(jj *j, int stmt)
{
    size_t open = j->i - 2;
    if (j->i < j->n && (j->s[j->i] == '-' || j->s[j->i] == '+'))
        j->i++;
    size_t end = scan_tag(j, stmt ? "%}" : "}}");
    if (end >= j->n) {
        syntax(j, open, stmt ? "a {% tag is never closed" : "a {{ tag is never closed");
        return -1;
    }
    j->tag_end = end;
    j->raw = 0;
    if (stmt)
        statement(j);
    else
        parse_expr(j, tag_next(j), 1);
    size_t close = end + (j->s[end] == '-' || j->s[end] == '+') + 2;
    j->i = close;
    if (j->raw)
        stmt_raw(j, close);
    return 0;
}

static void walk(jj *j)
{
    while (j->i < j->n && !j->nomem) {
        size_t start = j->i, k = start;
        while (k + 1 < j->n && !(j->s[k] == '{' &&
                                 (j->s[k + 1] == '{' || j->s[k + 1] == '%' || j->s[k + 1] == '#')))
            k++;
        if (k + 1 >= j->n)
            k = j->n;
        if (k > start)
            check_text(j, j->s + start, k - start, start);
        if (k >= j->n)
            break;
        char kind = j->s[k + 1];
        j->i = k + 2;
        if (kind == '#') {
            size_t e = j->i;
            while (e + 1 < j->n && !(j->s[e] == '#' && j->s[e + 1] == '}'))
                e++;
            if (e + 1 >= j->n) {
                syntax(j, k, "a {# comment is never closed");
                return;
            }
            j->i = e + 2;
        } else if (tag(j, kind == '%') != 0) {
            return;
        }
    }
    if (j->nb > 0)
        syntax(j, j->bpos[j->nb - 1], "a block is never closed");
}

size_t st_jinja_check(const char *text, size_t len, const st_jj_sink *sink)
{
    jj j;
    memset(&j, 0, sizeof(j));
    j.s = text;
    j.n = len;
    j.sink = sink;
    j.maxd = sink->max_depth < MAX_STACK - 1 ? sink->max_depth : MAX_STACK - 1;
    j.x = malloc(sizeof(expr));
    if (j.x == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        j.nomem = 1;   /* GCOVR_EXCL_LINE: malloc failure */
    }
    /* The first pass runs until no name is newly tainted (a taint can flow backwards in the
     * text: a loop that uses k before the set that taints what it iterates), at most
     * TAINT_PASSES times: a longer chain is a limit finding, never a silent pass. */
    /* varargs and kwargs hold what a macro's callers pass; caller() returns the text of a
     * call block */
    static const char *const args[] = {"varargs", "kwargs", "caller"};
    for (size_t i = 0; i < 3; i++)
        nl_add(&j, &j.tainted, args[i], strlen(args[i]));
    int pass = 0;
    for (; pass < TAINT_PASSES && !j.nomem; pass++) {
        size_t tainted = j.tainted.n, macros = j.macros.n;
        j.i = 0;
        j.nb = 0;
        walk(&j);
        if (j.tainted.n == tainted && j.macros.n == macros)
            break;
    }
    j.judge = 1;
    if (pass == TAINT_PASSES)
        found(&j, ST_JJ_LIMIT, 0, 0, "names assigned from each other ", "in a chain", 10,
              " longer than the checker follows");
    else if (!j.nomem) {
        j.i = 0;
        j.nb = 0;
        walk(&j);
    }
    if (j.nomem) {   /* GCOVR_EXCL_BR_LINE: malloc failure */
        j.judge = 1; /* GCOVR_EXCL_LINE: malloc failure */
        found(&j, ST_JJ_LIMIT, 0, 0, "out of memory checking the template", "", 0,
              ""); /* GCOVR_EXCL_LINE */
    }
    free(j.x);
    free(j.macros.v);
    free(j.tainted.v);
    return j.errors;
}
