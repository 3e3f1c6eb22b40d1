/*
 * fuzz_hub.c - the Hub tree API listing (src/fetch/hub.c) through the strict JSON scanner:
 * every path kept must be one st_hub_path_ok accepts, every refused one has a message, and
 * the sorted list has no duplicate among the accepted paths.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_hub_list l = {NULL, 0, 0};
    char msg[256];
    int rc = st_hub_parse(data, size, 64, 10000, &l, msg, sizeof(msg));
    if (rc != 0 && msg[0] == '\0')
        abort();
    if (rc == 0 && st_hub_list_finish(&l) != 0)
        abort();
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const st_hub_entry *e = &l.v[i];
        if (e->path == NULL || (e->refused && e->message == NULL))
            abort();
        if (!e->refused && !st_hub_path_ok(e->path, strlen(e->path)))
            abort();
        for (size_t k = 0; k < i; k++)
            if (!e->refused && !l.v[k].refused && strcmp(e->path, l.v[k].path) == 0)
                abort();
    }
    st_hub_list_free(&l);
    return 0;
}
