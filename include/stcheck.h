/*
 * stcheck.h - the one public header of libstcheck.
 *
 * libstcheck reads machine-learning model files without executing anything in them and
 * reports, with evidence, whether they are safe to load. Everything the stcheck CLI does goes
 * through this header; a registry can embed the library the same way.
 *
 * Typical use:
 *     st_ctx *ctx = st_ctx_new();
 *     st_report *r = st_check_path(ctx, "model.safetensors");
 *     switch (st_report_verdict(r)) { ... }
 *     st_report_free(r);
 *     st_ctx_free(ctx);
 *
 * Thread-safety: a st_ctx may be shared by threads once configured; each call to st_check_*
 * returns an independent report.
 */
#ifndef STCHECK_H
#define STCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ST_VERSION_STRING "0.1.0"
/* The API's version: raised whenever a public struct, enum or signature changes incompatibly, so
 * a binding that mirrors them (bindings/python) can refuse a library it would misread. */
#define ST_API_VERSION 1

/* Symbols of the public API; everything else in the shared library is hidden. */
#if defined(__GNUC__)
#define ST_API __attribute__((visibility("default")))
#else
#define ST_API
#endif

/* Error codes: "could not finish the check". Any of them makes the verdict ST_VERDICT_ERROR. */
typedef enum {
    ST_OK = 0,
    ST_E_IO,          /* open/read failed, or the file changed while read */
    ST_E_NOMEM,       /* allocation failed */
    ST_E_LIMIT,       /* a configured resource limit was reached */
    ST_E_UNSUPPORTED, /* format not recognised or not supported */
    ST_E_NOTFILE,     /* not a regular file */
    ST_E_INVAL,       /* invalid argument to the API */
} st_error;

typedef enum {
    ST_SEV_OFF = 0, /* finding is suppressed (policy) */
    ST_SEV_INFO = 1,
    ST_SEV_WARNING = 2,
    ST_SEV_ERROR = 3,
} st_severity;

typedef enum {
    ST_VERDICT_PASS = 0,  /* exit code 0 */
    ST_VERDICT_FAIL = 1,  /* exit code 1: findings at or above the fail threshold */
    ST_VERDICT_ERROR = 2, /* exit code 2: could not check (fail closed) */
} st_verdict;

/* Resource limits. Hitting one is a finding (ST901) and the verdict "could not check". */
typedef enum {
    ST_LIMIT_HEADER_BYTES = 0, /* safetensors header length; default 100,000,000 */
    ST_LIMIT_JSON_DEPTH,       /* nesting depth of untrusted JSON; default 64 */
    ST_LIMIT_TENSORS,          /* tensors in one header; default 16,777,216 */
    ST_LIMIT_RANK,             /* dimensions of one tensor; default 1024 */
    ST_LIMIT_METADATA_VALUE,   /* bytes of one __metadata__ value before a warning; 65536 */
    ST_LIMIT_PICKLE_OPCODES,   /* opcodes walked in one file; default 1,000,000,000 */
    ST_LIMIT_PICKLE_STACK,     /* simulated stack + mark depth; default 1,000,000 */
    ST_LIMIT_PICKLE_MEMO,      /* memo index bound; default 16,777,216 */
    ST_LIMIT_PICKLE_IMPORTS,   /* distinct imports in one file; default 10,000 */
    ST_LIMIT_PICKLE_STORAGES,  /* storage persistent ids in one file; default 262,144 */
    ST_LIMIT_ZIP_ENTRIES,      /* entries in one archive; default 100,000 */
    ST_LIMIT_MEMBER_BYTES,     /* bytes inflated from one member; default 1 GiB */
    ST_LIMIT_ZIP_RATIO,        /* uncompressed/compressed ratio of a member; default 200 */
    ST_LIMIT_NESTING,          /* archives inside archives; default 4 */
    ST_LIMIT_TREE_ENTRIES,     /* entries listed in one folder walk (-r); default 1,000,000 */
    ST_LIMIT_TREE_DEPTH,       /* folder depth of a walk; default 256 */
    ST_LIMIT_LINK_STEPS,       /* path components looked up resolving one walk's links; 1,000,000 */
    ST_LIMIT_GGUF_KV,          /* GGUF metadata key/value pairs; default 1,000,000 */
    ST_LIMIT_GGUF_ARRAY_DEPTH, /* GGUF arrays nested in arrays; default 8 */
    ST_LIMIT_TEMPLATE_BYTES,   /* bytes of one GGUF chat template; default 1,048,576 */
    ST_LIMIT_TEMPLATE_DEPTH,   /* nesting of a chat template's blocks and expressions; 64 */
    ST_LIMIT_COUNT_
} st_limit;

typedef struct st_ctx st_ctx;
typedef struct st_report st_report;

/* One finding: evidence, not a verdict. Strings live as long as the report. */
typedef struct {
    const char *id;       /* stable id, e.g. "ST114" */
    st_severity severity; /* effective severity */
    uint64_t offset;      /* byte offset in the file the finding concerns */
    uint64_t length;      /* byte length (0 when it concerns a position) */
    const char *message;  /* printable ASCII; input-derived text is escaped */
} st_finding;

/* A rule: one finding id with its default severity and a one-line summary. */
typedef struct {
    const char *id;
    st_severity severity;
    const char *title;   /* short name */
    const char *summary; /* one sentence */
} st_rule;

/* ---- version ---------------------------------------------------------------------------- */
/* The library's own ST_VERSION_STRING and ST_API_VERSION, for programs that load it at run time
 * (the macros are those of the header a program was compiled with). */
ST_API const char *st_version(void);
ST_API int st_api_version(void);
/* Frees what the library returns malloc'd (st_ctx_policy_json, st_rule_explain,
 * st_doc_write_string) from a program that cannot call the library's free (a binding). */
ST_API void st_free(void *p);

/* ---- context ---------------------------------------------------------------------------- */
ST_API st_ctx *st_ctx_new(void);
ST_API void st_ctx_free(st_ctx *ctx);
/* Set a limit. Returns ST_E_INVAL for an unknown limit or a value above its hard maximum. */
ST_API st_error st_ctx_set_limit(st_ctx *ctx, st_limit which, uint64_t value);
ST_API uint64_t st_ctx_get_limit(const st_ctx *ctx, st_limit which);
/* Strict mode: warnings fail a file too (what `stcheck --strict` selects). */
ST_API void st_ctx_set_strict(st_ctx *ctx, int strict);
/* The lowest severity that fails a file: "info", "warning", "error" (default) or "none". */
ST_API st_error st_ctx_set_fail_on(st_ctx *ctx, const char *severity);

/* --digest: compute each file's SHA-256 over the very descriptor that is checked. */
ST_API void st_ctx_set_digest(st_ctx *ctx, int on);
/* --deep: read every safetensors tensor once, streamed, and count NaN/Inf per float tensor
 * (ST141); shares the one read with the digest. */
ST_API void st_ctx_set_deep(st_ctx *ctx, int on);
/* --expect: a manifest in sha256sum format ("HEX  PATH" per line; "HEX *PATH" too). Turns the
 * digest on; a file whose digest differs (ST620) or that the manifest lacks (ST621) fails. On
 * error, err names the line; the context is unchanged. */
ST_API st_error st_ctx_load_manifest(st_ctx *ctx, const char *path, char *err, size_t err_size);

/* Policies (JSON files such as those in rules/; docs/policy.md). Loading layers the file over the
 * current policy (after its own "extends"). On error, err receives a message naming the key path,
 * and the context is left unchanged. */
ST_API st_error st_ctx_load_policy(st_ctx *ctx, const char *path, char *err, size_t err_size);
ST_API st_error st_ctx_load_policy_text(st_ctx *ctx, const char *json, const char *base_dir,
                                        char *err, size_t err_size);
/* The effective policy as a JSON document (malloc'd; free it), or NULL. */
ST_API char *st_ctx_policy_json(const st_ctx *ctx);

/* ---- checking ------------------------------------------------------------------------- */
/* Each returns a report (NULL only when the report itself could not be allocated). The
 * display name is used in findings and output; it is copied. */
ST_API st_report *st_check_path(st_ctx *ctx, const char *path);
ST_API st_report *st_check_fd(st_ctx *ctx, int fd, const char *display_name);
ST_API st_report *st_check_buffer(st_ctx *ctx, const void *data, size_t size,
                                  const char *display_name);

/* ---- folders (stcheck -r) ------------------------------------------------------------- */
/* Walks a folder once, never following symbolic links: every entry (file, link, special file,
 * or a walk problem such as an unreadable folder or a limit) becomes one item, in pre-order with
 * names sorted bytewise. Links are resolved by hand below the root (the work bounded by the
 * link_steps limit): dangling, looping and escaping links are findings; a link to a file inside
 * the root is checked under the link's own name (the name loaders open), the target's bytes as
 * content. A .git store is one item, not walked (policy "git_store"). NULL only when out of
 * memory. */
typedef struct st_tree st_tree;
ST_API st_tree *st_tree_open(st_ctx *ctx, const char *root);
ST_API size_t st_tree_count(const st_tree *t);
/* Checks item i (thread-safe for distinct or equal i): the file is opened from the root one
 * component at a time with O_NOFOLLOW, and that descriptor is what is checked. Content no model
 * format claims is skipped with an info finding (ST608) only when its pickle view imports
 * nothing and it is identified as text, media or empty; otherwise ST505, ST507, ST609 or, could
 * not check, ST506. Policy overrides match the path below the root. NULL only when out of
 * memory. */
ST_API st_report *st_tree_check(st_ctx *ctx, const st_tree *t, size_t i);
ST_API void st_tree_free(st_tree *t);

/* ---- remote files (docs/remote.md) ---------------------------------------------------- */
/* Whether this build checks URLs (CMake option STCHECK_REMOTE, libcurl). */
ST_API int st_remote_supported(void);
/* Bytes downloaded per file at most (--max-fetch; default 268,435,456 = 256 MiB); past it the
 * file is "could not check" (ST643). 0 is refused. */
ST_API st_error st_ctx_set_max_fetch(st_ctx *ctx, uint64_t bytes);
/* A request header "Name: value" (--header), sent only to the origin (scheme, host, port) of
 * each URL as given, never after a redirect to another one. ST_E_INVAL without a colon, with a
 * CR, LF or NUL, or past 64 headers. */
ST_API st_error st_ctx_add_header(st_ctx *ctx, const char *header);
/* A CA certificate file (PEM) trusted for https besides the system's (--cacert). */
ST_API st_error st_ctx_set_cacert(st_ctx *ctx, const char *path);
/* Connect timeout in seconds, and the window of the stall guard (a transfer moving less than
 * 1 KiB/s that long is dropped); default 30, 1 to 3600. */
ST_API st_error st_ctx_set_timeout(st_ctx *ctx, long seconds);
/* Seconds a URL's whole check may take, every request included (--fetch-timeout; default 300,
 * 1 to 86400); past it the file is "could not check" (ST649). For -r hf:// the listing has its
 * own deadline, and so has each file. */
ST_API st_error st_ctx_set_fetch_timeout(st_ctx *ctx, long seconds);
/* Nonzero: refuse every connection to an address that is not public (loopback, private,
 * link-local, ... after DNS), the first URL's included (--no-private-addresses; ST650). By
 * default only a check that has connected to a public address is refused a non-public one (a
 * redirect or DNS answer into the local network). */
ST_API st_error st_ctx_set_no_private_addresses(st_ctx *ctx, int on);
/* Checks an http://, https:// or hf://OWNER/REPO[@REV]/PATH URL through range requests (hf://
 * resolves at $HF_ENDPOINT, default https://huggingface.co, and sends $HF_TOKEN as a bearer
 * token there). Only this function fetches: st_check_path never does, whatever the path. The
 * report is named by the URL without its query. NULL only when out of memory. */
ST_API st_report *st_check_url(st_ctx *ctx, const char *url);
/* Downloaded body bytes and HTTP requests (redirects and retries included) of a URL's check;
 * 0 for local files. */
ST_API uint64_t st_report_bytes_fetched(const st_report *r);
ST_API uint64_t st_report_requests(const st_report *r);
/* Nonzero when the report is of a URL. */
ST_API int st_report_remote(const st_report *r);

/* A Hub repository walk (-r hf://OWNER/REPO[@REV]): the tree API listing ($HF_ENDPOINT) is
 * read once; each listed file is an item checked like a file of a folder walk (content no model
 * format claims is skipped as ST608 when identified). A listing that cannot be read is one item
 * reporting ST648; refused paths are items reporting ST647. NULL only when out of memory. */
typedef struct st_hub st_hub;
ST_API st_hub *st_hub_open(st_ctx *ctx, const char *ref);
ST_API size_t st_hub_count(const st_hub *h);
ST_API st_report *st_hub_check(st_ctx *ctx, const st_hub *h, size_t i);
ST_API void st_hub_free(st_hub *h);

/* ---- reports -------------------------------------------------------------------------- */
ST_API void st_report_free(st_report *r);
ST_API st_verdict st_report_verdict(const st_report *r);
ST_API st_error st_report_error(const st_report *r);
ST_API const char *st_report_path(const st_report *r);
/* The folder a -r walk found the file in (its root as given), or NULL for a file given as
 * such. Documents group files by it, with a verdict per repository. */
ST_API const char *st_report_repository(const st_report *r);
ST_API const char *st_report_format(const st_report *r); /* "safetensors", "unknown", ... */
/* What the file is ("joblib", "npz", "torchscript", ...) and what wraps it ("xz", "zip") or NULL */
ST_API const char *st_report_kind(const st_report *r);
ST_API const char *st_report_wrapper(const st_report *r);
ST_API uint64_t st_report_file_size(const st_report *r);
ST_API uint64_t st_report_header_length(const st_report *r); /* safetensors N, else 0 */
ST_API uint64_t st_report_tensor_count(const st_report *r);
ST_API const char *st_report_sha256(const st_report *r); /* hex, or "" when not computed */
ST_API size_t st_report_finding_count(const st_report *r);
ST_API const st_finding *st_report_finding(const st_report *r, size_t i);
/* Pickle evidence: every distinct import and every call site (bounded lists). */
typedef struct {
    const char *module; /* after Python-2 mapping (pickle's fix_imports), as findings name it */
    const char *name;
    const char *member;    /* container member, "" for the file itself */
    const char *judgement; /* "allowed", "suspicious", "malicious" */
    uint64_t offset;       /* first occurrence, in the member (or file) */
    uint64_t count;        /* occurrences */
    /* module and name as the file wrote them (the first spelling seen) */
    const char *written_module;
    const char *written_name;
} st_import;

typedef struct {
    const char *callable; /* "module.name", or "<value>" when not an imported global */
    const char *opcode;   /* REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST; BUILD: state set on it */
    const char *member;
    uint64_t offset;
} st_call;

ST_API size_t st_report_import_count(const st_report *r);
ST_API const st_import *st_report_import(const st_report *r, size_t i);
ST_API size_t st_report_call_count(const st_report *r); /* listed calls */
ST_API const st_call *st_report_call(const st_report *r, size_t i);
ST_API uint64_t st_report_call_total(const st_report *r); /* every call, listed or not */

/* Number of findings of a severity (after policy). */
ST_API size_t st_report_count_severity(const st_report *r, st_severity sev);

/* ---- rules ---------------------------------------------------------------------------- */
ST_API size_t st_rule_count(void);
ST_API const st_rule *st_rule_at(size_t i);
ST_API const st_rule *st_rule_find(const char *id);
/* The rule's documentation (its section of docs/rules.md, compiled in), malloc'd; NULL for an
 * unknown id. */
ST_API char *st_rule_explain(const char *id);

/* ---- names ---------------------------------------------------------------------------- */
ST_API const char *st_severity_name(st_severity sev); /* "error", "warning", "info", "off" */
ST_API const char *st_verdict_name(st_verdict v);     /* "pass", "fail", "could not check" */
ST_API const char *st_error_name(st_error e);         /* "ok", "i/o error", ... */

/* ---- output --------------------------------------------------------------------------- */
/* Text: one line per finding, then a verdict line. Returns 0, or -1 on a write error. */
ST_API int st_write_text(FILE *out, const st_report *r);
/* The same, with ANSI colours when color is nonzero. */
ST_API int st_write_text_color(FILE *out, const st_report *r, int color);
/* Untrusted text (a path, a folder, a name) as stcheck shows it: valid UTF-8 without control,
 * invisible or non-XML characters, every other byte as "\xNN", cut with "..." to fit size.
 * Returns buf. */
ST_API const char *st_escape_display(const char *s, char *buf, size_t size);

/* JSON Lines: one object per file (the same fields as a "files" entry of the JSON document,
 * plus schema_version), written and flushed as soon as the file is checked. */
ST_API int st_write_jsonl(FILE *out, const st_report *r);

/* Documents over many reports: create one, add each report, then write it once.
 *   ST_DOC_JSON   the JSON document (docs/report-json.md)
 *   ST_DOC_SARIF  SARIF 2.1.0 for code scanning (docs/report-sarif.md); artifact URIs are made
 *                 relative to the working directory at st_doc_new
 *   ST_DOC_JUNIT  JUnit XML for CI test reports (docs/report-junit.md) */
typedef enum { ST_DOC_JSON = 0, ST_DOC_SARIF, ST_DOC_JUNIT } st_doc_format;
typedef struct st_doc st_doc;
ST_API st_doc *st_doc_new(st_doc_format format);      /* NULL when out of memory */
ST_API int st_doc_add(st_doc *d, const st_report *r); /* 0, or -1 when out of memory */
ST_API int st_doc_write(st_doc *d, FILE *out);        /* 0, or -1 on error; write once */
ST_API void st_doc_free(st_doc *d);
/* The document as a NUL-terminated string (malloc'd; st_free it) instead of st_doc_write; NULL
 * when out of memory or on a write error. Write once, either way. */
ST_API char *st_doc_write_string(st_doc *d);

/* ---- convert and compare (docs/convert.md) -------------------------------------------- */
/* Converts a PyTorch checkpoint (zip or legacy) to a safetensors file without executing it.
 * The input is checked first; only a passing input is converted, and only a state dict of
 * plain tensors (ST670 otherwise). The output is written beside OUTPUT, fsynced, checked with
 * --strict, compared with the input and renamed into place; on any failure OUTPUT is not
 * created (an existing OUTPUT is left as it was). Returns the input's report with the
 * conversion's findings (ST670-ST674): verdict pass = converted. NULL only when out of memory
 * or given NULL. */
ST_API st_report *st_convert_path(st_ctx *ctx, const char *input, const char *output);
/* Do two files (checkpoints or safetensors, any mix) hold the same tensors (names, dtypes,
 * shapes, bytes)? Each difference is a finding (ST675-ST678); an input that fails its checks
 * or cannot be read is ST679. Verdict pass = identical. NULL only when out of memory or given
 * NULL. */
ST_API st_report *st_compare_paths(st_ctx *ctx, const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif /* STCHECK_H */
