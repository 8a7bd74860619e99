#!/usr/bin/python3
"""The driver of scripts/bench-unknown: heads trained by fb-train (default
options, the unknown test on), asked by fb-predict about their own test
photos and about outsiders, at each rejection rate.

usage: unknown-compare.py FEATDIR WORKDIR BINDIR RATES
FEATDIR holds stanford.fbt, dogfacenet.fbt, catsdogs-test.fbt,
imagenet100.fbt (label = parent folder; imagenet ids end in the
images/ path that labels.tsv names) and labels.tsv of imagenet-sample-100.
Prints, per task family and rate: insiders kept, in-class accuracy of the
head alone and of the accepted records, outsiders rejected per outsider set
(sums over tasks, so shares are pooled)."""
import os
import random
import subprocess
import sys

PROBE = "build/tests/tools/logreg-probe"


def dump(featdir, name):
    prefix = os.path.join(featdir, name)
    if not os.path.exists(prefix + ".tsv"):
        subprocess.run([PROBE, "--dump", prefix, prefix + ".fbt"], check=True)
    rows = [l.rstrip("\n").split("\t") for l in open(prefix + ".tsv")]
    return [r[1] for r in rows], [r[2] for r in rows]


def write_task(path, items):
    with open(path, "w") as f:
        for row, cls, role in items:
            f.write(f"{row}\t{cls}\t{role}\n")


def stream(featdir, workdir, source, name, items):
    """The rows `items` of FEATDIR/source.fbt as WORKDIR/name.{train,test}.fbt."""
    out = os.path.join(workdir, name)
    write_task(out + ".tsv", items)
    subprocess.run([PROBE, "--write-task", out, os.path.join(featdir, source + ".fbt"),
                    out + ".tsv"], check=True)
    return out


def stanford_tasks(labels, seeds=(1, 2, 3)):
    classes = sorted(set(labels))
    for seed in seeds:
        rng = random.Random(f"stanford-{seed}")
        items = []
        for ci, c in enumerate(classes):
            rows = [i for i, l in enumerate(labels) if l == c]
            rng.shuffle(rows)
            ntest = int(round(len(rows) * 0.3))
            items += [(i, ci, "test") for i in rows[:ntest]] + [(i, ci, "train") for i in rows[ntest:]]
        yield f"stanford-s{seed}", items, seed


def dogface_tasks(labels, ndogs=6, npos=5, nneg=150):
    """One dog (5 photos) against ~150 photos of other dogs; tested on the
    dog's other photos and on dogs never seen in training."""
    by_dog = {}
    for i, l in enumerate(labels):
        by_dog.setdefault(l, []).append(i)
    dogs = sorted(by_dog, key=lambda d: (-len(by_dog[d]), d))[:ndogs]
    for seed, dog in enumerate(dogs, 1):
        rng = random.Random(f"{dog}-{seed}")
        pos = sorted(by_dog[dog])
        rng.shuffle(pos)
        items = [(i, 1, "train") for i in pos[:npos]] + [(i, 1, "test") for i in pos[npos:]]
        others = sorted(d for d in by_dog if d != dog)
        rng.shuffle(others)
        taken = 0
        for d in others:
            role = "train" if taken < nneg else "test"
            items += [(i, 0, role) for i in by_dog[d]]
            if role == "train":
                taken += len(by_dog[d])
        yield f"dogfacenet-{dog}", items, seed


def predict(bindir, head, fbt, rate):
    with open(fbt, "rb") as f:
        out = subprocess.run([os.path.join(bindir, "fb-predict"), "--reject-rate", str(rate), head],
                             stdin=f, check=True, capture_output=True, text=True).stdout
    return [l.split("\t")[1] for l in out.splitlines()]


def predict_plain(bindir, head, fbt):
    with open(fbt, "rb") as f:
        out = subprocess.run([os.path.join(bindir, "fb-predict"), "--no-reject", head],
                             stdin=f, check=True, capture_output=True, text=True).stdout
    return [l.split("\t")[1] for l in out.splitlines()]


def main():
    featdir, workdir, bindir, rates = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    rates = [float(r) for r in rates.split(",")]
    os.makedirs(workdir, exist_ok=True)
    # outsiders: ImageNet photos of things that are not dogs (Keras classes
    # 151..268 are dogs), and the cats of cats-vs-dogs' test part
    dogs = set()
    for line in open(os.path.join(featdir, "labels.tsv")):
        idx, _, _, path = line.rstrip("\n").split("\t")
        if 151 <= int(idx) <= 268:
            dogs.add(path)
    _, ids = dump(featdir, "imagenet100")
    nondog = [i for i, p in enumerate(ids) if not any(p.endswith("/" + d) for d in dogs)]
    outsiders = {"imagenet-nondog": stream(featdir, workdir, "imagenet100", "imagenet100-nondog",
                                           [(i, 0, "test") for i in nondog]) + ".test.fbt"}
    labels, _ = dump(featdir, "catsdogs-test")
    outsiders["cats"] = stream(featdir, workdir, "catsdogs-test", "catsdogs-test-cats",
                               [(i, 0, "test") for i, l in enumerate(labels) if l == "cats"]) + ".test.fbt"

    print("set\trate\tinsiders_kept\tkept_by_class\tacc_all\tacc_accepted\t" +
          "\t".join(f"{o}_rejected" for o in outsiders))
    for family, tasks in (("stanford", stanford_tasks(dump(featdir, "stanford")[0])),
                          ("dogfacenet-1-vs-rest", dogface_tasks(dump(featdir, "dogfacenet")[0]))):
        tally = {r: {"in": 0, "kept": 0, "right": 0, "right_kept": 0, "by": {},
                     **{o: [0, 0] for o in outsiders}} for r in rates}
        for name, items, seed in tasks:
            out = stream(featdir, workdir, family.split("-")[0], name, items)
            head = out + ".head.bin"
            with open(out + ".train.fbt", "rb") as f:
                subprocess.run([os.path.join(bindir, "fb-train"), "-q", "--seed", str(seed), "-o", head],
                               stdin=f, check=True)
            truth = ["class%d" % c for _, c, role in items if role == "test"]
            plain = predict_plain(bindir, head, out + ".test.fbt")
            for r in rates:
                t = tally[r]
                said = predict(bindir, head, out + ".test.fbt", r)
                t["in"] += len(truth)
                t["kept"] += sum(s != "unknown" for s in said)
                for s, y in zip(said, truth):
                    b = t["by"].setdefault(y, [0, 0])
                    b[0] += s != "unknown"
                    b[1] += 1
                t["right"] += sum(p == y for p, y in zip(plain, truth))
                t["right_kept"] += sum(s == y for s, y in zip(said, truth))
                for o, fbt in outsiders.items():
                    s = predict(bindir, head, fbt, r)
                    t[o][0] += sum(x == "unknown" for x in s)
                    t[o][1] += len(s)
        for r in rates:
            t = tally[r]
            print(f"{family}\t{r:g}\t{t['kept']}/{t['in']} = {t['kept'] / t['in']:.3f}\t" +
                  " ".join(f"{y}:{b[0]}/{b[1]}" for y, b in sorted(t["by"].items())) + "\t" +
                  f"{t['right'] / t['in']:.3f}\t{t['right_kept'] / max(t['kept'], 1):.3f}\t" +
                  "\t".join(f"{t[o][0]}/{t[o][1]} = {t[o][0] / t[o][1]:.3f}" for o in outsiders),
                  flush=True)


if __name__ == "__main__":
    main()
