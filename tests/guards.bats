#!/usr/bin/env bats
# Guards on the tools' inputs and the messages they give (issue 14, "Guards
# and messages"): a stream where a list belongs, a terminal where a stream
# belongs, streams named as arguments, hints that name the tool that reads
# the input, -o FILE with one meaning, progress lines, plurals.

load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
    fbt-make -t u8 -d 224x224x3 -n 2 -C a,b > img.fbt
    synth-features -n 40 -d 16 -k 2 -s 2.5 -C a,b --seed 3 --draw 1 > a.fbt
    synth-features -n 40 -d 16 -k 2 -s 2.5 -C a,b --seed 3 --draw 2 > b.fbt
}

# A terminal on standard input (and out and err): script(1) runs the command
# on a pseudo-terminal and returns its status.
on_tty() {
    command -v script >/dev/null || skip "no script(1) to provide a terminal"
    run script -qec "$1" /dev/null
}

# ---- a stream or binary data where fb-prep wants a list ----

@test "fb-prep refuses an image stream on stdin at once, naming fb-feat" {
    run fb-prep < img.fbt
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "$output" = "fb-prep: stdin is an fb stream of images, not a list of photo paths; it goes to fb-feat" ]
}

@test "fb-prep refuses a feature stream on stdin, naming the tools that read features" {
    run fb-prep < a.fbt
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"stdin is an fb stream of feature vectors, not a list of photo paths; it goes to fb-train"* ]]
}

@test "fb-prep refuses binary data on stdin (a photo piped in) with one line" {
    prep-mkimg solid:1,2,3 20x20 p.jpg
    run fb-prep < p.jpg
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "fb-prep: stdin is binary data (byte "*"), not a list of photo paths" ]]
    printf 'a.jpg\nb\0c.jpg\n' > nul.tsv
    run fb-prep < nul.tsv
    [ "$status" -eq 1 ]
    [[ "$output" == *"binary data (byte 7 is 0x00)"* ]]
}

@test "fb-prep still reads a text list on stdin, past the first block" {
    prep-mkimg solid:1,2,3 20x20 p.jpg
    # a list longer than the 4 KiB the guard looks at: the lines after it still count
    for i in $(seq 300); do printf 'x\t%s/p.jpg\n' "$T"; done > list.tsv
    [ "$(stat -c %s list.tsv)" -gt 4096 ]
    fb-prep -j 1 < list.tsv > out.fbt
    [ "$(fb-info -c out.fbt)" -eq 300 ]
}

# ---- a terminal where a stream belongs ----

@test "every tool that reads a stream on stdin refuses a terminal: exit 2, one line with the pipe" {
    fb-train -q -o h.bin a.fbt
    for cmd in "fb-eval h.bin" "fb-predict h.bin" "fb-train -o x.bin" "fb-feat -o x.fbt" "fb-info" \
               "fb-export --npy x.npy" "fb-report -o r.html --no-heatmaps h.bin"; do
        on_tty "$cmd"
        echo "$cmd: $status: $output"
        [ "$status" -eq 2 ]
        [[ "$output" == *"standard input is a terminal, not an fb stream; try: ${cmd%% *}"* ]]
        [ "$(printf '%s' "$output" | tr -d '\r' | grep -c .)" -eq 1 ]
    done
    [ ! -e x.bin ] && [ ! -e x.fbt ]
}

@test "a terminal on stdin does not matter when the stream is named" {
    fb-train -q -o h.bin a.fbt
    on_tty "fb-eval h.bin $T/b.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *"accuracy"* ]]
}

# ---- streams as arguments, - for stdin, several read as one ----

@test "fb-train, fb-eval, fb-predict and fb-export take stream files as arguments" {
    fb-train -q -o h.bin a.fbt b.fbt
    cat a.fbt b.fbt | fb-train -q -o h2.bin
    cmp h.bin h2.bin
    run fb-eval h.bin b.fbt
    [ "$status" -eq 0 ]
    [[ "$output" == *"records     40"* ]]
    run fb-eval h.bin a.fbt b.fbt
    [ "$status" -eq 0 ]
    [[ "$output" == *"records     80"* ]]
    [ "$(fb-predict h.bin a.fbt b.fbt | wc -l)" -eq 80 ]
    fb-predict h.bin a.fbt b.fbt > args.tsv
    cat a.fbt b.fbt | fb-predict h.bin > piped.tsv
    cmp args.tsv piped.tsv
    fb-predict h.bin a.fbt - < b.fbt > dash.tsv
    cmp args.tsv dash.tsv
    fb-export --tsv both.tsv a.fbt b.fbt
    [ "$(wc -l < both.tsv)" -eq 81 ]
}

@test "fb-feat takes image streams as arguments" {
    weights_or_skip
    fb-feat img.fbt img.fbt > f2.fbt
    [ "$(fb-info -c f2.fbt)" -eq 4 ]
    fb-feat < img.fbt > f1.fbt
    fb-export --tsv one.tsv f1.fbt
    fb-export --tsv two.tsv f2.fbt
    cmp <(cut -f3- one.tsv | tail -n +2) <(cut -f3- two.tsv | tail -n +2 | head -2)
}

@test "a stream file that is not there is named; nothing is written" {
    run fb-train -q -o h.bin a.fbt missing.fbt
    [ "$status" -eq 1 ]
    [ "$output" = "fb-train: missing.fbt: No such file or directory" ]
    [ ! -e h.bin ]
}

# ---- hints that name the tool that gave them and the one that reads the input ----

@test "images fed to fb-eval, fb-predict, fb-train: the message names fb-feat" {
    fb-train -q -o h.bin a.fbt
    for cmd in "fb-eval h.bin" "fb-predict h.bin" "fb-train -o x.bin" "fb-report -o r.html h.bin"; do
        run $cmd img.fbt
        [ "$status" -eq 1 ]
        [ "$output" = "${cmd%% *}: img.fbt: a stream of images (uint8 224x224x3), not feature vectors; it goes to fb-feat" ]
    done
}

@test "features fed to fb-feat: the message names the tools that read features, not fb-prep" {
    weights_or_skip
    run fb-feat < a.fbt
    [ "$status" -eq 1 ]
    [ "$output" = "fb-feat: stdin: a stream of feature vectors (float32 16), not images; it goes to fb-train, fb-eval, fb-predict or fb-report" ]
    fbt-make -t u8 -d 160x160x3 -n 1 > small.fbt
    run fb-feat small.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"small.fbt: images of 160x160, the network takes 224x224: make them with fb-prep -s 224" ]]
}

# ---- fb-feat: -o FILE, --layer ----

@test "fb-feat -o FILE writes the stream to FILE; --layer chooses the layer" {
    weights_or_skip
    fb-feat -o f.fbt img.fbt
    fb-feat img.fbt > g.fbt
    cmp f.fbt g.fbt
    fb-feat --layer logits -o l.fbt < img.fbt
    fb-info l.fbt | grep -q "tensor:     float32 1000"
    fb-info l.fbt | grep -q "feat_output=logits"
    ls -a | grep -v tmp    # no temporary left beside it
    [ -z "$(ls | grep '\.tmp')" ]
}

@test "fb-feat -o LAYER says where the layer went; --output LAYER is the old spelling, still works" {
    weights_or_skip
    run fb-feat -o logits img.fbt
    [ "$status" -eq 2 ]
    [[ "$output" == "fb-feat: -o names the output file; the layer is --layer logits"* ]]
    [ ! -e logits ]
    fb-feat --output probs img.fbt 2> err > p.fbt
    grep -q "old spelling of --layer probs" err
    fb-info p.fbt | grep -q "feat_output=probs"
    run fb-feat --layer pixels
    [ "$status" -eq 2 ]
    [[ "$output" == *"--layer is features, logits, probs or stage4, not 'pixels'"* ]]
}

@test "fb-feat -o: a failure leaves no file" {
    weights_or_skip
    run fb-feat -o out.fbt a.fbt
    [ "$status" -eq 1 ]
    [ -z "$(ls | grep out.fbt)" ]
}

# ---- progress lines ----

@test "progress: in a pipe only the tool upstream draws, and each drawing clears the line" {
    weights_or_skip
    prep-mkimg solid:1,2,3 20x20 p.jpg
    on_tty "fb-prep -j 1 p.jpg p.jpg | fb-feat > /dev/null"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'\r\e[Kfb-prep: 2 images in '* ]]
    [[ "$output" != *"fb-feat:"* ]]
    # a stream from a file: fb-feat is first in its pipe and draws
    # (a run shorter than the 0.25 s between drawings draws only its last line)
    on_tty "fb-feat $T/img.fbt > /dev/null"
    [[ "$output" == *"fb-feat: 2 images in "* ]]
}

@test "progress: TERM=dumb and NO_COLOR get no escape codes" {
    prep-mkimg solid:1,2,3 20x20 p.jpg
    TERM=dumb on_tty "fb-prep -j 1 p.jpg missing.jpg > /dev/null"
    [[ "$output" == *"fb-prep: 1 of 2 files failed"* ]]
    [[ "$output" != *$'\e'* ]]
    NO_COLOR=1 on_tty "fb-prep -j 1 p.jpg missing.jpg > /dev/null"
    [[ "$output" == *"fb-prep: 1 of 2 files failed"* ]]
    [[ "$output" != *$'\e[1m'* ]]
}

# ---- plurals ----

# Fails when a message says "1 images", "1 files", ...
no_bad_plural() {
    if grep -Eo '(^|[^0-9.,])1 (images|files|records|photos|classes|groups|epochs|iterations)\b' <<< "$1"; then
        return 1
    fi
}

@test "plurals: runs on one item say 1 image, 1 file, 1 record" {
    prep-mkimg solid:1,2,3 20x20 p.jpg
    run fb-prep -j 1 missing.jpg
    [ "$status" -eq 1 ]
    [[ "$output" == *"fb-prep: 1 of 1 file failed"* ]]
    no_bad_plural "$output"
    on_tty "fb-prep -j 1 p.jpg > /dev/null"
    [[ "$output" == *"fb-prep: 1 image in "* ]]
    no_bad_plural "$output"
    fb-train -q -o h.bin a.fbt
    synth-features -n 1 -d 16 -k 2 -C a,b --seed 3 --no-labels > one.fbt
    run fb-eval h.bin a.fbt one.fbt
    [[ "$output" == *"1 unlabelled record: not scored"* ]]
    no_bad_plural "$output"
    run fb-train -o h1.bin -v one.fbt a.fbt
    [[ "$output" == *"1 unlabelled record; not used"* ]]
    no_bad_plural "$output"
}
