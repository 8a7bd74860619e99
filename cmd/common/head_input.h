/* What the tools that use a head share (fb-train, fb-eval, fb-predict):
 * reading a feature stream, loading a head, and applying it -- each with the
 * message and exit a tool gives.  Problems end the program through fb_die
 * (status FB_EXIT_FAILURE). */
#ifndef FB_HEAD_INPUT_H
#define FB_HEAD_INPUT_H

#include <stdio.h>

#include "fb/head.h"

/* Reads the whole feature stream in (called name in messages) into ds, or
 * dies; a stream of something other than features (images, say) is named
 * with the tool that reads it (fb_input_expect). */
void fb_head_input_read_features(fb_featset *ds, FILE *in, const char *name);

/* Reads the whole feature stream at path ("-" or NULL: stdin) into ds, or
 * dies naming it. */
void fb_head_input_read_stream(fb_featset *ds, const char *path);

/* Loads the head saved at head_path into h, or dies with fb_head_load's
 * message. */
void fb_head_input_load(fb_head *h, const char *head_path);

/* Reads the feature stream in (called name in messages) into ds and checks
 * it against h, the head loaded from head_path: the records must have h's
 * number of features, or it dies; and the stream must have been made like
 * the head's training data (fb_prov_compare), or it dies -- unless force,
 * when it only warns.  to_do and doing finish those two messages, e.g.
 * "score it" ("... --force to score it anyway") and "scoring" ("...; scoring
 * anyway (--force)"). */
void fb_head_input_read(fb_featset *ds, FILE *in, const char *name, const fb_head *h,
                        const char *head_path, int force, const char *to_do, const char *doing);

/* The class probabilities of every record of ds under h, [ds->n, h->nclasses]
 * (malloc'd), on one thread; or dies. */
float *fb_head_input_probs(fb_head *h, const fb_featset *ds);

/* Test-time augmentation for fb-eval, fb-predict and fb-report: merges the
 * variants fb-prep --augment/--tta wrote after each photo into it, their
 * probabilities averaged (fb_featset_merge_variants), and says so on
 * stderr, naming the stream `name`. */
void fb_head_input_merge_variants(fb_featset *ds, float *probs, int k, const char *name);

/* The unknown test of fb-predict and fb-eval: each record's distance to
 * the head's training photos (fb_reject_distances on the raw features),
 * malloc'd [ds->n], and the cut into *cut -- the stored one, or, with
 * rate >= 0 (--reject-rate), the one that rejects that share of held-out
 * training photos.  NULL when off (off set: --no-reject) or when h stores no
 * rejection model: then a one-line note on stderr says it cannot reject. */
double *fb_head_input_reject(const fb_head *h, const fb_featset *ds, const char *head_path,
                             int off, double rate, double *cut);

/* fb-train's validation stream at path: checked against the training stream
 * (dimension; provenance unless force) and relabelled onto its classes; the
 * usable rows into *vrows (malloc'd).  Returns how many; says on stderr what
 * it could not use; dies on a mismatch. */
size_t fb_head_input_read_val(fb_featset *val, const fb_featset *train, const char *path, int force,
                              size_t **vrows);

#endif
