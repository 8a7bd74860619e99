/* fb metrics against values computed by hand. */
#include "check.h"
#include <unistd.h>
#include "fb/head.h"

int main(void)
{
    /* Two classes, six records (truth, p(class 1)):
     *   1 0.9 ok   1 0.6 ok   1 0.3 miss   0 0.4 ok   0 0.7 miss   0 0.1 ok
     * confusion [[2,1],[1,2]]; accuracy 4/6; precision = recall = F1 = 2/3 for
     * both classes; AUC: positive > negative in 3 + 2 + 1 of 9 pairs = 2/3;
     * loss = (2 ln(1/.9) + 2 ln(1/.6) + 2 ln(1/.3)) / 6 */
    fb_metrics m;
    CHECK(fb_metrics_init(&m, 2) == 0, "init");
    int truth[6] = { 1, 1, 1, 0, 0, 0 };
    float p1[6] = { 0.9f, 0.6f, 0.3f, 0.4f, 0.7f, 0.1f };
    int want_pred[6] = { 1, 1, 0, 0, 1, 0 }, preds_ok = 1;
    for (int i = 0; i < 6; i++) {
        float p[2] = { 1 - p1[i], p1[i] };
        preds_ok &= fb_metrics_add(&m, truth[i], p) == want_pred[i];
    }
    CHECK(preds_ok, "predicted classes are the argmax");
    CHECK(m.confusion[0] == 2 && m.confusion[1] == 1 && m.confusion[2] == 1 && m.confusion[3] == 2,
          "confusion matrix [[2,1],[1,2]]");
    CHECK_NEAR(fb_metrics_accuracy(&m), 4.0 / 6, 1e-12, "accuracy 4/6");
    CHECK_NEAR(fb_metrics_precision(&m, 1), 2.0 / 3, 1e-12, "precision of class 1: 2/3");
    CHECK_NEAR(fb_metrics_recall(&m, 0), 2.0 / 3, 1e-12, "recall of class 0: 2/3");
    CHECK_NEAR(fb_metrics_f1(&m, 1), 2.0 / 3, 1e-12, "F1 of class 1: 2/3");
    CHECK_NEAR(fb_metrics_macro_f1(&m), 2.0 / 3, 1e-12, "macro F1: 2/3");
    CHECK_NEAR(fb_metrics_auc(&m), 2.0 / 3, 1e-12, "ROC AUC 6/9");
    double loss = (2 * log(1 / 0.9) + 2 * log(1 / 0.6) + 2 * log(1 / 0.3)) / 6;
    CHECK_NEAR(fb_metrics_mean_loss(&m), loss, 1e-6, "mean loss");
    fb_metrics_free(&m);

    /* AUC: ties count one half; perfect and reversed rankings */
    float s1[2] = { 0.5f, 0.5f };
    unsigned char pos1[2] = { 1, 0 };
    CHECK_NEAR(fb_roc_auc(s1, pos1, 2), 0.5, 1e-12, "AUC of a tie is 1/2");
    float s2[4] = { 0.1f, 0.2f, 0.8f, 0.9f };
    unsigned char pos2[4] = { 0, 0, 1, 1 }, neg2[4] = { 1, 1, 0, 0 };
    CHECK_NEAR(fb_roc_auc(s2, pos2, 4), 1.0, 1e-12, "AUC 1 when every positive outranks every negative");
    CHECK_NEAR(fb_roc_auc(s2, neg2, 4), 0.0, 1e-12, "AUC 0 when reversed");
    unsigned char all[2] = { 1, 1 };
    CHECK(isnan(fb_roc_auc(s1, all, 2)), "AUC undefined without negatives");
    /* A NaN score once made the tie loop spin forever: the alarm fails the
     * test instead of hanging it. */
    alarm(10);
    float s3[5] = { 0.9f, NAN, 0.1f, NAN, 0.5f };
    unsigned char pos3[5] = { 1, 0, 0, 1, 1 };
    CHECK(isnan(fb_roc_auc(s3, pos3, 5)), "AUC undefined (and finite work) with a NaN score");
    float s4[4] = { 0.1f, INFINITY, -INFINITY, 0.2f };
    unsigned char pos4[4] = { 0, 1, 0, 1 };
    CHECK_NEAR(fb_roc_auc(s4, pos4, 4), 1.0, 1e-12, "infinite scores rank as any others");
    alarm(0);

    /* Three classes; class 2 is never predicted:
     *   truth 0 -> 0, 0 -> 0, 1 -> 1, 1 -> 0, 2 -> 1
     * precision: c0 2/3, c1 1/2, c2 undefined; recall: c0 1, c1 1/2, c2 0
     * F1: c0 0.8, c1 0.5, c2 0 -> macro F1 1.3/3; macro precision (2/3+1/2)/2 */
    CHECK(fb_metrics_init(&m, 3) == 0, "init 3 classes");
    int t3[5] = { 0, 0, 1, 1, 2 }, p3[5] = { 0, 0, 1, 0, 1 };
    for (int i = 0; i < 5; i++) {
        float p[3] = { 0.1f, 0.1f, 0.1f };
        p[p3[i]] = 0.8f;
        fb_metrics_add(&m, t3[i], p);
    }
    CHECK(isnan(fb_metrics_precision(&m, 2)), "precision undefined for a never-predicted class");
    CHECK_NEAR(fb_metrics_f1(&m, 0), 0.8, 1e-12, "F1 class 0: 0.8");
    CHECK_NEAR(fb_metrics_f1(&m, 2), 0.0, 1e-12, "F1 of a class never predicted: 0");
    CHECK_NEAR(fb_metrics_macro_f1(&m), 1.3 / 3, 1e-12, "macro F1 over all three classes");
    CHECK_NEAR(fb_metrics_macro_precision(&m), (2.0 / 3 + 0.5) / 2, 1e-12, "macro precision over defined classes");
    CHECK_NEAR(fb_metrics_macro_recall(&m), 1.5 / 3, 1e-12, "macro recall");
    CHECK(isnan(fb_metrics_auc(&m)), "no AUC for three classes");
    fb_metrics_free(&m);
    return check_done();
}
