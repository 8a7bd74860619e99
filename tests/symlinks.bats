#!/usr/bin/env bats
# Symbolic links among class folders (issue 17).  A top-level class folder may
# be a link (photos/lucy -> ~/Pictures/lucy) and is followed, once: a folder
# the scan reaches twice, or a class folder that is the root itself or holds
# it, would list photos twice under two labels -- fb-split and fb-audit name
# both paths and stop (exit 1), and fb-split writes nothing.  (Links to
# folders inside a class are never followed: hostile.bats.)

load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

# d/a and d/b, 3 distinct photos each
tree() {
    local seed=0
    for c in a b; do
        mkdir -p d/$c
        for s in 1 2 3; do audit-fixture noise $((seed += 1)) 96 80 d/$c/p$s.jpg; done
    done
}

# fb-split into out/ (holding lists of an earlier run) must fail with $1 and
# leave those lists as they were
split_refused() {
    mkdir -p out
    printf 'a\told.jpg\n' > out/train.tsv
    run fb-split -o out d
    [ "$status" -eq 1 ]
    [[ "$output" == *"$1"* ]]
    [[ "$output" == *"nothing written"* ]]
    [ "$(cat out/train.tsv)" = "$(printf 'a\told.jpg')" ]
    [ ! -e out/val.tsv ]
    [ "$(ls out | grep -c tmp)" -eq 0 ]
}

@test "a class folder linked to the root (photos/all -> .) is a loop: refused, naming both" {
    tree
    ln -s . d/all
    split_refused "fb-split: d/all: the same folder as d (a symlink loop); a photo would be listed twice"
    run fb-audit d
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-audit: d/all: the same folder as d (a symlink loop); a photo would be listed twice"* ]]
    [[ "$output" == *"6 files in 2 classes"* ]]
}

@test "two class folders that are one folder (photos/c -> a) are refused, naming both" {
    tree
    ln -s a d/c
    split_refused "fb-split: d/c: the same folder as d/a (a symbolic link); a photo would be listed twice"
    run fb-audit d
    [ "$status" -eq 1 ]
    [[ "$output" == *"d/c: the same folder as d/a (a symbolic link)"* ]]
    # the link sorted first is the one followed; the real folder is then named
    rm d/c
    mv d/a d/z
    ln -s z d/a
    split_refused "d/z: the same folder as d/a (a symbolic link)"
}

@test "a class folder above the root (photos/up -> ..) is a loop: refused" {
    mkdir top
    cd top
    tree
    ln -s .. d/up
    split_refused "fb-split: d/up: holds d itself (a symlink loop); a photo would be listed twice"
    ln -sfn "$PWD" d/up
    split_refused "d/up: holds d itself (a symlink loop)"
}

@test "a class folder inside another linked class folder is refused" {
    mkdir -p elsewhere/x/sub
    audit-fixture noise 11 96 80 elsewhere/x/p1.jpg
    audit-fixture noise 12 96 80 elsewhere/x/sub/p2.jpg
    tree
    ln -s "$PWD/elsewhere/x" d/x
    ln -s "$PWD/elsewhere/x/sub" d/y
    split_refused "d/y: the same folder as d/x/sub (a symbolic link)"
}

@test "a class folder that links elsewhere (photos/lucy -> ~/Pictures/lucy) is followed once" {
    tree
    mkdir -p pictures/lucy
    for s in 1 2 3; do audit-fixture noise $((20 + s)) 96 80 pictures/lucy/l$s.jpg; done
    ln -s "$PWD/pictures/lucy" d/lucy
    run fb-split -o out d
    [ "$status" -eq 0 ]
    [ "$(cat out/*.tsv | wc -l)" -eq 9 ]
    [ "$(cut -f2 out/*.tsv | sort -u | wc -l)" -eq 9 ]
    [ "$(cat out/*.tsv | grep -c '^lucy'$'\t''d/lucy/l')" -eq 3 ]
    run fb-audit d
    [[ "$output" == *"9 files in 3 classes"* ]]
}
