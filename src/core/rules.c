/*
 * rules.c - the finding-id table (built from rules.def) and its lookups.
 */
#include "rules.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include "rules_doc.h" /* generated from docs/rules.md */

static const st_rule rule_table[ST_R_COUNT_] = {
#define X(e, id, sev, title, summary) {id, sev, title, summary},
#include "rules.def"
#undef X
};

const st_rule *st_rules_get(st_rule_id id)
{
    if ((unsigned)id >= ST_R_COUNT_)
        return NULL;
    return &rule_table[id];
}

size_t st_rule_count(void)
{
    return ST_R_COUNT_;
}

const st_rule *st_rule_at(size_t i)
{
    return i < ST_R_COUNT_ ? &rule_table[i] : NULL;
}

const st_rule *st_rule_find(const char *id)
{
    if (id == NULL)
        return NULL;
    for (size_t i = 0; i < ST_R_COUNT_; i++)
        if (strcmp(rule_table[i].id, id) == 0)
            return &rule_table[i];
    return NULL;
}

const char *st_severity_name(st_severity sev)
{
    switch (sev) {
    case ST_SEV_ERROR:
        return "error";
    case ST_SEV_WARNING:
        return "warning";
    case ST_SEV_INFO:
        return "info";
    case ST_SEV_OFF:
        return "off";
    }
    return "unknown";
}

const char *st_verdict_name(st_verdict v)
{
    switch (v) {
    case ST_VERDICT_PASS:
        return "pass";
    case ST_VERDICT_FAIL:
        return "fail";
    case ST_VERDICT_ERROR:
        return "could not check";
    }
    return "unknown";
}

const char *st_error_name(st_error e)
{
    switch (e) {
    case ST_OK:
        return "ok";
    case ST_E_IO:
        return "i/o error";
    case ST_E_NOMEM:
        return "out of memory";
    case ST_E_LIMIT:
        return "limit reached";
    case ST_E_UNSUPPORTED:
        return "unsupported format";
    case ST_E_NOTFILE:
        return "not a regular file";
    case ST_E_INVAL:
        return "invalid argument";
    }
    return "unknown error";
}

char *st_rule_explain(const char *id)
{
    char heading[32];
    if (st_rule_find(id) == NULL)
        return NULL;
    snprintf(heading, sizeof(heading), "## %s ", id);
    const char *start = strstr(st_rules_doc, heading);
    /* GCOVR_EXCL_START: every id has a section (test_report's test_rules_documented checks
     * docs/rules.md for each id in rules.def); kept so a missing one is NULL, not a crash */
    if (start == NULL)
        return NULL;
    /* GCOVR_EXCL_STOP */
    const char *end = strstr(start + 3, "\n## ");
    size_t n = end ? (size_t)(end - start) + 1 : strlen(start);
    char *out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, start, n);
        out[n] = '\0';
    }
    return out;
}
