/* Class-per-folder scanning, and the train/val/test lists of a set
 * (fb/dataset.h). */
#include "fb/dataset.h"
#include "fb/core.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Nested folders deeper than this are not followed (guards symlink loops). */
#define MAX_DEPTH 16

void fb_note(const fb_notes *notes, const char *fmt, ...)
{
    if (!notes || !notes->say) return;
    char msg[4096 + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    notes->say(notes->ctx, msg);
}

int fb_has_image_extension(const char *name)
{
    static const char *const ext[] = { "jpg", "jpeg", "png", "webp", "tif", "tiff",
                                       "gif", "heic", "heif", "avif" };
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot + 1, ext[i]) == 0) return 1;
    return 0;
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Sorted non-hidden entry names of dir.  NULL with *oom 0 and a note
 * naming dir when it cannot be read; NULL with *oom 1 when out of memory. */
static char **list_dir(const char *dir, size_t *count, int *oom, const fb_notes *notes)
{
    *oom = 0;
    DIR *d = opendir(dir);
    if (!d) {
        fb_note(notes, "%s: cannot read folder: %s", dir, strerror(errno));
        return NULL;
    }
    /* One slot from the start: glibc declares qsort's base non-null, and
     * the compiler would then drop a later NULL check. */
    size_t n = 0, cap = 64;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;   /* hidden, "." and ".." */
        if (n == cap) {
            char **more = realloc(names, (cap *= 2) * sizeof *names);
            if (!more) break;
            names = more;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    int failed = !names || e != NULL;
    closedir(d);
    if (failed) {
        if (names) free_names(names, n);
        *oom = 1;
        return NULL;
    }
    qsort(names, n, sizeof *names, compare_str);
    *count = n;
    return names;
}

/* dir + "/" + name, with dir's trailing slashes dropped; NULL: no memory. */
static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    char *p = malloc(len + strlen(name) + 2);
    if (p) sprintf(p, "%.*s/%s", (int)len, dir, name);
    return p;
}

/* Takes path (malloc'd) as item; -1 when out of memory (path freed). */
static int add_item(fb_dataset *ds, size_t *cap, char *path, int label, int split)
{
    if (ds->nitems == *cap) {
        size_t more = *cap ? 2 * *cap : 256;
        fb_item *items = realloc(ds->items, more * sizeof *items);
        if (!items) { free(path); return -1; }
        ds->items = items;
        *cap = more;
    }
    ds->items[ds->nitems++] = (fb_item){ path, label, split, 0 };
    return 0;
}

/* Every folder a scan enters, by (st_dev, st_ino) -- what a folder is, not
 * how it was reached -- with the path it was first reached by.  A top-level
 * class folder may be a symbolic link (photos/lucy -> ~/Pictures/lucy), so
 * the same folder can be reached twice (photos/b -> a; photos/all -> .):
 * its photos would be listed twice, under two labels.  Such a folder is an
 * error naming both paths, never entered again. */
typedef struct {
    struct seen_dir { dev_t dev; ino_t ino; char *path; } *v;
    size_t n, cap;
} seen_dirs;

static void seen_free(seen_dirs *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i].path);
    free(s->v);
}

/* The path by which the folder st was first entered, or NULL. */
static const char *seen_path(const seen_dirs *s, const struct stat *st)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].dev == st->st_dev && s->v[i].ino == st->st_ino) return s->v[i].path;
    return NULL;
}

/* Records folder st, reached as path; -1 when out of memory. */
static int seen_add(seen_dirs *s, const struct stat *st, const char *path)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        struct seen_dir *v = realloc(s->v, cap * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy) return -1;
    s->v[s->n++] = (struct seen_dir){ st->st_dev, st->st_ino, copy };
    return 0;
}

/* 1 when folder st is root or holds it (root/.., root/../.., ... up to /):
 * a class folder that is the tree's own root or above it would list every
 * class again.  -1 when out of memory. */
static int holds_root(const char *root, const struct stat *st)
{
    size_t len = strlen(root);
    char *up = malloc(len + 1 + 3 * 64 + 1);
    if (!up) return -1;
    memcpy(up, root, len + 1);
    struct stat at, prev = { 0 };
    int found = 0;
    for (int level = 0; level < 64 && !found; level++) {
        if (stat(up, &at) != 0) break;
        if (level > 0 && at.st_dev == prev.st_dev && at.st_ino == prev.st_ino) break;   /* / */
        found = at.st_dev == st->st_dev && at.st_ino == st->st_ino;
        prev = at;
        strcat(up, "/..");
    }
    free(up);
    return found;
}

/* Checks that folder st, reached as path, has not been entered before (the
 * tree root included) and records it.  0: enter it; 1: a problem, noted;
 * -1: out of memory. */
static int enter_dir(seen_dirs *seen, const struct stat *st, const char *path, const fb_notes *notes)
{
    const char *first = seen_path(seen, st);
    if (first && seen->n > 0 && first == seen->v[0].path) {
        fb_note(notes, "%s: the same folder as %s (a symlink loop); a photo would be listed twice",
                path, first);
        return 1;
    }
    if (first) {
        fb_note(notes, "%s: the same folder as %s (a symbolic link); a photo would be listed twice",
                path, first);
        return 1;
    }
    return seen_add(seen, st, path) ? -1 : 0;
}

/* Adds the files below dir to class `label`; returns the number of
 * problems, or -1 when out of memory. */
static int scan_class_dir(fb_dataset *ds, size_t *cap, const char *dir, int label,
                          int all_files, int depth, seen_dirs *seen, const fb_notes *notes)
{
    size_t n;
    int oom;
    char **names = list_dir(dir, &n, &oom, notes);
    if (!names) return oom ? -1 : 1;
    int problems = 0;
    for (size_t i = 0; i < n && problems >= 0; i++) {
        char *path = join_path(dir, names[i]);
        struct stat st;
        int link = 0;
        if (!path) {
            problems = -1;
        } else if (lstat(path, &st) != 0 || ((link = S_ISLNK(st.st_mode)) && stat(path, &st) != 0)) {
            fb_note(notes, "%s: %s", path, strerror(errno));
            problems++;
        } else if (S_ISDIR(st.st_mode) && link) {
            /* A link to a folder could lead anywhere (cat/up -> .. holds
             * every dog; cat/loop -> . every cat again): never followed.
             * Links to files are files. */
            fb_note(notes, "%s: a symbolic link to a folder, not followed", path);
        } else if (S_ISDIR(st.st_mode)) {
            int entered = depth < MAX_DEPTH ? enter_dir(seen, &st, path, notes) : 0;
            if (entered != 0) {
                problems = entered < 0 ? -1 : problems + 1;
            } else if (depth < MAX_DEPTH) {
                int more = scan_class_dir(ds, cap, path, label, all_files, depth + 1, seen, notes);
                problems = more < 0 ? -1 : problems + more;
            } else {
                fb_note(notes, "%s: folders nested more than %d deep are ignored", path, MAX_DEPTH);
            }
        } else if (!S_ISREG(st.st_mode)) {
            fb_note(notes, "%s: not a regular file, ignored", path);
        } else if (!fb_list_writable(NULL, path, 0)) {
            fb_note(notes, "%s: name contains a tab or newline, ignored", path);
        } else if (!all_files && !fb_has_image_extension(names[i])) {
            fb_note(notes, "%s: not an image file name (.jpg .jpeg .png .webp .tif .tiff .gif "
                    ".heic .heif .avif), ignored", path);
        } else {
            if (add_item(ds, cap, path, label, FB_NO_SPLIT) != 0) problems = -1;
            continue;   /* path now belongs to ds (or is freed) */
        }
        free(path);
    }
    free_names(names, n);
    return problems;
}

/* A top-level class folder, st reached as path (followed when it is a
 * symbolic link): entered once, and never when it is the root dir or a
 * folder above it.  0: scan it; 1: a problem, noted; -1: out of memory. */
static int class_dir_entered(seen_dirs *seen, const struct stat *st, const char *dir, const char *path,
                             const fb_notes *notes)
{
    int above = seen_path(seen, st) ? 0 : holds_root(dir, st);
    if (above > 0)
        fb_note(notes, "%s: holds %s itself (a symlink loop); a photo would be listed twice", path, dir);
    return above != 0 ? above : enter_dir(seen, st, path, notes);
}

int fb_dataset_scan(fb_dataset *ds, const char *dir, int all_files, const fb_notes *notes)
{
    memset(ds, 0, sizeof *ds);
    size_t n;
    int oom;
    char **names = list_dir(dir, &n, &oom, notes);
    if (!names) {
        if (oom) fb_note(notes, "out of memory");
        return oom ? -1 : 1;
    }
    int problems = 0;
    size_t cap = 0, not_folders = 0;
    char *first_not_folder = NULL;    /* named when it is the only one */
    ds->classes = malloc((n ? n : 1) * sizeof *ds->classes);
    if (!ds->classes) problems = -1;
    /* The root is the first folder entered: a class that is the root again
     * (photos/all -> .) is a loop.  Its path as given, without trailing
     * slashes, as the classes' paths are joined. */
    seen_dirs seen = { 0 };
    struct stat root_st;
    char *root = join_path(dir, "");
    if (root && strlen(root) > 1) root[strlen(root) - 1] = 0;
    if (!root || (stat(dir, &root_st) == 0 && seen_add(&seen, &root_st, root) != 0)) problems = -1;
    free(root);
    for (size_t i = 0; i < n && problems >= 0; i++) {
        char *path = join_path(dir, names[i]);
        struct stat st;
        int entered;
        if (!path) {
            problems = -1;
            break;
        }
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            /* Said once, below: a folder of photos given in place of a
             * folder of classes would otherwise get a line per photo. */
            if (not_folders++ == 0) { first_not_folder = path; path = NULL; }
        } else if (strpbrk(names[i], "\t\n\r")) {
            fb_note(notes, "%s: class name contains a tab or newline, ignored", path);
        } else if ((entered = class_dir_entered(&seen, &st, dir, path, notes)) != 0) {
            problems = entered < 0 ? -1 : problems + 1;
        } else if (!(ds->classes[ds->nclasses] = strdup(names[i]))) {
            problems = -1;
        } else {
            int label = ds->nclasses++;
            size_t before = ds->nitems;
            int more = scan_class_dir(ds, &cap, path, label, all_files, 1, &seen, notes);
            problems = more < 0 ? -1 : problems + more;
            if (more >= 0 && ds->nitems == before) {
                fb_note(notes, "%s: class '%s' has no image files", path, names[i]);
                problems++;
            }
        }
        free(path);
    }
    if (not_folders == 1)
        fb_note(notes, "%s: not a folder, ignored (each class is a sub-folder of %s)", first_not_folder, dir);
    else if (not_folders > 1)
        fb_note(notes, "%s: %zu entries are not folders, ignored (each class is a sub-folder of %s)",
                dir, not_folders, dir);
    free(first_not_folder);
    if (problems >= 0 && ds->nclasses == 0) {
        if (not_folders)
            fb_note(notes, "%s: no class folders (expected one sub-folder per class; if %s is "
                    "one class, give the folder that holds it and the other classes)", dir, dir);
        else
            fb_note(notes, "%s: no class folders (expected one sub-folder per class)", dir);
        problems++;
    }
    if (problems < 0) fb_note(notes, "out of memory");
    seen_free(&seen);
    free_names(names, n);
    return problems;
}

/* Index of class name, added when new; -1 when out of memory. */
static int class_index(fb_dataset *ds, const char *name)
{
    for (int i = 0; i < ds->nclasses; i++)
        if (strcmp(ds->classes[i], name) == 0) return i;
    char **classes = realloc(ds->classes, (ds->nclasses + 1) * sizeof *ds->classes);
    if (!classes) return -1;
    ds->classes = classes;
    if (!(ds->classes[ds->nclasses] = strdup(name))) return -1;
    return ds->nclasses++;
}

static int compare_item(const void *a, const void *b)
{
    const fb_item *x = a, *y = b;
    if (x->label != y->label) return x->label - y->label;
    return strcmp(x->path, y->path);
}

/* Adds the entries of one list file as split s; problems noted and counted.
 * -1 when out of memory. */
static int add_list(fb_dataset *ds, size_t *cap, const char *path, const fb_list *l, int s,
                    const fb_notes *notes)
{
    int problems = 0;
    for (size_t i = 0; i < l->n; i++) {
        const fb_list_entry *e = &l->entries[i];
        if (!e->label || !*e->label || !*e->path) {
            fb_note(notes, "%s:%lu: expected 'label<TAB>path'", path, e->line);
            problems++;
            continue;
        }
        int label = class_index(ds, e->label);
        char *copy = label < 0 ? NULL : strdup(e->path);
        if (!copy || add_item(ds, cap, copy, label, s) != 0) return -1;
        ds->items[ds->nitems - 1].group = e->group;
    }
    return problems;
}

int fb_dataset_read_lists(fb_dataset *ds, const char *outdir, const fb_notes *notes)
{
    memset(ds, 0, sizeof *ds);
    int problems = 0, found = 0;
    size_t cap = 0;
    for (int s = 0; s < FB_NSPLITS && problems >= 0; s++) {
        char name[16];
        snprintf(name, sizeof name, "%s.tsv", fb_split_names[s]);
        char *path = join_path(outdir, name);
        if (!path) { problems = -1; break; }
        FILE *f = fopen(path, "r");
        if (!f) {
            if (errno != ENOENT) {
                fb_note(notes, "%s: %s", path, strerror(errno));
                problems++;
            }
            free(path);
            continue;
        }
        found++;
        fb_list l = { 0 };
        char err[256];
        if (fb_list_read(f, &l, err, sizeof err) != 0) {
            fb_note(notes, "%s: %s", path, err);
            problems++;
        }
        fclose(f);
        int more = add_list(ds, &cap, path, &l, s, notes);
        problems = more < 0 ? -1 : problems + more;
        fb_list_free(&l);
        free(path);
    }
    if (problems < 0) {
        fb_note(notes, "out of memory");
        return -1;
    }
    if (!found) {
        fb_note(notes, "%s: no train.tsv, val.tsv or test.tsv", outdir);
        problems++;
    }
    if (ds->nitems) qsort(ds->items, ds->nitems, sizeof *ds->items, compare_item);
    return problems;
}

static int write_set_locked(const fb_dataset *ds, const char *outdir, char *err, size_t errlen);

int fb_dataset_write_lists(const fb_dataset *ds, const char *outdir, char *err, size_t errlen)
{
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create folder: %s", outdir, strerror(errno));
        return -1;
    }
    /* Two runs into one folder take turns: each replaces the whole set
     * while holding OUTDIR/.fb-split.lock (flock, released when the file
     * closes), so the lists on disk always come from one run.  The lock file
     * stays: removing it would let a third run lock a different file. */
    char *lockpath = join_path(outdir, ".fb-split.lock");
    int lock = lockpath ? open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0666) : -1;
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        snprintf(err, errlen, "%s: cannot lock: %s", lockpath ? lockpath : outdir,
                 lockpath ? strerror(errno) : "out of memory");
        if (lock >= 0) close(lock);
        free(lockpath);
        return -1;
    }
    free(lockpath);
    int rc = write_set_locked(ds, outdir, err, errlen);
    close(lock);
    return rc;
}

static int write_set_locked(const fb_dataset *ds, const char *outdir, char *err, size_t errlen)
{
    fb_atomic out[FB_NSPLITS];
    int opened = 0, rc = 0;
    for (; opened < FB_NSPLITS; opened++) {
        char name[16];
        snprintf(name, sizeof name, "%s.tsv", fb_split_names[opened]);
        char *path = join_path(outdir, name);
        if (!path) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        int bad = fb_atomic_open(&out[opened], path);
        if (bad) snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        free(path);
        if (bad) { rc = -1; break; }
    }
    /* All three are written to temporary files first and committed as a set
     * at the end, so a failure leaves the old lists (if any) in place. */
    for (size_t i = 0; rc == 0 && i < ds->nitems; i++) {
        const fb_item *it = &ds->items[i];
        if (it->split < 0 || it->split >= FB_NSPLITS) {
            snprintf(err, errlen, "%s: has no split", it->path);
            rc = -1;
        } else if (fb_list_write(out[it->split].f, ds->classes[it->label], it->path, it->group) != 0) {
            if (errno == EINVAL)
                snprintf(err, errlen, "%s: a name with a tab or newline cannot be listed", it->path);
            else
                snprintf(err, errlen, "%s: write error: %s", outdir, strerror(errno));
            rc = -1;
        }
    }
    if (rc != 0) {
        for (int s = 0; s < opened; s++) fb_atomic_abort(&out[s]);
        return rc;
    }
    /* The three lists are one set: a failed rename puts back the old ones. */
    return fb_atomic_commit_set(out, FB_NSPLITS, err, errlen);
}

int fb_dataset_check_classes(const fb_dataset *ds, const char *source, char *err, size_t errlen)
{
    if (ds->nclasses >= 2) return 0;
    if (ds->nclasses == 1)
        snprintf(err, errlen, "%s: only one class ('%s'): one class is not a classification "
                 "problem; give photos of two or more classes", source, ds->classes[0]);
    else
        snprintf(err, errlen, "%s: no classes", source);
    return -1;
}

void fb_dataset_free(fb_dataset *ds)
{
    for (int i = 0; i < ds->nclasses; i++) free(ds->classes[i]);
    free(ds->classes);
    for (size_t i = 0; i < ds->nitems; i++) free(ds->items[i].path);
    free(ds->items);
    memset(ds, 0, sizeof *ds);
}
