/*
 * fuzz_pickle.c - the pickle opcode walker alone, under both profiles (torch with its opcode
 * rules, data without), on any bytes.
 */
#include "formats/pickle.h"
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int torch = 0; torch < 2; torch++) {
        fuzz_input f;
        st_pk_result res;
        fuzz_input_init(&f, data, size, "fuzz.pkl");
        st_pk_job job = {.in = &f.in,
                         .src = &f.src,
                         .end = size,
                         .member = torch ? "archive/data.pkl" : NULL,
                         .profile = torch ? ST_PK_PROFILE_TORCH : ST_PK_PROFILE_DATA,
                         .torch_rules = torch};
        st_error err = st_pickle_walk(&job, &res);
        if (res.stop_end > size)
            abort();
        for (size_t i = 0; i < res.n_storages; i++)
            if (res.storages[i].offset >= size || res.storages[i].key[63] != '\0')
                abort();
        st_pk_result_free(&res);
        fuzz_input_finish(&f, err);
    }
    (void)st_pk_looks_like_pickle(data, size);
    return 0;
}
