/* Which of the backbone's outputs a tool writes: --layer in fb-feat and
 * fb-export.  The one list of layer words; a new layer is added here. */
#ifndef FB_CMD_LAYER_H
#define FB_CMD_LAYER_H

typedef enum { FB_LAYER_FEATURES, FB_LAYER_LOGITS, FB_LAYER_PROBS, FB_LAYER_COUNT } fb_layer;

/* The layer a word names ("features", "logits", "probs"), or -1. */
int fb_layer_parse(const char *word);
/* The word of a layer, as the stream's provenance records it. */
const char *fb_layer_name(fb_layer l);
/* fb_layer_parse for option `name` ("--layer"): any other word is a usage
 * error (exit 2) that lists the layers. */
fb_layer fb_opt_layer(const char *name, const char *arg);
/* "features, logits or probs", for messages and usage texts. */
const char *fb_layer_words(void);

#endif
