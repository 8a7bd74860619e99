/* Which of the backbone's outputs a tool writes: --layer in fb-feat and
 * fb-export.  The one list of layer words; a new layer is added here. */
#ifndef FB_CMD_LAYER_H
#define FB_CMD_LAYER_H

#include <stddef.h>
#include <stdint.h>

typedef enum { FB_LAYER_FEATURES, FB_LAYER_LOGITS, FB_LAYER_PROBS, FB_LAYER_STAGE4, FB_LAYER_COUNT } fb_layer;

/* The layer a word names ("features", "logits", "probs", "stage4"), or -1. */
int fb_layer_parse(const char *word);
/* The word of a layer, as the stream's provenance records it. */
const char *fb_layer_name(fb_layer l);
/* fb_layer_parse for option `name` ("--layer"): any other word is a usage
 * error (exit 2) that lists the layers. */
fb_layer fb_opt_layer(const char *name, const char *arg);
/* The shape of a record of layer l: its dimensions into dims, the rank
 * returned (2048; 1000; stage 4's 14x14x1024, cell-major, channels
 * contiguous). */
int fb_layer_shape(fb_layer l, uint32_t dims[3]);
/* The number of values in a record of layer l. */
size_t fb_layer_values(fb_layer l);
/* "features, logits, probs or stage4", for messages and usage texts. */
const char *fb_layer_words(void);

#endif
