/* The report area's one door (lib/report/): what fb-report draws and writes.
 * In this order: heatmaps (where the network looked); pictures of photos
 * (tiles, JPEG/PNG, base64); contact sheets; the numbers in plain words; the
 * HTML report itself.
 * Where it lives: cam.c (heatmaps), picture.c (tiles and encodings), sheet.c
 * (contact sheets), words.c (uncertainty in words), html.c (the report),
 * audit.c (the audit's JSON as report sections).
 * Nothing here prints, exits or reads the environment: errors come back as
 * -1 (or NULL) with a message in err.  Calls that touch images need libvips
 * started first (fb_prep_vips_init, fb/prep.h). */
#ifndef FB_REPORT_H
#define FB_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fb/head.h"
#include "fb/plot.h"
#include "fb/prep.h"

/* ================================================================ heatmaps */

/* The head's logits at features x [h->in_dim] (inference mode) and the
 * gradient of logit c with respect to x, grad [h->in_dim].  Computed from
 * the parameter layout of fb/head.h.  0 ok, -1 no memory. */
int   fb_cam_logits_grad(const fb_head *h, const float *x, int c, float *logits, float *grad);
/* Does fb_cam_logits_grad reproduce the head?  Compares its softmax at x with
 * probs [h->nclasses] (from fb_head_predict_all).  0 yes; -1 with a message. */
int   fb_cam_check_head(const fb_head *h, const float *x, const float *probs, char *err,
                        size_t errlen);
/* Class activation map: map[i] = grad . A[i,:] for the cells i of a spatial
 * map A [cells, dim] whose mean over cells is the head's input.  With grad
 * from fb_cam_logits_grad this is CAM for the linear head (grad = W[:,c])
 * and, up to the positive factor 1/cells, Grad-CAM for hidden-layer heads
 * (Grad-CAM's channel weights are the gradient averaged over the cells). */
void  fb_cam_map(const float *A, int cells, int dim, const float *grad, float *map);
/* ReLU (only evidence for the class), then divided by the largest value;
 * returns that largest value (0: no cell speaks for the class). */
float fb_cam_normalise(float *map, size_t n);
/* Bilinear resize of a side x side map to out_side x out_side, half-pixel
 * centres, edges clamped. */
void  fb_cam_upsample(const float *map, int side, float *out, int out_side);
/* Colours heat [side*side] in [0,1] and lays it over the RGB image rgb
 * [side*side*3] into out. */
void  fb_cam_blend(const uint8_t *rgb, const float *heat, int side, uint8_t *out);
/* All of it for one photo: the head's input is the mean of A [side*side,
 * dim]; the map for class c, normalised, upsampled to rgb_side and blended
 * over rgb into out [rgb_side*rgb_side*3].  cam [side*side] (may be NULL)
 * gets the raw map.  0 ok; -1 with a message. */
int   fb_cam_draw(const fb_head *h, const float *A, int side, int dim, int c, const uint8_t *rgb,
                  int rgb_side, uint8_t *out, float *cam, char *err, size_t errlen);

#endif
