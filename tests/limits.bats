#!/usr/bin/env bats
# Stream limits as options: FB_LIMITS, one setting for a whole pipeline
# (man/fb-stream.5, LIMITS and ENVIRONMENT).  Every stream reader takes it; a
# stream over a limit is refused naming the limit and how to raise it; a bad
# value is a usage error naming the key and its range.

load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

@test "FB_LIMITS lowers a limit: a stream over it is refused, naming the limit and how to raise it" {
    fbt-make -d 4 -n 6 -C a,b,c > s.fbt
    run env FB_LIMITS=classes=2 fb-info s.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == "fb-info: s.fbt: 3 classes, over the limit of 2 (raise it with FB_LIMITS=classes=N; see fb-stream(5))" ]]
    run env FB_LIMITS=classes=3 fb-info -c s.fbt
    [ "$status" -eq 0 ]
    [ "$output" = 6 ]
    # ids are rec0..rec5: 4 bytes
    run env FB_LIMITS=id=3 fb-info -c s.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"s.fbt: record 1's id is 4 bytes, over the limit of 3 (raise it with FB_LIMITS=id=N"* ]]
    run env FB_LIMITS=id=4,record=4,name=1,provenance=1 fb-info -c s.fbt
    [ "$status" -eq 0 ]
    run env FB_LIMITS=record=3 fb-info < s.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"stdin: records of float32 4 (4 elements), over the limit of 3 (raise it with FB_LIMITS=record=N"* ]]
}

@test "FB_LIMITS raises a limit: a record over the default is read with it, refused without" {
    # a header alone: 16384 x 16385 bytes a record, 2^28 + 2^14 elements
    run fbt-make -t u8 -d 16384x16385 -n 0
    [ "$status" -eq 1 ]
    [[ "$output" == *"over the limit of 268435456 (raise it with FB_LIMITS=record=N"* ]]
    FB_LIMITS=record=300M fbt-make -t u8 -d 16384x16385 -n 0 > big.fbt
    run fb-info -c big.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == "fb-info: big.fbt: records of uint8 16384x16385 (268451840 elements), over the limit of 268435456 (raise it with FB_LIMITS=record=N; see fb-stream(5))" ]]
    run env FB_LIMITS=record=300M fb-info -c big.fbt
    [ "$status" -eq 0 ]
    [ "$output" = 0 ]
}

@test "a bad FB_LIMITS is a usage error naming the key and its range" {
    fbt-make -d 4 -n 2 -C a,b > s.fbt
    run env FB_LIMITS=classes=0 fb-info s.fbt
    [ "$status" -eq 2 ]
    [[ "$output" == *"fb-info: FB_LIMITS: classes=0: classes is a whole number from 1 to 1073741824 (K, M and G multiply by 2^10, 2^20, 2^30; default 1000000)"* ]]
    run env FB_LIMITS=id=64K fb-train -o h.bin s.fbt
    [ "$status" -eq 2 ]
    [[ "$output" == *"id is a whole number from 1 to 65535"* ]]
    [ ! -e h.bin ]
    run env FB_LIMITS=classes=5M,colours=3 fb-info s.fbt
    [ "$status" -eq 2 ]
    [[ "$output" == *"'colours=3' is not a limit: the keys are record, classes, name, id and provenance"* ]]
    run env FB_LIMITS=record=10x fb-export --npy x.npy s.fbt
    [ "$status" -eq 2 ]
    [[ "$output" == *"record is a whole number from 1 to 536870912"* ]]
    [ ! -e x.npy ]
}

@test "every tool that reads streams keeps to FB_LIMITS" {
    fbt-make -d 4 -n 12 -C a,b,c > s.fbt
    fbt-make -t u8 -d 8x8x3 -n 2 -C a,b,c > img.fbt
    fb-train -o h.bin s.fbt 2>/dev/null
    want="s.fbt: 3 classes, over the limit of 2 (raise it with FB_LIMITS=classes=N; see fb-stream(5))"
    export FB_LIMITS=classes=2
    run fb-train -o h2.bin s.fbt
    [ "$status" -eq 1 ] && [[ "$output" == *"fb-train: $want"* ]]
    run fb-train -o h2.bin -v s.fbt s.fbt
    [ "$status" -eq 1 ] && [[ "$output" == *"fb-train: $want"* ]]
    [ ! -e h2.bin ]
    run fb-eval h.bin s.fbt
    [ "$status" -eq 1 ] && [[ "$output" == *"fb-eval: $want"* ]]
    run fb-predict h.bin s.fbt
    [ "$status" -eq 1 ] && [[ "$output" == *"fb-predict: $want"* ]]
    run fb-report -o r.html h.bin s.fbt
    [ "$status" -eq 1 ] && [[ "$output" == *"$want"* ]]
    run fb-export --npy x.npy s.fbt
    [ "$status" -eq 1 ] && [[ "$output" == *"$want"* ]]
    run fb-info s.fbt
    [ "$status" -eq 1 ] && [[ "$output" == *"fb-info: $want"* ]]
    run fb-feat -o f.fbt img.fbt
    [ "$status" -eq 1 ] && [[ "$output" == *"img.fbt: 3 classes, over the limit of 2"* ]]
    unset FB_LIMITS
    run fb-eval h.bin s.fbt
    [ "$status" -eq 0 ]
}
