/*
 * rawpickle.c - a file that is a pickle stream: pickle.dump output, joblib without compression,
 * and legacy torch.save checkpoints (before PyTorch 1.6, or _use_new_zipfile_serialization=
 * False). Identified by content: PROTO, or a protocol 0/1 opcode stream.
 *
 * A raw pickle is judged by the data profile (torch + numpy + joblib allowlists); everything
 * after the first pickle is reported (pickle.load stops at STOP) and, when it parses as a
 * pickle, analysed too.
 *
 * A legacy torch checkpoint (torch/serialization.py _legacy_save) is five pickles - the magic
 * number 0x1950a86a20f9469cfc6c, the protocol version, sys_info, the object, the sorted list of
 * storage keys - then, for each key in sorted order, the storage: an 8-byte little-endian element
 * count and that many elements. All five pickles are judged by the torch profile and rules; the
 * storages are bounded against the persistent ids, never read beyond their counts.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "pickle.h"

/* The first pickle of a legacy checkpoint: PROTO 2, LONG1 of the magic number, STOP. */
static const unsigned char legacy_magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                             0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

int st_rawpickle_sniff(const st_input *in)
{
    if (!st_pk_looks_like_pickle(in->head, in->head_len))
        return 0;
    return in->head[0] == 0x80 ? 90 : 70;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const st_pk_storage_ref *)a)->key, ((const st_pk_storage_ref *)b)->key);
}

/* Walks the storages after the fifth pickle, in sorted key order, against the ids. */
static st_error legacy_storages(st_input *in, st_pk_storage_ref *refs, size_t n, uint64_t pos)
{
    char shown[96];
    if (n > 1)
        qsort(refs, n, sizeof(*refs), key_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(refs[i].key, refs[i - 1].key) == 0)
            continue; /* views share their root storage */
        unsigned char cnt[8];
        uint64_t numel, bytes, end;
        st_escape(refs[i].key, strlen(refs[i].key), shown, sizeof(shown), 60);
        if (in->src->size - pos < 8 || st_src_read(in->src, pos, cnt, 8) != ST_OK) {
            st_report_add(in->report, ST_R_TORCH_STORAGE, pos, 0,
                          "storage \"%s\" is missing from the end of the file", shown);
            return ST_OK;
        }
        numel = st_le64(cnt);
        if (numel != refs[i].numel) {
            st_report_add(in->report, ST_R_TORCH_STORAGE, pos, 8,
                          "storage \"%s\" records %llu elements; its persistent id says %llu",
                          shown, (unsigned long long)numel, (unsigned long long)refs[i].numel);
            return ST_OK;
        }
        if (refs[i].elem_size == 0 || st_mul_u64(numel, refs[i].elem_size, &bytes) ||
            st_add_u64(pos + 8, bytes, &end) || end > in->src->size) {
            st_report_add(in->report, ST_R_TORCH_STORAGE, pos, 8,
                          "storage \"%s\" of %llu elements runs past the end of the file", shown,
                          (unsigned long long)numel);
            return ST_OK;
        }
        pos = end;
    }
    if (pos < in->src->size)
        st_report_add(in->report, ST_R_PK_TRAILING, pos, in->src->size - pos,
                      "%llu bytes follow the last storage",
                      (unsigned long long)(in->src->size - pos));
    return ST_OK;
}

static st_error check_legacy(st_input *in)
{
    st_pk_job job = {.in = in,
                     .src = in->src,
                     .end = in->src->size,
                     .profile = ST_PK_PROFILE_TORCH,
                     .single = 1,
                     .torch_rules = 1};
    st_pk_storage_ref *refs = NULL;
    size_t n_refs = 0;
    st_error err = ST_OK;
    in->report->format = "pytorch-legacy";
    for (int k = 0; k < 5 && err == ST_OK; k++) {
        st_pk_result res;
        err = st_pickle_walk(&job, &res);
        int done = err == ST_OK && !res.malformed && res.pickles == 1;
        if (done && res.n_storages > 0) {
            st_pk_storage_ref *p = realloc(refs, (n_refs + res.n_storages) * sizeof(*p));
            if (p == NULL)
                err = ST_E_NOMEM;
            else {
                memcpy(p + n_refs, res.storages, res.n_storages * sizeof(*p));
                refs = p;
                n_refs += res.n_storages;
            }
        }
        job.start = res.stop_end;
        st_pk_result_free(&res);
        if (!done) {
            free(refs);
            return err; /* a malformed record was reported; what follows cannot be framed */
        }
    }
    if (err == ST_OK)
        err = legacy_storages(in, refs, n_refs, job.start);
    free(refs);
    return err;
}

st_error st_rawpickle_check(st_input *in)
{
    if (in->head_len >= sizeof(legacy_magic) &&
        memcmp(in->head, legacy_magic, sizeof(legacy_magic)) == 0)
        return check_legacy(in);
    st_pk_result res;
    st_pk_job job = {.in = in, .src = in->src, .end = in->src->size, .profile = ST_PK_PROFILE_DATA};
    in->report->format = "pickle";
    st_error err = st_pickle_walk(&job, &res);
    st_pk_result_free(&res);
    return err;
}
