/*
 * version.c - run-time version of the library, for bindings that load it dynamically
 * (bindings/python checks st_api_version() at import, so a library whose structs or signatures
 * differ from what the binding mirrors is refused rather than misread).
 */
#include <stdlib.h>

#include "stcheck.h"

const char *st_version(void)
{
    return ST_VERSION_STRING;
}

int st_api_version(void)
{
    return ST_API_VERSION;
}

void st_free(void *p)
{
    free(p);
}
