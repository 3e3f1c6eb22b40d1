/*
 * views.c - the readings a loader may take of any file, whatever its primary format.
 *
 * Loaders do not all route by content. torch.load (torch 1.13 serialization.py load) tries a
 * zip, then tarfile.open (_legacy_load), then pickle_module.load from byte 0; numpy.load
 * (numpy/lib/npyio.py load) falls back to pickle.load when allow_pickle is set. So a valid
 * safetensors file whose length prefix reads as PROTO 4, BINFLOAT ... and whose header hides
 * the rest of a pickle in a JSON string runs that pickle under torch.load. Every file is
 * therefore also read as:
 *   - a pickle from byte 0: what pickle.load executes before it stops (the first STOP) or
 *     fails. A stream that fails before importing or calling anything runs nothing and is no
 *     finding here; one that imports or calls is walked again into the file's report, judged
 *     by the raw-pickle allowlist, with ST520 saying it is a second view. A walk that cannot
 *     finish (a limit) is "could not check", as for any pickle.
 *   - a tar archive when tar.c identifies its first 512-byte header as one tarfile.open
 *     accepts, with ST521, then checked by tar.c as any tar.
 * Zip, found from the end whatever precedes it, is the third view (formats.c).
 */
#include <string.h>

#include "pickle.h"

/* Whether pickle.load can get past the first byte: it must be an opcode of protocols 0-5
 * (Lib/pickletools.py), and not one that pops the stack or a mark, since both are empty at
 * byte 0 (load_pop, load_dup, ... raise UnpicklingError "stack underflow" / "could not find
 * MARK"). Most files fail here, so the walker runs for few of them. */
static int may_run(unsigned char c)
{
    static const char starts[] = "(FGIJKLMNSTUVXci}])BC";
    static const unsigned char proto2plus[] = {0x80, 0x82, 0x83, 0x84, 0x88, 0x89, 0x8a,
                                               0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x95, 0x96};
    if (c >= 0x80)
        return memchr(proto2plus, c, sizeof(proto2plus)) != NULL;
    return c != '\0' && memchr(starts, c, sizeof(starts) - 1) != NULL;
}

int st_pickle_view_sniff(const st_input *in)
{
    return in->head_len > 0 && may_run(in->head[0]) ? 100 : 0;
}

static st_error walk_view(st_input *in, st_report *into, int probing)
{
    st_input view = *in;
    view.report = into;
    view.on_tensor = NULL;
    st_pk_job job = {.in = &view,
                     .src = in->src,
                     .end = in->src->size,
                     .member = probing ? NULL : "(pickle view)",
                     .profile = ST_PK_PROFILE_DATA,
                     .single = 1}; /* pickle.load returns at the first STOP */
    st_pk_result res;
    st_error err = st_pickle_walk(&job, &res);
    st_pk_result_free(&res);
    return err;
}

/* Walks into a scratch report first: almost every file fails at its first opcodes, and that
 * is no finding. Only a walk that imported, called or could not finish is walked again into
 * the file's report (rare: a polyglot). */
st_error st_pickle_view_check(st_input *in)
{
    st_report *probe = st_report_new(in->ctx, ""); /* never shown */
    if (probe == NULL)
        return ST_E_NOMEM;
    probe->sevmap = NULL; /* built-in severities: a policy cannot hide what the view runs */
    st_error err = walk_view(in, probe, 1);
    int acted = probe->n_imports > 0 || probe->calls_total > 0;
    int failed = err != ST_OK || probe->err != ST_OK || probe->truncated;
    st_report_free(probe);
    if (!acted && !failed)
        return ST_OK;
    if (acted)
        st_report_add(in->report, ST_R_VIEW_PICKLE, 0, 0,
                      "read from byte 0 as pickle.load reads it (torch.load, numpy.load with "
                      "allow_pickle), this file is also a pickle that imports or calls; its "
                      "imports and calls follow, judged as a raw pickle's");
    return walk_view(in, in->report, 0);
}

/* tar.c's identification: a first header tarfile.open accepts. */
int st_tar_view_sniff(const st_input *in)
{
    return st_tar_sniff(in);
}

st_error st_tar_view_check(st_input *in)
{
    st_report_add(in->report, ST_R_VIEW_TAR, 0, 512,
                  "the first 512 bytes are a tar header that tarfile.open accepts, so torch.load "
                  "reads this file as a legacy tar checkpoint; its members are checked");
    return st_tar_check(in);
}
