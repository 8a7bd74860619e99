#!/usr/bin/env bats
# fb-feat through the command line against TensorFlow.js's outputs for the same
# weights (../shared/reference): features within 1e-4, probabilities within
# 1e-5, the same top-1 on all 105 images.

load helpers

setup() {
    ref="$FB_SHARED/reference"
    [ -f "$ref/inputs.u8" ] || skip "no reference tensors at $ref (a fresh clone has none)"
    weights_or_skip
    cd "$BATS_TEST_TMPDIR"
    fbt-make -t u8 -d 224x224x3 -n 105 -r "$ref/inputs.u8" > inputs.fbt
}

# within VALUE LIMIT: true when VALUE <= LIMIT (floating point)
within() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'; }

@test "features match TensorFlow.js within 1e-4 on all 105 images" {
    fb-feat < inputs.fbt > features.fbt
    run fbt-maxdiff features.fbt "$ref/features.f32"
    echo "$output"
    [ "$status" -eq 0 ]
    read -r _ records _ maxdiff _ _ <<< "$output"
    [ "$records" -eq 105 ]
    within "$maxdiff" 1e-4
}

@test "probabilities match within 1e-5 with the same top-1 on all 105 images" {
    fb-feat --output probs < inputs.fbt > probs.fbt
    run fbt-maxdiff probs.fbt "$ref/probs.f32"
    echo "$output"
    [ "$status" -eq 0 ]
    read -r _ records _ maxdiff _ agree <<< "$output"
    [ "$records" -eq 105 ]
    [ "$agree" -eq 105 ]
    within "$maxdiff" 1e-5
}

@test "--top 1 names the reference's top class for the first five photos" {
    fb-feat --top 1 < inputs.fbt | head -n 5 | cut -f3 > top.txt
    # Reference top-1 from probs.f32, named through imagenet-labels.txt.
    for i in 0 1 2 3 4; do
        od -A n -t f4 -v -j $((i * 4000)) -N 4000 "$ref/probs.f32" | tr -s ' ' '\n' |
            grep -v '^$' | awk '{ if ($1 > m) { m = $1; k = NR } } END { print k }'
    done | while read -r k; do sed -n "${k}p" "$ref/imagenet-labels.txt"; done > want.txt
    cat top.txt want.txt
    diff top.txt want.txt
}
