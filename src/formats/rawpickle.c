/*
 * rawpickle.c - a file that is a pickle stream (pickle.dump, joblib without compression,
 * pre-zip torch.save). Identified by content: PROTO 2-5, or a protocol 0/1 opcode stream.
 *
 * A raw pickle is judged by the data profile (torch + numpy + joblib allowlists). Everything
 * after the first pickle is reported (pickle.load stops at STOP) and, when it parses as a
 * pickle, analysed too.
 */
#include "pickle.h"

int st_rawpickle_sniff(const st_input *in)
{
    if (!st_pk_looks_like_pickle(in->head, in->head_len))
        return 0;
    return in->head[0] == 0x80 ? 90 : 70;
}

st_error st_rawpickle_check(st_input *in)
{
    st_pk_result res;
    st_pk_job job = {in, in->src, 0, in->src->size, NULL, ST_PK_PROFILE_DATA, 0, 0};
    in->report->format = "pickle";
    st_error err = st_pickle_walk(&job, &res);
    st_pk_result_free(&res);
    return err;
}
