/* The weights converter and loader on a small synthetic tfjs model written
 * by the test: BatchNorm folding, padding, shards, labels; then damaged,
 * truncated and foreign files must be refused with the right message. */
#include "check.h"
#include "fb/backbone.h"
#include "fb/core.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/fb-test-weights.XXXXXX";
static char path_model[256], path_labels[256], path_out[256];

/* conv1 7x7/2 3->2 with bias, BN (epsilon 1.001e-5), then a Dense 2->3. */
static float kernel[7 * 7 * 3 * 2], bias[2], gamma_[2], beta[2], mean[2], var[2], fc_k[2 * 3], fc_b[3];

static void write_model(void)
{
    fb_rng r;
    fb_rng_seed(&r, 7);
    for (size_t i = 0; i < sizeof kernel / sizeof *kernel; i++) kernel[i] = (float)fb_rng_normal(&r);
    for (int i = 0; i < 2; i++) {
        bias[i] = (float)fb_rng_normal(&r);
        gamma_[i] = 1.5f + (float)i;
        beta[i] = 0.25f * (float)(i + 1);
        mean[i] = (float)fb_rng_normal(&r);
        var[i] = 0.5f + (float)i;
    }
    for (int i = 0; i < 6; i++) fc_k[i] = (float)fb_rng_normal(&r);
    for (int i = 0; i < 3; i++) fc_b[i] = (float)i;

    snprintf(path_model, sizeof path_model, "%s/model.json", dir);
    snprintf(path_labels, sizeof path_labels, "%s/labels.json", dir);
    snprintf(path_out, sizeof path_out, "%s/out.fbw", dir);
    FILE *f = fopen(path_model, "w");
    fputs("{\"format\": \"layers-model\", \"modelTopology\": {\"model_config\": {\"config\": {\"layers\": [\n"
          "{\"name\": \"input_1\", \"class_name\": \"InputLayer\", \"config\": {}, \"inbound_nodes\": []},\n"
          "{\"name\": \"conv1_pad\", \"class_name\": \"ZeroPadding2D\", \"config\": {\"padding\": [[3, 3], [3, 3]]},"
          " \"inbound_nodes\": [[[\"input_1\", 0, 0, {}]]]},\n"
          "{\"name\": \"conv1\", \"class_name\": \"Conv2D\", \"config\": {\"filters\": 2, \"kernel_size\": [7, 7],"
          " \"strides\": [2, 2], \"padding\": \"valid\", \"dilation_rate\": [1, 1], \"use_bias\": true},"
          " \"inbound_nodes\": [[[\"conv1_pad\", 0, 0, {}]]]},\n"
          "{\"name\": \"bn_conv1\", \"class_name\": \"BatchNormalization\", \"config\": {\"epsilon\": 1.001e-05},"
          " \"inbound_nodes\": [[[\"conv1\", 0, 0, {}]]]},\n"
          "{\"name\": \"fc1000\", \"class_name\": \"Dense\", \"config\": {\"units\": 3},"
          " \"inbound_nodes\": [[[\"bn_conv1\", 0, 0, {}]]]}]}}},\n"
          "\"weightsManifest\": [{\"paths\": [\"shard1\", \"shard2\"], \"weights\": [\n"
          "{\"name\": \"bn_conv1/gamma\", \"shape\": [2], \"dtype\": \"float32\"},\n"
          "{\"name\": \"bn_conv1/beta\", \"shape\": [2], \"dtype\": \"float32\"},\n"
          "{\"name\": \"bn_conv1/moving_mean\", \"shape\": [2], \"dtype\": \"float32\"},\n"
          "{\"name\": \"bn_conv1/moving_variance\", \"shape\": [2], \"dtype\": \"float32\"},\n"
          "{\"name\": \"conv1/kernel\", \"shape\": [7, 7, 3, 2], \"dtype\": \"float32\"},\n"
          "{\"name\": \"conv1/bias\", \"shape\": [2], \"dtype\": \"float32\"},\n"
          "{\"name\": \"fc1000/kernel\", \"shape\": [2, 3], \"dtype\": \"float32\"},\n"
          "{\"name\": \"fc1000/bias\", \"shape\": [3], \"dtype\": \"float32\"}]}]}\n", f);
    fclose(f);
    /* The weights, concatenated, split across two shards mid-tensor. */
    float all[8 + 294 + 2 + 6 + 3];
    size_t n = 0;
    memcpy(all + n, gamma_, sizeof gamma_); n += 2;
    memcpy(all + n, beta, sizeof beta); n += 2;
    memcpy(all + n, mean, sizeof mean); n += 2;
    memcpy(all + n, var, sizeof var); n += 2;
    memcpy(all + n, kernel, sizeof kernel); n += 294;
    memcpy(all + n, bias, sizeof bias); n += 2;
    memcpy(all + n, fc_k, sizeof fc_k); n += 6;
    memcpy(all + n, fc_b, sizeof fc_b); n += 3;
    char p[300];
    snprintf(p, sizeof p, "%s/shard1", dir);
    f = fopen(p, "wb"); fwrite(all, sizeof(float), 100, f); fclose(f);
    snprintf(p, sizeof p, "%s/shard2", dir);
    f = fopen(p, "wb"); fwrite(all + 100, sizeof(float), n - 100, f); fclose(f);
    f = fopen(path_labels, "w");
    fputs("{\"0\": \"tench\", \"1\": \"goldfish\", \"2\": \"great_white_shark\"}", f);
    fclose(f);
}

static void copy_file(const char *from, const char *to, long truncate_to, long flip_at)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int c;
    long i = 0;
    while ((c = fgetc(in)) != EOF && (truncate_to < 0 || i < truncate_to)) {
        if (i == flip_at) c ^= 0x40;
        fputc(c, out);
        i++;
    }
    fclose(in);
    fclose(out);
}

/* Loading `path` fails with a message containing `want`. */
static void expect_refused(const char *what, const char *path, const char *want)
{
    fb_weights w;
    char err[1024] = "";
    int rc = fb_weights_load(&w, path, err, sizeof err);
    CHECK(rc == -1 && strstr(err, want) && strstr(err, path) && strstr(err, "make weights"),
          "%s: refused, naming the file, the problem and the fix (\"%s\")", what, err);
}

static void test_convert_and_load(void)
{
    char err[1024] = "";
    int rc = fb_weights_convert(path_model, path_labels, path_out, err, sizeof err);
    CHECK(rc == 0, "convert the synthetic model (%s)", rc ? err : "ok");
    fb_weights w;
    rc = fb_weights_load(&w, path_out, err, sizeof err);
    CHECK(rc == 0, "load the converted file (%s)", rc ? err : "ok");
    if (rc) return;
    CHECK(w.ntensors == 2 && w.nlabels == 3, "2 tensors and 3 labels (got %d, %d)", w.ntensors, w.nlabels);
    CHECK(strcmp(w.labels[2], "great_white_shark") == 0, "labels in index order");
    const fb_conv_params *c = fb_weights_find_tensor(&w, "conv1");
    CHECK(c && c->kh == 7 && c->stride == 2 && c->pad == 3 && c->cin == 3 && c->cout == 2,
          "conv1 is 7x7/2, pad 3 from its ZeroPadding2D, 3->2");
    double worst = 0;
    for (int o = 0; c && o < 2; o++) {
        double s = gamma_[o] / sqrt((double)var[o] + 1.001e-5);
        for (int i = o; i < 294; i += 2) worst = fmax(worst, fabs(c->w[i] - kernel[i] * s));
        worst = fmax(worst, fabs(c->b[o] - ((bias[o] - mean[o]) * s + beta[o])));
    }
    CHECK(worst < 1e-6, "BatchNorm folded with the layer's epsilon (max |delta| %.2g)", worst);
    const fb_conv_params *fc = fb_weights_find_tensor(&w, "fc1000");
    CHECK(fc && fc->cin == 2 && fc->cout == 3 && fc->w[5] == fc_k[5] && fc->b[2] == fc_b[2],
          "dense layer kept as is (no BatchNorm after it)");
    /* The same file's bytes through fb_weights_parse (the fuzz target's way
     * in): the same tensors; one byte changed is a checksum mismatch. */
    FILE *f = fopen(path_out, "rb");
    unsigned char *bytes = malloc(w.size);
    int read_ok = f && bytes && fread(bytes, 1, w.size, f) == w.size;
    if (f) fclose(f);
    fb_weights m;
    rc = read_ok ? fb_weights_parse(&m, "memory", bytes, w.size, err, sizeof err) : -1;
    CHECK(rc == 0 && m.ntensors == w.ntensors && m.nlabels == w.nlabels && m.crc == w.crc &&
          memcmp(m.tensors[0].w, w.tensors[0].w, 294 * sizeof(float)) == 0 &&
          strcmp(m.labels[2], w.labels[2]) == 0,
          "the file's bytes in memory parse as the file does (%s)", rc ? err : "ok");
    if (rc == 0) fb_weights_free(&m);
    if (read_ok) {
        bytes[w.size - 100] ^= 1;
        rc = fb_weights_parse(&m, "memory", bytes, w.size, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "memory: checksum mismatch"), "a changed byte in memory: \"%s\"", err);
        rc = fb_weights_parse(&m, "memory", bytes, 40, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "truncated header"), "40 bytes: \"%s\"", err);
        rc = fb_weights_parse(&m, "memory", bytes, w.size - 1, err, sizeof err);
        CHECK(rc == -1 && strstr(err, "the header says"), "one byte short: \"%s\"", err);
    }
    free(bytes);
    fb_resnet net;
    rc = fb_resnet_init(&net, &w, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "conv1") && strstr(err, "expected"), "not a ResNet50: init names the mismatched layer (\"%s\")", err);
    fb_weights_free(&w);
}

static void test_damage(void)
{
    char p[300];
    long size;
    FILE *f = fopen(path_out, "rb");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    snprintf(p, sizeof p, "%s/damaged.fbw", dir);
    copy_file(path_out, p, -1, size - 700);
    expect_refused("one flipped payload bit", p, "checksum mismatch");
    copy_file(path_out, p, size - 1, -1);
    expect_refused("one byte short", p, "truncated or damaged");
    copy_file(path_out, p, 40, -1);
    expect_refused("cut inside the header", p, "truncated header");
    copy_file(path_out, p, -1, 2);
    expect_refused("bad magic", p, "not an fb weights file");
    copy_file(path_out, p, -1, 8);
    expect_refused("other version", p, "version");
    copy_file(path_out, p, 0, -1);
    expect_refused("empty file", p, "not an fb weights file");
    snprintf(p, sizeof p, "%s/missing.fbw", dir);
    expect_refused("missing file", p, "No such file");

    char err[1024] = "";
    snprintf(p, sizeof p, "%s/labels-bad.json", dir);
    f = fopen(p, "w");
    fputs("{\"0\": \"tench\", \"2\": \"x\", \"3\": \"y\"}", f);
    fclose(f);
    int rc = fb_weights_convert(path_model, p, path_out, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "no label for class 1"), "labels with a gap refused (\"%s\")", err);
    snprintf(p, sizeof p, "%s/shard2", dir);
    truncate(p, 8);
    rc = fb_weights_convert(path_model, path_labels, path_out, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "manifest"), "short shards refused (\"%s\")", err);
    fb_weights w;
    CHECK(fb_weights_load(&w, path_out, err, sizeof err) == 0 && (fb_weights_free(&w), 1),
          "a failed conversion leaves the previous good file in place");
}

static void test_locate(void)
{
    char err[1024] = "";
    /* the caller passes $FB_WEIGHTS (lib reads no environment) */
    char *p = fb_weights_locate(NULL, path_out, err, sizeof err);
    CHECK(p && strcmp(p, path_out) == 0, "$FB_WEIGHTS is used when there is no -w");
    free(p);
    p = fb_weights_locate("/nonexistent/x.fbw", path_out, err, sizeof err);
    CHECK(!p && strstr(err, "/nonexistent/x.fbw") && strstr(err, "make weights"),
          "-w wins over $FB_WEIGHTS, and a missing -w file is an error (\"%s\")", err);
    p = fb_weights_locate(NULL, "/nonexistent/env.fbw", err, sizeof err);
    CHECK(!p && strstr(err, "FB_WEIGHTS"), "a missing $FB_WEIGHTS file is named (\"%s\")", err);
    setenv("FB_WEIGHTS", "/nonexistent/env.fbw", 1);
    err[0] = 0;
    p = fb_weights_locate(NULL, NULL, err, sizeof err);
    CHECK(!strstr(err, "env.fbw") && (!p || !strstr(p, "env.fbw")),
          "the library itself does not read $FB_WEIGHTS (%s)", p ? p : err);
    free(p);
    unsetenv("FB_WEIGHTS");
}

int main(void)
{
    if (!mkdtemp(dir)) SKIP_ALL("cannot create a temporary directory");
    write_model();
    test_convert_and_load();
    test_damage();
    test_locate();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return check_done();
}
