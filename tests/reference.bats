#!/usr/bin/env bats
# fb-feat through the command line against TensorFlow.js's outputs for the same
# weights (../shared/reference): features within 1e-4, probabilities within
# 1e-5, the same top-1 on all 105 images; and --precision bf16 against fp32:
# cosine similarity >= 0.999 on every image, the same top-1 on >= 104.

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
    read -r _ records _ maxdiff _ _ _ _ <<< "$output"
    [ "$records" -eq 105 ]
    within "$maxdiff" 1e-4
}

@test "probabilities match within 1e-5 with the same top-1 on all 105 images" {
    fb-feat --layer probs < inputs.fbt > probs.fbt
    run fbt-maxdiff probs.fbt "$ref/probs.f32"
    echo "$output"
    [ "$status" -eq 0 ]
    read -r _ records _ maxdiff _ agree _ _ <<< "$output"
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

@test "--precision bf16: every image's features at cosine >= 0.999 of fp32, top-1 the same on >= 104/105" {
    grep -qw avx512_bf16 /proc/cpuinfo || skip "this CPU has no AVX512_BF16"
    fb-feat < inputs.fbt > f32.fbt
    fb-feat --precision bf16 < inputs.fbt > bf16.fbt
    run fbt-maxdiff bf16.fbt f32.fbt
    echo "$output"
    read -r _ records _ maxdiff _ _ _ mincos <<< "$output"
    [ "$records" -eq 105 ]
    within 0.999 "$mincos"
    within "$maxdiff" 0.3
    fb-feat --layer probs < inputs.fbt > p32.fbt
    fb-feat --precision bf16 --layer probs < inputs.fbt > p16.fbt
    run fbt-maxdiff p16.fbt p32.fbt
    echo "$output"
    read -r _ records _ _ _ agree _ _ <<< "$output"
    [ "$agree" -ge 104 ]
}
