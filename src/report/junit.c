/*
 * junit.c - JUnit XML for CI test reports (docs/report-junit.md).
 *
 * One <testcase> per file and finding id: classname is the file path, name is "ID title"
 * (GitLab merges test cases with the same classname and name, so findings of one id on one
 * file are one test case listing every message). A finding at or above the fail threshold is a
 * <failure>; below it, the test case passes and its messages go to <system-out>. A file that
 * could not be checked is an <error>. A file without findings is one passing test case.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/escape.h"
#include "doc.h"

typedef struct {
    char *buf; /* the <testcase> elements, written at the end under their counts */
    size_t len;
    FILE *cases;
    size_t tests, failures, errors;
    int failed; /* an escape ran out of memory */
} junit_doc;

static void *junit_create(void)
{
    junit_doc *j = calloc(1, sizeof(*j));
    if (j != NULL && (j->cases = open_memstream(&j->buf, &j->len)) == NULL) {
        free(j);
        j = NULL;
    }
    return j;
}

static void junit_destroy(void *state)
{
    junit_doc *j = state;
    if (j->cases != NULL)
        fclose(j->cases);
    free(j->buf);
    free(j);
}

/* Attribute values and text: st_put_xml (escaped form, XML metacharacters as entities), for
 * every string, ours included, so none can leave its attribute or element. */
static void xml_text(junit_doc *j, const char *s)
{
    if (st_put_xml(j->cases, s) != 0)
        j->failed = 1;
}

static void open_case(junit_doc *j, const st_report *r, const char *name)
{
    fputs("    <testcase classname=\"", j->cases);
    xml_text(j, r->path);
    fputs("\" name=\"", j->cases);
    xml_text(j, name);
    fputs("\">\n", j->cases);
    j->tests++;
}

/* The messages of every finding with this id, one per line, with their byte ranges. */
static void messages(junit_doc *j, const st_report *r, const char *id)
{
    FILE *out = j->cases;
    for (size_t i = 0; i < r->n_findings; i++) {
        const st_finding *f = &r->findings[i];
        if (strcmp(f->id, id) != 0)
            continue;
        fprintf(out, "%s ", st_severity_name(f->severity));
        xml_text(j, f->id);
        fputs(": ", out);
        xml_text(j, f->message);
        if (f->offset == 0 && f->length == 0) /* about the file, not a byte range */
            fputs("\n", out);
        else
            fprintf(out, " [at offset %llu, length %llu]\n", (unsigned long long)f->offset,
                    (unsigned long long)f->length);
    }
}

static int seen_before(const st_report *r, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(r->findings[k].id, r->findings[i].id) == 0)
            return 1;
    return 0;
}

static st_severity worst_of(const st_report *r, const char *id)
{
    st_severity w = ST_SEV_OFF;
    for (size_t i = 0; i < r->n_findings; i++)
        if (strcmp(r->findings[i].id, id) == 0 && r->findings[i].severity > w)
            w = r->findings[i].severity;
    return w;
}

/* One test case for one finding id; returns 1 when it reported the file's check error. */
static int finding_case(junit_doc *j, const st_report *r, const st_finding *f)
{
    char name[256];
    const st_rule *ru = st_rule_find(f->id);
    snprintf(name, sizeof(name), "%s %s", f->id, ru ? ru->title : "");
    open_case(j, r, name);
    st_severity w = worst_of(r, f->id);
    /* ST9xx findings are the reasons a check could not finish */
    int is_error = r->err != ST_OK && strncmp(f->id, "ST9", 3) == 0 && w == ST_SEV_ERROR;
    const char *tag = is_error ? "error" : "failure";
    if (is_error || (int)w >= r->fail_on) {
        fprintf(j->cases, "      <%s type=\"%s\" message=\"", tag, st_severity_name(w));
        xml_text(j, f->message);
        fputs("\">", j->cases);
        messages(j, r, f->id);
        fprintf(j->cases, "</%s>\n", tag);
        j->errors += is_error;
        j->failures += !is_error;
    } else {
        fputs("      <system-out>", j->cases);
        messages(j, r, f->id);
        fputs("</system-out>\n", j->cases);
    }
    fputs("    </testcase>\n", j->cases);
    return is_error;
}

static int junit_add(void *state, const st_report *r)
{
    junit_doc *j = state;
    int err_shown = 0;
    for (size_t i = 0; i < r->n_findings; i++)
        if (!seen_before(r, i))
            err_shown |= finding_case(j, r, &r->findings[i]);
    if (st_report_verdict(r) == ST_VERDICT_ERROR && !err_shown) {
        open_case(j, r, "could not check");
        fputs("      <error type=\"", j->cases);
        xml_text(j, st_error_name(r->err));
        fputs("\" message=\"", j->cases);
        xml_text(j, st_error_name(r->err));
        fputs("\"/>\n    </testcase>\n", j->cases);
        j->errors++;
    } else if (r->n_findings == 0) {
        open_case(j, r, "no findings");
        fputs("    </testcase>\n", j->cases);
    }
    /* GCOVR_EXCL_BR_START: a memory stream errs only when libc cannot grow its buffer */
    return ferror(j->cases) || j->failed ? -1 : 0;
    /* GCOVR_EXCL_BR_STOP */
}

static int junit_write(void *state, FILE *out)
{
    junit_doc *j = state;
    /* GCOVR_EXCL_BR_START: a memory stream fails to close only when libc cannot grow its buffer */
    if (j->cases == NULL || fclose(j->cases) != 0) {
        /* GCOVR_EXCL_BR_STOP */
        j->cases = NULL;
        return -1;
    }
    j->cases = NULL;
    int rc = fprintf(out,
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<testsuites name=\"stcheck\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n"
                     "  <testsuite name=\"stcheck %s\" tests=\"%zu\" failures=\"%zu\" "
                     "errors=\"%zu\" skipped=\"0\">\n",
                     j->tests, j->failures, j->errors, ST_VERSION_STRING, j->tests, j->failures,
                     j->errors);
    if (rc < 0 || (j->len > 0 && fwrite(j->buf, 1, j->len, out) != j->len) ||
        fputs("  </testsuite>\n</testsuites>\n", out) < 0)
        return -1;
    return 0;
}

const st_doc_ops st_doc_junit_ops = {junit_create, junit_add, junit_write, junit_destroy};
