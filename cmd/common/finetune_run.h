/* fb-train --fine-tune (fb-train(1), FINE-TUNING): the weights and the
 * stage-4 maps read, lib/head's sequence run (fb_finetune_head), the
 * unknown test fitted on the tuned features, head.bin and --history
 * written, and the lines each step says.  Problems end the program through
 * fb_die. */
#ifndef FB_CMD_FINETUNE_RUN_H
#define FB_CMD_FINETUNE_RUN_H

#include "common/train_run.h"

/* Fine-tunes on the one stream files[0] (none or -: standard input). */
void fb_finetune_run(const fb_train_run_opts *o, int nfiles, char **files);

#endif
