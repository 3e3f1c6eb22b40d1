/*
 * docstr.c - a document written to memory: for bindings that hold no FILE * (bindings/python's
 * Report.to_json and to_sarif).
 */
#include <stdio.h>
#include <stdlib.h>

#include "stcheck.h"

char *st_doc_write_string(st_doc *d)
{
    char *buf = NULL;
    size_t len = 0;
    if (d == NULL)
        return NULL;
    FILE *mem = open_memstream(&buf, &len);
    if (mem == NULL)
        return NULL;
    int rc = st_doc_write(d, mem);
    /* fclose publishes buf and len; a document cut short by a failed write is not returned.
     * fclose of a memory stream fails only when glibc's own allocation fails (not injectable). */
    if (fclose(mem) != 0 || rc != 0) { /* GCOVR_EXCL_BR_LINE: fclose failure, see above */
        free(buf);
        return NULL;
    }
    return buf;
}
