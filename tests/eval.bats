#!/usr/bin/env bats
# fb-eval and fb-predict: classes by name, unknown classes, damaged heads,
# provenance checks, numbers consistent with the predictions.
load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    P="-p backbone=keras-resnet50-imagenet -p weights_crc32=0123abcd -p resize=squash -p prep=fb-prep-0.1.0"
    # shellcheck disable=SC2086
    synth-features -n 200 -d 16 -k 2 -s 2.5 -C lucy,other $P --seed 3 --draw 1 > "$T/train.fbt"
    # shellcheck disable=SC2086
    synth-features -n 100 -d 16 -k 2 -s 2.5 -C lucy,other $P --seed 3 --draw 2 > "$T/test.fbt"
    fb-train -q --epochs 10 --lr 0.01 -o "$T/head.bin" < "$T/train.fbt"
}

@test "fb-eval: the text report has accuracy, loss, AUC, confusion matrix, per-class and macro rows" {
    run fb-eval "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"records     100"* ]]
    [[ "$output" =~ accuracy\ +0\.[0-9]{4} ]]
    [[ "$output" =~ roc\ auc\ +0\.[0-9]{4}\ \(positive\ class:\ other\) ]]
    [[ "$output" == *"confusion matrix (rows: true class, columns: predicted)"* ]]
    [[ "$output" =~ macro\ avg ]]
}

@test "fb-eval numbers agree with fb-predict's predictions (confusion, precision, recall)" {
    fb-predict --no-reject "$T/head.bin" < "$T/test.fbt" > "$T/pred.tsv"   # fb-eval scores every record
    [ "$(wc -l < "$T/pred.tsv")" -eq 100 ]
    # ids are synth/<true class>/<n>.jpg
    read -r ll lo ol oo < <(awk -F'\t' '{ split($1, p, "/"); n[p[2] "," $2]++ }
        END { print n["lucy,lucy"]+0, n["lucy,other"]+0, n["other,lucy"]+0, n["other,other"]+0 }' "$T/pred.tsv")
    fb-eval --json "$T/head.bin" < "$T/test.fbt" > "$T/eval.json"
    python3 - "$T/eval.json" "$ll" "$lo" "$ol" "$oo" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ll, lo, ol, oo = map(int, sys.argv[2:])
assert r["classes"] == ["lucy", "other"], r["classes"]
assert r["confusion"] == [[ll, lo], [ol, oo]], (r["confusion"], ll, lo, ol, oo)
assert abs(r["accuracy"] - (ll + oo) / 100) < 1e-6
other = r["per_class"][1]
assert abs(other["precision"] - oo / (oo + lo)) < 1e-6
assert abs(other["recall"] - oo / (oo + ol)) < 1e-6
assert len(r["misclassified"]) == lo + ol
p = [m["probability"] for m in r["misclassified"]]
assert p == sorted(p, reverse=True), "most confident mistakes first"
assert 0.5 <= r["roc_auc"] <= 1
PY
}

@test "classes are matched by name: a stream with the class table reversed scores the same" {
    # shellcheck disable=SC2086
    synth-features -n 100 -d 16 -k 2 -s 2.5 -C lucy,other $P --seed 3 --draw 2 --reverse-table > "$T/rev.fbt"
    a=$(fb-eval "$T/head.bin" < "$T/test.fbt" | sed -n '/^accuracy/,/^macro/p')
    b=$(fb-eval "$T/head.bin" < "$T/rev.fbt" | sed -n '/^accuracy/,/^macro/p')
    [ "$a" = "$b" ]
}

@test "a class the head never saw is reported and not scored" {
    # shellcheck disable=SC2086
    synth-features -n 90 -d 16 -k 3 -s 2.5 -C lucy,other,bruno $P --seed 3 --draw 4 > "$T/three.fbt"
    run fb-eval "$T/head.bin" < "$T/three.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"30 records of class 'bruno', which"*"was not trained on: not scored"* ]]
    [[ "$output" == *"scored      60"* ]]
    [[ "$output" == *"unknown     30 of class 'bruno'"* ]]
    fb-eval --json "$T/head.bin" < "$T/three.fbt" 2>/dev/null | grep -q '"bruno": 30'
}

@test "a damaged or truncated head.bin is refused with a message naming it" {
    size=$(stat -c %s "$T/head.bin")
    head -c $((size - 7)) "$T/head.bin" > "$T/cut.bin"
    run fb-eval "$T/cut.bin" < "$T/test.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"cut.bin: head file truncated or damaged"* ]]
    cp "$T/head.bin" "$T/flip.bin"
    printf '\x55' | dd of="$T/flip.bin" bs=1 seek=$((size / 2)) conv=notrunc status=none
    run fb-eval "$T/flip.bin" < "$T/test.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"flip.bin: head file damaged: checksum mismatch"* ]]
    run fb-predict "$T/test.fbt" < "$T/test.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"not an fb head file"* ]]
    run fb-eval "$T/missing.bin" < "$T/test.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"missing.bin: No such file"* ]]
}

@test "a stream made with another backbone or resize is refused; --force overrides" {
    synth-features -n 100 -d 16 -k 2 -s 2.5 -C lucy,other -p backbone=keras-resnet50-imagenet \
        -p weights_crc32=0123abcd -p resize=crop -p prep=fb-prep-0.2.0 --seed 3 --draw 2 > "$T/crop.fbt"
    run fb-eval "$T/head.bin" < "$T/crop.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"resize: trained on 'squash', stream has 'crop'"* ]]
    [[ "$output" != *"prep:"* ]]          # the tool version is not a key that matters
    run fb-eval --force "$T/head.bin" < "$T/crop.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"accuracy"* ]]
    run fb-predict "$T/head.bin" < "$T/crop.fbt"
    [ "$status" -eq 1 ]
    synth-features -n 10 -d 16 -k 2 -C lucy,other --seed 3 > "$T/nobackbone.fbt"
    run fb-eval "$T/head.bin" < "$T/nobackbone.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"backbone: trained on 'keras-resnet50-imagenet', stream has 'synthetic'"* ]]
}

@test "a stream of another feature size is refused" {
    synth-features -n 10 -d 8 -k 2 -C lucy,other -p backbone=keras-resnet50-imagenet > "$T/small.fbt"
    run fb-eval "$T/head.bin" < "$T/small.fbt"
    [ "$status" -eq 1 ]
    [[ "$output" == *"8 features per record"*"trained on 16"* ]]
}

@test "fb-predict: TSV per record; labels optional; --all; --header" {
    # shellcheck disable=SC2086
    synth-features -n 20 -d 16 -k 2 -s 2.5 -C lucy,other $P --seed 3 --draw 5 --no-labels > "$T/new.fbt"
    run fb-predict "$T/head.bin" < "$T/new.fbt"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 20 ]
    [[ "${lines[0]}" =~ ^synth/(lucy|other)/0\.jpg$'\t'(lucy|other)$'\t'0\.[5-9][0-9]*|1\.0+$ ]]
    run fb-predict --all --header "$T/head.bin" < "$T/new.fbt"
    [ "${lines[0]}" = "$(printf 'id\tclass\tprobability\tlucy\tother')" ]
    # the class probabilities sum to 1, the printed one is the larger
    awk -F'\t' 'NR > 1 { s = $4 + $5; if (s < 0.9999 || s > 1.0001) exit 1;
                         m = $4 > $5 ? $4 : $5; if ($3 != m) exit 1 }' <<< "$output"
}

@test "fb-predict --threshold/--positive decide on the positive class's probability" {
    run fb-predict --no-reject --threshold 0 "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 0 ]
    [ "$(cut -f2 <<< "$output" | sort -u)" = "other" ]      # default positive: second class
    run fb-predict --no-reject --threshold 0 --positive lucy "$T/head.bin" < "$T/test.fbt"
    [ "$(cut -f2 <<< "$output" | sort -u)" = "lucy" ]
    run fb-predict --threshold 1.5 "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 2 ]
    run fb-predict --positive bruno "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 2 ]
    [[ "$output" == *"no class 'bruno'"* ]]
}

@test "bad numbers for --mistakes and --threshold are usage errors naming the option" {
    for bad in -1 x 1000001 2.5 ""; do
        run fb-eval --mistakes "$bad" "$T/head.bin" < "$T/test.fbt"
        echo "--mistakes '$bad' -> $status: $output"
        [ "$status" -eq 2 ]
        [[ "$output" == *"--mistakes: '$bad' is not a whole number from 0 to 1000000"* ]]
    done
    run fb-eval --mistakes 0 "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 0 ]
    # the count is still reported, no record is listed
    [[ "$output" =~ misclassified:\ [0-9]+ ]]
    [ "$(sed -n '/^misclassified/,$p' <<< "$output" | grep -c '^synth/')" -eq 0 ]
    for bad in x 1.5 -0.1 0.5x; do
        run fb-predict --threshold "$bad" "$T/head.bin" < "$T/test.fbt"
        [ "$status" -eq 2 ]
        [[ "$output" == *"--threshold: '$bad' is not a number from 0 to 1"* ]]
    done
}
