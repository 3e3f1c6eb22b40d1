/*
 * other_exec.c - native executables, the llamafile among them (docs/formats/other.md).
 *
 * A llamafile is an Actually Portable Executable (Cosmopolitan libc, ape/ape.S): a file that is
 * at once a shell script, a Windows PE and (through its loader) an ELF/Mach-O program. It starts
 * with "MZqFpD='" (the DOS "MZ" magic, then a shell assignment that hides the binary header from
 * sh), or "jartsr='" / "APEDBG='" in the variants without a Windows header, and carries a zip
 * archive at its end that holds the weights (a .gguf stored uncompressed so it can be mapped)
 * and a .args file. Running it runs its code: it is an error by default (ST534), whatever the
 * weights are; a policy whose formats.allow names "llamafile" (or "executable") records it as
 * ST535 instead. The zip is walked by ziparchive.c as the second view of the same bytes (zip
 * readers find the archive from its end), and every GGUF member is checked by gguf.c as a
 * nested input: its findings are reported with the executable's.
 *
 * Plain ELF, PE and Mach-O files are executables too (a shared library in a model folder, an
 * installer named .bin): ST534, never "unknown data".
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "zip.h"

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What kind of executable the first bytes are, or NULL. */
static const char *exec_kind(const st_input *in)
{
    const unsigned char *h = in->head;
    size_t n = in->head_len;
    static const char *const ape[] = {"MZqFpD=", "jartsr=", "APEDBG="};
    for (size_t i = 0; i < sizeof(ape) / sizeof(ape[0]); i++)
        if (n >= 7 && memcmp(h, ape[i], 7) == 0)
            return "an Actually Portable Executable";
    if (n >= 4 && memcmp(h, "\177ELF", 4) == 0)
        return "an ELF executable";
    /* "MZ" alone is two ASCII letters; a PE has its "PE\0\0" header where e_lfanew points */
    if (n >= 0x40 && h[0] == 'M' && h[1] == 'Z') {
        uint32_t pe = le32(h + 0x3c);
        if (pe <= n - 4 && memcmp(h + pe, "PE\0\0", 4) == 0)
            return "a PE executable";
    }
    static const unsigned char macho[][4] = {{0xcf, 0xfa, 0xed, 0xfe},
                                             {0xce, 0xfa, 0xed, 0xfe},
                                             {0xfe, 0xed, 0xfa, 0xcf},
                                             {0xfe, 0xed, 0xfa, 0xce}};
    for (size_t i = 0; i < sizeof(macho) / sizeof(macho[0]); i++)
        if (n >= 4 && memcmp(h, macho[i], 4) == 0)
            return "a Mach-O executable";
    return NULL;
}

int st_exec_sniff(const st_input *in)
{
    return exec_kind(in) != NULL ? 97 : 0;
}

/* Members of the zip at the end that are GGUF models (by name or content), counted on a scratch
 * report: the zip view (ziparchive.c) records the zip's own findings once. */
static size_t gguf_members(st_input *in)
{
    st_report *scratch = st_report_new(in->ctx, "llamafile zip");
    if (scratch == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return 0;        /* GCOVR_EXCL_LINE: allocation failure: named an executable (error) */
    st_input probe = *in;
    probe.report = scratch;
    probe.digest = NULL;
    st_zip z;
    size_t n = 0;
    if (st_ziparchive_sniff(in) > 0 && st_zip_walk(&probe, &z) == ST_OK) {
        char name[512];
        for (size_t i = 0; i < z.n; i++) {
            st_zip_name(&z, &z.e[i], name, sizeof(name));
            n += st_name_has_suffix(name, ".gguf");
        }
        st_zip_free(&z);
    }
    st_report_free(scratch);
    return n;
}

/* Nonzero when the policy's formats.allow names this format explicitly. */
static int allowed_explicitly(const st_ctx *ctx, const char *format)
{
    for (size_t i = 0; i < ctx->formats_allow.n; i++)
        if (strcmp(ctx->formats_allow.v[i], format) == 0)
            return 1;
    return 0;
}

st_error st_exec_check(st_input *in)
{
    const char *kind = exec_kind(in);
    size_t models = strcmp(kind, "an Actually Portable Executable") == 0 ? gguf_members(in) : 0;
    in->report->format = models > 0 ? "llamafile" : "executable";
    char what[160];
    if (models > 0)
        snprintf(what, sizeof(what),
                 "a llamafile (an Actually Portable Executable with %zu GGUF model%s in the zip "
                 "at its end, checked below)",
                 models, models == 1 ? "" : "s");
    else
        snprintf(what, sizeof(what), "%s", kind);
    if (allowed_explicitly(in->ctx, in->report->format))
        st_report_add(in->report, ST_R_EXECUTABLE_ALLOWED, 0, in->head_len,
                      "%s: native code that runs when the file is run; the policy allows %s "
                      "files",
                      what, in->report->format);
    else
        st_report_add(in->report, ST_R_EXECUTABLE, 0, in->head_len,
                      "%s: native code that runs when the file is run, not a model a loader "
                      "reads; a policy may allow the format (formats.allow: \"%s\")",
                      what, in->report->format);
    return ST_OK;
}
