/* fb-train --fine-tune (fb-train(1), FINE-TUNING): the weights and the
 * stage-4 maps read, lib/head's sequence run (fb_finetune_head), the
 * unknown test fitted on the tuned features, head.bin and --history
 * written, and the lines each step says.  Problems end the program through
 * fb_die. */
#ifndef FB_CMD_FINETUNE_RUN_H
#define FB_CMD_FINETUNE_RUN_H

#include <stddef.h>
#include "fb/head.h"

typedef struct {
    const char *out, *val, *history, *weights;
    const char *class_weight;   /* the spec as given, or NULL */
    int quiet, force, threads;
    int no_reject, reject_subject;
    double reject_rate;
    size_t max_memory;          /* bytes of maps held in memory */
    fb_finetune_opts tune;      /* its class_weight and callbacks are set here */
} fb_finetune_run_opts;

/* Fine-tunes on the one stream files[0] (none or -: standard input). */
void fb_finetune_run(fb_finetune_run_opts *o, int nfiles, char **files);

#endif
