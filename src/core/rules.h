/*
 * rules.h - internal enumeration of the finding ids in rules.def.
 */
#ifndef ST_RULES_H
#define ST_RULES_H

#include "stcheck.h"

typedef enum {
#define X(e, id, sev, title, summary) e,
#include "rules.def"
#undef X
    ST_R_COUNT_
} st_rule_id;

const st_rule *st_rules_get(st_rule_id id);

#endif /* ST_RULES_H */
