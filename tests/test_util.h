/*
 * test_util.h - helpers shared by the cmocka tests: build safetensors buffers and assert the
 * exact set of finding ids a report holds.
 */
#ifndef ST_TEST_UTIL_H
#define ST_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stcheck.h"

/* 8-byte LE length, header (padded with spaces to a multiple of 8 when pad), data zeros. */
static inline unsigned char *tu_frame(const char *hdr, size_t hdr_len, size_t data_len, int pad,
                                      size_t *out_len)
{
    size_t padded = hdr_len;
    if (pad)
        while ((padded + 8) % 8 != 0)
            padded++;
    size_t total = 8 + padded + data_len;
    unsigned char *b = calloc(1, total ? total : 1);
    assert_non_null(b);
    uint64_t n = padded;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(n >> (8 * i));
    memcpy(b + 8, hdr, hdr_len);
    memset(b + 8 + hdr_len, ' ', padded - hdr_len);
    *out_len = total;
    return b;
}

static inline st_report *tu_check_raw(st_ctx *ctx, const unsigned char *buf, size_t len)
{
    st_report *r = st_check_buffer(ctx, buf, len, "t.safetensors");
    assert_non_null(r);
    return r;
}

/* Checks a header given as a C string, with data_len zero bytes of data. */
static inline st_report *tu_check(st_ctx *ctx, const char *hdr, size_t data_len)
{
    size_t len;
    unsigned char *b = tu_frame(hdr, strlen(hdr), data_len, 1, &len);
    st_report *r = tu_check_raw(ctx, b, len);
    free(b);
    return r;
}

/* The sorted, comma-separated set of ids in a report (ST905 excluded). */
static inline void tu_ids(const st_report *r, char *out, size_t size)
{
    const char *ids[64];
    size_t n = 0;
    for (size_t i = 0; i < st_report_finding_count(r) && n < 64; i++) {
        const char *id = st_report_finding(r, i)->id;
        int seen = strcmp(id, "ST905") == 0;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(ids[k], id) == 0;
        if (!seen)
            ids[n++] = id;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of ids */
        for (size_t k = i; k > 0 && strcmp(ids[k - 1], ids[k]) > 0; k--) {
            const char *t = ids[k];
            ids[k] = ids[k - 1];
            ids[k - 1] = t;
        }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, ids[i], size - strlen(out) - 1);
    }
}

/* Asserts the report's ids are exactly `expected` (sorted, comma-separated; "" for none). */
#define tu_assert_ids(r, expected)                                                                 \
    do {                                                                                           \
        char got_[512];                                                                            \
        tu_ids((r), got_, sizeof(got_));                                                           \
        if (strcmp(got_, (expected)) != 0)                                                         \
            fail_msg("ids: got \"%s\", expected \"%s\"", got_, (expected));                        \
    } while (0)

/* Check hdr, assert exact ids and verdict, free. */
#define tu_expect(ctx, hdr, data_len, expected, verdict)                                           \
    do {                                                                                           \
        st_report *r_ = tu_check((ctx), (hdr), (data_len));                                        \
        tu_assert_report(r_, (hdr), (expected), (verdict));                                        \
        st_report_free(r_);                                                                        \
    } while (0)

/* Fails unless the report's ids are exactly `ids` and its verdict is v; `what` names the case
 * in the message, the failure points at the caller's line. */
#define tu_assert_report(r, what, ids, v)                                                          \
    tu_assert_report_at((r), (what), (ids), (v), __FILE__, __LINE__)

static inline void tu_assert_report_at(const st_report *r, const char *what, const char *ids,
                                       st_verdict v, const char *file, int line)
{
    char got[512];
    tu_ids(r, got, sizeof(got));
    if (strcmp(got, ids) != 0 || st_report_verdict(r) != v) {
        print_error("%s: ids \"%s\" verdict %d, expected \"%s\" verdict %d\n", what, got,
                    (int)st_report_verdict(r), ids, (int)v);
        _fail(file, line);
    }
}

/* Checks n bytes as a file called name: exact ids and verdict (the name is the case's). */
#define tu_expect_buf(ctx, b, n, name, ids, v)                                                     \
    tu_expect_buf_at((ctx), (b), (n), (name), (ids), (v), __FILE__, __LINE__)

static inline void tu_expect_buf_at(st_ctx *ctx, const void *b, size_t n, const char *name,
                                    const char *ids, st_verdict v, const char *file, int line)
{
    st_report *r = st_check_buffer(ctx, b, n, name);
    assert_non_null(r);
    tu_assert_report_at(r, name, ids, v, file, line);
    st_report_free(r);
}

/* Fails unless some finding's message contains part (the findings are listed when none does). */
#define tu_assert_says(r, what, part) tu_assert_says_at((r), (what), (part), __FILE__, __LINE__)

static inline void tu_assert_says_at(const st_report *r, const char *what, const char *part,
                                     const char *file, int line)
{
    for (size_t i = 0; i < st_report_finding_count(r); i++)
        if (strstr(st_report_finding(r, i)->message, part) != NULL)
            return;
    for (size_t i = 0; i < st_report_finding_count(r); i++)
        print_message("  %s: %s\n", st_report_finding(r, i)->id, st_report_finding(r, i)->message);
    print_error("%s: no finding says \"%s\"\n", what, part);
    _fail(file, line);
}

static inline int tu_ctx_setup(void **state)
{
    *state = st_ctx_new();
    return *state ? 0 : -1;
}

static inline int tu_ctx_teardown(void **state)
{
    st_ctx_free(*state);
    return 0;
}

#endif /* ST_TEST_UTIL_H */
