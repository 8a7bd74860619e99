/* The backbone's layers by name (layer.h). */
#include "common/layer.h"
#include "common/common.h"

#include <string.h>

static const char *const words[FB_LAYER_COUNT] = { "features", "logits", "probs" };

int fb_layer_parse(const char *word)
{
    for (int l = 0; l < FB_LAYER_COUNT; l++)
        if (word && strcmp(word, words[l]) == 0) return l;
    return -1;
}

const char *fb_layer_name(fb_layer l) { return words[l]; }

const char *fb_layer_words(void) { return "features, logits or probs"; }

fb_layer fb_opt_layer(const char *name, const char *arg)
{
    int l = fb_layer_parse(arg);
    if (l < 0) fb_die(FB_EXIT_USAGE, "%s is %s, not '%s'", name, fb_layer_words(), arg ? arg : "");
    return (fb_layer)l;
}
