#!/usr/bin/env bats
# The unknown test: fb-train's rejection model, fb-predict's "unknown",
# fb-eval's measure of it, old heads without one, the reserved class name.
load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    synth-features -n 1000 -d 16 -k 2 -s 4 -C lucy,other --seed 3 --draw 1 > "$T/train.fbt"
    synth-features -n 4000 -d 16 -k 2 -s 4 -C lucy,other --seed 3 --draw 2 > "$T/test.fbt"
    # the same problem moved far along one axis: unlike every training photo
    synth-features -n 200 -d 16 -k 2 -s 4 -C cat,car --seed 3 --draw 3 --shift 60 > "$T/far.fbt"
}

# share of lines of fb-predict's output answered unknown
unknown_share() { awk -F'\t' '{ n++; u += $2 == "unknown" } END { printf "%.4f\n", u / n }' "$1"; }

@test "a cluster far from every class is answered unknown, with the confidence of that verdict" {
    fb-train -q -o "$T/head.bin" < "$T/train.fbt"
    fb-predict "$T/head.bin" < "$T/far.fbt" > "$T/far.tsv"
    [ "$(wc -l < "$T/far.tsv")" -eq 200 ]
    [ "$(cut -f2 "$T/far.tsv" | sort -u)" = unknown ]
    # beyond the cut at rate 0.01: farther than at least 99% of the held-out
    # training photos (the confidence in the verdict)
    awk -F'\t' '$3 < 0.99 || $3 > 1 { bad++ } END { exit bad > 0 }' "$T/far.tsv"
    # --all still gives what the head alone would say, two probabilities summing to 1
    fb-predict --all "$T/head.bin" < "$T/far.fbt" | awk -F'\t' '
        NF != 5 || $2 != "unknown" || ($4 + $5 < 0.9999 || $4 + $5 > 1.0001) { bad++ } END { exit bad > 0 }'
}

@test "the in-class share rejected matches the chosen rate within sampling error" {
    # Each synthetic photo is a subject of its own (no two photos of one
    # dog): the calibration that matches is one photo held out at a time.
    run fb-train --reject-rate 0.05 --reject-subject 0 -o "$T/head.bin" < "$T/train.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"unknown test: 5-th nearest of 1000 training photos, rate 0.05, cut "*"(held out one photo at a time)"* ]]
    fb-predict "$T/head.bin" < "$T/test.fbt" > "$T/p.tsv"
    # 4000 new photos, a cut from 1000 held-out distances: s.d. about 0.008
    share=$(unknown_share "$T/p.tsv")
    awk -v s="$share" 'BEGIN { exit !(s > 0.025 && s < 0.075) }'
    # --reject-rate at predict time moves the cut from the stored distances
    fb-predict --reject-rate 0.2 "$T/head.bin" < "$T/test.fbt" > "$T/p20.tsv"
    share=$(unknown_share "$T/p20.tsv")
    awk -v s="$share" 'BEGIN { exit !(s > 0.16 && s < 0.24) }'
    # the far cluster stays rejected at either
    fb-predict --reject-rate 0.0 "$T/head.bin" < "$T/far.fbt" | cut -f2 | sort -u | grep -qx unknown
    # By default whole clusters of similar photos are held out, standing in
    # for subjects never seen: a cut for photos of new subjects, which on
    # photos like these rejects no more than the rate
    run fb-train --reject-rate 0.05 -o "$T/default.bin" < "$T/train.fbt"
    [[ "$output" == *"(held out by clusters of similar photos)"* ]]
    fb-predict "$T/default.bin" < "$T/test.fbt" > "$T/d.tsv"
    share=$(unknown_share "$T/d.tsv")
    awk -v s="$share" 'BEGIN { exit !(s < 0.075) }'
    fb-predict "$T/default.bin" < "$T/far.fbt" | cut -f2 | sort -u | grep -qx unknown
}

@test "--no-reject gives the output of a head without rejection byte for byte" {
    fb-train -q -o "$T/with.bin" < "$T/train.fbt"
    fb-train -q --no-reject -o "$T/without.bin" < "$T/train.fbt"
    for s in test far; do
        fb-predict --all --header --no-reject "$T/with.bin" < "$T/$s.fbt" > "$T/a.tsv"
        fb-predict --all --header "$T/without.bin" < "$T/$s.fbt" > "$T/b.tsv" 2> "$T/b.err"
        cmp "$T/a.tsv" "$T/b.tsv"
        ! grep -q unknown "$T/a.tsv"
    done
    # the stored model is the only difference between the two files
    [ "$(stat -c %s "$T/with.bin")" -gt "$(stat -c %s "$T/without.bin")" ]
}

@test "old head.bin files (versions 1 and 2) predict as before, with one note that they cannot reject" {
    fb-train -q --norm none --optimizer adam --class-weight none --epochs 3 -o "$T/v3.bin" < "$T/train.fbt"
    [ "$(od -An -tu4 -j8 -N4 "$T/v3.bin" | tr -d ' ')" -eq 3 ]
    head-v1 "$T/v3.bin" "$T/v1.bin"
    head-v1 --version 2 "$T/v3.bin" "$T/v2.bin"
    fb-predict --all --no-reject "$T/v3.bin" < "$T/far.fbt" > "$T/p3.tsv"
    for v in 1 2; do
        fb-predict --all "$T/v$v.bin" < "$T/far.fbt" > "$T/p$v.tsv" 2> "$T/p$v.err"
        cmp "$T/p$v.tsv" "$T/p3.tsv"
        [ "$(wc -l < "$T/p$v.err")" -eq 1 ]
        grep -q "v$v.bin has no rejection model" "$T/p$v.err"
        # --no-reject: the user knows; no note
        fb-predict --no-reject "$T/v$v.bin" < "$T/far.fbt" > /dev/null 2> "$T/quiet.err"
        [ ! -s "$T/quiet.err" ]
    done
}

@test "a damaged rejection model is refused with a message" {
    fb-train -q -o "$T/head.bin" < "$T/train.fbt"
    # cut the file short inside the stored points: the header's size no longer matches
    size=$(stat -c %s "$T/head.bin")
    head -c $((size - 100)) "$T/head.bin" > "$T/short.bin"
    run fb-predict "$T/short.bin" < "$T/test.fbt"
    [ "$status" -ne 0 ]
    [[ "$output" == *"short.bin"*"truncated or damaged"* ]]
}

@test "fb-train refuses a class named unknown and says why" {
    synth-features -n 100 -d 16 -k 2 -s 4 -C unknown,other --seed 3 > "$T/bad.fbt"
    run fb-train -o "$T/bad.bin" < "$T/bad.fbt"
    [ "$status" -eq 2 ]
    [[ "$output" == *"named 'unknown'"*"reserved"*"unlike every class"* ]]
    [ ! -e "$T/bad.bin" ]
}

@test "fb-train: --reject-subject is checked, and calibrating a test --no-reject turns off is a usage error" {
    for bad in -1 x 1e9; do
        run fb-train --reject-subject "$bad" -o "$T/h.bin" < "$T/train.fbt"
        [ "$status" -eq 2 ]
        [[ "$output" == *"--reject-subject"* ]]
    done
    run fb-train --no-reject --reject-subject 3 -o "$T/h.bin" < "$T/train.fbt"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--no-reject stores no unknown test"* ]]
    run fb-train --no-reject --reject-rate 0.1 -o "$T/h.bin" < "$T/train.fbt"
    [ "$status" -eq 2 ]
    [ ! -e "$T/h.bin" ]
}

@test "fb-eval --unknown and outsider labels: shares rejected, accepted as which class; --json; --curve" {
    fb-train -q -o "$T/head.bin" < "$T/train.fbt"
    run fb-eval --unknown "$T/far.fbt" "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"outsiders   200 of 200 rejected (1.0000), 0 wrongly accepted (0.0000)"* ]]
    n=$(fb-predict "$T/head.bin" < "$T/test.fbt" | awk -F'\t' '$2 == "unknown"' | wc -l)
    [[ "$output" == *"in-class    $n of 4000 rejected"* ]]
    # outsiders by label (classes the head lacks), and near ones wrongly accepted
    synth-features -n 100 -d 16 -k 2 -s 4 -C cat,car --seed 3 --draw 4 --shift 4 > "$T/near.fbt"
    fb-eval --json --curve "$T/curve.tsv" "$T/head.bin" < "$T/near.fbt" > "$T/e.json" 2> /dev/null
    rejected=$(fb-predict "$T/head.bin" < "$T/near.fbt" | awk -F'\t' '$2 == "unknown"' | wc -l)
    as_lucy=$(fb-predict "$T/head.bin" < "$T/near.fbt" | awk -F'\t' '$2 == "lucy"' | wc -l)
    python3 - "$T/e.json" "$rejected" "$as_lucy" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))["unknown_test"]
assert u["outsiders"]["records"] == 100, u
assert u["outsiders"]["rejected"] == int(sys.argv[2]), u
assert u["outsiders"]["accepted_as"]["lucy"] == int(sys.argv[3]), u
assert abs(u["outsiders"]["rejected_share"] + u["outsiders"]["accepted_share"] - 1) < 1e-9, u
assert u["in_class"]["records"] == 0 and u["rate"] == 0.01, u
PY
    [ "$rejected" -lt 100 ]
    # the curve: from everything rejected at cut 0 to nothing, shares never rising
    head -1 "$T/curve.tsv" | grep -qx $'cut\tin_class_rejected\toutsiders_rejected'
    sed -n 2p "$T/curve.tsv" | grep -q $'^0.000000\tnan\t1.000000$'
    tail -1 "$T/curve.tsv" | grep -q $'\t0.000000$'
    awk -F'\t' 'NR > 2 && ($3 > prev + 1e-9) { bad++ } NR > 1 { prev = $3 } END { exit bad > 0 }' "$T/curve.tsv"
    run fb-eval --no-reject --unknown "$T/far.fbt" "$T/head.bin" < "$T/test.fbt"
    [ "$status" -eq 2 ]
}

@test "fb-plot --reject-curve draws fb-eval's trade-off; a curve without outsiders is refused" {
    fb-train -q -o "$T/head.bin" < "$T/train.fbt"
    synth-features -n 100 -d 16 -k 2 -s 4 -C cat,car --seed 3 --draw 4 --shift 4 > "$T/near.fbt"
    fb-eval --curve "$T/curve.tsv" --unknown "$T/near.fbt" "$T/head.bin" < "$T/test.fbt" > /dev/null
    fb-plot --reject-curve "$T/curve.tsv" -o "$T/curve.png"
    [ "$(head -c 8 "$T/curve.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    fb-plot --reject-curve "$T/curve.tsv" --svg -o "$T/curve.svg"
    grep -q "outsiders rejected (share)" "$T/curve.svg"
    [ "$(grep -c '<polyline' "$T/curve.svg")" -eq 1 ]
    fb-eval --curve "$T/inonly.tsv" "$T/head.bin" < "$T/test.fbt" > /dev/null
    run fb-plot --reject-curve "$T/inonly.tsv" -o "$T/no.png"
    [ "$status" -eq 1 ]
    [[ "$output" == *"inonly.tsv: line 2"*"needs outsiders"* ]]
    [ ! -e "$T/no.png" ]
}

@test "too few training records for the unknown test: the head is still trained, and says so" {
    synth-features -n 5 -d 16 -k 2 -s 4 -C lucy,other --seed 3 > "$T/five.fbt"
    run fb-train -o "$T/five.bin" < "$T/five.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"5 training records: the unknown test needs more than 5"* ]]
    run fb-predict "$T/five.bin" < "$T/far.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"five.bin has no rejection model"* ]]
    ! grep -q unknown <<< "$(fb-predict "$T/five.bin" < "$T/far.fbt" 2> /dev/null)"
}
