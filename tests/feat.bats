#!/usr/bin/env bats
# fb-feat through its command line.  The numbers themselves are checked
# against the reference outputs in tests/unit/test_resnet_reference.c (the
# same library code); here: formats, pass-through, refusals, determinism
# across threads and batch sizes, and a real photo end to end.

load helpers

setup() {
    weights_or_skip
    tmp="$BATS_TEST_TMPDIR"
}

images() {  # images N [fbt-make options...] > stream
    local n=$1; shift
    fbt-make -t u8 -d 224x224x3 -n "$n" "$@"
}

@test "--help and --version" {
    run fb-feat --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: fb-feat"* ]]
    run fb-feat --version
    [ "$status" -eq 0 ]
    [[ "$output" == "fb-feat (fb) "* ]]
}

@test "bad options exit 2 with the usage" {
    run fb-feat --layer pixels
    [ "$status" -eq 2 ]
    [[ "$output" == *"features, logits, probs or stage4"* ]]
    run fb-feat --top 0
    [ "$status" -eq 2 ]
    run fb-feat -j x
    [ "$status" -eq 2 ]
    run fb-feat -b 0
    [ "$status" -eq 2 ]
    [[ "$output" == *"-b"* ]]
    run fb-feat --precision fp16
    [ "$status" -eq 2 ]
    [[ "$output" == *"fp32 or bf16"* ]]
}

@test "features: one float32 2048 record per image; ids, labels, classes, provenance pass through" {
    images 3 -C cat,dog -p source=test -s 5 > "$tmp/in.fbt"
    fb-feat < "$tmp/in.fbt" > "$tmp/out.fbt"
    run fb-info "$tmp/out.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"records:    3"* ]]
    [[ "$output" == *"tensor:     float32 2048"* ]]
    [[ "$output" == *"source=test"* ]]
    [[ "$output" == *"backbone=keras-resnet50-imagenet"* ]]
    [[ "$output" =~ weights_crc32=[0-9a-f]{8} ]]
    [[ "$output" == *"feat_output=features"* ]]
    [[ "$output" != *"precision="* ]]        # fp32 streams are as before: no key
    diff <(fb-info -r "$tmp/in.fbt" | cut -f1-3) <(fb-info -r "$tmp/out.fbt" | cut -f1-3)
}

@test "--layer probs and logits give 1000 values; probabilities are in [0,1]" {
    images 2 -s 6 > "$tmp/in.fbt"
    fb-feat --layer probs < "$tmp/in.fbt" > "$tmp/p.fbt"
    run fb-info "$tmp/p.fbt"
    [[ "$output" == *"tensor:     float32 1000"* ]]
    [[ "$output" == *"feat_output=probs"* ]]
    min=$(sed -n 's/^values: *min \([^,]*\), max \([^,]*\),.*/\1/p' <<<"$output")
    max=$(sed -n 's/^values: *min \([^,]*\), max \([^,]*\),.*/\2/p' <<<"$output")
    awk -v a="$min" -v b="$max" 'BEGIN { exit !(a >= 0 && b <= 1) }'
    fb-feat --layer logits < "$tmp/in.fbt" > "$tmp/l.fbt"
    run fb-info "$tmp/l.fbt"
    [[ "$output" == *"tensor:     float32 1000"* ]]
    [[ "$output" == *"feat_output=logits"* ]]
}

@test "--top K: K lines per image, ID TAB RANK TAB CLASS TAB PROBABILITY, most likely first" {
    images 2 -s 7 > "$tmp/in.fbt"
    run fb-feat --top 4 < "$tmp/in.fbt"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 8 ]
    printf '%s\n' "${lines[@]}" | awk -F'\t' '
        NF != 4 || $2 != (NR - 1) % 4 + 1 || $4 !~ /^[01]\.[0-9][0-9][0-9][0-9]$/ { print "bad line " NR ": " $0; exit 1 }
        $2 > 1 && $4 > prev + 0 { print "not descending at line " NR; exit 1 }
        { prev = $4 }'
    [[ "${lines[0]}" == rec0$'\t'1$'\t'* ]]
    [[ "${lines[4]}" == rec1$'\t'1$'\t'* ]]
}

@test "the same numbers whatever the threads and batch size" {
    images 5 -s 8 > "$tmp/in.fbt"
    fb-feat -j 1 -b 1 < "$tmp/in.fbt" | fb-info -r > "$tmp/a"
    fb-feat -j 2 -b 8 < "$tmp/in.fbt" | fb-info -r > "$tmp/b"
    fb-feat -j 2 -b 1 < "$tmp/in.fbt" | fb-info -r > "$tmp/c"
    fb-feat -j 3 -b 2 < "$tmp/in.fbt" | fb-info -r > "$tmp/d"
    diff "$tmp/a" "$tmp/b"
    diff "$tmp/a" "$tmp/c"
    diff "$tmp/a" "$tmp/d"
}

@test "an empty stream gives an empty stream" {
    images 0 > "$tmp/in.fbt"
    fb-feat < "$tmp/in.fbt" > "$tmp/out.fbt"
    run fb-info "$tmp/out.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"records:    0"* ]]
}

@test "input that is not 224x224x3 uint8 is refused with what it got" {
    fbt-make -t f32 -d 2048 -n 1 > "$tmp/f.fbt"
    run fb-feat < "$tmp/f.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-feat: stdin: a stream of feature vectors (float32 2048), not images; it goes to fb-train"* ]]
    fbt-make -t u8 -d 100x100x3 -n 1 > "$tmp/s.fbt"
    run fb-feat < "$tmp/s.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"stdin: images of 100x100, the network takes 224x224: make them with fb-prep -s 224"* ]]
    run fb-feat <<<"not a stream"
    [ "$status" -eq 1 ]
    [[ "$output" == "fb-feat: "* ]]
}

@test "a stream cut short fails without hanging" {
    images 3 -s 9 > "$tmp/in.fbt"
    head -c 200000 "$tmp/in.fbt" > "$tmp/cut.fbt"
    run fb-feat < "$tmp/cut.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-feat: "* ]]
}

@test "missing or damaged weights: the file, the problem and how to get it" {
    images 1 > "$tmp/in.fbt"
    run env FB_WEIGHTS="$tmp/none.fbw" fb-feat < "$tmp/in.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"$tmp/none.fbw"* && "$output" == *"make weights"* ]]
    head -c 1000000 "${FB_WEIGHTS:-$FB_BUILD/share/fb/resnet50.fbw}" > "$tmp/short.fbw"
    run fb-feat -w "$tmp/short.fbw" < "$tmp/in.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"short.fbw"*"truncated or damaged"*"make weights"* ]]
    run fb-weights check "$tmp/short.fbw"
    [ "$status" -eq 1 ]
}

@test "fb-weights check accepts the built weights" {
    run fb-weights check "${FB_WEIGHTS:-$FB_BUILD/share/fb/resnet50.fbw}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"tensors	54"* ]]
    [[ "$output" == *"labels	1000"* ]]
}

@test "a real photo end to end: fb-prep | fb-feat --top 1 names a tiger shark" {
    shared_data_or_skip imagenet-sample-100
    photo="$FB_SHARED_DATA/imagenet-sample-100/images/n01491361_tiger_shark.JPEG"
    [ -f "$photo" ] || skip "no $photo"
    run bash -c "fb-prep '$photo' | fb-feat --top 1"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'\t'1$'\t'tiger_shark$'\t'* ]]
}

@test "FB_PROFILE: a row per conv with its time, and the totals" {
    weights_or_skip
    images 2 -s 3 > "$tmp/in.fbt"
    FB_PROFILE=1 fb-feat -j 2 -b 2 < "$tmp/in.fbt" > /dev/null 2> "$tmp/err"
    # 53 convs (fc1000 is in avgpool+fc), each with M K N, then 4 times > 0
    awk '$1 ~ /^(conv1|res[2-5][a-f]_branch(1|2[abc]))$/ {
             n++
             for (i = 5; i <= 8; i++) if ($i + 0 <= 0) { print "bad time: " $0; exit 1 }
         }
         END { if (n != 53) { print n " conv rows"; exit 1 } }' "$tmp/err"
    grep -q '^FB_PROFILE: 2 images on 2 threads' "$tmp/err"
    grep -Eq '^total +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$tmp/err"
    grep -Eq '^images/s on 2 threads: [0-9.]+ mean, [0-9.]+ at the best of each step$' "$tmp/err"
    # without it, nothing on stderr
    fb-feat < "$tmp/in.fbt" > /dev/null 2> "$tmp/err2"
    [ ! -s "$tmp/err2" ]
}

@test "--precision bf16: precision=bf16 in the provenance, the same numbers whatever the threads and batch" {
    grep -qw avx512_bf16 /proc/cpuinfo || skip "this CPU has no AVX512_BF16"
    images 3 -s 8 > "$tmp/in.fbt"
    fb-feat --precision bf16 -j 1 -b 1 < "$tmp/in.fbt" > "$tmp/a.fbt"
    run fb-info "$tmp/a.fbt"
    [[ "$output" == *"precision=bf16"* ]]
    [[ "$output" == *"tensor:     float32 2048"* ]]
    fb-feat --precision bf16 -j 2 -b 8 < "$tmp/in.fbt" | fb-info -r > "$tmp/b"
    fb-feat --precision bf16 -j 3 -b 2 < "$tmp/in.fbt" | fb-info -r > "$tmp/c"
    fb-info -r "$tmp/a.fbt" > "$tmp/a"
    diff "$tmp/a" "$tmp/b"
    diff "$tmp/a" "$tmp/c"
    # not the fp32 numbers, but close to them
    fb-feat < "$tmp/in.fbt" > "$tmp/f32.fbt"
    ! diff -q <(fb-info -r "$tmp/f32.fbt") "$tmp/a" > /dev/null
    read -r _ _ _ _ _ _ _ mincos <<< "$(fbt-maxdiff "$tmp/a.fbt" "$tmp/f32.fbt")"
    awk -v c="$mincos" 'BEGIN { exit !(c >= 0.999) }'
    # --top and logits go through the bf16 fc layer
    run fb-feat --precision bf16 --top 2 < "$tmp/in.fbt"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 6 ]
}

@test "--precision bf16 without AVX512_BF16 (or with FB_NO_AVX512) is refused, naming the feature" {
    images 1 > "$tmp/in.fbt"
    run env FB_NO_AVX512=1 fb-feat --precision bf16 < "$tmp/in.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"--precision bf16"*"AVX512_BF16"* ]]
    if ! grep -qw avx512_bf16 /proc/cpuinfo; then
        run fb-feat --precision bf16 < "$tmp/in.fbt"
        [ "$status" -eq 1 ]
        [[ "$output" == *"AVX512_BF16"* ]]
    fi
}
