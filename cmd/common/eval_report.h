/* What fb-eval prints: the text report, --json, --curve's TSV.  Printing
 * only: the scores come from lib/head (fb_score, fb_binary_report,
 * fb_unknown_score). */
#ifndef FB_CMD_EVAL_REPORT_H
#define FB_CMD_EVAL_REPORT_H

#include "fb/head.h"

/* What the report is about: the head, the stream, and its score. */
typedef struct {
    const fb_head *h;
    const fb_featset *ds;
    const fb_score *s;
    const fb_binary_report *b;   /* NULL: no positive class */
    const fb_unknown_score *u;  /* NULL: no unknown test */
} fb_eval_report;

void fb_eval_print_text(const fb_eval_report *r, int max_mistakes);
void fb_eval_print_json(const fb_eval_report *r);
/* --curve: the unknown test's trade-off as TSV (cut, in-class rejected,
 * outsiders rejected), written atomically; dies on error. */
void fb_eval_write_curve(const char *path, const fb_unknown_score *u);

#endif
