#!/usr/bin/env bats
# fb-prep: decoding, colour, orientation, resize policies, labels, order,
# failures named on stderr, and robustness on the shared "nasty" set.
load helpers

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# "R G B" of record $1 at ($2,$3) of stream $4
pixel() { prep-pixel "$1" "$2" "$3" < "$4" | sed -n 2p; }

near() {   # near "R G B" "r g b" tol
    local a=($1) b=($2)
    for i in 0 1 2; do
        local d=$(( ${a[i]} - ${b[i]} )); d=${d#-}
        [ "$d" -le "$3" ] || { echo "got '$1' want '$2' (tol $3)"; return 1; }
    done
}

@test "prep: a plain JPEG becomes one 224x224x3 uint8 record with provenance" {
    prep-mkimg solid:10,200,30 64x48 a.jpg
    run fb-prep a.jpg -o out.fbt
    [ "$status" -eq 0 ]
    run fb-info out.fbt
    echo "$output"
    [[ "$output" == *"records:    1"* ]]
    [[ "$output" == *"uint8 224x224x3"* ]]
    for k in "prep=fb-prep 0.1.0" "resize=squash" "size=224" "kernel=linear" "background=255,255,255"; do
        [[ "$output" == *"$k"* ]]
    done
    near "$(pixel 0 100 100 out.fbt)" "10 200 30" 4
}

@test "prep: -s sets the size and --resize/--kernel/--background land in provenance" {
    prep-mkimg solid:0,0,0 50x50 a.png
    fb-prep -s 32 --resize pad --kernel lanczos3 --background 1,2,3 a.png > out.fbt
    run fb-info out.fbt
    [[ "$output" == *"uint8 32x32x3"* ]]
    [[ "$output" == *"resize=pad"* && "$output" == *"kernel=lanczos3"* && "$output" == *"background=1,2,3"* ]]
}

@test "prep: EXIF orientation 6 comes out rotated clockwise" {
    # stored quadrants: red green / blue white; turned clockwise: blue red / white green
    prep-mkimg --orientation 6 quadrants 40x20 o6.jpg
    prep-mkimg --orientation 3 quadrants 40x20 o3.webp   # vips writes no EXIF into PNG
    fb-prep o6.jpg o3.webp > out.fbt
    near "$(pixel 0 20 20 out.fbt)" "0 0 255" 12
    near "$(pixel 0 200 20 out.fbt)" "255 0 0" 12
    near "$(pixel 0 20 200 out.fbt)" "255 255 255" 12
    near "$(pixel 0 200 200 out.fbt)" "0 255 0" 12
    # orientation 3: turned 180 degrees
    near "$(pixel 1 20 20 out.fbt)" "255 255 255" 2
    near "$(pixel 1 200 200 out.fbt)" "255 0 0" 2
}

@test "prep: CMYK JPEGs, with and without a profile, come out as sRGB red" {
    prep-mkimg --cmyk solid:255,0,0 32x32 icc.jpg
    prep-mkimg --cmyk-bare solid:255,0,0 32x32 bare.jpg
    fb-prep icc.jpg bare.jpg > out.fbt
    for r in 0 1; do
        set -- $(pixel $r 100 100 out.fbt)
        [ "$1" -ge 200 ] && [ "$2" -le 60 ] && [ "$3" -le 60 ]
    done
}

@test "prep: alpha is flattened onto white by default, onto --background when given" {
    prep-mkimg --alpha solid:0,255,0 40x40 a.png            # left half transparent
    prep-mkimg --alpha --grey solid:100,100,100 40x40 ga.png
    fb-prep a.png ga.png > white.fbt
    fb-prep --background '#ff0000' a.png > red.fbt
    near "$(pixel 0 10 100 white.fbt)" "255 255 255" 0
    near "$(pixel 0 200 100 white.fbt)" "0 255 0" 0
    near "$(pixel 1 10 100 white.fbt)" "255 255 255" 0
    near "$(pixel 1 200 100 white.fbt)" "100 100 100" 0
    near "$(pixel 0 10 100 red.fbt)" "255 0 0" 0
}

@test "prep: 16-bit and grayscale images become 8-bit RGB" {
    prep-mkimg --16bit solid:200,100,50 30x30 d.png
    prep-mkimg --grey --16bit solid:200,200,200 30x30 g16.png
    prep-mkimg --grey solid:90,90,90 30x30 g.jpg
    fb-prep d.png g16.png g.jpg > out.fbt
    near "$(pixel 0 50 50 out.fbt)" "200 100 50" 1
    near "$(pixel 1 50 50 out.fbt)" "200 200 200" 1
    near "$(pixel 2 50 50 out.fbt)" "90 90 90" 3
}

@test "prep: the first frame of animated GIFs and multi-page TIFFs is used" {
    prep-mkimg --frames solid:255,0,0 30x30 f.gif
    prep-mkimg --frames solid:255,0,0 30x30 f.tif
    fb-prep f.gif f.tif > out.fbt
    near "$(pixel 0 100 100 out.fbt)" "255 0 0" 0
    near "$(pixel 1 100 100 out.fbt)" "255 0 0" 0
}

@test "prep: squash, crop and pad geometry on a left-red right-blue 80x40 image" {
    prep-mkimg halves 80x40 h.png
    fb-prep --resize squash h.png > squash.fbt
    fb-prep --resize crop h.png > crop.fbt
    fb-prep --resize pad --background black h.png > pad.fbt
    # squash: red and blue halves fill the square
    near "$(pixel 0 5 5 squash.fbt)" "255 0 0" 0
    near "$(pixel 0 218 218 squash.fbt)" "0 0 255" 0
    # crop: the centre 40x40 — still half and half, edges pure
    near "$(pixel 0 2 112 crop.fbt)" "255 0 0" 0
    near "$(pixel 0 221 112 crop.fbt)" "0 0 255" 0
    # pad: image in rows 56..167, black above and below
    near "$(pixel 0 112 20 pad.fbt)" "0 0 0" 0
    near "$(pixel 0 112 203 pad.fbt)" "0 0 0" 0
    near "$(pixel 0 20 112 pad.fbt)" "255 0 0" 0
    near "$(pixel 0 203 112 pad.fbt)" "0 0 255" 0
    near "$(pixel 0 20 57 pad.fbt)" "255 0 0" 0
}

@test "prep: bad files are named with the reason, the rest still come out, exit 1" {
    prep-mkimg solid:1,2,3 20x20 good1.jpg
    prep-mkimg solid:4,5,6 64x64 big.jpg
    head -c 300 big.jpg > truncated.jpg
    echo "not an image" > text.jpg
    prep-mkimg bomb 30000x30000 bomb.png
    printf 'BM\0\0\0\0\0\0\0\0\0\0\0\0\0\0' > pic.bmp
    prep-mkimg solid:7,8,9 20x20 good2.png
    run fb-prep good1.jpg truncated.jpg text.jpg bomb.png pic.bmp missing.jpg good2.png -o out.fbt
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-prep: truncated.jpg: "*"Premature end"* ]]
    [[ "$output" == *"fb-prep: text.jpg: not a known image format"* ]]
    [[ "$output" == *"fb-prep: bomb.png: 30000x30000 is 900 megapixels, over the limit"* ]]
    [[ "$output" == *"fb-prep: pic.bmp: BMP images are not accepted"* ]]
    [[ "$output" == *"fb-prep: missing.jpg: no such file"* ]]
    [[ "$output" == *"fb-prep: 5 of 7 files failed"* ]]
    run fb-info -r out.fbt
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[0]}" == *good1.jpg* && "${lines[1]}" == *good2.png* ]]
}

@test "prep: --max-pixels lowers the limit" {
    prep-mkimg solid:1,2,3 100x100 a.png
    run fb-prep --max-pixels 5000 a.png -o out.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"a.png: 100x100 is 0 megapixels, over the limit"* ]]
}

@test "prep: --strict stops at the first failure and leaves no complete stream" {
    prep-mkimg solid:1,2,3 20x20 a.jpg
    echo junk > b.jpg
    run fb-prep --strict a.jpg b.jpg a.jpg -o out.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"b.jpg: not a known image format"* ]]
    [ ! -e out.fbt ]
    ls out.fbt.tmp* 2>/dev/null && false
    fb-prep --strict a.jpg b.jpg a.jpg > piped.fbt || true
    run fb-info piped.fbt
    [ "$status" -ne 0 ]
}

@test "prep: --timeout gives up on a file that takes too long, named, the run goes on" {
    prep-mkimg solid:1,2,3 2000x2000 slow.png
    prep-mkimg solid:1,2,3 20x20 a.png
    run fb-prep --timeout 0.001 -j 1 slow.png a.png -o out.fbt
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"slow.png: gave up after 0.001 s"* ]]
}

@test "prep: files queued behind a hung file go to a new decoder and come out in order" {
    # 81 megapixels: over a second of decoding, far over --timeout (a FIFO,
    # which once stood in for a hung file, is now refused unread)
    prep-mkimg solid:9,9,9 9000x9000 hang.png
    prep-mkimg solid:255,0,0 20x20 a.png
    prep-mkimg solid:0,0,255 20x20 b.png
    prep-mkimg solid:0,255,0 20x20 c.png
    run fb-prep --timeout 0.7 -j 1 a.png hang.png b.png c.png -o out.fbt
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"hang.png: gave up after 0.7 s"* ]]
    [ "$(fb-info -c out.fbt)" -eq 3 ]
    near "$(pixel 0 100 100 out.fbt)" "255 0 0" 0
    near "$(pixel 1 100 100 out.fbt)" "0 0 255" 0
    near "$(pixel 2 100 100 out.fbt)" "0 255 0" 0
}

@test "prep: HEIF/AVIF photos decode (vips' HEIF module is loaded on the first one)" {
    shared_data_or_skip nasty
    a="$FB_SHARED_DATA/nasty/libvips-test-images/avif-orientation-6.avif"
    [ -f "$a" ] || skip "no $a"
    prep-mkimg solid:1,2,3 20x20 x.jpg
    run fb-prep -j 1 x.jpg "$a" "$a" -o out.fbt
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(fb-info -c out.fbt)" -eq 3 ]
}

@test "prep: labels from a stdin list, bare paths unlabelled, classes sorted" {
    mkdir -p cats dogs
    prep-mkimg solid:1,2,3 20x20 cats/c1.jpg
    prep-mkimg solid:1,2,3 20x20 dogs/d1.jpg
    prep-mkimg solid:1,2,3 20x20 x.jpg
    printf 'dog\tdogs/d1.jpg\ncat\tcats/c1.jpg\n\nx.jpg\n' | fb-prep > out.fbt
    run fb-info -r out.fbt
    echo "$output"
    [ "${lines[0]}" = "$(printf '0\tdogs/d1.jpg\tdog')" ] || [[ "${lines[0]}" == *"dogs/d1.jpg"*"dog"* ]]
    [[ "${lines[1]}" == *"cats/c1.jpg"*"cat"* ]]
    [[ "${lines[2]}" == *"x.jpg"*"-"* ]]
    run fb-info out.fbt
    [[ "$output" == *"classes:    2"* ]]
}

@test "prep: --label and --label-from-dir" {
    mkdir -p cats dogs
    prep-mkimg solid:1,2,3 20x20 cats/c1.jpg
    prep-mkimg solid:1,2,3 20x20 dogs/d1.jpg
    fb-prep --label-from-dir dogs/d1.jpg cats/c1.jpg > dir.fbt
    run fb-info -r dir.fbt
    [[ "${lines[0]}" == *"dogs/d1.jpg"*"dogs"* && "${lines[1]}" == *"cats/c1.jpg"*"cats"* ]]
    fb-prep --label pets dogs/d1.jpg cats/c1.jpg > one.fbt
    run fb-info one.fbt
    [[ "$output" == *"classes:    1"* && "$output" == *"pets"*"2"* ]]
    run fb-prep --label a --label-from-dir x.jpg
    [ "$status" -eq 2 ]
}

@test "prep: with -j 2 the records come out in input order" {
    for i in $(seq 1 40); do prep-mkimg solid:$i,0,0 $((20 + (i % 7) * 90))x30 img$i.png; done
    ls img*.png | sort -R > order.txt || ls img*.png > order.txt
    fb-prep -j 2 < order.txt > out.fbt
    run fb-info -r out.fbt
    [ "${#lines[@]}" -eq 40 ]
    diff <(printf '%s\n' "${lines[@]}" | cut -f2) order.txt
    # the pixels belong to the id: img7.png is red 7
    n=$(grep -n '^img7.png$' order.txt | cut -d: -f1)
    near "$(pixel $((n - 1)) 10 10 out.fbt)" "7 0 0" 0
}

@test "prep: refuses to write a stream to a terminal" {
    command -v script >/dev/null || skip "no script(1) to provide a terminal"
    prep-mkimg solid:1,2,3 20x20 a.jpg
    run script -qec "fb-prep $BATS_TEST_TMPDIR/a.jpg" /dev/null
    [ "$status" -eq 2 ]
    [[ "$output" == *"refusing to write a binary stream to a terminal"* ]]
}

@test "prep: --help and --version; bad options exit 2" {
    run fb-prep --help
    [ "$status" -eq 0 ] && [[ "$output" == *"usage: fb-prep"* ]]
    run fb-prep --version
    [ "$status" -eq 0 ] && [[ "$output" == "fb-prep (fb) "* ]]
    run fb-prep --resize stretch a.jpg
    [ "$status" -eq 2 ]
}

@test "prep: numeric options: a bad value is a usage error (exit 2) naming the option" {
    for v in 0 65 x 2.5 ""; do
        run fb-prep -j "$v" a.jpg
        [ "$status" -eq 2 ]; grep -q -- "--jobs: '$v' is not a whole number from 1 to 64" <<< "$output"
    done
    for v in 0 4097 -3 1.5 big; do
        run fb-prep --size "$v" a.jpg
        [ "$status" -eq 2 ]; grep -q -- "--size: '$v' is not a whole number from 1 to 4096" <<< "$output"
    done
    for v in 0 -1 x 1e9; do
        run fb-prep --timeout "$v" a.jpg
        [ "$status" -eq 2 ]; grep -q -- "--timeout: '$v' is not a number from" <<< "$output"
    done
    for v in 0 x 5Mx -1M; do
        run fb-prep --max-pixels "$v" a.jpg
        [ "$status" -eq 2 ]; grep -q -- "--max-pixels: " <<< "$output"
    done
}

@test "prep: every file of the shared nasty set is a record or a named failure" {
    shared_data_or_skip nasty
    find "$FB_SHARED_DATA/nasty" -type f | sort > list.txt
    total=$(wc -l < list.txt)
    run timeout 600 fb-prep -o out.fbt < list.txt
    [ "$status" -eq 1 ]           # not 124 (hang) or a signal (crash)
    records=$(fb-info -c out.fbt)
    named=$(grep -c "^fb-prep: $FB_SHARED_DATA/nasty/.*: " <<<"$output")
    echo "total $total records $records named failures $named"
    [ "$((records + named))" -eq "$total" ]
    [[ "$output" == *"fb-prep: $named of $total files failed"* ]]
    [ "$records" -gt 500 ]
}
