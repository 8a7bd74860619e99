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
