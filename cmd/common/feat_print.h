/* What fb-feat prints besides its stream: --top's TSV lines and the
 * FB_PROFILE table (fb-feat(1)).  Printing only. */
#ifndef FB_CMD_FEAT_PRINT_H
#define FB_CMD_FEAT_PRINT_H

#include "fb/backbone.h"

/* k lines "id<TAB>rank<TAB>label<TAB>probability"; TAB, newline and
 * backslash in the id escaped. */
void fb_feat_print_top(const char *id, const float *probs, int k, const fb_weights *w);
void fb_feat_print_profile(const fb_resnet_runner *runner);

#endif
