/* lib/photo private: what the pipeline needs from the libvips set-up. */
#ifndef FB_PHOTO_ALLOWLIST_H
#define FB_PHOTO_ALLOWLIST_H

/* The HEIF loader is a libvips module that fb-prep's decoders load on the
 * first HEIF/AVIF file.  0 when heifload is available; -1 with the vips
 * error set when this libvips has none. */
int fb_photo_need_heif(void);

#endif
