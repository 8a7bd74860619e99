#!/usr/bin/env bats
# Augmentation (fb-prep --augment, --seed) and test-time augmentation
# (fb-prep --tta; fb-eval, fb-predict averaging over a photo's variants).
load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
}

# Six small photos with structure in both directions.
photos() {
    for i in 1 2 3 4 5 6; do prep-mkimg quadrants $((40 + 7 * i))x$((30 + 5 * i)) p$i.jpg; done
}

@test "augment: N variants after each photo, ids path#augK, in the photo's group" {
    photos
    fb-prep -s 32 --augment 3 --seed 7 p1.jpg p2.jpg -o a.fbt
    run fb-info -r a.fbt
    echo "$output"
    [ "${#lines[@]}" -eq 8 ]
    [[ "${lines[0]}" == $'0\tp1.jpg\t'* && "${lines[1]}" == $'1\tp1.jpg#aug1\t'* ]]
    [[ "${lines[3]}" == $'3\tp1.jpg#aug3\t'* && "${lines[4]}" == $'4\tp2.jpg\t'* ]]
    # the group (last column) of every variant is its photo's, and not 0
    g1=$(echo "${lines[0]}" | cut -f5); g2=$(echo "${lines[4]}" | cut -f5)
    [ "$g1" != 0 ] && [ "$g2" != 0 ] && [ "$g1" != "$g2" ]
    for i in 1 2 3; do [ "$(echo "${lines[$i]}" | cut -f5)" = "$g1" ]; done
    for i in 5 6 7; do [ "$(echo "${lines[$i]}" | cut -f5)" = "$g2" ]; done
    # variants differ from the photo and from each other
    [ "$(printf '%s\n' "${lines[@]}" | cut -f4 | sort -u | wc -l)" -eq 8 ]
    run fb-info a.fbt
    [[ "$output" == *"augment=3 random, seed 7: crop area 0.5-1"* ]]
}

@test "augment: the same bytes whatever -j; another seed, other variants; the photo unchanged" {
    photos
    fb-prep -s 48 --augment 2 --seed 11 -j1 p*.jpg -o j1.fbt
    fb-prep -s 48 --augment 2 --seed 11 -j2 p*.jpg -o j2.fbt
    cmp j1.fbt j2.fbt
    fb-prep -s 48 --augment 2 --seed 12 -j2 p*.jpg -o s12.fbt
    ! cmp -s j1.fbt s12.fbt
    fb-prep -s 48 p*.jpg -o plain.fbt
    # photos: same pixels (CRC) in all three runs; variants: another seed, other pixels
    diff <(fb-info -r j1.fbt | grep -v '#aug' | cut -f1-4 | awk -F'\t' '{ print $2, $4 }') \
         <(fb-info -r plain.fbt | cut -f2,4 | tr '\t' ' ')
    diff <(fb-info -r j1.fbt | grep -v '#aug' | cut -f2,4) <(fb-info -r s12.fbt | grep -v '#aug' | cut -f2,4)
    [ -z "$(comm -12 <(fb-info -r j1.fbt | grep '#aug' | cut -f4 | sort) \
                     <(fb-info -r s12.fbt | grep '#aug' | cut -f4 | sort))" ]
}

@test "augment: a photo with a group from the list keeps it, its record byte for byte as without --augment" {
    photos
    printf 'a\tp1.jpg\tgroup=4\na\tp2.jpg\tgroup=4\nb\tp3.jpg\n' > list.tsv
    fb-prep -s 32 --augment 2 --seed 1 -o aug.fbt < list.tsv
    fb-prep -s 32 -o plain.fbt < list.tsv
    run fb-info -r aug.fbt
    echo "$output"
    [ "$(echo "$output" | awk -F'\t' '$2 ~ /^p[12]\.jpg/ && $5 != 4' | wc -l)" -eq 0 ]
    [ "$(echo "$output" | grep -c $'\t4$')" -eq 6 ]
    # p1 and p2: the whole record line (id, class, CRC, group) as without --augment
    diff <(fb-info -r aug.fbt | grep -v '#aug' | cut -f2- | head -2) <(fb-info -r plain.fbt | cut -f2- | head -2)
    # p3 had none: its variants get one, the same for all three, from its path
    [ "$(echo "$output" | grep -P '\tp3\.jpg' | cut -f5 | sort -u | wc -l)" -eq 1 ]
    [ "$(echo "$output" | grep -P '\tp3\.jpg' | cut -f5 | sort -u)" -ge 2147483648 ]
}

@test "tta: --tta adds the photo's horizontal flip, path#flip, in its group" {
    prep-mkimg quadrants 64x64 q.png
    fb-prep -s 32 --tta q.png -o t.fbt
    run fb-info -r t.fbt
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == $'1\tq.png#flip\t'* ]]
    [ "$(echo "${lines[0]}" | cut -f5)" = "$(echo "${lines[1]}" | cut -f5)" ]
    # top-left is red in the photo, green (the top-right) in the flip
    [ "$(prep-pixel 0 4 4 < t.fbt | sed -n 2p)" = "255 0 0" ]
    [ "$(prep-pixel 1 4 4 < t.fbt | sed -n 2p)" = "0 255 0" ]
    [ "$(prep-pixel 1 27 4 < t.fbt | sed -n 2p)" = "255 0 0" ]
    run fb-info t.fbt
    [[ "$output" == *"augment=flip"* ]]
}

@test "tta: fb-predict prints one line per photo, the mean of its records' probabilities" {
    P="-p backbone=keras-resnet50-imagenet -p weights_crc32=0123abcd -p resize=squash"
    # shellcheck disable=SC2086
    synth-features -n 200 -d 16 -k 2 -s 1.5 -C lucy,other $P --seed 3 --draw 1 > train.fbt
    # shellcheck disable=SC2086
    synth-features -n 90 -d 16 -k 2 -s 1.5 -C lucy,other $P --seed 3 --draw 2 > test.fbt
    fb-train -q -o head.bin < train.fbt
    fbt-variants -k 3 < test.fbt > photos.fbt
    fbt-variants -k 3 -u < test.fbt > records.fbt
    fb-predict --no-reject --all head.bin < records.fbt > each.tsv
    run fb-predict --no-reject --all head.bin < photos.fbt
    [ "$status" -eq 0 ]
    [[ "$output" == *"note: stdin: 90 records are 30 photos and their variants"* ]]
    fb-predict --no-reject --all head.bin < photos.fbt 2>/dev/null > mean.tsv
    [ "$(wc -l < each.tsv)" -eq 90 ]
    [ "$(wc -l < mean.tsv)" -eq 30 ]
    # every photo's probabilities are the mean over its 3 records (to print precision),
    # its class the more probable one
    awk -F'\t' 'NR == FNR { split($1, id, "#"); a[id[1]] += $4; b[id[1]] += $5; n[id[1]]++; next }
        { if (n[$1] != 3) { print "no records for " $1; bad++ }
          if ((a[$1] / 3 - $4)^2 > 4e-12 || (b[$1] / 3 - $5)^2 > 4e-12) { print $1, a[$1]/3, $4; bad++ }
          want = $4 >= $5 ? "lucy" : "other"; if ($2 != want) { print $1, $2, want; bad++ } }
        END { exit bad > 0 }' each.tsv mean.tsv
    # without a group (-u) the records are scored one by one, as before
    [ "$(fb-predict --no-reject head.bin < records.fbt 2>&1 | grep -c note)" -eq 0 ]
}

@test "tta: fb-eval scores photos, not records: accuracy from the averaged probabilities" {
    P="-p backbone=keras-resnet50-imagenet -p weights_crc32=0123abcd -p resize=squash"
    # shellcheck disable=SC2086
    synth-features -n 200 -d 16 -k 2 -s 1.5 -C lucy,other $P --seed 3 --draw 1 > train.fbt
    # shellcheck disable=SC2086
    synth-features -n 120 -d 16 -k 2 -s 1.5 -C lucy,other $P --seed 3 --draw 2 > test.fbt
    fb-train -q -o head.bin < train.fbt
    fbt-variants -k 2 < test.fbt > photos.fbt
    run fb-eval --no-reject --json head.bin < photos.fbt
    [ "$status" -eq 0 ]
    json=$(echo "$output" | grep -v '^fb-eval')
    [ "$(echo "$json" | jq .records)" -eq 60 ]
    acc=$(echo "$json" | jq .accuracy)
    # the same from fb-predict's per-photo verdicts and the photos' labels
    fb-predict --no-reject head.bin < photos.fbt 2>/dev/null | cut -f2 > said
    fb-info -r photos.fbt | grep -v '#aug' | cut -f3 > truth
    want=$(paste said truth | awk '{ ok += $1 == $2 } END { printf "%.6f", ok / NR }')
    awk -v a="$acc" -v b="$want" 'BEGIN { exit !((a - b)^2 < 1e-12) }'
}

@test "augment: fb-feat keeps the variants' ids and groups" {
    weights_or_skip
    prep-mkimg quadrants 64x48 q.jpg
    fb-prep --tta q.jpg | fb-feat > f.fbt
    run fb-info -r f.fbt
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == $'1\tq.jpg#flip\t'* ]]
    [ "$(echo "${lines[0]}" | cut -f5)" = "$(echo "${lines[1]}" | cut -f5)" ]
}

@test "augment: --augment out of range is a usage error" {
    prep-mkimg quadrants 8x8 q.png
    run fb-prep --augment -1 q.png -o x.fbt
    [ "$status" -eq 2 ]
    run fb-prep --augment 101 q.png -o x.fbt
    [ "$status" -eq 2 ]
    [ ! -e x.fbt ]
}
