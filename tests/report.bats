#!/usr/bin/env bats
# fb-report: the HTML page (and, in headless Chromium, what a reader sees),
# fb-info's pictures of what the network saw, fb-plot's kept epoch.

load helpers

# A small fixture set, made once: two classes of random colour blobs (the
# classes differ in nothing, so the head makes mistakes), a head with a
# hidden layer trained on them for a few epochs (a training history; Grad-CAM), and a test stream of some of them with two labels
# swapped (sure mistakes) and one photo that is gone by report time.
setup_file() {
    [ -f "${FB_WEIGHTS:-$FB_BUILD/share/fb/resnet50.fbw}" ] || return 0
    cd "$BATS_FILE_TMPDIR"
    mkdir -p photos/warm photos/cool
    for i in $(seq 0 9); do
        audit-fixture noise $((300 + i)) $((120 + i * 9)) $((90 + i * 7)) photos/warm/w$i.jpg
        audit-fixture noise $((400 + i)) $((100 + i * 8)) $((110 + i * 5)) photos/cool/c$i.png
    done
    for i in $(seq 0 9); do
        printf 'warm\t%s\n' "$PWD/photos/warm/w$i.jpg"
        printf 'cool\t%s\n' "$PWD/photos/cool/c$i.png"
    done > train.tsv
    fb-prep < train.tsv 2>/dev/null | fb-feat > train.fbt
    fb-train -q --seed 1 --head 16 --epochs 10 -v train.fbt --history history.tsv \
        -o head.bin < train.fbt 2>/dev/null
    cp photos/warm/w3.jpg gone.jpg
    { printf 'cool\t%s\n' "$PWD/photos/warm/w0.jpg"      # swapped: a sure mistake
      printf 'warm\t%s\n' "$PWD/photos/cool/c0.png"      # swapped: a sure mistake
      for i in 1 2 3 4; do printf 'warm\t%s\n' "$PWD/photos/warm/w$i.jpg"; done
      for i in 1 2 3 4; do printf 'cool\t%s\n' "$PWD/photos/cool/c$i.png"; done
      printf 'warm\t%s\n' "$PWD/gone.jpg"
    } > test.tsv
    fb-prep < test.tsv 2>/dev/null | fb-feat > test.fbt
    rm gone.jpg
    fb-eval --json head.bin < test.fbt > eval.json
}

fixture_or_skip() {
    weights_or_skip
    [ -s "$BATS_FILE_TMPDIR/test.fbt" ] || skip "the fixture set could not be made"
    cd "$BATS_FILE_TMPDIR"
}

@test "fb-report needs only the head and the stream, and writes a self-contained page" {
    fixture_or_skip
    run fb-report -o "$BATS_TEST_TMPDIR/r.html" head.bin < test.fbt
    [ "$status" -eq 0 ]
    page="$BATS_TEST_TMPDIR/r.html"
    for id in numbers confusion mistakes unsure cells all provenance; do
        grep -q "<section id=\"$id\">" "$page" || { echo "no section $id"; false; }
    done
    # nothing fetched from anywhere: every picture inline
    ! grep -Eq '(src|href)="(https?:)?//' "$page"
    [ "$(grep -o '<img ' "$page" | wc -l)" -eq "$(grep -o '<img [^>]*src="data:image/jpeg;base64,' "$page" | wc -l)" ]
    grep -q 'resize</dt><dd>squash' "$page"
    grep -q 'weights_crc32</dt>' "$page"
    # the numbers in words, with the interval
    grep -q 'likely (95% confidence) between' "$page"
}

@test "a photo no longer where the stream says is a placeholder and a note, not a failure" {
    fixture_or_skip
    run fb-report -o "$BATS_TEST_TMPDIR/r.html" head.bin < test.fbt
    [ "$status" -eq 0 ]
    [[ "$output" == *"could not be read"*"gone.jpg"* ]]
    grep -q 'class="missing' "$BATS_TEST_TMPDIR/r.html"
    grep -q 'could not be read where the stream says' "$BATS_TEST_TMPDIR/r.html"
}

@test "the confusion grid has fb-eval's counts, each cell linked to its photos" {
    fixture_or_skip
    fb-report -o "$BATS_TEST_TMPDIR/r.html" head.bin < test.fbt 2>/dev/null
    want=$(python3 -c 'import json,sys; m=json.load(open("eval.json"))["confusion"]
print(" ".join(f"{t},{p}={v}" for t,r in enumerate(m) for p,v in enumerate(r)))')
    got=$(grep -o 'data-true="[0-9]*" data-pred="[0-9]*" data-count="[0-9]*"' "$BATS_TEST_TMPDIR/r.html" |
          sed -E 's/data-true="([0-9]+)" data-pred="([0-9]+)" data-count="([0-9]+)"/\1,\2=\3/' | tr '\n' ' ')
    [ "$got" = "$want " ]
    grep -q 'href="#cell-0-1"' "$BATS_TEST_TMPDIR/r.html"
    grep -q 'id="cell-0-1"' "$BATS_TEST_TMPDIR/r.html"
}

@test "the audit, the training history and the split add their sections" {
    fixture_or_skip
    mkdir -p lists
    cp train.tsv lists/train.tsv && : > lists/val.tsv && cp test.tsv lists/test.tsv
    fb-audit --json photos > audit.json || true
    run fb-report -o "$BATS_TEST_TMPDIR/r.html" --audit audit.json --history history.tsv \
        --lists lists head.bin < test.fbt
    [ "$status" -eq 0 ]
    page="$BATS_TEST_TMPDIR/r.html"
    grep -q '<section id="audit">' "$page"
    grep -q '<section id="history">' "$page"
    grep -q 'class="kept"' "$page"
    kept=$(python3 -c 'import sys
rows=[l.split("\t") for l in open("history.tsv").read().splitlines()[1:]]
print(min(rows, key=lambda r: float(r[3]))[0])')
    grep -q "epoch $kept, the one kept" "$page"
    grep -q '<section id="lists">' "$page"
    # the test photos are listed for training too: the split section says so
    grep -q 'also listed for training or validation' "$page"
}

@test "a bad audit file is named and no page is left" {
    fixture_or_skip
    echo '{"oops": 1}' > bad.json
    run fb-report -o "$BATS_TEST_TMPDIR/r.html" --audit bad.json head.bin < test.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"bad.json: not fb-audit --json output"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/r.html" ]
    [ -z "$(ls "$BATS_TEST_TMPDIR")" ]
}

@test "fb-report: usage errors" {
    run fb-report head.bin
    [ "$status" -eq 2 ]
    [[ "$output" == *"give -o report.html"* ]]
    run fb-report -o x.html --mistakes -1 head.bin
    [ "$status" -eq 2 ]
}

@test "in headless Chromium: no console errors, every image decodes, fb-eval's counts, three pictures per mistake" {
    fixture_or_skip
    [ -x /usr/bin/chromium ] || skip "chromium is not installed (scripts/setup-deps installs it as root)"
    node_dir=${XDG_CACHE_HOME:-$HOME/.cache}/fb/node/node_modules
    [ -f "$node_dir/playwright-core/package.json" ] || skip "playwright-core is not in $node_dir (scripts/setup-deps)"
    command -v node >/dev/null || skip "node is not installed"
    fb-report -o "$BATS_TEST_TMPDIR/r.html" --history history.tsv head.bin < test.fbt 2> report.err
    run env NODE_PATH="$node_dir" timeout 120 node "$FB_ROOT/tests/tools/report-check.js" \
        "$BATS_TEST_TMPDIR/r.html" eval.json "$BATS_TEST_TMPDIR/shot.png"
    echo "$output"
    cat report.err
    [ "$status" -eq 0 ]
    [[ "$output" == *"filter shown: true"* ]]
    [ -s "$BATS_TEST_TMPDIR/shot.png" ]
    # and without JavaScript the page is the same to read
    run env NODE_PATH="$node_dir" timeout 120 node "$FB_ROOT/tests/tools/report-check.js" \
        "$BATS_TEST_TMPDIR/r.html" eval.json "$BATS_TEST_TMPDIR/shot-nojs.png" --no-js
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "fb-info --png writes what the network saw, record by record; --sheet one contact sheet" {
    fixture_or_skip
    head -n 3 test.tsv | fb-prep > three.fbt
    run fb-info --png "$BATS_TEST_TMPDIR/seen" --sheet "$BATS_TEST_TMPDIR/sheet.png" three.fbt
    [ "$status" -eq 0 ]
    [ "$(ls "$BATS_TEST_TMPDIR/seen" | tr '\n' ' ')" = "000000-w0.png 000001-c0.png 000002-w1.png " ]
    [ "$(vipsheader -f width "$BATS_TEST_TMPDIR/seen/000001-c0.png")" -eq 224 ]
    # the PNG holds the record's bytes exactly
    vips copy "$BATS_TEST_TMPDIR/seen/000000-w0.png" "$BATS_TEST_TMPDIR/w0.raw"
    want=$(fb-info -r three.fbt | head -n 1 | cut -f4)
    got=$(python3 -c 'import sys,zlib; print("%08x" % zlib.crc32(open(sys.argv[1],"rb").read()))' \
          "$BATS_TEST_TMPDIR/w0.raw")
    [ "$got" = "$want" ]
    [ "$(vipsheader -f width "$BATS_TEST_TMPDIR/sheet.png")" -gt 3 ]
    run fb-info --png "$BATS_TEST_TMPDIR/feat" test.fbt
    [ "$status" -eq 1 ]
    [[ "$output" == *"need an image stream"* ]]
}

@test "fb-plot marks the epoch fb-train kept" {
    fixture_or_skip
    fb-plot --svg -o "$BATS_TEST_TMPDIR/c.svg" history.tsv
    kept=$(python3 -c 'import sys
rows=[l.split("\t") for l in open("history.tsv").read().splitlines()[1:]]
print(min(rows, key=lambda r: float(r[3]))[0])')
    grep -q "kept: epoch $kept<" "$BATS_TEST_TMPDIR/c.svg"
    [ "$(grep -c 'class="kept"' "$BATS_TEST_TMPDIR/c.svg")" -eq 2 ]
}

@test "fb-eval --sheet and fb-audit --sheet draw the mistakes and the near-duplicate groups" {
    fixture_or_skip
    run fb-eval --sheet "$BATS_TEST_TMPDIR/mistakes.png" head.bin < test.fbt
    [ "$status" -eq 0 ]
    [[ "$output" == *"misclassified"* ]]
    n=$(python3 -c 'import json; print(len(json.load(open("eval.json"))["misclassified"]))')
    # six across, 160-pixel tiles, 8 apart, 8 around
    cols=$(( n < 6 ? n : 6 ))
    [ "$(vipsheader -f width "$BATS_TEST_TMPDIR/mistakes.png")" -eq $(( 8 + cols * 168 )) ]
    # a copy of a photo in another split: one group, a leak
    mkdir -p dup && cp photos/warm/w1.jpg dup/w1-copy.jpg
    { cat train.tsv; printf 'warm\t%s\n' "$PWD/dup/w1-copy.jpg"; } > dup/train.tsv
    cp test.tsv dup/test.tsv && : > dup/val.tsv
    run fb-audit --sheet "$BATS_TEST_TMPDIR/groups.png" -l dup
    [ -s "$BATS_TEST_TMPDIR/groups.png" ]
    # one group of at least two: two columns at least, one row
    [ "$(vipsheader -f width "$BATS_TEST_TMPDIR/groups.png")" -ge $(( 8 + 2 * 168 )) ]
}

@test "heatmaps: drawn with the stream's weights; without them, a note on the page, not a failure" {
    fixture_or_skip
    run fb-report -o "$BATS_TEST_TMPDIR/r.html" head.bin < test.fbt
    [ "$status" -eq 0 ]
    [[ "$output" != *"no heatmaps"* ]]
    ! grep -q 'Heatmaps unavailable' "$BATS_TEST_TMPDIR/r.html"
    # each shown mistake: the photo, what the network saw, where it looked
    n=$(grep -o '<div class="record mistake"' "$BATS_TEST_TMPDIR/r.html" | wc -l)
    [ "$n" -ge 2 ]
    [ "$(grep -o 'alt="where it looked" src="data:image/jpeg' "$BATS_TEST_TMPDIR/r.html" | wc -l)" -ge "$n" ]

    FB_WEIGHTS=/nonexistent/resnet50.fbw run fb-report -o "$BATS_TEST_TMPDIR/r.html" head.bin < test.fbt
    [ "$status" -eq 0 ]
    [[ "$output" == *"no heatmaps: "*"/nonexistent/resnet50.fbw"* ]]
    grep -q 'Heatmaps unavailable' "$BATS_TEST_TMPDIR/r.html"
    ! grep -q 'alt="where it looked" src=' "$BATS_TEST_TMPDIR/r.html"

    run fb-report --no-heatmaps -o "$BATS_TEST_TMPDIR/r.html" head.bin < test.fbt
    [ "$status" -eq 0 ]
    [[ "$output" != *"no heatmaps"* ]]
    grep -q 'left out (--no-heatmaps)' "$BATS_TEST_TMPDIR/r.html"
}

@test "the unknown section lists the records fb-predict answers unknown, with their share; none without a rejection model" {
    fixture_or_skip
    # new photos, and a cut that rejects half the training photos held out one at a time:
    # some of them are beyond it
    for i in 0 1 2 3 4 5; do
        audit-fixture noise $((700 + i)) $((100 + i * 9)) 120 "$BATS_TEST_TMPDIR/n$i.jpg"
        printf 'warm\t%s\n' "$BATS_TEST_TMPDIR/n$i.jpg"
    done | fb-prep 2>/dev/null | fb-feat > "$BATS_TEST_TMPDIR/new.fbt"
    fb-train -q --seed 1 --reject-rate 0.5 --reject-subject 0 -o "$BATS_TEST_TMPDIR/half.bin" < train.fbt
    fb-predict "$BATS_TEST_TMPDIR/half.bin" < "$BATS_TEST_TMPDIR/new.fbt" | awk -F'\t' '$2 == "unknown" { print $1 }' |
        sort > "$BATS_TEST_TMPDIR/want"
    n=$(wc -l < "$BATS_TEST_TMPDIR/want")
    [ "$n" -gt 0 ]
    page="$BATS_TEST_TMPDIR/r.html"
    fb-report -o "$page" "$BATS_TEST_TMPDIR/half.bin" < "$BATS_TEST_TMPDIR/new.fbt"
    grep -q '<section id="unknown">' "$page"
    grep -q 'href="#unknown"' "$page"
    grep -q "would answer <em>unknown</em> for $n of these 6 photos" "$page"
    # the table of the rejected: exactly fb-predict's unknowns
    sed -n '/<section id="unknown">/,/<\/section>/p' "$page" | grep -o '<tr><td><code>[^<]*' |
        sed 's/<tr><td><code>//' | sort > "$BATS_TEST_TMPDIR/got"
    diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
    # a head that cannot say unknown has no such section
    fb-train -q --seed 1 --no-reject -o "$BATS_TEST_TMPDIR/none.bin" < train.fbt
    fb-report -o "$page" "$BATS_TEST_TMPDIR/none.bin" < "$BATS_TEST_TMPDIR/new.fbt"
    ! grep -q 'id="unknown"' "$page"
}
