#!/usr/bin/python3
"""The driver of scripts/bench-unknown: heads trained by fb-train (default
options but the calibration compared), asked by fb-predict about their own
test photos, about photos of subjects never seen in training (in-class:
they must be kept), and about outsiders.

usage: unknown-compare.py FEATDIR WORKDIR BINDIR METHODS
FEATDIR holds stanford.fbt, dogfacenet.fbt, catsdogs-test.fbt,
imagenet100.fbt (label = parent folder; imagenet ids end in the
images/ path that labels.tsv names) and labels.tsv of imagenet-sample-100.
METHODS: comma-separated fb-train --reject-subject values (0: held out one
photo at a time).  Prints, per task family and method: insiders kept (the
test photos of subjects seen in training), unseen-subject insiders kept,
outsiders rejected per outsider set, in-class accuracy of the head alone and
counting unknown as wrong -- pooled over the tasks, with the range over
tasks in brackets."""
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
        yield f"stanford-s{seed}", items, [], seed


def dogface_tasks(labels, ndogs=6, seeds=(1, 2), seen_others=30):
    """One dog (60% of its photos) against 30 other dogs (70% of theirs) in
    training, as "is this my dog or another one"; tested on the rest of
    their photos, and on the photos of the other ~38 dogs, never seen in
    training (class "other": they must be kept).  The dogs with most photos,
    two draws each."""
    by_dog = {}
    for i, l in enumerate(labels):
        by_dog.setdefault(l, []).append(i)
    dogs = sorted(by_dog, key=lambda d: (-len(by_dog[d]), d))[:ndogs]
    for dog in dogs:
        for seed in seeds:
            rng = random.Random(f"{dog}-{seed}")
            pos = sorted(by_dog[dog])
            rng.shuffle(pos)
            npos = int(round(0.6 * len(pos)))
            items = [(i, 1, "train") for i in pos[:npos]] + [(i, 1, "test") for i in pos[npos:]]
            others = sorted(d for d in by_dog if d != dog)
            rng.shuffle(others)
            unseen = []
            for n, d in enumerate(others):
                rows = sorted(by_dog[d])
                rng.shuffle(rows)
                if n < seen_others:
                    nt = int(round(0.7 * len(rows)))
                    items += [(i, 0, "train") for i in rows[:nt]] + [(i, 0, "test") for i in rows[nt:]]
                else:
                    unseen += [(i, 0, "test") for i in rows]
            yield f"dogfacenet-{dog}-s{seed}", items, unseen, seed


def predict(bindir, head, fbt):
    with open(fbt, "rb") as f:
        out = subprocess.run([os.path.join(bindir, "fb-predict"), head],
                             stdin=f, check=True, capture_output=True, text=True).stdout
    return [l.split("\t")[1] for l in out.splitlines()]


def predict_plain(bindir, head, fbt):
    with open(fbt, "rb") as f:
        out = subprocess.run([os.path.join(bindir, "fb-predict"), "--no-reject", head],
                             stdin=f, check=True, capture_output=True, text=True).stdout
    return [l.split("\t")[1] for l in out.splitlines()]


def share(counts):
    """pooled share and range over tasks of [(hits, n), ...]"""
    hits, n = sum(h for h, _ in counts), sum(m for _, m in counts)
    if n == 0:
        return "-"
    per = [h / m for h, m in counts if m]
    return f"{hits}/{n} = {hits / n:.3f} ({min(per):.2f}-{max(per):.2f})"


def main():
    featdir, workdir, bindir, methods = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    methods = [int(m) for m in methods.split(",")]
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
    outsiders = {"nondog": stream(featdir, workdir, "imagenet100", "imagenet100-nondog",
                                  [(i, 0, "test") for i in nondog]) + ".test.fbt"}
    labels, _ = dump(featdir, "catsdogs-test")
    outsiders["cats"] = stream(featdir, workdir, "catsdogs-test", "catsdogs-test-cats",
                               [(i, 0, "test") for i, l in enumerate(labels) if l == "cats"]) + ".test.fbt"

    print("set\tmethod\tinsiders_kept\tunseen_subject_kept\t" +
          "\t".join(f"{o}_rejected" for o in outsiders) + "\taccuracy\taccuracy_unknown_wrong")
    for family, tasks in (("stanford", stanford_tasks(dump(featdir, "stanford")[0])),
                          ("dogfacenet", dogface_tasks(dump(featdir, "dogfacenet")[0]))):
        tally = {m: {"in": [], "unseen": [], "acc": [], "acc_u": [], **{o: [] for o in outsiders}}
                 for m in methods}
        for name, items, unseen, seed in tasks:
            out = stream(featdir, workdir, family, name, items)
            tests = [("in", out + ".test.fbt", [c for _, c, role in items if role == "test"])]
            if unseen:
                tests.append(("unseen", stream(featdir, workdir, family, name + "-unseen", unseen) +
                              ".test.fbt", [c for _, c, _ in unseen]))
            for m in methods:
                t = tally[m]
                head = f"{out}.subject{m}.head.bin"
                with open(out + ".train.fbt", "rb") as f:
                    subprocess.run([os.path.join(bindir, "fb-train"), "-q", "--seed", str(seed),
                                    "--reject-subject", str(m), "-o", head], stdin=f, check=True)
                right = right_u = total = 0
                for key, fbt, classes in tests:
                    truth = ["class%d" % c for c in classes]
                    said, plain = predict(bindir, head, fbt), predict_plain(bindir, head, fbt)
                    t[key].append((sum(s != "unknown" for s in said), len(said)))
                    right += sum(p == y for p, y in zip(plain, truth))
                    right_u += sum(s == y for s, y in zip(said, truth))
                    total += len(truth)
                t["acc"].append((right, total))
                t["acc_u"].append((right_u, total))
                for o, fbt in outsiders.items():
                    s = predict(bindir, head, fbt)
                    t[o].append((sum(x == "unknown" for x in s), len(s)))
            print(f"# {name} done", file=sys.stderr, flush=True)
        for m in methods:
            t = tally[m]
            label = "one-photo" if m == 0 else f"subjects-of-{m}"
            print(f"{family}\t{label}\t{share(t['in'])}\t{share(t['unseen'])}\t" +
                  "\t".join(share(t[o]) for o in outsiders) +
                  f"\t{share(t['acc'])}\t{share(t['acc_u'])}", flush=True)


if __name__ == "__main__":
    main()
