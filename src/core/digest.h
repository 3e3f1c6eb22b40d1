/*
 * digest.h - SHA-256 through OpenSSL's libcrypto (EVP, which uses the CPU's SHA extensions).
 */
#ifndef ST_DIGEST_H
#define ST_DIGEST_H

#include <stddef.h>

typedef struct st_sha256 st_sha256;

st_sha256 *st_sha256_new(void); /* NULL when libcrypto cannot provide SHA-256 */
int st_sha256_update(st_sha256 *d, const void *p, size_t n); /* 0, or -1 */
int st_sha256_final(st_sha256 *d, char hex[65]);             /* 0, or -1 */
void st_sha256_free(st_sha256 *d);

#endif /* ST_DIGEST_H */
