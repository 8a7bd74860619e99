#!/usr/bin/env bats
# End to end on real photos: split -> prep -> feat -> train -> eval.
# Needs ../shared/data (or $FB_SHARED_DATA), fb-feat and the ResNet50 weights;
# skips with a message when any is missing.
load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    shared_data_or_skip stanford-dogs-3breeds
    command -v fb-feat > /dev/null || skip "no fb-feat built"
    command -v fb-prep > /dev/null || skip "no fb-prep built"
    command -v fb-split > /dev/null || skip "no fb-split built"
    weights_or_skip
}

@test "stanford-dogs-3breeds: split, prep, feat, train with validation, eval: test accuracy >= 0.90" {
    fb-split -s 1 -o "$T/lists" "$FB_SHARED_DATA/stanford-dogs-3breeds"
    for s in train val test; do
        fb-prep < "$T/lists/$s.tsv" | fb-feat > "$T/$s.fbt"
    done
    run fb-train --head 64 --seed 1 -v "$T/val.fbt" --history "$T/history.tsv" -o "$T/head.bin" < "$T/train.fbt"
    [ "$status" -eq 0 ]
    fb-eval "$T/head.bin" < "$T/test.fbt" | tee "$T/report.txt"
    acc=$(awk '$1 == "accuracy" { print $2 }' "$T/report.txt")
    echo "test accuracy $acc"
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.90) }'
    fb-plot -o "$T/curves.png" "$T/history.tsv"
    # a new photo, classified by name
    first=$(cut -f2 "$T/lists/test.tsv" | head -1)
    printf '%s\n' "$first" | fb-prep | fb-feat | fb-predict "$T/head.bin" | grep -q "^$first	"
}
