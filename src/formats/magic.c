/*
 * magic.c - libmagic as a second opinion: it names content stcheck does not recognise, for the
 * message of an "unknown format" finding. It never decides anything (it calls pickles "data");
 * it only ever sees bytes already read (magic_buffer), never a path, with decompression and
 * other slow or risky tests turned off. The database is opened once per process, lazily, so
 * files stcheck recognises never pay for it.
 */
#include <stdio.h>

#include "format.h"

#ifdef ST_HAVE_LIBMAGIC
#include <magic.h>
#include <pthread.h>

static magic_t cookie;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void open_db(void)
{
    magic_t m = magic_open(MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF | MAGIC_NO_CHECK_TAR |
                           MAGIC_NO_CHECK_CDF | MAGIC_NO_CHECK_ENCODING | MAGIC_ERROR);
    if (m != NULL && magic_load(m, NULL) != 0) { /* GCOVR_EXCL_BR_LINE: m NULL: out of memory */
        magic_close(m);
        m = NULL;
    }
    cookie = m;
}

void st_magic_describe(const unsigned char *buf, size_t len, char *out, size_t size)
{
    snprintf(out, size, "unidentified");
    pthread_once(&once, open_db);
    if (cookie == NULL || size == 0)
        return;
    pthread_mutex_lock(&lock); /* a magic_t is not safe to share between threads */
    const char *d = magic_buffer(cookie, buf, len);
    if (d != NULL) /* GCOVR_EXCL_BR_LINE: NULL on a libmagic internal error ("unidentified") */
        snprintf(out, size, "%s", d);
    pthread_mutex_unlock(&lock);
}
#else
void st_magic_describe(const unsigned char *buf, size_t len, char *out, size_t size)
{
    (void)buf;
    (void)len;
    if (size > 0)
        snprintf(out, size, "unidentified");
}
#endif
