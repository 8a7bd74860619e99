#!/usr/bin/env bats
# Hostile input: files made to reach a reader's weak spot (issue 17).  Each
# test is the smallest reproducer of one fault; every one is refused with a
# named message, never a crash, a hang, or a silently wrong result.

load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

@test "a weights file that is a pipe is refused by name, not read past its buffer" {
    # header + payload size wraps to 0: a pipe has no size to check it against
    hostile-make weights-wrap > wrap.fbw
    run bash -c 'cat wrap.fbw | fb-weights check /dev/stdin'
    [ "$status" -eq 1 ]
    [[ "$output" == *"/dev/stdin: not a regular file"* ]]
    # the same bytes in a regular file: the size does not match the header
    run fb-weights check wrap.fbw
    [ "$status" -eq 1 ]
    [[ "$output" == *"wrap.fbw: size is 64 bytes, the header says 64 + 18446744073709551552"* ]]
}

@test "a head.bin whose header asks for 2^40 parameters is damaged, not out of memory" {
    skip_if_sanitized
    hostile-make head-wide > head.bin
    fbt-make -d 4 -n 3 -C a,b > s.fbt
    run bash -c 'ulimit -v 4000000; fb-predict head.bin < s.fbt'
    [ "$status" -eq 1 ]
    [[ "$output" == *"head.bin: head file damaged: parameter count does not match"* ]]
}

@test "the GEMM's patch gathering forms no pointer below its buffer (UBSan)" {
    command -v clang > /dev/null || skip "no clang"
    [ -f "$FB_ROOT/build/libfb.a" ] || skip "build/libfb.a not built"
    cd "$FB_ROOT"
    # kern_gemm.c alone with -fsanitize=pointer-overflow, linked ahead of
    # libfb.a, under the kernel tests (7x7 pad 3 reaches the left edge)
    local o="$BATS_TEST_TMPDIR"
    clang -O1 -g -std=c11 -D_GNU_SOURCE -pthread -march=native -Iinclude -Ilib/backbone \
        -I/usr/include/x86_64-linux-gnu/openblas-pthread \
        -fsanitize=pointer-overflow -fno-sanitize-recover=all \
        -c -o "$o/kern_gemm.o" lib/backbone/kern_gemm.c
    clang -O1 -g -std=c11 -D_GNU_SOURCE -pthread -Iinclude -Itests/unit -Ilib -Icmd \
        -fsanitize=pointer-overflow -o "$o/test_kernels" tests/unit/test_kernels.c \
        "$o/kern_gemm.o" build/libfbcmd.a build/libfb.a \
        $(pkg-config --libs vips jansson zlib libexif) -lopenblas -lm -pthread
    run "$o/test_kernels"
    [ "$status" -eq 0 ]
    [[ "$output" != *"runtime error"* ]]
}

# a tree of 2 classes x 3 distinct photos and its lists, plus the paths given
# as extra lines of train.tsv
tree_with_lists() {
    local seed=0
    for c in a b; do
        mkdir -p d/$c
        for s in 1 2 3; do audit-fixture noise $((seed += 1)) 96 80 d/$c/p$s.jpg; done
    done
    mkdir -p lists
    { for c in a b; do for s in 1 2; do printf '%s\t%s\n' $c "$PWD/d/$c/p$s.jpg"; done; done
      for p in "$@"; do printf 'a\t%s\n' "$p"; done; } > lists/train.tsv
    for c in a b; do printf '%s\t%s\n' $c "$PWD/d/$c/p3.jpg"; done > lists/val.tsv
    : > lists/test.tsv
}

@test "a FIFO or /dev/zero named in a list is refused by name, never read" {
    mkfifo fifo.jpg
    ln -s /dev/zero zero.jpg
    tree_with_lists "$PWD/fifo.jpg" "$PWD/zero.jpg"
    run timeout 60 fb-audit -l lists
    [ "$status" -eq 1 ]
    [[ "$output" == *"fifo.jpg"*"not a regular file (a FIFO)"* ]]
    [[ "$output" == *"zero.jpg"*"not a regular file (a character device)"* ]]
    run timeout 60 fb-prep -o out.fbt < lists/train.tsv
    [ "$status" -eq 1 ]
    [[ "$output" == *"fifo.jpg: not a regular file (a FIFO)"* ]]
    [[ "$output" == *"zero.jpg: not a regular file (a character device)"* ]]
    [ "$(fb-info out.fbt | grep -c 'records: *4')" -eq 1 ]
}

@test "symbolic links to folders inside a class are not followed: no loops, no foreign photos" {
    tree_with_lists
    ln -s . d/a/loop
    ln -s .. d/a/up
    run fb-split -o out d
    [ "$status" -eq 0 ]
    [[ "$output" == *"d/a/loop: a symbolic link to a folder, not followed"* ]]
    [[ "$output" == *"d/a/up: a symbolic link to a folder, not followed"* ]]
    # each photo once, with its own class
    [ "$(cat out/train.tsv out/val.tsv out/test.tsv | wc -l)" -eq 6 ]
    [ "$(cat out/*.tsv | grep -c '^a'$'\t'.*'/d/b/')" -eq 0 ]
    run fb-audit d
    [[ "$output" == *"6 files in 2 classes"* ]]
}

@test "a JPEG whose scan ends early at an EOI is refused, not filled with grey" {
    audit-fixture noise 7 300 200 whole.jpg
    hostile-make jpeg-eoi whole.jpg > third.jpg
    run fb-prep -o out.fbt whole.jpg third.jpg
    [ "$status" -eq 1 ]
    [[ "$output" == *"third.jpg: VipsJpeg: Corrupt JPEG data"* ]]
    [ "$(fb-info out.fbt | grep -c 'records: *1$')" -eq 1 ]
}

@test "fb-train stops at the epoch whose loss is NaN, naming it; no head, no fold of NaNs" {
    # overlapping classes 1e20 from the origin: SGD at --lr 10 overflows
    synth-features -n 200 -d 8 -k 2 -s 1 --shift 1e20 > far.fbt
    run fb-train --head linear --norm none --optimizer sgd --lr 10 --epochs 5 -o head.bin < far.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"epoch 1: the training loss is NaN: the head diverged"* ]]
    [ ! -e head.bin ]
    run fb-train --head linear --norm none --optimizer sgd --lr 10 --epochs 5 --folds 3 < far.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"fold 1: epoch 1: the training loss is NaN"* ]]
    [[ "$output" != *"nan"* ]]
}

@test "fb-predict never prints nan: a head of NaNs is damaged, an overflowing record is named" {
    synth-features -n 100 -d 8 -k 2 -s 3 > train.fbt
    fb-train -q --head linear --norm none -o lin.bin < train.fbt
    # records at +-3e38, as float32 little-endian: the logits overflow
    big=$'\xe6\xb1\x61\x7f' small=$'\xe6\xb1\x61\xff'
    { for i in 1 2 3 4 5 6 7 8; do printf '%s' "$big"; done
      for i in 1 2 3 4; do printf '%s%s' "$small" "$big"; done; } > raw.f32
    fbt-make -t f32 -d 8 -n 2 -C class0,class1 -p backbone=synthetic -r raw.f32 > huge.fbt
    run fb-predict --no-reject lin.bin < huge.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"record 1 (rec0): the head's probabilities are not finite numbers"* ]]
    [[ "$output" != *"nan"* ]]
    # a head whose parameters are NaN (what fb-train wrote before it checked)
    hostile-make head-nan lin.bin > nan.bin
    run fb-predict nan.bin < train.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"nan.bin: head file damaged: a parameter is not a finite number"* ]]
}

@test "a record header that claims 1 GiB costs what the file holds: truncated, not out of memory" {
    skip_if_sanitized
    # a valid header for 16384x16384 float32 records, then one record header
    # whose payload length is 1 GiB, and 100 kB of it
    fbt-make -t f32 -d 16384x16384 -n 0 > h0.fbt
    sz=$(stat -c %s h0.fbt)
    { head -c $((sz - 13)) h0.fbt                       # without its end mark
      printf 'R\x00\x01\x00\xff\xff\xff\xff\x00\x00\x00\x40x'
      head -c 100000 /dev/zero; } > bigrec.fbt
    run bash -c 'ulimit -v 600000; fb-info bigrec.fbt'
    [ "$status" -eq 1 ]
    [[ "$output" == *"bigrec.fbt: truncated stream: it ends inside a record"* ]]
}

@test "fb-audit: a GIF declaring 65535x65535 is refused by its header; damaged JPEGs are unusable as in fb-prep" {
    skip_if_sanitized
    mkdir -p t/a t/b
    for s in 1 2; do
        audit-fixture noise $s 200 150 t/a/p$s.jpg
        audit-fixture noise $((s + 10)) 200 150 t/b/p$s.jpg
    done
    # 29 bytes whose frame claims 65535x65535: 17 GB to decode
    printf 'GIF89a\xff\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x4c\x01\x00;' > t/b/huge.gif
    audit-fixture noise 7 300 200 whole.jpg
    hostile-make jpeg-eoi whole.jpg > t/a/third.jpg
    head -c $(( $(stat -c %s whole.jpg) / 2 )) whole.jpg > t/a/half.jpg
    prep-mkimg solid:1,2,3 40x40 full.png
    head -c 60 full.png > t/b/zbad.png
    run bash -c 'ulimit -v 4000000; fb-audit t'
    [ "$status" -eq 1 ]
    [[ "$output" == *"Unusable files: 4"* ]]
    [[ "$output" == *"t/b/huge.gif: cannot decode: 65535x65535 is 4295 megapixels, over the limit of 100"* ]]
    [[ "$output" == *"t/a/half.jpg: cannot decode: VipsJpeg: Premature end of input file"* ]]
    [[ "$output" == *"t/a/third.jpg: cannot decode: VipsJpeg: Corrupt JPEG data"* ]]
    # libvips' messages about the JPEGs before it are not this file's
    [[ "$(grep 'zbad.png' <<< "$output")" != *"JPEG"* ]]
    # fb-prep refuses exactly the same four
    run fb-prep -o out.fbt t/a/*.jpg t/b/*
    [ "$status" -eq 1 ]
    [[ "$output" == *"4 of 8 files failed"* ]]
}

@test "fb-prep reads no more of a file than an image within the pixel limit can take" {
    printf '\xff\xd8\xff' > sparse.jpg
    truncate -s 200M sparse.jpg                   # sparse: costs no disk
    run fb-prep --max-pixels 1M -o out.fbt sparse.jpg
    [ "$status" -eq 1 ]
    [[ "$output" == *"sparse.jpg: over 75 MB, more than any image within the pixel limit"* ]]
}
