#!/usr/bin/env bats
# The whole recipe as a user runs it: scale-out with GNU parallel, an installed
# copy, the conventions every tool shares, and the walkthrough's own examples.

load helpers

# Two classes of small distinct photos the tests make (smooth random blobs: a
# perceptual hash sees plain colours as all alike), several sizes and formats.
make_photos() {
    local dir=$1 i
    mkdir -p "$dir/warm" "$dir/cool"
    for i in $(seq 0 11); do
        audit-fixture noise $((100 + i)) $((60 + i * 7)) $((50 + i * 5)) "$dir/warm/w$i.jpg"
        audit-fixture noise $((200 + i)) $((70 + i * 6)) $((40 + i * 6)) "$dir/cool/c$i.png"
    done
}

@test "GNU parallel over the list gives the single-process stream, record for record" {
    weights_or_skip
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    cd "$BATS_TEST_TMPDIR"
    make_photos photos
    fb-split -s 3 -r 100:0:0 -o lists photos 2>/dev/null || fb-split -s 3 -o lists photos
    cat lists/*.tsv > all.tsv
    fb-prep < all.tsv | fb-feat > single.fbt
    parallel --will-cite --pipe -N 5 -k -j 3 'fb-prep -j 1 | fb-feat -j 1' < all.tsv > parallel.fbt
    fb-info -r single.fbt > single.txt
    fb-info -r parallel.fbt > parallel.txt
    [ "$(wc -l < single.txt)" -eq 24 ]
    # Same ids, classes and tensor CRCs in the same order.
    diff single.txt parallel.txt
    # The parallel stream is several segments: five records per job.
    [ "$(grep -c $'\x89FBT' parallel.fbt)" -ge 5 ]
}

@test "an installed copy runs the recipe without the source tree" {
    weights_or_skip
    cd "$BATS_TEST_TMPDIR"
    prefix="$BATS_TEST_TMPDIR/prefix"
    make -s -C "$FB_ROOT" install PREFIX="$prefix" > install.log 2>&1 || { cat install.log; false; }
    [ -x "$prefix/bin/fb-feat" ]
    [ -f "$prefix/share/fb/resnet50.fbw" ]
    [ -f "$prefix/share/man/man1/fb-prep.1" ]
    [ -f "$prefix/share/man/man5/fb-stream.5" ]
    [ -f "$prefix/share/man/man7/fb.7" ]
    [ -L "$prefix/share/bash-completion/completions/fb-prep" ]
    make_photos photos
    # Only the installed tools on PATH, no FB_WEIGHTS, run from elsewhere.
    (
        export PATH="$prefix/bin:/usr/bin:/bin"
        unset FB_WEIGHTS
        cd /
        fb-split -s 1 -o "$BATS_TEST_TMPDIR/lists" "$BATS_TEST_TMPDIR/photos"
        for s in train val test; do
            fb-prep < "$BATS_TEST_TMPDIR/lists/$s.tsv" | fb-feat > "$BATS_TEST_TMPDIR/$s.fbt"
        done
        fb-train -q -v "$BATS_TEST_TMPDIR/val.fbt" -o "$BATS_TEST_TMPDIR/head.bin" \
            < "$BATS_TEST_TMPDIR/train.fbt"
        fb-eval "$BATS_TEST_TMPDIR/head.bin" < "$BATS_TEST_TMPDIR/test.fbt" \
            > "$BATS_TEST_TMPDIR/eval.txt"
        MANPATH="$prefix/share/man" man -w fb-feat > "$BATS_TEST_TMPDIR/manpath.txt"
    )
    grep -qi "accuracy" eval.txt
    grep -q "$prefix/share/man/man1/fb-feat.1" manpath.txt
    make -s -C "$FB_ROOT" uninstall PREFIX="$prefix" > uninstall.log 2>&1
    [ -z "$(find "$prefix" -type f -o -type l)" ]
}

@test "bash completion offers each tool's own options" {
    run bash -c '
        . "$FB_ROOT/data/fb-completion.bash"
        COMP_WORDS=(fb-prep --st); COMP_CWORD=1
        _fb_complete fb-prep --st fb-prep
        printf "%s\n" "${COMPREPLY[@]}"'
    [ "$status" -eq 0 ]
    [ "$output" = "--strict" ]
}

@test "tools are quiet on success in a pipe: no progress, no chatter on stderr" {
    weights_or_skip
    cd "$BATS_TEST_TMPDIR"
    make_photos photos
    fb-split -s 1 -o lists photos 2> split.err
    fb-prep < lists/train.tsv 2> prep.err | fb-feat 2> feat.err > train.fbt
    fb-info train.fbt > /dev/null 2> info.err
    [ ! -s prep.err ] && [ ! -s feat.err ] && [ ! -s info.err ]
}

@test "every message names its tool" {
    cd "$BATS_TEST_TMPDIR"
    for t in "$FB_BUILD"/bin/fb-*; do
        name=$(basename "$t")
        run "$t" --no-such-option
        [ "$status" -eq 2 ]
        [[ "${lines[0]}" == "$name: "* || "${lines[0]}" == "usage: $name"* ]]
    done
}

# The examples of man/fb.7 are marked with '.\" example' and run here, as
# written, in order, on a real photo set (as jq runs its manual).
@test "the walkthrough fb(7) runs as written" {
    weights_or_skip
    shared_data_or_skip stanford-dogs-3breeds
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    cd "$BATS_TEST_TMPDIR"
    ln -s "$FB_SHARED_DATA/stanford-dogs-3breeds" photos
    awk '/^\.\\" example/ { grab = 1; next }
         grab && /^\.EX/ { inex = 1; next }
         inex && /^\.EE/ { inex = 0; grab = 0; print ""; next }
         inex { gsub(/\\e/, "\\"); gsub(/\\-/, "-"); print }' "$FB_ROOT/man/fb.7" > walkthrough.sh
    [ "$(grep -c . walkthrough.sh)" -ge 12 ]
    run bash -eo pipefail walkthrough.sh
    echo "$output" | tail -40
    [ "$status" -eq 0 ]
    [ -s head.bin ] && [ -s linear.bin ] && [ -s curves.png ]
    [[ "$output" == *identical* ]]
    # the audit read the split's lists and every photo's features
    grep -q "^fb-audit: 450 files in 3 classes (lists)" audit.txt
    grep -q "or feature cosine" audit.txt
    [[ "$output" == *"Verdict: "* ]]
}

# The walkthrough's audit section (4.) on its own, on photos where the
# features join a training photo and a test photo the pHash keeps apart: the
# audit finds the leak, and the section's re-split puts the two in one split
# and makes the streams again.
@test "the walkthrough's audit and re-split: a leak only the features see is split away" {
    weights_or_skip
    cd "$BATS_TEST_TMPDIR"
    make_photos photos
    fb-split -s 1 -o lists photos 2>/dev/null
    a=$(grep -m1 -P '^warm\t' lists/train.tsv | cut -f2)
    b=$(grep -m1 -P '^warm\t' lists/test.tsv | cut -f2)
    [ -n "$a" ] && [ -n "$b" ]
    # Features as fb-feat would make them for a burst: a and b alike, the
    # other photos each their own.
    for s in train val test; do
        args=()
        while IFS=$'\t' read -r label path rest; do
            seed=$(( $(cksum <<< "$path" | cut -d' ' -f1) % 100000 + 1 ))
            [ "$path" = "$b" ] && seed=$(( $(cksum <<< "$a" | cut -d' ' -f1) % 100000 + 1 ))
            args+=("$path=$seed")
        done < lists/$s.tsv
        audit-features $s.fbt "${args[@]}"
    done
    awk '/^\.SH 4\./ { on = 1 } /^\.SH 5\./ { on = 0 }
         on && /^\.\\" example/ { grab = 1; next }
         grab && /^\.EX/ { inex = 1; next }
         inex && /^\.EE/ { inex = 0; grab = 0; print ""; next }
         inex { gsub(/\\e/, "\\"); gsub(/\\-/, "-"); print }' "$FB_ROOT/man/fb.7" > audit-section.sh
    grep -q "fb-audit -l lists -f features.fbt" audit-section.sh
    grep -q "fb-split -f features.fbt" audit-section.sh
    run bash -eo pipefail audit-section.sh
    echo "$output"
    [ "$status" -eq 0 ]
    # (the warm photos are JPEGs, the cool ones PNGs: a shortcut as well)
    grep -q "Verdict: LEAK SHORTCUT (exit status 5)" audit.txt
    grep -q "LEAK: 2 files" audit.txt
    # re-split: a and b in one list now, and the streams remade by fb-feat
    [ "$(grep -lF -e "$a" -e "$b" lists/*.tsv | wc -l)" -eq 1 ]
    fb-info train.fbt | grep -q "^  backbone="
    [ "$(( $(fb-info -c train.fbt) + $(fb-info -c val.fbt) + $(fb-info -c test.fbt) ))" -eq 24 ]
    # and the audit of the new lists with the same features is clean of leaks
    run fb-audit -l lists -f features.fbt
    [ "$status" -ne 3 ] && [ "$status" -ne 5 ]
}

@test "messages are bold on a terminal, plain with NO_COLOR or in a pipe" {
    command -v script >/dev/null || skip "no script(1) to provide a terminal"
    run script -qec "fb-info /nonexistent.fbt" /dev/null
    [[ "$output" == *$'\e[1mfb-info:\e[0m /nonexistent.fbt: No such file or directory'* ]]
    run env NO_COLOR=1 script -qec "fb-info /nonexistent.fbt" /dev/null
    [[ "$output" == *"fb-info: /nonexistent.fbt: No such file or directory"* ]]
    [[ "$output" != *$'\e['* ]]
    run fb-info /nonexistent.fbt
    [ "$output" = "fb-info: /nonexistent.fbt: No such file or directory" ]
}
