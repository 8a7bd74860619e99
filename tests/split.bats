#!/usr/bin/env bats
# fb-split: stratified, seeded, deterministic lists; duplicates kept together.

load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
}

# make_bytes DIR CLASS N: N files with distinct bytes (splitting never decodes
# them when near-duplicate checks are off).
make_bytes() {
    mkdir -p "$1/$2"
    for i in $(seq 1 "$3"); do printf 'photo %s %s\n' "$2" "$i" > "$1/$2/img$i.jpg"; done
}

# count SPLIT CLASS: lines of OUT/SPLIT.tsv with that label
count() { awk -F'\t' -v c="$2" '$1 == c' "out/$1.tsv" | wc -l; }

@test "stratified counts per class follow the largest-remainder rule" {
    make_bytes d a 20
    make_bytes d b 10
    run fb-split --no-near-dups -o out d
    [ "$status" -eq 0 ]
    # a: 20 * .70/.15/.15 = 14/3/3; b: 7/1.5/1.5 -> 7/2/1 (tie to the earlier split)
    [ "$(count train a)" -eq 14 ]; [ "$(count val a)" -eq 3 ]; [ "$(count test a)" -eq 3 ]
    [ "$(count train b)" -eq 7 ];  [ "$(count val b)" -eq 2 ]; [ "$(count test b)" -eq 1 ]
    [ "$(cat out/*.tsv | sort -u | wc -l)" -eq 30 ]          # every file once
    grep -q "2 classes, 30 files: train 21, val 5, test 4" <<< "$output"
    # lines are label<TAB>DIR/class/file
    [ "$(grep -cvP '^(a|b)\td/\1/img[0-9]+\.jpg$' out/train.tsv)" -eq 0 ]
}

@test "every split gets a file when the class is small; zero ratio leaves it empty" {
    make_bytes d a 3
    make_bytes d b 3
    run fb-split --no-near-dups -o out d
    [ "$status" -eq 0 ]
    [ "$(count train a)" -eq 1 ]; [ "$(count val a)" -eq 1 ]; [ "$(count test a)" -eq 1 ]
    run fb-split --no-near-dups -r 80:0:20 -o out2 d
    [ "$status" -eq 0 ]
    [ "$(wc -l < out2/val.tsv)" -eq 0 ]
    [ "$(count train a)" -eq 1 ]
    [ "$(wc -l < out2/train.tsv)" -eq 4 ]; [ "$(wc -l < out2/test.tsv)" -eq 2 ]
}

@test "same seed gives byte-identical lists; creation order does not matter" {
    make_bytes d a 25
    make_bytes d b 17
    fb-split --no-near-dups -s 7 -o out1 d 2>/dev/null
    fb-split --no-near-dups -s 7 -o out2 d 2>/dev/null
    for s in train val test; do cmp out1/$s.tsv out2/$s.tsv; done
    # Rebuild the same tree with files created in the opposite order.
    rm -rf d
    mkdir -p d/b d/a
    for i in $(seq 17 -1 1); do printf 'photo %s %s\n' b "$i" > d/b/img$i.jpg; done
    for i in $(seq 25 -1 1); do printf 'photo %s %s\n' a "$i" > d/a/img$i.jpg; done
    fb-split --no-near-dups -s 7 -o out3 d 2>/dev/null
    for s in train val test; do cmp out1/$s.tsv out3/$s.tsv; done
}

@test "a different seed gives different lists with the same counts" {
    make_bytes d a 40
    make_bytes d b 3
    fb-split --no-near-dups -s 1 -o out1 d 2>/dev/null
    fb-split --no-near-dups -s 2 -o out2 d 2>/dev/null
    ! cmp -s out1/train.tsv out2/train.tsv || false
    [ "$(wc -l < out1/test.tsv)" -eq "$(wc -l < out2/test.tsv)" ]
}

@test "adding a class leaves the other classes' split unchanged" {
    make_bytes d a 30
    make_bytes d b 5
    fb-split --no-near-dups -o out1 d 2>/dev/null
    make_bytes d c 12
    fb-split --no-near-dups -o out2 d 2>/dev/null
    for s in train val test; do
        diff <(grep -P '^a\t' out1/$s.tsv) <(grep -P '^a\t' out2/$s.tsv)
    done
}

@test "byte-identical files go to one split and are reported, for every seed" {
    make_bytes d a 20
    make_bytes d b 5
    cp d/a/img1.jpg d/a/copy-of-1.jpg
    cp d/a/img1.jpg d/a/zz-another.jpg
    for seed in 1 2 3 4 5 6; do
        run fb-split --no-near-dups -s $seed -o out d
        [ "$status" -eq 0 ]
        grep -q "kept together (3 byte-identical files): d/a/copy-of-1.jpg d/a/img1.jpg d/a/zz-another.jpg" <<< "$output"
        grep -q "kept 1 group of the same photo together (3 files)" <<< "$output"
        # the three copies sit in exactly one list
        [ "$(grep -lE 'a/img1\.jpg|copy-of-1|zz-another' out/*.tsv | wc -l)" -eq 1 ]
        [ "$(cat out/*.tsv | grep -cE 'a/img1\.jpg|copy-of-1|zz-another')" -eq 3 ]
    done
}

@test "the same file in two classes is reported as such" {
    make_bytes d a 5
    make_bytes d b 5
    cp d/a/img2.jpg d/b/stolen.jpg
    run fb-split --no-near-dups -o out d
    [ "$status" -eq 0 ]
    grep -q "kept together (2 byte-identical files, IN DIFFERENT CLASSES): d/a/img2.jpg d/b/stolen.jpg" <<< "$output"
    [ "$(grep -lE 'img2\.jpg|stolen' out/*.tsv | wc -l)" -eq 1 ]
}

@test "near-duplicate photos (re-encoded, resized) go to one split" {
    mkdir -p d/a d/b
    for i in $(seq 1 10); do audit-fixture noise $i 160 120 d/a/p$i.jpg; done
    for i in $(seq 11 20); do audit-fixture noise $i 160 120 d/b/p$i.jpg; done
    vips copy d/a/p3.jpg "d/a/p3-small.jpg[Q=40]"
    vips resize d/a/p3.jpg d/a/p3-half.png 0.5
    for seed in 1 2 3 4 5; do
        run fb-split -s $seed -o out d
        [ "$status" -eq 0 ]
        grep -q "kept together (3 near-duplicate files): d/a/p3-half.png d/a/p3-small.jpg d/a/p3.jpg" <<< "$output"
        [ "$(grep -c 'kept together' <<< "$output")" -eq 1 ]      # distinct photos stay apart
        grep -q "kept 1 group of the same photo together (3 files)" <<< "$output"
        [ "$(grep -lE 'p3(-half|-small)?\.' out/*.tsv | wc -l)" -eq 1 ]
    done
    # Turned off, only byte-identical files are grouped.
    run fb-split --no-near-dups -o out d
    [ "$status" -eq 0 ]
    [ "$(grep -c 'kept together' <<< "$output")" -eq 0 ]
    # A huge distance makes every photo of a class one group: one split gets
    # them all, and the empty splits are named.
    run fb-split -d 64 -o out d
    [ "$status" -eq 0 ]
    grep -q "class 'a': no files in val: its duplicate groups are too large" <<< "$output"
    [ "$(grep -lP '^a\t' out/*.tsv | wc -l)" -eq 1 ]
}

@test "-f: photos whose features are alike go to one split, as fb-audit -f groups them" {
    mkdir -p d/a d/b
    for i in $(seq 1 10); do audit-fixture noise $i 160 120 d/a/p$i.jpg; done
    for i in $(seq 11 20); do audit-fixture noise $i 160 120 d/b/p$i.jpg; done
    # p3 and p8 are different pictures (the pHash keeps them apart) with the
    # same features (a burst the pHash misses); every other photo its own.
    args=()
    for i in $(seq 1 20); do c=a; [ $i -gt 10 ] && c=b; args+=("d/$c/p$i.jpg=$i"); done
    args[7]="d/a/p8.jpg=3"
    audit-features feats.fbt "${args[@]}"
    # Without features, some seed puts them in different splits ...
    apart=0
    for seed in 1 2 3 4 5 6 7 8; do
        fb-split -s $seed -o out d 2>/dev/null
        [ "$(grep -lE 'd/a/p(3|8)\.jpg' out/*.tsv | wc -l)" -eq 2 ] && apart=$((apart + 1))
    done
    [ "$apart" -gt 0 ]
    # ... with them, every seed keeps them in one, numbered as one group.
    for seed in 1 2 3 4 5 6 7 8; do
        run fb-split -f feats.fbt -s $seed -o out d
        [ "$status" -eq 0 ]
        grep -q "kept together (2 near-duplicate files): d/a/p3.jpg d/a/p8.jpg" <<< "$output"
        [ "$(grep -c 'kept together (' <<< "$output")" -eq 1 ]
        [ "$(grep -lE 'd/a/p(3|8)\.jpg' out/*.tsv | wc -l)" -eq 1 ]
        [ "$(grep -cP '^a\td/a/p(3|8)\.jpg\tgroup=1$' out/*.tsv | awk -F: '{s += $2} END {print s}')" -eq 2 ]
    done
    # The audit of these lists with the same stream finds no leak.
    run fb-audit -l out -f feats.fbt
    grep -q "1 group, 0 spanning splits" <<< "$output"
    # A stricter cosine than the pair's 1.0 is impossible; a looser one than
    # the unrelated photos' is accepted and still groups the pair.
    run fb-split -f feats.fbt -c 0.9 -o out d
    [ "$status" -eq 0 ]
    grep -q "d/a/p3.jpg d/a/p8.jpg" <<< "$output"
}

@test "-f: a stream that is not features, or names no photo of the folder, writes nothing" {
    mkdir -p d/a d/b
    for i in $(seq 1 4); do audit-fixture noise $i 160 120 d/a/p$i.jpg; done
    for i in $(seq 11 14); do audit-fixture noise $i 160 120 d/b/p$i.jpg; done
    run fb-split -f d/a/p1.jpg -o out d
    [ "$status" -eq 1 ]
    grep -q "nothing written: d/a/p1.jpg is not a usable feature stream" <<< "$output"
    [ ! -e out/train.tsv ]
    audit-features other.fbt elsewhere/x.jpg=1 elsewhere/y.jpg=2
    run fb-split -f other.fbt -o out d
    [ "$status" -eq 1 ]
    grep -q "other.fbt: 2 records name no file of this set" <<< "$output"
    grep -q "nothing written: no record of other.fbt names a photo of d" <<< "$output"
    [ ! -e out/train.tsv ]
    # features for some photos: said, and the rest grouped by pHash only
    audit-features some.fbt d/a/p1.jpg=1 d/b/p11.jpg=2
    run fb-split -f some.fbt -o out d
    [ "$status" -eq 0 ]
    grep -q "some.fbt: features for 2 of 8 photos; the other 6 are grouped by pHash only" <<< "$output"
    run fb-split -f feats.fbt -c 0 -o out d
    [ "$status" -eq 2 ]
}

@test "one class is not a classification problem: refused at once, nothing written" {
    make_bytes d a 10
    run fb-split -o out d
    [ "$status" -eq 1 ]
    grep -q "fb-split: d: only one class ('a'): one class is not a classification problem" <<< "$output"
    ! grep -q "files" <<< "$output" || false      # no progress: refused before the pHash pass
    [ ! -e out ]
}

@test "a folder of photos instead of classes: said once with a count" {
    mkdir -p lucy
    for i in $(seq 1 12); do printf 'photo %s\n' $i > lucy/img$i.jpg; done
    run fb-split -o out lucy
    [ "$status" -eq 1 ]
    [ "$(grep -c 'not a folder\|not folders' <<< "$output")" -eq 1 ]
    grep -q "fb-split: lucy: 12 entries are not folders, ignored (each class is a sub-folder of lucy)" <<< "$output"
    grep -q "if lucy is one class, give the folder that holds it" <<< "$output"
    # one stray file beside the classes is named
    make_bytes d a 6
    make_bytes d b 6
    echo x > d/readme.txt
    run fb-split --no-near-dups -o out d
    [ "$status" -eq 0 ]
    grep -q "fb-split: d/readme.txt: not a folder, ignored" <<< "$output"
}

@test "the same photo's files carry one group number from the lists through fb-prep and fb-feat" {
    mkdir -p d/a d/b
    for i in $(seq 1 10); do audit-fixture noise $i 160 120 d/a/p$i.jpg; done
    for i in $(seq 11 20); do audit-fixture noise $i 160 120 d/b/p$i.jpg; done
    vips copy d/a/p3.jpg "d/a/p3-small.jpg[Q=40]"
    cp d/b/p12.jpg d/b/p12-copy.jpg
    fb-split -s 1 -o out d 2>/dev/null
    # Groups are numbered in order of their first member: a's, then b's.
    [ "$(cat out/*.tsv | grep -c $'\tgroup=1$')" -eq 2 ]
    grep -qP '^a\td/a/p3\.jpg\tgroup=1$' out/*.tsv
    grep -qP '^a\td/a/p3-small\.jpg\tgroup=1$' out/*.tsv
    grep -qP '^b\td/b/p12-copy\.jpg\tgroup=2$' out/*.tsv
    [ "$(cat out/*.tsv | grep -c 'group=')" -eq 4 ]       # every other photo alone
    cat out/*.tsv | fb-prep -j 1 -o s.fbt
    fb-info -r s.fbt > recs
    grep -qP '\td/a/p3-small\.jpg\ta\t[0-9a-f]{8}\t1$' recs
    grep -qP '\td/b/p12\.jpg\tb\t[0-9a-f]{8}\t2$' recs
    [ "$(grep -cP '\t-$' recs)" -eq 18 ]
    # fb-feat passes each record's group on to the features.
    fb-feat -j 1 < s.fbt | fb-info -r | cut -f2,5 > feat-groups
    diff <(cut -f2,5 recs) feat-groups
}

@test "hidden files are skipped silently, non-image names reported and skipped" {
    make_bytes d a 6
    make_bytes d b 3
    echo x > d/a/.DS_Store
    echo x > d/a/notes.txt
    mkdir d/.hidden-class && echo x > d/.hidden-class/x.jpg
    run fb-split --no-near-dups -o out d
    [ "$status" -eq 0 ]
    grep -q "d/a/notes.txt: not an image file name" <<< "$output"
    ! grep -q DS_Store <<< "$output" || false
    [ "$(cat out/*.tsv | wc -l)" -eq 9 ]
    ! grep -q hidden out/*.tsv || false
    # upper-case extensions count
    printf 'upper\n' > d/a/BIG.JPG
    fb-split --no-near-dups -o out d 2>/dev/null
    [ "$(cat out/*.tsv | wc -l)" -eq 10 ]
}

@test "an empty class is an error and nothing is written" {
    make_bytes d a 6
    mkdir d/empty
    run fb-split --no-near-dups -o out d
    [ "$status" -eq 1 ]
    grep -q "fb-split: d/empty: class 'empty' has no image files" <<< "$output"
    ! grep -q "cannot read" <<< "$output" || false
    grep -q "nothing written" <<< "$output"
    [ ! -e out/train.tsv ]
}

@test "a missing folder is an error" {
    run fb-split -o out no-such-dir
    [ "$status" -eq 1 ]
    grep -q "fb-split: no-such-dir: cannot read folder: No such file or directory" <<< "$output"
    [ ! -e out ]
}

@test "an unreadable class folder is an error" {
    [ "$(id -u)" -ne 0 ] || skip "root reads every folder"
    make_bytes d a 6
    make_bytes d b 6
    chmod 000 d/b
    run fb-split --no-near-dups -o out d
    chmod 755 d/b
    [ "$status" -eq 1 ]
    grep -q "d/b: cannot read folder: Permission denied" <<< "$output"
}

@test "a class with too few files for the ratios is an error naming it" {
    make_bytes d a 10
    make_bytes d tiny 2
    run fb-split --no-near-dups -o out d
    [ "$status" -eq 1 ]
    grep -q "class 'tiny' has 2 files, too few to give each of the 3 splits one" <<< "$output"
    [ ! -e out/train.tsv ]
    # With two splits, two files are enough.
    run fb-split --no-near-dups -r 50:0:50 -o out d
    [ "$status" -eq 0 ]
}

@test "numeric options: a bad value is a usage error (exit 2) naming the option" {
    make_bytes d a 6
    make_bytes d b 6
    for v in 65 -1 x 8x "" 1.5; do
        run fb-split -d "$v" -o out d
        [ "$status" -eq 2 ]; grep -q -- "--near-dup: '$v' is not a whole number from 0 to 64" <<< "$output"
    done
    run fb-split --near-dup 64 --no-near-dups -o out d;   [ "$status" -eq 0 ]
    [ -f out/train.tsv ]
}

@test "ratio and option errors exit 2 with a message" {
    make_bytes d a 6
    make_bytes d b 6
    for r in 70:15 a:b:c -1:50:50 0:50:50 70:15:15:0 "70:15:" "70::30" 1e99:1:1; do
        run fb-split -r "$r" -o out d
        [ "$status" -eq 2 ]
        grep -q "fb-split: bad ratio '$r'" <<< "$output"
    done
    run fb-split d;                    [ "$status" -eq 2 ]; grep -q "missing -o OUTDIR" <<< "$output"
    run fb-split -o out;               [ "$status" -eq 2 ]
    run fb-split -s x -o out d;        [ "$status" -eq 2 ]; grep -q "seed: 'x' is not a whole number" <<< "$output"
    run fb-split -d 65 -o out d;       [ "$status" -eq 2 ]
    run fb-split --help;               [ "$status" -eq 0 ]; grep -q "usage: fb-split" <<< "$output"
    # decimals are fine
    run fb-split --no-near-dups -r 0.6:0.2:0.2 -o out d
    [ "$status" -eq 0 ]
}

@test "lists are replaced atomically: no temporary files, failure keeps old lists" {
    make_bytes d a 10
    make_bytes d b 10
    fb-split --no-near-dups -o out d 2>/dev/null
    cp out/train.tsv before.tsv
    [ "$(ls out | wc -l)" -eq 3 ]
    mkdir d/empty
    run fb-split --no-near-dups -s 9 -o out d
    [ "$status" -eq 1 ]
    cmp before.tsv out/train.tsv
    [ "$(ls out | wc -l)" -eq 3 ]
}

@test "undecodable image: named, kept in the lists, exit 1" {
    mkdir -p d/a
    mkdir -p d/b
    for i in 1 2 3 4 5; do audit-fixture noise $i 80 80 d/a/p$i.png; done
    for i in 6 7 8; do audit-fixture noise $i 80 80 d/b/p$i.png; done
    printf 'not really a jpeg' > d/a/broken.jpg
    run fb-split -o out d
    [ "$status" -eq 1 ]
    grep -q "d/a/broken.jpg: not an image fb can read (kept, but not checked for near-duplicates)" <<< "$output"
    [ "$(cat out/*.tsv | wc -l)" -eq 9 ]
}

@test "stanford-dogs-3breeds: 105/23/22 per class, no near-duplicates" {
    shared_data_or_skip stanford-dogs-3breeds
    run fb-split -o out "$FB_SHARED_DATA/stanford-dogs-3breeds"
    [ "$status" -eq 0 ]
    for c in flat_coated_retriever maltese rhodesian_ridgeback; do
        [ "$(count train $c)" -eq 105 ]; [ "$(count val $c)" -eq 23 ]; [ "$(count test $c)" -eq 22 ]
    done
    [ "$(grep -c 'kept together' <<< "$output")" -eq 0 ]
    ! grep -q "kept [0-9]* group" <<< "$output" || false
}

@test "nasty: hostile files are named, never crash or hang the split" {
    shared_data_or_skip nasty
    run timeout 300 fb-split -o out "$FB_SHARED_DATA/nasty"
    [ "$status" -eq 1 ]                         # some files cannot be decoded
    grep -q "could not be read or decoded" <<< "$output"
    [ "$(cat out/*.tsv | wc -l)" -gt 900 ]
}
