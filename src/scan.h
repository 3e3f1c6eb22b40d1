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

#endif /* ST_SCAN_H */
