#!/usr/bin/env bats
# The solved linear head (fb-train's default): its training log, the stored
# normalisation and two-class threshold, old head.bin files, and fb-eval's
# balanced accuracy, interval and --positive report.
load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
}

# The number after a report line's label ("accuracy", "balanced accuracy").
field() { awk -v k="$1" 'index($0, k " ") == 1 { s = substr($0, length(k) + 2); sub(/^ +/, "", s); split(s, a, " "); print a[1]; exit }'; }

@test "fb-train's default head is solved: the log names C, the CV scores, the gradient norm and the time" {
    synth-features -n 300 -d 16 -k 2 -s 2 -C other,lucy --seed 5 > "$T/train.fbt"
    run fb-train -o "$T/head.bin" < "$T/train.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"choosing C by 5-fold cross-validation"* ]]
    [ "$(grep -cE '^  C [0-9.e+-]+ +log loss [0-9.]+ ± [0-9.]+  balanced accuracy [0-9.]+' <<< "$output")" -eq 7 ] ||
        [ "$(grep -cE '^  C [0-9.e+-]+ +log loss' <<< "$output")" -ge 4 ]
    [ "$(grep -c '<- chosen' <<< "$output")" -eq 1 ]
    [[ "$output" =~ logistic\ regression\ \(L-BFGS\):\ C\ [0-9.e+-]+,\ norm\ l2,\ class\ weights\ balanced,\ 300\ records:\ [0-9]+\ iterations,\ loss\ [0-9.]+,\ gradient\ norm\ [0-9.e+-]+ ]]
    grep -aq "solver=lbfgs" "$T/head.bin"
    grep -aq "cv_logloss=" "$T/head.bin"
    # --C skips the search and is what the head says it used
    run fb-train --C 0.5 -o "$T/fixed.bin" < "$T/train.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" != *"choosing C"* ]]
    [[ "$output" == *"C 0.5, norm l2"* ]]
    grep -aq "C_from=given" "$T/fixed.bin"
}

@test "the threshold moves on an imbalanced set, is stored in head.bin, and fb-predict and fb-eval use it" {
    # 1 lucy in 10, unweighted: the fit leans to 'other'; the out-of-fold
    # threshold moves towards lucy
    synth-features -n 1000 -d 8 -k 2 -s 1 -i 10 -C other,lucy --seed 7 --draw 1 > "$T/train.fbt"
    synth-features -n 1000 -d 8 -k 2 -s 1 -i 10 -C other,lucy --seed 7 --draw 2 > "$T/test.fbt"
    fb-train -q --class-weight none -o "$T/plain.bin" < "$T/train.fbt"
    run fb-train --class-weight none --threshold cv -o "$T/thr.bin" < "$T/train.fbt"
    [ "$status" -eq 0 ]
    t=$(sed -nE 's/^threshold: ln\(p\(lucy\)\/p\(other\)\) > (-?[0-9.]+), chosen on 1000 out-of-fold records$/\1/p' <<< "$output")
    echo "threshold $t"
    awk -v t="$t" 'BEGIN { exit !(t < -0.3) }'
    # fb-eval says it uses the stored threshold, and balanced accuracy rises
    run fb-eval "$T/thr.bin" < "$T/test.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"threshold   'lucy' when ln(p(lucy)/p(other)) > "*"(stored in the head)"* ]]
    b_thr=$(field "balanced accuracy" <<< "$output")
    b_plain=$(fb-eval "$T/plain.bin" < "$T/test.fbt" | field "balanced accuracy")
    echo "balanced accuracy: plain $b_plain threshold $b_thr"
    awk -v a="$b_plain" -v b="$b_thr" 'BEGIN { exit !(b > a + 0.03) }'
    # fb-predict decides with it: its lucy count is fb-eval's predicted-lucy column
    n_pred=$(fb-predict --no-reject "$T/thr.bin" < "$T/test.fbt" | awk -F'\t' '$2 == "lucy"' | wc -l)
    n_eval=$(fb-eval --json "$T/thr.bin" < "$T/test.fbt" | tr -d ' \n' |
             sed -nE 's/.*"confusion":\[\[[0-9]+,([0-9]+)\],\[[0-9]+,([0-9]+)\]\].*/\1 \2/p' | awk '{ print $1 + $2 }')
    n_plain=$(fb-predict "$T/plain.bin" < "$T/test.fbt" | awk -F'\t' '$2 == "lucy"' | wc -l)
    echo "predicted lucy: fb-predict $n_pred, fb-eval $n_eval, without threshold $n_plain"
    [ "$n_pred" -eq "$n_eval" ]
    [ "$n_pred" -gt "$n_plain" ]
}

@test "the normalisation is stored: fb-predict on raw features gives what training saw" {
    synth-features -n 200 -d 16 -k 3 -s 4 --seed 4 > "$T/train.fbt"
    for norm in none l2 sqrt,l2,std; do
        fb-train -q --norm "$norm" -o "$T/$norm.bin" < "$T/train.fbt"
        grep -aq "norm=$norm" "$T/$norm.bin"
        acc=$(fb-eval "$T/$norm.bin" < "$T/train.fbt" | field accuracy)
        echo "$norm: training accuracy $acc"
        awk -v a="$acc" 'BEGIN { exit !(a > 0.97) }'
    done
    run fb-train --norm cube -o "$T/bad.bin" < "$T/train.fbt"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--norm"*"cube"* ]]
}

@test "an old (version 1) head.bin still loads and predicts as before; a newer version is refused" {
    synth-features -n 200 -d 16 -k 2 -s 2 --seed 3 > "$T/train.fbt"
    fb-train -q --optimizer adam --norm none --class-weight none --epochs 3 -o "$T/v2.bin" < "$T/train.fbt"
    head-v1 "$T/v2.bin" "$T/v1.bin"
    [ "$(od -An -tu4 -j8 -N4 "$T/v1.bin" | tr -d ' ')" -eq 1 ]
    [ "$(od -An -tu4 -j8 -N4 "$T/v2.bin" | tr -d ' ')" -eq 3 ]   # the current version
    fb-predict --all --no-reject "$T/v2.bin" < "$T/train.fbt" > "$T/p2.tsv"
    fb-predict --all "$T/v1.bin" < "$T/train.fbt" > "$T/p1.tsv"
    cmp "$T/p1.tsv" "$T/p2.tsv"
    head-v1 --version 9 "$T/v2.bin" "$T/v9.bin"
    run fb-predict "$T/v9.bin" < "$T/train.fbt"
    [ "$status" -ne 0 ]
    [[ "$output" == *"v9.bin"*"version 9"*"retrain"* ]]
}

@test "fb-eval: balanced accuracy, the Wilson interval, the majority baseline, --positive and --json" {
    synth-features -n 300 -d 16 -k 3 -s 2 -C a,b,c --seed 2 --draw 1 > "$T/train.fbt"
    synth-features -n 200 -d 16 -k 3 -s 2 -C a,b,c --seed 2 --draw 2 > "$T/test.fbt"
    fb-train -q -o "$T/head.bin" < "$T/train.fbt"
    run fb-eval "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" =~ accuracy\ +0\.[0-9]{4}\ \(95%\ interval\ 0\.[0-9]{4}-[01]\.[0-9]{4},\ Wilson\) ]]
    [[ "$output" =~ balanced\ accuracy\ 0\.[0-9]{4} ]]
    [[ "$output" =~ majority\ baseline\ 0\.[0-9]{4}\ \(always\ \'[abc]\'\) ]]
    [[ "$output" != *"roc auc"* ]]     # three classes: no positive class unless asked
    run fb-eval --positive b "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" =~ roc\ auc\ +0\.[0-9]{4}\ \(positive\ class:\ b\) ]]
    [[ "$output" =~ positive\ +b:\ precision\ [0-9.]+,\ recall\ [0-9.]+,\ specificity\ [0-9.]+,\ f1\ [0-9.]+ ]]
    run fb-eval --positive zebra "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 2 ]
    [[ "$output" == *"zebra"* ]]
    # the interval brackets the accuracy; the JSON has the same numbers
    fb-eval --json --positive b "$T/head.bin" < "$T/test.fbt" > "$T/e.json"
    for key in balanced_accuracy accuracy_interval95 majority_baseline roc_auc positive; do
        grep -q "\"$key\"" "$T/e.json"
    done
    acc=$(fb-eval "$T/head.bin" < "$T/test.fbt" | field accuracy)
    lo=$(sed -nE 's/^accuracy .*interval ([0-9.]+)-([0-9.]+),.*/\1/p' <<< "$output")
    fb-eval "$T/head.bin" < "$T/test.fbt" | sed -nE 's/^accuracy .*interval ([0-9.]+)-([0-9.]+),.*/\1 \2/p' > "$T/ci"
    read -r lo hi < "$T/ci"
    awk -v a="$acc" -v l="$lo" -v h="$hi" 'BEGIN { exit !(l < a && a < h) }'
}
