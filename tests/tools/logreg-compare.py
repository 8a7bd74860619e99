#!/usr/bin/python3
"""logreg-compare: the solved linear head (logreg-probe) against scikit-learn's
LogisticRegression on the very same features and splits.  An experiment, not a
test.

  logreg-compare.py FEATDIR WORKDIR [--probe PATH] [--sets a,b] [--sk] [--fb BINDIR]
                    [-- PROBE OPTIONS]

FEATDIR holds dumps made by `logreg-probe --dump` (NAME.f32 + NAME.tsv) for
dogfacenet, stanford, catsdogs-train and catsdogs-test.  Task files go to
WORKDIR.  Tasks:
  fewshot   dogfacenet one dog against the others: for each of the 12 dogs with
            the most photos and seeds 1..3, 4 or 5 photos of the dog (seed odd: 4)
            and other dogs' photos, whole dogs, until 150 are in train; the rest
            of both (other dogs never seen in training) is the test
  stanford  3 breeds, stratified 70/30 train/test per seed
  catsdogs  the set's own train/test split (seeds vary only the CV folds)
Prints one line per task and then mean, spread (std over tasks) per set.
With --fb BINDIR it runs fb-train and fb-eval from BINDIR on each task's
streams (written by logreg-probe --write-task from FEATDIR/NAME.fbt) for the
default head and each alternative, instead of logreg-probe's own fits.
"""
import os
import random
import subprocess
import sys
import time

import numpy as np


PROBE = "build/tests/tools/logreg-probe"


def load(featdir, name):
    """NAME's dump (FEATDIR/NAME.f32 + .tsv), made from FEATDIR/NAME.fbt when
    absent.  Returns features, class names, ids."""
    prefix = os.path.join(featdir, name)
    if not os.path.exists(prefix + ".f32"):
        subprocess.run([PROBE, "--dump", prefix, prefix + ".fbt"], check=True)
    x = np.fromfile(prefix + ".f32", dtype=np.float32)
    rows = [l.rstrip("\n").split("\t") for l in open(prefix + ".tsv")]
    x = x.reshape(len(rows), -1)
    return x, [r[1] for r in rows], [r[2] for r in rows]


def write_task(path, items):
    with open(path, "w") as f:
        for row, cls, role in items:
            f.write(f"{row}\t{cls}\t{role}\n")


def fewshot_tasks(labels, workdir, seeds=(1, 2, 3), ndogs=12, nneg=150, nval=0):
    by_dog = {}
    for i, l in enumerate(labels):
        by_dog.setdefault(l, []).append(i)
    dogs = sorted(by_dog, key=lambda d: (-len(by_dog[d]), d))[:ndogs]
    tasks = []
    for dog in dogs:
        for seed in seeds:
            rng = random.Random(f"{dog}-{seed}")
            pos = sorted(by_dog[dog])
            rng.shuffle(pos)
            npos = 4 if seed % 2 else 5
            others = sorted(d for d in by_dog if d != dog)
            rng.shuffle(others)
            items, taken = [], 0
            for i in pos[:npos]:
                items.append((i, 1, "train"))
            for i in pos[npos:npos + (2 if nval else 0)]:
                items.append((i, 1, "val"))
            for i in pos[npos + (2 if nval else 0):]:
                items.append((i, 1, "test"))
            for d in others:
                role = "train" if taken < nneg else "val" if taken < nneg + nval else "test"
                for i in by_dog[d]:
                    items.append((i, 0, role))
                if role != "test":
                    taken += len(by_dog[d])
            kind = "fewshotval" if nval else "fewshot"
            path = os.path.join(workdir, f"{kind}-{dog}-s{seed}.tsv")
            write_task(path, items)
            tasks.append(path)
    return tasks


def stratified_tasks(labels, workdir, name, seeds=(1, 2, 3), test_frac=0.3):
    classes = sorted(set(labels))
    tasks = []
    for seed in seeds:
        rng = random.Random(f"{name}-{seed}")
        items = []
        for ci, c in enumerate(classes):
            rows = [i for i, l in enumerate(labels) if l == c]
            rng.shuffle(rows)
            ntest = int(round(len(rows) * test_frac))
            items += [(i, ci, "test") for i in rows[:ntest]] + [(i, ci, "train") for i in rows[ntest:]]
        path = os.path.join(workdir, f"{name}-s{seed}.tsv")
        write_task(path, items)
        tasks.append(path)
    return tasks


def sk_task(x, path, transform):
    from sklearn.linear_model import LogisticRegression
    rows = [l.split("\t") for l in open(path)]
    idx = np.array([int(r[0]) for r in rows])
    y = np.array([int(r[1]) for r in rows])
    role = np.array([r[2].strip() for r in rows])
    xs = transform(x[idx])
    tr, te = role == "train", role == "test"
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=10000)
    t0 = time.time()
    clf.fit(xs[tr], y[tr])
    sec = time.time() - t0
    p = clf.predict(xs[te])
    yt = y[te]
    recalls = [np.mean(p[yt == c] == c) for c in np.unique(yt)]
    return float(np.mean(recalls)), float(np.mean(p == yt)), sec


def raw(x):
    return x


def sqrt_l2(x):
    x = np.sign(x) * np.sqrt(np.abs(x))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


FB_HEADS = [
    ("fb-train default (solved)", []),
    ("adam linear (old default)", ["--optimizer", "adam", "--norm", "none", "--class-weight", "none"]),
    ("hidden 64", ["--head", "64"]),
    ("hidden 512,256,128,64", ["--head", "512,256,128,64"]),
]


def fb_task(bindir, probe, fbt, task, workdir):
    """Every FB_HEADS configuration on one task: (label, balacc, acc) each."""
    import json
    out = os.path.join(workdir, "streams", os.path.basename(task)[:-4])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if not os.path.exists(out + ".test.fbt"):
        subprocess.run([probe, "--write-task", out, fbt, task], check=True)
    val = ["-v", out + ".val.fbt"] if os.path.exists(out + ".val.fbt") else []
    seed = task.rsplit("-s", 1)[1].split(".")[0]
    res = []
    for label, opts in FB_HEADS:
        head = out + ".head.bin"
        with open(out + ".train.fbt", "rb") as f:
            subprocess.run([os.path.join(bindir, "fb-train"), "-q", "--seed", seed] + opts + val + ["-o", head],
                           stdin=f, check=True)
        with open(out + ".test.fbt", "rb") as f:
            r = json.loads(subprocess.run([os.path.join(bindir, "fb-eval"), "--json", head], stdin=f,
                                          check=True, capture_output=True, text=True).stdout)
        res.append((label, r["balanced_accuracy"], r["accuracy"]))
    return res


def summarise(label, results):
    sets = {}
    for task, ba, acc in results:
        sets.setdefault(task.split("-")[0], []).append((ba, acc))
    for s, v in sets.items():
        a = np.array(v)
        print(f"SUMMARY {label:28s} {s:9s} n={len(a):2d} balacc {a[:,0].mean():.4f} ± {a[:,0].std():.4f} "
              f"(min {a[:,0].min():.3f})  acc {a[:,1].mean():.4f} ± {a[:,1].std():.4f}", flush=True)


def main():
    global PROBE
    args = sys.argv[1:]
    probe_opts = []
    if "--" in args:
        probe_opts = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    featdir, workdir = args[0], args[1]
    probe = PROBE
    sets = ["fewshot", "stanford", "catsdogs"]
    run_sk = False
    fbbin = None
    i = 2
    while i < len(args):
        if args[i] == "--probe":
            probe = args[i + 1]; i += 2
        elif args[i] == "--sets":
            sets = args[i + 1].split(","); i += 2
        elif args[i] == "--sk":
            run_sk = True; i += 1
        elif args[i] == "--fb":
            fbbin = args[i + 1]; i += 2
        else:
            sys.exit(f"logreg-compare: unknown argument {args[i]}")
    PROBE = probe
    os.makedirs(workdir, exist_ok=True)
    # one raw dump for cats-vs-dogs: train then test rows
    cd = os.path.join(workdir, "catsdogs")
    xa, la, ia = load(featdir, "catsdogs-train")
    xb, lb, ib = load(featdir, "catsdogs-test")
    if not os.path.exists(cd + ".f32"):
        np.concatenate([xa, xb]).astype(np.float32).tofile(cd + ".f32")
        with open(cd + ".tsv", "w") as f:
            for j, (l, p) in enumerate(zip(la + lb, ia + ib)):
                f.write(f"{j}\t{l}\t{p}\n")
    feats = {}
    jobs = []
    if "fewshot" in sets:
        x, l, _ = load(featdir, "dogfacenet")
        feats["fewshot"] = x
        jobs.append((os.path.join(featdir, "dogfacenet"), fewshot_tasks(l, workdir)))
    if "fewshotval" in sets:
        x, l, _ = load(featdir, "dogfacenet")
        feats["fewshotval"] = x
        jobs.append((os.path.join(featdir, "dogfacenet"), fewshot_tasks(l, workdir, nval=50)))
    if "stanford" in sets:
        x, l, _ = load(featdir, "stanford")
        feats["stanford"] = x
        jobs.append((os.path.join(featdir, "stanford"), stratified_tasks(l, workdir, "stanford")))
    if "catsdogs" in sets:
        feats["catsdogs"] = np.concatenate([xa, xb])
        classes = sorted(set(la))
        tasks = []
        for seed in (1, 2, 3):
            path = os.path.join(workdir, f"catsdogs-s{seed}.tsv")
            write_task(path, [(j, classes.index(c), "train") for j, c in enumerate(la)] +
                       [(len(la) + j, classes.index(c), "test") for j, c in enumerate(lb)])
            tasks.append(path)
        jobs.append((cd, tasks))

    if fbbin:
        fbts = {"fewshot": "dogfacenet", "fewshotval": "dogfacenet", "stanford": "stanford", "catsdogs": "catsdogs"}
        per = {}
        for prefix, tasks in jobs:
            for t in tasks:
                key = os.path.basename(t).split("-")[0]
                fbt = os.path.join(featdir, fbts[key] + ".fbt")
                if key == "catsdogs":
                    fbt = os.path.join(workdir, "catsdogs.fbt")
                    if not os.path.exists(fbt):
                        with open(fbt, "wb") as o:
                            for part in ("catsdogs-train", "catsdogs-test"):
                                o.write(open(os.path.join(featdir, part + ".fbt"), "rb").read())
                for label, ba, acc in fb_task(fbbin, probe, fbt, t, workdir):
                    print(f"fb {os.path.basename(t)} {label}: balacc {ba:.4f} acc {acc:.4f}", flush=True)
                    per.setdefault(label, []).append((os.path.basename(t), ba, acc))
        for label, _ in FB_HEADS:
            summarise(label, per[label])
        probe_opts = None
    ours, ours_thr = [], []
    for prefix, tasks in (jobs if probe_opts is not None else []):
        for t in tasks:
            seed = t.rsplit("-s", 1)[1].split(".")[0]
            out = subprocess.run([probe, "--seed", seed] + probe_opts + ["--raw", prefix, t],
                                 capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"logreg-probe failed on {t}: {out.stderr}")
            line = out.stdout.strip()
            print("probe", line, flush=True)
            f = line.split()
            ours.append((f[0], float(f[2]), float(f[4])))
            ours_thr.append((f[0], float(f[6]), float(f[8])))
    if probe_opts is not None:
        summarise("solver " + " ".join(probe_opts), ours)
        summarise("solver+threshold", ours_thr)
    if run_sk:
        for name, tf in (("sklearn C=1 balanced raw", raw), ("sklearn C=1 balanced sqrt,l2", sqrt_l2)):
            res = []
            for prefix, tasks in jobs:
                for t in tasks:
                    key = os.path.basename(t).split("-")[0]
                    ba, acc, sec = sk_task(feats[key], t, tf)
                    res.append((os.path.basename(t), ba, acc))
            summarise(name, res)


if __name__ == "__main__":
    main()
