#!/usr/bin/env bats
# Fine-tuning stage 5: fb-feat --layer stage4, fb-train --fine-tune, and the
# head tools reading stage-4 maps.  The layers' numbers are checked in
# tests/unit/test_stage5_*.c; here: formats, the refusals and what they say
# to run, streaming from disk, determinism.  Synthetic images keep it small
# (each map is 784 KiB; an epoch costs ~0.3 s an image on 2 cores).

load helpers

setup_file() {
    [ -f "${FB_WEIGHTS:-$FB_BUILD/share/fb/resnet50.fbw}" ] || return 0
    d="$BATS_FILE_TMPDIR"
    fbt-make -t u8 -d 224x224x3 -n 8 -C cat,dog -s 21 > "$d/train.img"
    fbt-make -t u8 -d 224x224x3 -n 4 -C cat,dog -s 22 > "$d/val.img"
    fb-feat -j 2 --layer stage4 < "$d/train.img" > "$d/train.s4"
    fb-feat -j 2 --layer stage4 < "$d/val.img" > "$d/val.s4"
    fb-feat -j 2 < "$d/val.img" > "$d/val.feat"
    fb-train -q -j 2 --fine-tune --epochs 2 --batch 4 -v "$d/val.s4" -o "$d/ft.bin" < "$d/train.s4"
}

setup() {
    weights_or_skip
    d="$BATS_FILE_TMPDIR"
    T="$BATS_TEST_TMPDIR"
}

@test "fb-feat --layer stage4: float32 14x14x1024 per image, ids and labels pass through, feat_output=stage4" {
    run fb-info "$d/train.s4"
    [ "$status" -eq 0 ]
    [[ "$output" == *"records:    8"* ]]
    [[ "$output" == *"tensor:     float32 14x14x1024"* ]]
    [[ "$output" == *"feat_output=stage4"* ]]
    diff <(fb-info -r "$d/train.img" | cut -f1-3) <(fb-info -r "$d/train.s4" | cut -f1-3)
    # 8 maps of 14*14*1024 floats
    [ "$(stat -c %s "$d/train.s4")" -gt $((8 * 802816)) ]
}

@test "fb-feat: --top cannot go with --layer stage4" {
    run fb-feat --layer stage4 --top 3 < "$d/val.img"
    [ "$status" -eq 2 ]
    [[ "$output" == *"--top"*"stage4"* ]]
}

@test "fb-train --fine-tune writes a version 4 head.bin with its stage 5 and notes" {
    [ -s "$d/ft.bin" ]
    # version 4 at byte 8
    [ "$(od -An -tu4 -j8 -N4 "$d/ft.bin" | tr -d ' ')" = 4 ]
    # about 60 MB: stage 5's 14953472 floats
    [ "$(stat -c %s "$d/ft.bin")" -gt 59813888 ]
    grep -aq "fine_tune=stage5" "$d/ft.bin"
    grep -aq "stage_lr=0.0001" "$d/ft.bin"
    grep -aq "epochs_run=" "$d/ft.bin"
}

@test "fb-predict and fb-eval read stage-4 maps through the head's stage 5" {
    run fb-predict "$d/ft.bin" < "$d/val.s4"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -ge 4 ]
    run fb-eval "$d/ft.bin" < "$d/val.s4"
    [ "$status" -eq 0 ]
    [[ "$output" == *"scored      4"* ]]
}

@test "a fine-tuned head refuses feature vectors and says what to run" {
    run fb-predict "$d/ft.bin" < "$d/val.feat"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-feat --layer stage4"* ]]
    run fb-eval "$d/ft.bin" < "$d/val.feat"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-feat --layer stage4"* ]]
}

@test "other heads and fb-train without --fine-tune refuse stage-4 maps and say what to run" {
    fb-feat -j 2 < "$d/train.img" > "$T/train.feat"
    fb-train -q -o "$T/plain.bin" < "$T/train.feat"
    run fb-eval "$T/plain.bin" < "$d/val.s4"
    [ "$status" -eq 1 ]
    [[ "$output" == *"stage-4 maps"*"without --layer stage4"* ]]
    run fb-train -q -o "$T/x.bin" < "$d/train.s4"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-train --fine-tune"* ]]
    [ ! -e "$T/x.bin" ]
    run fb-train -q --fine-tune -o "$T/x.bin" < "$T/train.feat"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-feat --layer stage4"* ]]
    [ ! -e "$T/x.bin" ]
}

@test "--fine-tune: usage errors" {
    run fb-train --fine-tune --head 64 -o "$T/x.bin" < "$d/train.s4"
    [ "$status" -eq 2 ]
    run fb-train --fine-tune --folds 3 < "$d/train.s4"
    [ "$status" -eq 2 ]
    run fb-train --fine-tune --norm sqrt,l2 -o "$T/x.bin" < "$d/train.s4"
    [ "$status" -eq 2 ]
    [[ "$output" == *"sqrt"* ]]
    run fb-train --fine-tune --stage-lr -1 -o "$T/x.bin" < "$d/train.s4"
    [ "$status" -eq 2 ]
    [ ! -e "$T/x.bin" ]
}

@test "same inputs and seed give a byte-identical fine-tuned head" {
    fb-train -q -j 2 --fine-tune --epochs 1 --batch 4 -o "$T/a.bin" < "$d/train.s4"
    fb-train -q -j 2 --fine-tune --epochs 1 --batch 4 -o "$T/b.bin" < "$d/train.s4"
    cmp "$T/a.bin" "$T/b.bin"
}

@test "maps beyond --max-memory are read from the file each epoch; from a pipe it says to give a file" {
    run fb-train -j 2 --fine-tune --epochs 1 --batch 4 --max-memory 3 -o "$T/s.bin" < "$d/train.s4"
    [ "$status" -eq 0 ]
    [[ "$output" == *"read from the file each epoch"* ]]
    [[ "$output" == *"8 records, 1 epoch, "* ]]
    [ -s "$T/s.bin" ]
    run fb-eval "$T/s.bin" < "$d/val.s4"
    [ "$status" -eq 0 ]
    run bash -c "cat '$d/train.s4' | fb-train -q --fine-tune --max-memory 3 -o '$T/p.bin'"
    [ "$status" -eq 1 ]
    [[ "$output" == *"give it as a file"* ]]
    [ ! -e "$T/p.bin" ]
}

@test "--history: one row per epoch; with the whole set as the batch, the training loss falls every epoch" {
    # one Adam step per epoch on all 8 maps: each epoch's loss is measured
    # before its step, so it must fall from epoch to epoch
    fb-train -q -j 2 --fine-tune --epochs 4 --batch 8 --history "$T/h.tsv" -o "$T/h.bin" < "$d/train.s4"
    [ "$(head -n 1 "$T/h.tsv")" = "$(printf 'epoch\tloss\taccuracy\tval_loss\tval_accuracy\tseconds')" ]
    [ "$(wc -l < "$T/h.tsv")" -eq 5 ]
    awk -F'\t' 'NR > 2 && !($2 < prev) { bad = 1 } NR > 1 { prev = $2 } END { exit bad }' "$T/h.tsv"
}

@test "fb-report on a fine-tuned head: scores its stage-4 maps, draws no heatmap of the untuned stage 5" {
    cd "$T"
    for i in 1 2; do
        prep-mkimg solid:200,$((i * 40)),30 64x48 cat$i.jpg
        prep-mkimg solid:30,$((i * 40)),200 64x48 dog$i.jpg
    done
    printf 'cat\tcat1.jpg\ncat\tcat2.jpg\ndog\tdog1.jpg\ndog\tdog2.jpg\n' | fb-prep | fb-feat --layer stage4 > p.s4
    # (the head was trained on fixture images without fb-prep's provenance: --force)
    run fb-report --force -o r.html "$d/ft.bin" p.s4
    [ "$status" -eq 0 ]
    [[ "$output" == *"no heatmaps: the head carries its own fine-tuned stage 5"* ]]
    [[ "$output" != *"no heatmaps: no heatmaps"* ]]
    grep -q "fine-tuned stage 5" r.html
}

@test "fb-export refuses a fine-tuned head, saying why and what to do instead" {
    run fb-export -o "$T/model.onnx" "$d/ft.bin"
    [ "$status" -eq 1 ]
    [[ "$output" == *"ft.bin: a head fine-tuned with its own stage 5 (fb-train --fine-tune) cannot be exported yet"* ]]
    [[ "$output" == *"ImageNet weights plus a head on their features"* ]]
    [[ "$output" == *"fb-predict or fb-eval on fb-feat --layer stage4 maps"* ]]
    [[ "$output" == *"train a head without --fine-tune"* ]]
    [ ! -e "$T/model.onnx" ]
}

@test "--fine-tune: a class named 'unknown' is refused with the words fb-train gives on features" {
    fbt-make -t u8 -d 224x224x3 -n 4 -C unknown,dog -s 23 | fb-feat -j 2 --layer stage4 > "$T/u.s4"
    run fb-train -q --fine-tune -o "$T/x.bin" "$T/u.s4"
    [ "$status" -eq 2 ]
    [[ "$output" == *"named 'unknown'"*"reserved"*"unlike every class"* ]]
    [ ! -e "$T/x.bin" ]
}
