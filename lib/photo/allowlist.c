/* THE loader allowlist and the libvips set-up that enforces it (fb/photo.h).
 *
 * fb opens six photo formats.  Everything else libvips could open (JPEG
 * 2000, SVG, PDF, ImageMagick, FITS, ...) is blocked: Debian's 8.14 aborts
 * the process in the JPEG 2000 loader and hangs on a truncated SVGZ, and
 * none of them is a photo format.  fb-prep, fb-split and fb-audit all set
 * libvips up here, so they agree on what a photo is. */
#include "fb/photo.h"
#include "fb/core.h"
#include "allowlist.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

/* One row per accepted format: the sniffed format, the libvips loader
 * family left unblocked (every variant: file, buffer, source), and the
 * short name reports use. */
static const struct {
    fb_image_format format;
    const char *family, *name;
} allowed[] = {
    { FB_FMT_JPEG, "VipsForeignLoadJpeg", "jpeg" },
    { FB_FMT_PNG, "VipsForeignLoadPng", "png" },
    { FB_FMT_WEBP, "VipsForeignLoadWebp", "webp" },
    { FB_FMT_TIFF, "VipsForeignLoadTiff", "tiff" },
    { FB_FMT_GIF, "VipsForeignLoadNsgif", "gif" },
    { FB_FMT_HEIF, "VipsForeignLoadHeif", "heif" },
};
enum { NALLOWED = sizeof allowed / sizeof allowed[0] };

int fb_prep_format_accepted(fb_image_format f)
{
    for (int i = 0; i < NALLOWED; i++)
        if (allowed[i].format == f) return 1;
    return 0;
}

const char *fb_prep_accepted_list(void)
{
    return "JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF";
}

const char *fb_photo_format(const char *path)
{
    /* The first bytes decide, and libvips is not asked: asking it which
     * loader fits runs every loader's sniffer (the SVG one hangs on a
     * truncated SVGZ), and may name a loader off the allowlist (OpenSlide
     * for a TIFF slide, ...) for a file fb-prep reads with the format's own
     * loader.  fb-prep, fb-audit and fb-split open the file by this format
     * (fb_photo_open_checked), so they agree on what is a photo. */
    unsigned char head[64];
    char why[200];
    FILE *f = fb_open_regular(path, why, sizeof why);
    if (!f) return NULL;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    fb_image_format format = fb_prep_sniff(head, n);
    for (int i = 0; i < NALLOWED; i++)
        if (allowed[i].format == format) return allowed[i].name;
    return NULL;
}

static void allow_only_photo_loaders(void)
{
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (int i = 0; i < NALLOWED; i++) vips_operation_block_set(allowed[i].family, FALSE);
}

static void drop_vips_warning(const char *domain, GLogLevelFlags level, const char *msg, void *data)
{
    /* "Unexpected end of GIF source data" and other warnings about
     * recoverable damage would reach stderr without the file's name; real
     * failures come back as errors and are reported with it. */
    (void)domain; (void)level; (void)msg; (void)data;
}

/* What every fb process that reads photos wants after vips_init. */
static void set_up(void)
{
    allow_only_photo_loaders();
    vips_cache_set_max(0);   /* every image is seen once: caching only costs time */
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, drop_vips_warning, NULL);
}

int fb_photo_vips_start(const char *argv0, char *err, size_t errlen)
{
    if (VIPS_INIT(argv0)) {
        const char *msg = vips_error_buffer();
        snprintf(err, errlen, "cannot start libvips%s%.200s", *msg ? ": " : "", msg);
        size_t len = strlen(err);
        while (len && (err[len - 1] == '\n' || err[len - 1] == ' ')) err[--len] = 0;
        vips_error_clear();
        return -1;
    }
    set_up();
    return 0;
}

void fb_photo_vips_stop(void)
{
    vips_shutdown();
}

/* ---- fb-prep's decoder processes ---- */

/* Where libvips keeps its HEIF module, found before vips_init so that
 * vips_init can be told to load no modules at all (below). */
static char heif_module[4096];
static int heif_tried;

static void find_heif_module(const char *vipshome)
{
    char dir[4096] = "";
    if (vipshome && *vipshome) {
        snprintf(dir, sizeof dir, "%s/lib", vipshome);
    } else {
        Dl_info info;
        void *sym = dlsym(RTLD_DEFAULT, "vips_init");
        const char *slash;
        if (sym && dladdr(sym, &info) && info.dli_fname && (slash = strrchr(info.dli_fname, '/')))
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - info.dli_fname), info.dli_fname);
    }
    if (*dir)
        snprintf(heif_module, sizeof heif_module, "%s/vips-modules-%d.%d/vips-heif.so", dir,
                 VIPS_MAJOR_VERSION, VIPS_MINOR_VERSION);
}

int fb_photo_need_heif(void)
{
    if (vips_type_find("VipsOperation", "heifload_buffer")) return 0;
    if (!heif_tried) {
        heif_tried = 1;
        /* g_module_open as vips_init would call it (found at run time:
         * libgmodule comes with libvips, but fb does not link it itself) */
        typedef void *(*module_open_fn)(const char *, int);
        module_open_fn open_module = (module_open_fn)dlsym(RTLD_DEFAULT, "g_module_open");
        if (*heif_module && open_module && open_module(heif_module, G_MODULE_BIND_LAZY)) {
            allow_only_photo_loaders();
            if (vips_type_find("VipsOperation", "heifload_buffer")) return 0;
        }
    }
    vips_error("fb-prep", "this libvips has no HEIF/AVIF support (module %s)",
               *heif_module ? heif_module : "not found");
    return -1;
}

int fb_prep_vips_init(const char *argv0, const char *vipshome)
{
    /* vips_init loads every module in VIPSHOME's module folder: ImageMagick,
     * poppler, OpenSlide, JPEG XL, HEIF.  All but HEIF are blocked anyway,
     * and loading them costs each decoder process tens of milliseconds, so
     * point it at a folder that has none and load HEIF when a file needs it. */
    /* Each photo allocates and frees the same few large buffers (the file,
     * the decoded pixels); by default glibc maps and unmaps each of them,
     * and the page faults to refill them cost more than a fifth of the
     * time.  Keep them in the heap and the heap untrimmed: the process's
     * memory is then that of its largest image, as it is anyway at peak. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    find_heif_module(vipshome);
    setenv("VIPSHOME", "/nonexistent/fb-prep: no vips modules", 1);
    int rc = VIPS_INIT(argv0);
    if (vipshome) setenv("VIPSHOME", vipshome, 1);
    else unsetenv("VIPSHOME");
    if (rc) return -1;
    set_up();
    /* fb-prep runs its own decoder processes; vips' threadpool per image
     * would only add start-up cost. */
    vips_concurrency_set(1);
    return 0;
}
