/* fb-audit's report: what the analysis found, printed as text or built as
 * JSON (man/fb-audit.1 has both layouts). */
#ifndef FB_AUDIT_REPORT_H
#define FB_AUDIT_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "fb/audit.h"

typedef struct {
    const char *source;        /* the folder or the lists folder */
    int lists;                 /* 1: audited fb-split's lists */
    int near_dup_bits;
    const fb_dataset *ds;
    const fb_audit_file *files;
    size_t n;
    const fb_photo_group *groups;
    size_t ngroups;
    const fb_class_summary *classes;   /* one per class of ds */
    fb_shortcut_result shortcut;
    long feature_rows;         /* -1 = no features */
    fb_audit_verdict verdict;
} audit;

/* The text report on stdout. */
void fb_audit_print_report(const audit *a);
/* The JSON report (a new reference). */
json_t *fb_audit_report_json(const audit *a);

#endif
