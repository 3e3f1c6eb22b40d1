/*
 * test_containers.c - the container readers as the loaders read them (issue #9): tarfile's
 * header rules, miniz's name lookup, and every committed differential sample with its exact
 * finding ids and verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "formats/zip.h"
#include "build_archive.h"
#include "test_util.h"

/* A ustar header named "pickle" whose size field is `size` (8 of its 12 bytes), checksummed
 * unsigned (or signed: bytes above 0x7f then count negative). */
static void header(unsigned char h[512], const char *size, int high_byte, int signed_sum)
{
    ba_tar_header(h, "pickle", 0, '0', NULL);
    if (high_byte)
        h[7] = 0xe9;
    memset(h + 124, 0, 12);
    memcpy(h + 124, size, strlen(size));
    ba_tar_checksum(h, signed_sum);
}

/* tarfile.nti: int(text.strip() or "0", 8) - checked against Python 3.11 (see tar.md). */
static void test_tar_headers(void **state)
{
    (void)state;
    static const struct {
        const char *size;
        int valid;
    } cases[] = {
        {"0000027", 1}, {" 27 ", 1}, {"0o27", 1}, {"2_7", 1}, {"+27", 1}, {"0o_27", 1},
        {"", 1},        {"28", 0},   {"2__7", 0}, {"_27", 0}, {"27_", 0}, {"0o", 0},
    };
    unsigned char h[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        header(h, cases[i].size, 0, 0);
        if (st_tar_header_valid(h, sizeof(h)) != cases[i].valid)
            fail_msg("size field \"%s\": valid %d expected %d", cases[i].size,
                     st_tar_header_valid(h, sizeof(h)), cases[i].valid);
    }
    /* calc_chksums: the signed sum is accepted as well */
    header(h, "27", 1, 1);
    assert_true(st_tar_header_valid(h, sizeof(h)));
    header(h, "27", 1, 0);
    assert_true(st_tar_header_valid(h, sizeof(h)));
    h[0] = 'q'; /* checksum no longer matches */
    assert_false(st_tar_header_valid(h, sizeof(h)));
    /* no ustar magic needed (a V7 header) */
    header(h, "27", 0, 0);
    memset(h + 257, 0, 8);
    ba_tar_checksum(h, 0);
    assert_true(st_tar_header_valid(h, sizeof(h)));
    memset(h, 0, sizeof(h)); /* an end-of-archive block is no header */
    assert_false(st_tar_header_valid(h, sizeof(h)));
}

/* A central directory holding just names, for the lookup functions. */
static void fake_zip(st_zip *z, const char *const *names, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(names[i]);
    z->cd = malloc(total + 1);
    z->e = calloc(n, sizeof(*z->e));
    assert_non_null(z->cd);
    assert_non_null(z->e);
    z->n = n;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(z->cd + off, names[i], strlen(names[i]));
        z->e[i].name_off = (uint32_t)off;
        z->e[i].name_len = (uint32_t)strlen(names[i]);
        off += strlen(names[i]);
    }
}

/* miniz: a case-insensitive binary search over a heap sort of the names. */
static void test_miniz_lookup(void **state)
{
    (void)state;
    static const char *const names[] = {"a/version", "a/data/0", "a/DATA.PKL", "a/data/1"};
    st_zip z;
    memset(&z, 0, sizeof(z));
    fake_zip(&z, names, 4);
    uint32_t *s = st_zip_miniz_sorted(&z);
    assert_non_null(s);
    assert_int_equal(st_zip_miniz_locate(&z, s, "a/data.pkl"), 2);
    assert_int_equal(st_zip_miniz_locate(&z, s, "A/VERSION"), 0);
    assert_int_equal(st_zip_miniz_locate(&z, s, "a/data/1"), 3);
    assert_int_equal(st_zip_miniz_locate(&z, s, "a/data"), -1);
    assert_int_equal(st_zip_miniz_locate(&z, s, "b/data.pkl"), -1);
    free(s);
    st_zip_free(&z);
}

/* Every committed differential sample: exact ids, exact verdict. */
static const struct {
    const char *file;
    const char *ids;
    st_verdict verdict;
} samples[] = {
    {"ST316-zip64-locator-split-view.pt", "ST201,ST316", ST_VERDICT_FAIL},
    {"ST316-zip-count-vs-size.pt", "ST201,ST310,ST316", ST_VERDICT_FAIL},
    {"ST317-zip-data-pkl-case.pt", "ST201,ST317", ST_VERDICT_FAIL},
    {"ST319-pickle-then-zip.pt", "ST201,ST208,ST308,ST319", ST_VERDICT_FAIL},
    {"ST319-tar-header-is-pickle.tar", "ST201,ST208,ST319", ST_VERDICT_FAIL},
    {"ST319-tar-header-imports.tar", "ST201,ST206,ST319,ST520", ST_VERDICT_FAIL},
    {"ST321-tar-directory-hides-member.tar", "ST201,ST321", ST_VERDICT_FAIL},
    {"ST324-tar-typeflag-unknown.tar", "ST201,ST324", ST_VERDICT_FAIL},
    {"ST324-tar-typeflag-contiguous.tar", "ST201,ST324", ST_VERDICT_FAIL},
    {"ST324-tar-hardlink-pickle.tar", "ST201,ST323,ST324", ST_VERDICT_FAIL},
    {"ST324-tar-symlink-storages.tar", "ST324", ST_VERDICT_FAIL},
    {"ST325-legacy-magic-int-p0.pt", "ST325", ST_VERDICT_PASS},
    {"ST325-legacy-magic-long-p0.pt", "ST325", ST_VERDICT_PASS},
    {"ST325-legacy-magic-hex-int.pt", "ST325", ST_VERDICT_PASS},
    {"ST325-legacy-magic-long4.pt", "ST325", ST_VERDICT_PASS},
    {"ST325-legacy-magic-p0-malicious.pt", "ST201,ST325", ST_VERDICT_FAIL},
};

static void test_differential_samples(void **state)
{
    st_ctx *ctx = *state;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/pytorch/%s", ST_CORPUS_DIR, samples[i].file);
        st_report *r = st_check_path(ctx, path);
        assert_non_null(r);
        tu_assert_report(r, samples[i].file, samples[i].ids, samples[i].verdict);
        st_report_free(r);
    }
}

/* TorchScript: identified, an error, its code listed; its pickles under the TorchScript
 * profile (torch.jit._pickle helpers are not "known dangerous" there). */
static void test_torchscript(void **state)
{
    st_ctx *ctx = *state;
    char path[512], got[512];
    snprintf(path, sizeof(path), "%s/pytorch/ST318-torchscript-module.pt", ST_CORPUS_DIR);
    st_report *r = st_check_path(ctx, path);
    assert_non_null(r);
    assert_string_equal(st_report_format(r), "torchscript");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_FAIL);
    tu_ids(r, got, sizeof(got));
    assert_non_null(strstr(got, "ST318"));
    assert_null(strstr(got, "ST201"));
    st_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tar_headers),
        cmocka_unit_test(test_miniz_lookup),
        cmocka_unit_test(test_differential_samples),
        cmocka_unit_test(test_torchscript),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
