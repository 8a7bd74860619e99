#!/usr/bin/env bats
# Every tool that decodes photos (fb-prep, fb-audit, fb-split) does it in
# decoder processes: a file that makes the decoder hang past --timeout or
# die is named, counted as unusable, and the run goes on with the files
# after it, in input order; --max-pixels refuses an image by its header.
# (fb-prep's own cases are in prep.bats.)

load helpers

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# A class-per-folder tree whose first file takes over a second to decode
# (81 megapixels: far over --timeout 0.7), then files that must still come
# out right after it: two distinct photos, a byte-identical copy of one
# (a group), a truncated PNG (unusable, named after the hung file).
tree_with_hang() {
    mkdir -p t/a t/b
    prep-mkimg solid:9,9,9 9000x9000 t/a/0hang.png
    audit-fixture noise 1 200 150 t/a/p1.jpg
    audit-fixture noise 2 200 150 t/a/p2.jpg
    audit-fixture noise 3 200 150 t/b/p3.jpg
    cp t/a/p2.jpg t/b/p2copy.jpg
    prep-mkimg solid:1,2,3 40x40 full.png
    head -c 60 full.png > t/b/zbad.png
}

# 29 bytes whose GIF frame claims 65535x65535: decoding it asks for 17 GB.
# Over --max-pixels it is refused by its header.
huge_gif() {
    printf 'GIF89a\xff\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x4c\x01\x00;' > "$1"
}

@test "fb-audit: a file that takes over --timeout is named and unusable; the files after it come out right, in order" {
    tree_with_hang
    run fb-audit --timeout 0.7 -j 1 t
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-audit: t/a/0hang.png: cannot decode: gave up after 0.7 s (--timeout): the decoder hung"* ]]
    [[ "$output" == *"Unusable files: 2"* ]]
    # named in input order, on stderr and in the report
    [ "$(grep -oE '^fb-audit: t/[ab]/[0-9a-z]+\.png: cannot' <<< "$output" | tr '\n' ' ')" = \
      "fb-audit: t/a/0hang.png: cannot fb-audit: t/b/zbad.png: cannot " ]
    [ "$(grep -oE '^  t/[ab]/[0-9a-z]+\.png: cannot' <<< "$output" | tr '\n' ' ')" = \
      "  t/a/0hang.png: cannot   t/b/zbad.png: cannot " ]
    # the copy after the hung file was still read and hashed
    [[ "$output" == *"2 files, byte-identical, labelled as 2 different classes"* ]]
    [[ "$output" == *"t/b/p2copy.jpg"* ]]
}

@test "fb-split: a file that takes over --timeout is named and kept; the files after it are grouped right" {
    tree_with_hang
    run fb-split --timeout 0.7 -j 1 -r 1:1:1 -o out t
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-split: t/a/0hang.png: gave up after 0.7 s (--timeout): the decoder hung (kept, but not checked for near-duplicates)"* ]]
    [[ "$output" == *"kept together (2 byte-identical files, IN DIFFERENT CLASSES): t/a/p2.jpg t/b/p2copy.jpg"* ]]
    [[ "$output" == *"2 files could not be read or decoded"* ]]
    # every file is in the lists, the hung one too
    [ "$(cat out/train.tsv out/val.tsv out/test.tsv | wc -l)" -eq 6 ]
    grep -q "0hang.png" out/*.tsv
}

@test "fb-audit and fb-split: a decoder that dies on a file is named; the run goes on" {
    skip_if_sanitized   # the CPU limit below also binds the sanitized parent
    mkdir -p t/a t/b
    audit-fixture noise 1 200 150 t/a/p1.jpg
    # 144 megapixels: seconds of CPU to decode.  Under a CPU-time limit of
    # one second the kernel kills the decoder on it (SIGXCPU, then SIGKILL),
    # a real death with no test hook; a fresh decoder takes the next file.
    prep-mkimg solid:9,9,9 12000x12000 t/a/q.png
    audit-fixture noise 2 200 150 t/a/r.jpg
    audit-fixture noise 3 200 150 t/b/p3.jpg
    audit-fixture noise 4 200 150 t/b/p4.jpg
    audit-fixture noise 5 200 150 t/b/p5.jpg
    run bash -c 'ulimit -t 1; fb-audit --max-pixels 1e12 --timeout 600 -j 1 t'
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"t/a/q.png: cannot decode: the decoder crashed on this file (signal"* ]]
    [[ "$output" == *"Unusable files: 1"* ]]
    [[ "$output" != *"r.jpg"* ]]   # the file after it is usable
    [[ "$output" == *"  a          3 200x150"* ]]
    [[ "$output" == *"  b          3 200x150"* ]]
    run bash -c 'ulimit -t 1; fb-split --max-pixels 1e12 --timeout 600 -j 1 -r 1:1:1 -o out t'
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"t/a/q.png: the decoder crashed on this file (signal"* ]]
    [ "$(cat out/*.tsv | wc -l)" -eq 6 ]
}

@test "fb-audit and fb-split --max-pixels refuse a photo over it by its header, and take 100M" {
    mkdir -p t/a t/b
    for s in 1 2 3; do
        audit-fixture noise $s 200 150 t/a/p$s.jpg
        audit-fixture noise $((s + 10)) 200 150 t/b/p$s.jpg
    done
    prep-mkimg solid:1,2,3 300x300 t/b/big.png
    run fb-audit --max-pixels 50000 t
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"t/b/big.png: cannot decode: 300x300 is 0 megapixels, over the limit of 0 (--max-pixels)"* ]]
    [[ "$output" == *"Unusable files: 1"* ]]
    run fb-split --max-pixels 50000 -r 1:1:1 -o out t
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"t/b/big.png: 300x300 is 0 megapixels, over the limit of 0 (--max-pixels) (kept"* ]]
    run fb-audit --max-pixels 100M t
    [ "$status" -ne 1 ]
    [[ "$output" == *"Unusable files: 0"* ]]
    run fb-split --max-pixels 100M -r 1:1:1 -o out t
    [ "$status" -eq 0 ]
}

@test "fb-audit's report and fb-split's lists are the same at -j 1 and -j 2" {
    tree_with_hang
    rm t/a/0hang.png
    huge_gif t/a/q.gif
    for j in 1 2; do
        fb-audit -j $j t > audit$j.txt 2> audit$j.err || true
        fb-audit --json -j $j t > audit$j.json 2>/dev/null || true
        fb-split -j $j -r 1:1:1 -o out$j t 2> split$j.err || true
    done
    cat audit1.txt audit1.err split1.err
    grep -q "q.gif: cannot decode: 65535x65535" audit1.txt
    cmp audit1.txt audit2.txt
    cmp audit1.err audit2.err
    cmp audit1.json audit2.json
    cmp split1.err split2.err
    for s in train val test; do cmp out1/$s.tsv out2/$s.tsv; done
}

@test "fb-prep: an fb stream given as a photo says it is one and which tool reads it" {
    prep-mkimg solid:1,2,3 20x20 a.png
    fb-prep -o images.fbt a.png
    run fb-prep images.fbt a.png -o out.fbt
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-prep: images.fbt is an fb stream of images, not a photo; it goes to fb-feat"* ]]
    [ "$(fb-info -c out.fbt)" -eq 1 ]
}
