/*
 * scan.h - checking an open descriptor, shared by single files (scan.c) and folder walks
 * (tree.c).
 */
#ifndef ST_SCAN_H
#define ST_SCAN_H

#include "core/report.h"

/* Checks the file open on fd (fstat'd here: only regular files are read) into r. In a folder
 * walk (walked != 0) content of no model format is an info finding, not "could not check". */
void st_scan_fd(const st_ctx *ctx, st_report *r, int fd, const char *name, int walked);

/* Frees a per-path context (st_ctx_for_path) once its report r (may be NULL) is complete. */
void st_ctx_release(st_ctx *ctx, const st_ctx *base, st_report *r);

#endif /* ST_SCAN_H */
