#!/usr/bin/env bats
# The stream format through the command line: fb-info, cat, truncation.

load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

@test "fb-info summarises a stream: records, shape, classes, provenance" {
    fbt-make -t f32 -d 2048 -n 5 -C lucy,other -p backbone=resnet50 > f.fbt
    run fb-info f.fbt
    [ "$status" -eq 0 ]
    [[ "$output" == *"records:    5"* ]]
    [[ "$output" == *"tensor:     float32 2048"* ]]
    [[ "$output" == *"classes:    2"* ]]
    echo "$output" | grep -Eq '^  lucy +3$'
    echo "$output" | grep -Eq '^  other +2$'
    [[ "$output" == *"backbone=resnet50"* ]]
}

@test "fb-info -r lists records: index, id, class, tensor CRC, group" {
    fbt-make -t u8 -d 2x2x3 -n 3 -C a,b > s.fbt
    run fb-info -r s.fbt
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" =~ ^0$'\t'rec0$'\t'a$'\t'[0-9a-f]{8}$'\t'-$ ]]
    [[ "${lines[2]}" =~ ^2$'\t'rec2$'\t'a$'\t'[0-9a-f]{8}$'\t'-$ ]]
    [ "${#lines[@]}" -eq 3 ]
    # The CRC is of the tensor alone: same values, same CRC; other values, another.
    fbt-make -t u8 -d 2x2x3 -n 3 -C x > same.fbt
    fbt-make -t u8 -d 2x2x3 -n 3 -C a,b -s 5 > other.fbt
    [ "$(fb-info -r s.fbt | cut -f4)" = "$(fb-info -r same.fbt | cut -f4)" ]
    [ "$(fb-info -r s.fbt | cut -f4 | head -1)" != "$(fb-info -r other.fbt | cut -f4 | head -1)" ]
}

@test "fb-info -c counts records from standard input" {
    fbt-make -n 7 -C x | { run fb-info -c; [ "$status" -eq 0 ]; [ "$output" = 7 ]; }
}

@test "unlabelled records are counted as such" {
    fbt-make -n 4 > u.fbt
    run fb-info u.fbt
    [ "$status" -eq 0 ]
    echo "$output" | grep -Eq '^  \(no label\) +4$'
}

@test "cat of two compatible streams is one stream with merged classes" {
    fbt-make -n 3 -C cat,dog -p p=1 -s 1 > a.fbt
    fbt-make -n 4 -C dog,bird -p p=1 -s 2 -z 6 > b.fbt
    run sh -c 'cat a.fbt b.fbt | fb-info'
    [ "$status" -eq 0 ]
    [[ "$output" == *"records:    7"* ]]
    echo "$output" | grep -Eq '^  cat +2$'
    echo "$output" | grep -Eq '^  dog +3$'    # 1 from a, 2 from b
    echo "$output" | grep -Eq '^  bird +2$'
    run sh -c 'cat a.fbt b.fbt | fb-info -r | cut -f3 | tr "\n" " "'
    [ "$output" = "cat dog cat dog bird dog bird " ]
}

@test "cat of streams made differently is refused, naming the difference" {
    fbt-make -n 2 -C a -p resize=squash > a.fbt
    fbt-make -n 2 -C a -p resize=crop > b.fbt
    run sh -c 'cat a.fbt b.fbt | fb-info -c'
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-info: stdin: cannot concatenate: segment 2 was made differently: resize is 'squash' in segment 1 but 'crop' in segment 2"* ]]
    fbt-make -n 2 -C a -d 3 -p resize=squash > c.fbt
    run sh -c 'cat a.fbt c.fbt | fb-info -c'
    [ "$status" -eq 1 ]
    [[ "$output" == *"segment 2 holds float32 3 records, segment 1 holds float32 4"* ]]
}

@test "a truncated stream is an error, never a short data set" {
    fbt-make -n 5 -C a > s.fbt
    size=$(stat -c %s s.fbt)
    head -c $((size - 13)) s.fbt > cut.fbt
    run fb-info -c cut.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-info: cut.fbt: truncated stream"* ]]
}

@test "a corrupted byte is found by the CRC" {
    fbt-make -n 5 -C a > s.fbt
    printf '\x7f' | dd of=s.fbt bs=1 seek=120 conv=notrunc status=none
    run fb-info -c s.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"corrupt stream"* ]]
}

@test "input that is not a stream is named" {
    echo "hello" > t.txt
    run fb-info t.txt
    [ "$status" -eq 1 ]
    [ "$output" = "fb-info: t.txt: not an fb stream (no fb stream header)" ]
    run fb-info missing.fbt
    [ "$status" -eq 1 ]
    [ "$output" = "fb-info: missing.fbt: No such file or directory" ]
    run fb-info < /dev/null
    [ "$status" -eq 1 ]
    [ "$output" = "fb-info: stdin: empty input: not an fb stream" ]
}

@test "every tool answers --help and --version" {
    for t in "$FB_BUILD"/bin/fb-*; do
        run "$t" --version
        [ "$status" -eq 0 ]
        [[ "$output" == "$(basename "$t") (fb) "* ]]
        run "$t" --help
        [ "$status" -eq 0 ]
        [[ "$output" == *"usage: $(basename "$t")"* ]]
    done
}
