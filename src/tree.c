/*
 * tree.c - folder walks (stcheck -r): list a folder once, then check each entry race-free.
 *
 * The walk never follows a symbolic link. Every link is resolved by hand, component by
 * component and relative to the scanned root, so that a dangling link, a loop or an escape
 * from the root is a finding rather than whatever the kernel would open. A file is later opened
 * from the root's descriptor one component at a time with O_NOFOLLOW, and that descriptor is
 * the one checked: a path that changed into a symlink since the walk fails to open (ST607)
 * instead of leading elsewhere.
 *
 * Iterative (an explicit stack of entries), bounded by the tree_entries and tree_depth limits.
 * Entries come out in pre-order with names sorted bytewise, so output is reproducible.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/escape.h"
#include "formats/format.h"
#include "scan.h"

#define MAX_LINK_HOPS 40 /* Linux's MAXSYMLINKS */

typedef enum { E_FILE, E_LINK, E_SPECIAL, E_PROBLEM, E_GIT } entry_kind;
typedef enum { T_DIR, T_REG, T_LNK, T_OTHER } entry_type;
typedef enum {
    L_FILE,
    L_DIR,
    L_SPECIAL,
    L_DANGLING,
    L_LOOP,
    L_ESCAPES,
    L_BUDGET,
    L_TOOLONG /* the link's own path does not fit PATH_MAX: not resolved */
} link_result;

typedef struct {
    char *rel; /* path below the root; "" is the root itself */
    entry_kind kind;
    mode_t mode;
    dev_t dev;
    ino_t ino;
    size_t same_as;     /* hard link: 1 + index of the inode's first name, else 0 */
    link_result link;   /* E_LINK */
    char *target;       /* E_LINK: what it resolves to below the root (L_FILE, L_DIR) */
    st_rule_id rule;    /* E_PROBLEM */
    st_error err;       /* E_PROBLEM */
    const char *reason; /* E_PROBLEM */
} entry;

struct st_tree {
    char *root;
    int rootfd;
    entry *e;
    size_t n, cap;
    /* Link resolution work in path components the kernel looks up (each fstatat or readlinkat
     * of a path of k components costs k), bounded per walk by the link_steps limit: a chain of
     * links through a deep folder costs quadratic work per link otherwise. */
    uint64_t steps, max_steps;
};

/* Opens rel below dirfd one component at a time, never following a link. */
static int open_beneath(int dirfd, const char *rel, int flags)
{
    char buf[PATH_MAX];
    size_t len = strlen(rel);
    if (len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, rel, len + 1);
    int fd = dup(dirfd);
    char *save = NULL;
    char *comp = strtok_r(buf, "/", &save);
    while (fd >= 0 && comp != NULL) {
        char *next = strtok_r(NULL, "/", &save);
        int f = next ? O_RDONLY | O_DIRECTORY : flags;
        int nfd = openat(fd, comp, f | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        int saved = errno;
        close(fd);
        errno = saved;
        fd = nfd;
        comp = next;
    }
    return fd;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p == NULL)   /* GCOVR_EXCL_BR_LINE: allocation failure */
        return NULL; /* GCOVR_EXCL_LINE: allocation failure */
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + (a ? a + 1 : 0), name, b + 1);
    return p;
}

static entry *add(st_tree *t, char *rel, entry_kind kind)
{
    /* GCOVR_EXCL_BR_START: allocation failures (rel from strdup or join, the entry table) */
    if (rel == NULL)
        return NULL; /* GCOVR_EXCL_LINE: allocation failure */
    if (st_grow(&t->e, &t->cap, t->n, sizeof(*t->e), 64) != 0) {
        free(rel);   /* GCOVR_EXCL_LINE: allocation failure */
        return NULL; /* GCOVR_EXCL_LINE: allocation failure */
    }
    /* GCOVR_EXCL_BR_STOP */
    entry *x = &t->e[t->n++];
    memset(x, 0, sizeof(*x));
    x->rel = rel;
    x->kind = kind;
    return x;
}

static void problem(st_tree *t, const char *rel, st_rule_id rule, st_error err, const char *why)
{
    entry *x = add(t, strdup(rel), E_PROBLEM);
    if (x != NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        x->rule = rule;
        x->err = err;
        x->reason = why;
    }
}

/* ---- resolving a link by hand ------------------------------------------------------------ */

/* Charges the lookup of a path of rel's components against the walk's budget; nonzero when
 * the budget is spent. */
static int charge(st_tree *t, const char *rel)
{
    uint64_t k = 1;
    for (const char *p = rel; *p; p++)
        k += *p == '/';
    t->steps += k;
    return t->steps > t->max_steps;
}

/* Reads the link at rel (below the root) into buf; -1 on error. */
static int read_link(int rootfd, const char *rel, char *buf, size_t size)
{
    ssize_t n = readlinkat(rootfd, rel, buf, size - 1);
    if (n < 0 || (size_t)n >= size - 1)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Replaces rest with "target/rest" (the components still to walk). */
static int splice(char *rest, size_t size, const char *target)
{
    size_t tl = strlen(target), rl = strlen(rest);
    if (tl + 1 + rl + 1 > size)
        return -1;
    memmove(rest + tl + 1, rest, rl + 1);
    memcpy(rest, target, tl);
    rest[tl] = '/';
    return 0;
}

/* Resolves the link at rel. cur holds the resolved prefix below the root, rest the components
 * left; each step is checked with fstatat(AT_SYMLINK_NOFOLLOW) so every link on the way is seen
 * and resolved here, counted against MAX_LINK_HOPS. */
static link_result resolve(st_tree *t, const char *rel, char *cur, size_t size)
{
    char rest[2 * PATH_MAX] = "", target[PATH_MAX];
    int hops = 1, rootfd = t->rootfd;
    if (strlen(rel) >= size)
        return L_TOOLONG; /* cut, its folder would be another one */
    snprintf(cur, size, "%s", rel);
    char *slash = strrchr(cur, '/');
    *(slash ? slash : cur) = '\0'; /* the link's folder */
    if (charge(t, rel))
        return L_BUDGET;
    if (read_link(rootfd, rel, target, sizeof(target)) != 0)
        return L_DANGLING;
    /* rest is empty and the target below PATH_MAX: the first splice always fits */
    if (target[0] == '/' || splice(rest, sizeof(rest), target) != 0) /* GCOVR_EXCL_BR_LINE */
        return L_ESCAPES;
    for (;;) {
        char *p = rest;
        while (*p == '/')
            p++;
        if (*p == '\0')
            return L_DIR; /* the path ended on a folder ("dir/" or "..") */
        char *end = strchr(p, '/');
        /* splice ends what it adds with '/': a component always has one after it, kept */
        size_t len = end ? (size_t)(end - p) : strlen(p); /* GCOVR_EXCL_BR_LINE: as said */
        char comp[NAME_MAX + 1];
        if (len > NAME_MAX)
            return L_DANGLING;
        memcpy(comp, p, len);
        comp[len] = '\0';
        memmove(rest, p + len, strlen(p + len) + 1);
        int last = strspn(rest, "/") == strlen(rest);
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            if (cur[0] == '\0')
                return L_ESCAPES;
            slash = strrchr(cur, '/');
            *(slash ? slash : cur) = '\0';
            continue;
        }
        size_t cl = strlen(cur);
        if (cl + 1 + len + 1 > size)
            return L_DANGLING;
        snprintf(cur + cl, size - cl, "%s%s", cl ? "/" : "", comp);
        struct stat st;
        if (charge(t, cur))
            return L_BUDGET;
        if (fstatat(rootfd, cur, &st, AT_SYMLINK_NOFOLLOW) != 0)
            return L_DANGLING;
        if (S_ISLNK(st.st_mode)) {
            if (++hops > MAX_LINK_HOPS)
                return L_LOOP;
            if (charge(t, cur))
                return L_BUDGET;
            if (read_link(rootfd, cur, target, sizeof(target)) != 0)
                return L_DANGLING;
            if (target[0] == '/')
                return L_ESCAPES;
            cur[cl] = '\0';
            if (splice(rest, sizeof(rest), target) != 0)
                return L_LOOP;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (last)
                return L_DIR;
            continue;
        }
        if (!last)
            return L_DANGLING; /* a file used as a folder */
        return S_ISREG(st.st_mode) ? L_FILE : L_SPECIAL;
    }
}

/* Policy "walk_extensions": nonzero when a file of this name is checked. The name is the one a
 * loader opens: a regular file's own, or a link's (never its target's, which in a Hugging Face
 * cache is a hash). */
static int wanted_name(const st_ctx *ctx, const char *rel)
{
    if (ctx->walk_ext.n == 0)
        return 1;
    for (size_t i = 0; i < ctx->walk_ext.n; i++)
        if (st_name_has_suffix(rel, ctx->walk_ext.v[i]))
            return 1;
    return 0;
}

/* Once the budget is spent, every later link is a limit finding without any more lookups. */
static void add_link(st_tree *t, const st_ctx *ctx, char *rel)
{
    char cur[PATH_MAX];
    link_result res = t->steps > t->max_steps ? L_BUDGET : resolve(t, rel, cur, sizeof(cur));
    if (res == L_FILE && !wanted_name(ctx, rel)) {
        free(rel); /* a loader never opens this name: out of the walk, like a regular file */
        return;
    }
    entry *x = add(t, rel, E_LINK);
    if (x == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return;    /* GCOVR_EXCL_LINE: allocation failure */
    x->link = res;
    if (x->link == L_FILE || x->link == L_DIR)
        x->target = strdup(cur);
}

/* ---- the walk ---------------------------------------------------------------------------- */

typedef struct {
    char *rel;
    entry_type type;
    size_t depth;
    struct stat st;
} pending;

static int by_name_desc(const void *a, const void *b)
{
    return strcmp(((const pending *)b)->rel, ((const pending *)a)->rel);
}

typedef struct {
    pending *v;
    size_t n, cap;
} stack;

static int push(stack *s, char *rel, const struct stat *st, size_t depth)
{
    /* GCOVR_EXCL_BR_START: allocation failures (rel from strdup or join, the stack) */
    if (rel == NULL)
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    if (st_grow(&s->v, &s->cap, s->n, sizeof(*s->v), 64) != 0) {
        free(rel); /* GCOVR_EXCL_LINE: allocation failure */
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    }
    /* GCOVR_EXCL_BR_STOP */
    entry_type type = S_ISDIR(st->st_mode)   ? T_DIR
                      : S_ISREG(st->st_mode) ? T_REG
                      : S_ISLNK(st->st_mode) ? T_LNK
                                             : T_OTHER;
    s->v[s->n++] = (pending){rel, type, depth, *st};
    return 0;
}

/* Lists one folder onto the stack, children in reverse name order (so they pop sorted). */
static int list_dir(st_tree *t, stack *s, const pending *d, size_t *seen, uint64_t max)
{
    int fd = open_beneath(t->rootfd, d->rel, O_RDONLY | O_DIRECTORY);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        problem(t, d->rel, errno == ELOOP || errno == ENOTDIR ? ST_R_PATH_CHANGED : ST_R_IO,
                ST_E_IO, "cannot open the folder");
        return 0;
    }
    size_t first = s->n;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (++*seen > max) {
            problem(t, d->rel, ST_R_LIMIT, ST_E_LIMIT, "more entries than the tree_entries limit");
            rc = 1;
            break;
        }
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            memset(&st, 0, sizeof(st)); /* vanished: checked later as a changed path */
        if (push(s, join(d->rel, de->d_name), &st, d->depth + 1) != 0)
            rc = -1;
    }
    closedir(dir);
    qsort(s->v + first, s->n - first, sizeof(*s->v), by_name_desc);
    return rc;
}

static void add_entry(st_tree *t, const st_ctx *ctx, pending *p)
{
    entry *x = NULL;
    if (p->type == T_LNK) {
        add_link(t, ctx, p->rel);
        return;
    }
    x = add(t, p->rel, p->type == T_REG ? E_FILE : E_SPECIAL);
    if (x != NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        x->mode = p->st.st_mode;
        x->dev = p->st.st_dev;
        x->ino = p->st.st_ino;
        if (p->type == T_REG && p->st.st_nlink < 2)
            x->ino = 0; /* no other name can exist */
    }
}

/* Policy "walk_extensions": regular files with none of the suffixes are left out of the walk
 * unread. Links are resolved first: one that dangles, loops or escapes is reported whatever its
 * name; one to a file is kept or left out by its own name (add_link). */
static int wanted(const st_ctx *ctx, const pending *p)
{
    return p->type != T_REG || wanted_name(ctx, p->rel);
}

/* A folder named .git that is git's own store: HEAD a small regular file naming a ref or a
 * commit, objects/ and refs/ folders (none of them links). Nothing a loader opens lives there. */
static int is_git_store(int rootfd, const char *rel)
{
    char path[PATH_MAX], head[128];
    struct stat st;
    static const char *const dirs[] = {"objects", "refs"};
    for (size_t i = 0; i < 2; i++)
        if (snprintf(path, sizeof(path), "%s/%s", rel, dirs[i]) >= (int)sizeof(path) ||
            fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
            return 0;
    if (snprintf(path, sizeof(path), "%s/HEAD", rel) >= (int)sizeof(path))
        return 0;
    int fd = open_beneath(rootfd, path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return 0;
    ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, head, sizeof(head)) : -1;
    close(fd);
    if (n <= 0 || (size_t)n >= sizeof(head) || head[n - 1] != '\n')
        return 0;
    head[n - 1] = '\0';
    if (strncmp(head, "ref: refs/", 10) == 0)
        return strrchr(head, ' ') == head + 4 &&
               strchr(head, '\n') == NULL; /* one line, one space */
    size_t hex = strspn(head, "0123456789abcdef");
    return (hex == 40 || hex == 64) && head[hex] == '\0';
}

/* Nonzero when the folder p is a .git store the walk leaves out (policy "git_store"). */
static int skip_git(st_tree *t, const st_ctx *ctx, const pending *p)
{
    const char *slash = strrchr(p->rel, '/');
    const char *base = slash ? slash + 1 : p->rel;
    if (ctx->walk_git_store || strcmp(base, ".git") != 0 || !is_git_store(t->rootfd, p->rel))
        return 0;
    add(t, p->rel, E_GIT);
    return 1;
}

static int walk(st_tree *t, const st_ctx *ctx)
{
    stack s = {NULL, 0, 0};
    struct stat root;
    size_t seen = 0;
    int rc = 0;
    /* GCOVR_EXCL_BR_START: fstat of an open folder, and allocation failures */
    if (fstat(t->rootfd, &root) != 0 || push(&s, strdup(""), &root, 0) != 0)
        return -1; /* GCOVR_EXCL_LINE: as above */
    /* GCOVR_EXCL_BR_STOP */
    while (rc >= 0 && s.n > 0) {
        pending p = s.v[--s.n];
        if (p.type != T_DIR) {
            if (wanted(ctx, &p))
                add_entry(t, ctx, &p); /* takes p.rel */
            else
                free(p.rel);
            continue;
        }
        if (skip_git(t, ctx, &p)) /* takes p.rel */
            continue;
        if (p.depth > ctx->limits[ST_LIMIT_TREE_DEPTH])
            problem(t, p.rel, ST_R_LIMIT, ST_E_LIMIT, "deeper than the tree_depth limit");
        else if ((rc = list_dir(t, &s, &p, &seen, ctx->limits[ST_LIMIT_TREE_ENTRIES])) > 0)
            while (s.n > 0) /* limit reached: the problem entry says so; stop listing */
                free(s.v[--s.n].rel);
        free(p.rel);
    }
    for (size_t i = 0; i < s.n; i++) /* GCOVR_EXCL_BR_LINE: left only by an allocation failure */
        free(s.v[i].rel);            /* GCOVR_EXCL_LINE: allocation failure */
    free(s.v);
    return rc < 0 ? -1 : 0; /* GCOVR_EXCL_BR_LINE: allocation failure */
}

/* Hard links: every later name of an inode points at its first name. */
typedef struct {
    dev_t dev;
    ino_t ino;
    size_t i;
} inode_key;

static int by_inode(const void *a, const void *b)
{
    const inode_key *x = a, *y = b;
    if (x->dev != y->dev)                /* GCOVR_EXCL_BR_LINE: one walk spans one device */
        return x->dev < y->dev ? -1 : 1; /* GCOVR_EXCL_LINE: (tests run on one filesystem) */
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int mark_hard_links(st_tree *t)
{
    inode_key *k = malloc((t->n ? t->n : 1) * sizeof(*k));
    size_t m = 0;
    if (k == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].kind == E_FILE && t->e[i].ino != 0)
            k[m++] = (inode_key){t->e[i].dev, t->e[i].ino, i};
    qsort(k, m, sizeof(*k), by_inode);
    for (size_t j = 1; j < m; j++) {
        entry *b = &t->e[k[j].i];
        if (k[j - 1].dev == k[j].dev && k[j - 1].ino == k[j].ino)
            b->same_as = t->e[k[j - 1].i].same_as ? t->e[k[j - 1].i].same_as : k[j - 1].i + 1;
    }
    free(k);
    return 0;
}

st_tree *st_tree_open(st_ctx *ctx, const char *root)
{
    if (ctx == NULL || root == NULL)
        return NULL;
    st_tree *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->root = strdup(root)) == NULL) { /* GCOVR_EXCL_BR_LINE: allocation */
        free(t);                                         /* GCOVR_EXCL_LINE: allocation failure */
        return NULL;                                     /* GCOVR_EXCL_LINE: allocation failure */
    }
    size_t rl = strlen(t->root);
    while (rl > 1 && t->root[rl - 1] == '/')
        t->root[--rl] = '\0';
    t->max_steps = ctx->limits[ST_LIMIT_LINK_STEPS];
    t->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (t->rootfd < 0)
        problem(t, "", ST_R_IO, ST_E_IO, "cannot open the folder");
    else if (walk(t, ctx) != 0 || mark_hard_links(t) != 0) { /* GCOVR_EXCL_BR_LINE: memory */
        st_tree_free(t); /* GCOVR_EXCL_LINE: allocation failure */
        return NULL;     /* GCOVR_EXCL_LINE: allocation failure */
    }
    return t;
}

void st_tree_free(st_tree *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->e[i].rel);
        free(t->e[i].target);
    }
    free(t->e);
    if (t->rootfd >= 0)
        close(t->rootfd);
    free(t->root);
    free(t);
}

size_t st_tree_count(const st_tree *t)
{
    return t ? t->n : 0;
}

/* The display path: root/rel. */
static char *display(const st_tree *t, size_t i)
{
    const char *rel = t->e[i].rel;
    if (rel[0] == '\0')
        return strdup(t->root);
    if (strcmp(t->root, "/") == 0) { /* "/" and rel: join("", rel) would drop the slash */
        size_t n = strlen(rel);
        char *p = malloc(n + 2);
        if (p != NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
            p[0] = '/';
            memcpy(p + 1, rel, n + 1);
        }
        return p;
    }
    return join(t->root, rel);
}

/* ---- checking one entry ------------------------------------------------------------------ */

typedef struct {
    const st_tree *t;
    const char *rel;
} parent_of;

/* The folder of a walked file, opened from the root without following links. */
static int open_parent(const void *arg)
{
    const parent_of *p = arg;
    char dir[PATH_MAX];
    const char *slash = strrchr(p->rel, '/');
    size_t n = slash ? (size_t)(slash - p->rel) : 0;
    if (n >= sizeof(dir))
        return -1;
    memcpy(dir, p->rel, n);
    dir[n] = '\0';
    return open_beneath(p->t->rootfd, dir, O_RDONLY | O_DIRECTORY);
}

/* Checks the file at rel under the name a loader opens it by: name_rel (a link's path, or rel
 * itself), whose folder is also the one sibling files are looked up in. */
static void check_file(const st_ctx *ctx, const st_tree *t, st_report *r, const char *rel,
                       const char *name_rel)
{
    int fd = open_beneath(t->rootfd, rel, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        int changed = errno == ELOOP || errno == ENOTDIR || errno == ENOENT;
        st_report_add(r, changed ? ST_R_PATH_CHANGED : ST_R_IO, 0, 0,
                      "cannot open without following links: %s", strerror(errno));
        st_report_fail(r, ST_E_IO);
        return;
    }
    parent_of par = {t, name_rel};
    st_dir dir = {open_parent, &par, 1};
    st_scan_fd(ctx, r, fd, r->path, &dir);
    close(fd);
}

static void check_link(const st_ctx *ctx, const st_tree *t, st_report *r, const entry *x)
{
    char shown[200];
    const char *tgt =
        x->target ? st_escape(x->target, strlen(x->target), shown, sizeof(shown), 160) : "";
    r->format = "symlink";
    switch (x->link) {
    case L_FILE:
        /* Loaders open the link's name: its target is checked as that name says (a Hugging
         * Face snapshot links every file to a hash-named blob). */
        st_report_add(r, ST_R_LINK_INSIDE, 0, 0,
                      "symbolic link to \"%s\", checked under the link's name", tgt);
        check_file(ctx, t, r, x->target, x->rel);
        break;
    case L_DIR:
        st_report_add(r, ST_R_LINK_INSIDE, 0, 0,
                      "symbolic link to the folder \"%s\": not walked twice", tgt);
        break;
    case L_SPECIAL:
        st_report_add(r, ST_R_NOT_REGULAR, 0, 0,
                      "symbolic link to something that is not a regular file");
        break;
    case L_DANGLING:
        st_report_add(r, ST_R_LINK_DANGLING, 0, 0,
                      "symbolic link to a path that does not exist (or is not a folder where "
                      "one is needed)");
        break;
    case L_LOOP:
        st_report_add(r, ST_R_LINK_LOOP, 0, 0, "symbolic links loop, or chain more than %d links",
                      MAX_LINK_HOPS);
        break;
    case L_ESCAPES:
        st_report_add(r, ST_R_LINK_ESCAPES, 0, 0,
                      "symbolic link resolves outside the scanned folder (absolute target or "
                      "\"..\" above the root)");
        break;
    case L_TOOLONG:
        st_report_add(r, ST_R_LIMIT, 0, 0,
                      "symbolic link whose path below the folder is longer than %d bytes: not "
                      "resolved",
                      PATH_MAX - 1);
        st_report_fail(r, ST_E_LIMIT);
        break;
    case L_BUDGET:
        st_report_add(r, ST_R_LIMIT, 0, 0,
                      "link resolution in this walk looked up more path components than the "
                      "link_steps limit (%llu): not resolved",
                      (unsigned long long)ctx->limits[ST_LIMIT_LINK_STEPS]);
        st_report_fail(r, ST_E_LIMIT);
        break;
    }
}

static void check_entry(const st_ctx *ctx, const st_tree *t, st_report *r, size_t i);

st_report *st_tree_check(st_ctx *base, const st_tree *t, size_t i)
{
    if (base == NULL || t == NULL || i >= t->n)
        return NULL;
    char *name = display(t, i);
    /* policy overrides match the path below the walk's root: the root's own name (a folder an
     * uploader may name) never selects one */
    /* GCOVR_EXCL_BR_START: allocation failures (name, context, report, repository): NULL */
    st_ctx *ctx = name ? st_ctx_for_path(base, t->e[i].rel) : NULL;
    st_report *r = ctx ? st_report_new(ctx, name) : NULL;
    free(name);
    if (r != NULL) {
        char shown[4096];
        st_escape(t->root, strlen(t->root), shown, sizeof(shown), sizeof(shown));
        if ((r->repository = strdup(shown)) == NULL)
            st_report_fail(r, ST_E_NOMEM); /* GCOVR_EXCL_LINE: allocation failure */
    }
    if (r != NULL)
        check_entry(ctx, t, r, i);
    if (ctx != NULL)
        st_ctx_release(ctx, base, r);
    /* GCOVR_EXCL_BR_STOP */
    return r;
}

static void check_entry(const st_ctx *ctx, const st_tree *t, st_report *r, size_t i)
{
    const entry *x = &t->e[i];
    switch (x->kind) {
    case E_FILE:
        check_file(ctx, t, r, x->rel, x->rel);
        if (x->same_as) {
            char other[200], *o = display(t, x->same_as - 1);
            if (o != NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
                st_report_add(r, ST_R_HARD_LINK, 0, 0, "same file (inode) as \"%s\"",
                              st_escape(o, strlen(o), other, sizeof(other), 160));
            free(o);
        }
        break;
    case E_LINK:
        check_link(ctx, t, r, x);
        break;
    case E_SPECIAL:
        st_report_add(r, ST_R_NOT_REGULAR, 0, 0, "not a regular file (%s)",
                      S_ISFIFO(x->mode)   ? "FIFO"
                      : S_ISSOCK(x->mode) ? "socket"
                      : S_ISCHR(x->mode)  ? "character device"
                      : S_ISBLK(x->mode)  ? "block device"
                                          : "vanished or special file");
        st_report_fail(r, ST_E_NOTFILE);
        break;
    case E_PROBLEM:
        st_report_add(r, x->rule, 0, 0, "%s", x->reason);
        st_report_fail(r, x->err);
        break;
    case E_GIT:
        r->format = "git-store";
        st_report_add(r, ST_R_GIT_STORE, 0, 0,
                      "git's own store (HEAD, objects/, refs/): not walked (policy \"git_store\": "
                      "\"check\" walks it)");
        break;
    }
}
