/* The backbone's layers by name (layer.h). */
#include "common/layer.h"
#include "common/common.h"
#include "fb/backbone.h"

#include <string.h>

static const char *const words[FB_LAYER_COUNT] = { "features", "logits", "probs", "stage4" };

int fb_layer_parse(const char *word)
{
    for (int l = 0; l < FB_LAYER_COUNT; l++)
        if (word && strcmp(word, words[l]) == 0) return l;
    return -1;
}

const char *fb_layer_name(fb_layer l) { return words[l]; }

int fb_layer_shape(fb_layer l, uint32_t dims[3])
{
    if (l == FB_LAYER_STAGE4) {
        dims[0] = dims[1] = FB_STAGE4_SIDE;
        dims[2] = FB_STAGE4_CHANNELS;
        return 3;
    }
    dims[0] = l == FB_LAYER_FEATURES ? FB_RESNET_FEATURES : FB_RESNET_CLASSES;
    return 1;
}

size_t fb_layer_values(fb_layer l)
{
    uint32_t dims[3];
    size_t n = 1;
    for (int i = 0, rank = fb_layer_shape(l, dims); i < rank; i++) n *= dims[i];
    return n;
}

const char *fb_layer_words(void) { return "features, logits, probs or stage4"; }

fb_layer fb_opt_layer(const char *name, const char *arg)
{
    int l = fb_layer_parse(arg);
    if (l < 0) fb_die(FB_EXIT_USAGE, "%s is %s, not '%s'", name, fb_layer_words(), arg ? arg : "");
    return (fb_layer)l;
}
