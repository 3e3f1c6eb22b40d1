/*
 * replay.c - a main for gcc builds of the fuzz targets: feeds each file named on the command
 * line (or every regular file in a named directory) to LLVMFuzzerTestOneInput once. ctest runs
 * it over corpus/<target>/ so every seed and past crash is replayed on every CI run.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../tests/read_whole.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    size_t n;
    unsigned char *buf = rw_read_file(path, &n);
    if (buf == NULL) {
        perror(path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;
    if (d == NULL) {
        perror(dir);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            rc |= run_file(path);
            (*count)++;
        }
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            rc |= run_dir(argv[i], &count);
        else {
            rc |= run_file(argv[i]);
            count++;
        }
    }
    printf("replayed %zu inputs\n", count);
    return rc != 0 || count == 0;
}
