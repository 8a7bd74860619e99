/* lib/photo private: what the pipeline needs from the libvips set-up. */
#ifndef FB_PHOTO_ALLOWLIST_H
#define FB_PHOTO_ALLOWLIST_H

#include <stddef.h>

/* The HEIF loader is a libvips module that fb-prep's decoders load on the
 * first HEIF/AVIF file.  0 when heifload is available; -1 with the vips
 * error set when this libvips has none. */
int fb_photo_need_heif(void);

/* For one of fb-prep's decoder processes: the same allowlist, cache and
 * warning set-up, and also one vips thread, no vips modules loaded until a
 * HEIF/AVIF file needs its module (found under vipshome, the caller's
 * $VIPSHOME, or beside libvips when NULL); and malloc tuned to reuse large
 * buffers rather than map them anew per image.  libvips only skips its
 * modules when VIPSHOME points elsewhere, so this sets VIPSHOME for the
 * duration of vips_init and then restores it to vipshome (or unsets it).
 * 0 ok. */
int fb_prep_vips_init(const char *argv0, const char *vipshome);

#endif
