/*
 * scan.h - checking an open descriptor, shared by single files (scan.c) and folder walks
 * (tree.c).
 */
#ifndef ST_SCAN_H
#define ST_SCAN_H

#include "core/report.h"
#include "core/source.h"

/* Where a checked file lies: how to open its folder (for shard indexes), and whether it was
 * found by a folder walk, where content of no model format is an info finding (ST608) rather
 * than "could not check". */
typedef struct {
    int (*open)(const void *arg);
    const void *arg;
    int walked;
} st_dir;

/* A remote source's siblings, opened by name (st_input.open_sibling): no folder descriptor. */
typedef struct {
    st_error (*open)(void *arg, const char *name, st_report *r, st_src *src, void **handle);
    void (*close)(void *arg, void *handle);
    void *arg;
} st_siblings;

/* Checks the file open on fd (fstat'd here: only regular files are read) into r. dir may be
 * NULL (folder unknown, not walked). */
void st_scan_fd(const st_ctx *ctx, st_report *r, int fd, const char *name, const st_dir *dir);

/* Checks an open source (src/fetch/'s remote source) into r, as st_scan_fd does a file; sib
 * (may be NULL) opens its siblings. */
void st_scan_src(const st_ctx *ctx, st_report *r, const st_src *src, const char *name,
                 const st_dir *dir, const st_siblings *sib);

/* Frees a per-path context (st_ctx_for_path) once its report r (may be NULL) is complete. */
void st_ctx_release(st_ctx *ctx, const st_ctx *base, st_report *r);

#endif /* ST_SCAN_H */
