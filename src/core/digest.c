/*
 * digest.c - SHA-256 over libcrypto's EVP interface (a well-kept library rather than our own:
 * it is fast where it matters, with SHA-NI/AVX2 code paths).
 */
#include "digest.h"

#include <openssl/evp.h>

struct st_sha256 {
    EVP_MD_CTX *md;
};

st_sha256 *st_sha256_new(void)
{
    st_sha256 *d = OPENSSL_zalloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    d->md = EVP_MD_CTX_new();
    if (d->md == NULL || EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1) {
        st_sha256_free(d);
        return NULL;
    }
    return d;
}

int st_sha256_update(st_sha256 *d, const void *p, size_t n)
{
    return EVP_DigestUpdate(d->md, p, n) == 1 ? 0 : -1;
}

int st_sha256_final(st_sha256 *d, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(d->md, md, &len) != 1 || len != 32)
        return -1;
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

void st_sha256_free(st_sha256 *d)
{
    if (d == NULL)
        return;
    EVP_MD_CTX_free(d->md);
    OPENSSL_free(d);
}
