#!/usr/bin/env bats
# fb-audit: leaks (near-duplicates across splits), shortcuts (metadata that
# predicts the class), unusable files, and never any location data.

load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
}

# distinct_photos DIR CLASS FIRST_SEED N W H: N genuinely different photos
distinct_photos() {
    mkdir -p "$1/$2"
    for s in $(seq "$3" $(($3 + $4 - 1))); do audit-fixture noise "$s" "$5" "$6" "$1/$2/p$s.jpg"; done
}

# The same photo five ways: a burst neighbour (shifted 1.5%, brighter),
# re-encoded at Q=30, resized to 40%, cropped by 3%, stored turned with EXIF
# orientation 6.  Originals are p1..p5 of class a.
make_copies() {
    local a="$1/a"
    vips crop "$a/p1.jpg" "$T/t.v" 6 0 394 300
    vips linear "$T/t.v" "$2/burst.jpg" 1.06 4 --uchar
    vips copy "$a/p2.jpg" "$2/requal.jpg[Q=30]"
    vips resize "$a/p3.jpg" "$2/small.jpg" 0.4
    vips crop "$a/p4.jpg" "$2/crop.jpg" 6 4 388 292
    audit-fixture exif "$a/p5.jpg" "$2/turned.jpg" 6 "" ""
}

# list SPLIT CLASS FILES...: append label<TAB>path lines
list() { local s=$1 c=$2; shift 2; for f in "$@"; do printf '%s\t%s\n' "$c" "$f" >> "lists/$s.tsv"; done; }

@test "leaks: burst, re-encoded, resized, cropped and EXIF-turned copies in test are found" {
    distinct_photos d a 1 10 400 300
    distinct_photos d b 101 10 400 300
    mkdir -p copies lists
    make_copies d copies
    list train a d/a/*.jpg
    list train b d/b/*.jpg
    list test a copies/*.jpg
    run fb-audit -l lists
    [ "$status" -eq 3 ]
    grep -q "5 groups, 5 spanning splits (LEAK)" <<< "$output"
    for pair in "p1.jpg copies/burst" "p2.jpg copies/requal" "p3.jpg copies/small" \
                "p4.jpg copies/crop" "p5.jpg copies/turned"; do
        set -- $pair
        # both files are listed in one group
        awk -v a="d/a/$1" -v b="$2.jpg" '
            /^  (LEAK: )?[0-9]+ files/ { if (seen_a && seen_b) found = 1; seen_a = seen_b = 0 }
            $NF == a { seen_a = 1 } $NF == b { seen_b = 1 }
            END { if (seen_a && seen_b) found = 1; exit !found }' <<< "$output"
    done
    grep -q "byte-identical" <<< "$output" && false
    grep -q "Verdict: LEAK (exit status 3)" <<< "$output"
    # the 20 originals are distinct: no group holds two of them
    [ "$(grep -c '^    train  .*d/[ab]/p' <<< "$output")" -eq 5 ]

    run fb-audit --json -l lists
    [ "$status" -eq 3 ]
    grep -q '"leaks": 5' <<< "$output"
    [ "$(grep -c '"leak": true' <<< "$output")" -eq 5 ]
    grep -q '"status": 3' <<< "$output"
}

@test "a byte-identical copy in val and test is a leak; the same groups within one split are not" {
    distinct_photos d a 1 6 200 150
    distinct_photos d b 201 6 200 150
    cp d/a/p1.jpg d/a/copy.jpg
    mkdir lists
    list train a d/a/p1.jpg d/a/copy.jpg d/a/p2.jpg d/a/p3.jpg
    list train b d/b/*.jpg
    list val a d/a/p4.jpg d/a/p5.jpg
    list test a d/a/p6.jpg
    run fb-audit -l lists
    [ "$status" -eq 0 ]
    grep -q "1 group, 0 spanning splits" <<< "$output"
    grep -q "2 files, byte-identical, in train:" <<< "$output"
    grep -q "Verdict: clean (exit status 0)" <<< "$output"
    # the same file listed in val and test
    list val a d/a/p6.jpg
    run fb-audit -l lists
    [ "$status" -eq 3 ]
    grep -q "LEAK: 2 files, byte-identical, in val, test:" <<< "$output"
}

@test "folder mode: duplicate groups are listed, only a leak across splits changes the status" {
    distinct_photos d a 1 10 400 300
    distinct_photos d b 101 10 400 300
    make_copies d d/a
    run fb-audit d
    [ "$status" -eq 0 ]
    grep -q "Near-duplicates (same photo: pHash of whole or 92% crop within 8 bits): 5 groups" <<< "$output"
    ! grep -q "LEAK" <<< "$output" || false
    # a copy filed under the other class is a label conflict
    cp d/a/p7.jpg d/b/oops.jpg
    run fb-audit d
    grep -q "2 files, byte-identical, labelled as 2 different classes" <<< "$output"
    grep -q "The same photo under two labels" <<< "$output"
    # at 0 bits the burst neighbour (a few bits away) is no longer grouped
    grep -q "d/a/burst.jpg" <<< "$output"
    run fb-audit -d 0 d
    strict=$(grep -o 'within 0 bits): [0-9]*' <<< "$output" | grep -o '[0-9]*$')
    [ "$strict" -ge 2 ]      # the byte-identical pair is always there
    [ "$strict" -lt 6 ]
    ! grep -q "d/a/burst.jpg" <<< "$output" || false
}

@test "feature stream: photos with near-parallel features are grouped even when pHashes differ" {
    distinct_photos d a 1 6 200 150
    distinct_photos d b 101 6 200 150
    audit-features feats.fbt d/a/p1.jpg=1 d/a/p2.jpg=2 d/a/p3.jpg=3 d/a/p4.jpg=4 d/a/p5.jpg=5 \
        d/a/p6.jpg=6 d/b/p101.jpg=7 d/b/p102.jpg=8 d/b/p103.jpg=3 d/b/p104.jpg=10 \
        d/b/p105.jpg=11 d/b/p106.jpg=12
    run fb-audit d
    grep -q "Near-duplicates (same photo: pHash of whole or 92% crop within 8 bits): 0 groups" <<< "$output"
    run fb-audit -f feats.fbt d
    grep -q "Near-duplicates (same photo: pHash of whole or 92% crop within 8 bits, or feature cosine): 1 group" <<< "$output"
    grep -q "2 files, near-identical.*labelled as 2 different classes" <<< "$output"
    grep -q "d/a/p3.jpg" <<< "$output"
    grep -q "d/b/p103.jpg" <<< "$output"
    # not a feature stream
    run fb-audit -f d/a/p1.jpg d
    [ "$status" -eq 1 ]
}

@test "shortcut: two classes that differ only in image size are flagged, exit 4" {
    distinct_photos d big 1 15 640 480
    distinct_photos d small 101 15 160 120
    run fb-audit d
    [ "$status" -eq 4 ]
    grep -q "SHORTCUT: image size alone tells the classes apart 100% of the time (chance 50%)" <<< "$output"
    grep -q "the classes seem to come from different sources" <<< "$output"
    grep -q "with fb-prep --reencode Q:SIDE" <<< "$output"      # the remedy for a size shortcut
    grep -q "Verdict: SHORTCUT (exit status 4)" <<< "$output"
    run fb-audit --json d
    [ "$status" -eq 4 ]
    grep -q '"strong": true' <<< "$output"
    grep -q '"most_telling": "image size"' <<< "$output"
    grep -q '"accuracy": 1.0' <<< "$output"
    # plus a leak: 5
    mkdir lists
    list train big d/big/*.jpg
    list train small d/small/*.jpg
    list test big d/big/p1.jpg
    run fb-audit -l lists
    [ "$status" -eq 5 ]
}

# A python3 that has NumPy (Debian's python3-numpy is for /usr/bin/python3,
# which may not be the first python3 on PATH).
numpy_or_skip() {
    for PY in python3 /usr/bin/python3; do
        "$PY" -c 'import numpy' 2>/dev/null && return 0
    done
    skip "no python3 with NumPy (scripts/setup-deps installs python3-numpy)"
}

@test "shortcut by JPEG quality: the advice names fb-prep --reencode, which makes the classes alike" {
    numpy_or_skip
    # The same twelve scenes twice: class hi saved at quality 95, class lo at 20.
    mkdir -p d/hi d/lo
    for i in $(seq 1 12); do
        audit-fixture noise $i 400 300 t$i.png
        vips copy t$i.png "d/hi/p$i.jpg[Q=95]"
        vips copy t$i.png "d/lo/p$i.jpg[Q=20]"
    done
    run fb-audit d
    [ "$status" -eq 4 ]
    grep -q "SHORTCUT: JPEG quality alone tells the classes apart 100% of the time" <<< "$output"
    grep -q "fb-prep --reencode Q:SIDE" <<< "$output"
    # Prepared as they are, each twin's square differs from the other by the
    # quality; re-encoded at one quality (at the photos' own size, 300), the
    # twins come out nearly the same: the quality no longer tells them apart.
    fb-prep d/hi/*.jpg d/lo/*.jpg > plain.fbt
    fb-prep --reencode 20:300 d/hi/*.jpg d/lo/*.jpg > alike.fbt
    fb-info alike.fbt | grep -qx "  reencode=20:300"
    ! fb-info plain.fbt | grep -q reencode || false
    fb-export --npy plain.npy plain.fbt
    fb-export --npy alike.npy alike.fbt
    read -r plain alike <<< "$("$PY" -c '
import numpy as np
def twin_gap(f):   # mean absolute difference between each hi record and its lo twin
    x = np.load(f).astype(float)
    return np.abs(x[:12] - x[12:]).mean()
print("%.3f %.3f" % (twin_gap("plain.npy"), twin_gap("alike.npy")))')"
    echo "twin gap: plain $plain, re-encoded $alike"
    # measured: 3.1 and 0.38 grey levels
    "$PY" -c "import sys; sys.exit(not ($plain > 2 and $alike < $plain / 5))"
    # the default side is the output size; bad values are usage errors
    fb-prep --reencode 50 d/hi/p1.jpg | fb-info | grep -qx "  reencode=50:224"
    for v in 0 101 x 50: 50:4 50:x 50:300x; do
        run fb-prep --reencode "$v" d/hi/p1.jpg
        [ "$status" -eq 2 ]
        grep -q -- "--reencode: '$v' is not Q or Q:SIDE" <<< "$output"
    done
}

@test "one class is not a classification problem: refused at once, folder or lists" {
    distinct_photos d a 1 4 120 90
    run fb-audit d
    [ "$status" -eq 1 ]
    grep -q "fb-audit: d: only one class ('a'): one class is not a classification problem" <<< "$output"
    ! grep -q "Verdict" <<< "$output" || false
    mkdir lists
    printf 'a\td/a/p1.jpg\na\td/a/p2.jpg\n' > lists/train.tsv
    printf 'a\td/a/p3.jpg\n' > lists/test.tsv
    run fb-audit -l lists
    [ "$status" -eq 1 ]
    grep -q "fb-audit: lists: only one class ('a')" <<< "$output"
}

@test "shortcut by camera and EXIF: own phone photos vs downloaded ones" {
    distinct_photos src mine 1 12 320 240
    distinct_photos d other 101 12 320 240
    mkdir -p d/mine
    for f in src/mine/*.jpg; do audit-fixture exif "$f" "d/mine/$(basename "$f")" 1 Google "Pixel 7"; done
    run fb-audit d
    [ "$status" -eq 4 ]
    grep -Eq "SHORTCUT: (camera EXIF|camera make/model) alone tells the classes apart 100%" <<< "$output"
    grep -q "Google Pixel 7 (12)" <<< "$output"
    # re-encoding the pixels does not make cameras alike: not offered
    ! grep -q -- "--reencode" <<< "$output" || false
    grep -q "100%  Google" <<< "$output"
}

@test "clean set of distinct photos: no false alarm, exit 0" {
    mkdir -p d/a d/b
    # the same mix of sizes in both classes
    for i in $(seq 1 16); do
        w=$((200 + (i % 4) * 60)); h=$((150 + (i % 3) * 50))
        audit-fixture noise $i $w $h d/a/p$i.jpg
        audit-fixture noise $((i + 500)) $w $h d/b/p$i.jpg
    done
    run fb-audit d
    [ "$status" -eq 0 ]
    grep -q "0 groups" <<< "$output"
    grep -q "no shortcut" <<< "$output"
    grep -q "Unusable files: 0; tiny images (under 64 pixels on a side): 0" <<< "$output"
    grep -q "Verdict: clean (exit status 0)" <<< "$output"
    run fb-audit --json d
    [ "$status" -eq 0 ]
    grep -q '"near_duplicates": \[\]' <<< "$output"
    grep -q '"strong": false' <<< "$output"
}

@test "GPS and owner EXIF never appear in the report or the JSON" {
    distinct_photos src a 1 3 200 150
    distinct_photos d b 101 3 200 150
    mkdir -p d/a
    for f in src/a/*.jpg; do audit-fixture exif "$f" "d/a/$(basename "$f")" 1 Canon "Canon EOS 5D" gps; done
    vipsheader -a d/a/p1.jpg | grep -q GPSLatitude          # the fixture really has GPS
    for mode in "" --json; do
        run fb-audit $mode d
        grep -q "Canon EOS 5D" <<< "$output"                # EXIF was read
        ! grep -qi "gps" <<< "$output" || false
        ! grep -qi "latitude\|longitude" <<< "$output" || false
        ! grep -q "48/1\|51/1\|30.24\|48.85" <<< "$output" || false
        ! grep -q "Jane Owner" <<< "$output" || false
    done
}

@test "unusable and tiny files are named; exit 1" {
    distinct_photos d a 1 4 200 150
    distinct_photos d b 101 4 200 150
    printf 'just text\n' > d/a/notes.txt
    printf 'not a jpeg at all' > d/a/fake.jpg
    head -c 400 d/b/p101.jpg > d/b/truncated.jpg
    audit-fixture noise 9 40 30 d/b/icon.png
    vips copy d/a/p1.jpg d/a/png-named.jpg.png && mv d/a/png-named.jpg.png d/a/png-data.jpg
    run fb-audit d
    [ "$status" -eq 1 ]
    grep -q "d/a/notes.txt: not an image in a format fb reads" <<< "$output"
    grep -q "d/a/fake.jpg: not an image" <<< "$output"
    grep -q "d/b/truncated.jpg: cannot" <<< "$output"
    grep -q "d/b/icon.png: tiny, 40x30" <<< "$output"
    grep -q "Unusable files: 3; tiny images (under 64 pixels on a side): 1" <<< "$output"
    ! grep -q "png-data.jpg:" <<< "$output" || false                 # PNG data named .jpg is fine
    grep -q "jpeg 80% png 20%" <<< "$output"
}

@test "JPEG quality is estimated from the quantisation table" {
    mkdir -p d/q50 d/q90
    for i in 1 2 3; do
        audit-fixture noise $i 120 90 t$i.png
        vips copy t$i.png "d/q50/p$i.jpg[Q=50]"
        vips copy t$i.png "d/q90/p$i.jpg[Q=90]"
    done
    run fb-audit --json d
    [ "$(grep -A3 '"jpeg_quality"' <<< "$output" | grep -c '"median": 50.0')" -eq 1 ]
    [ "$(grep -A3 '"jpeg_quality"' <<< "$output" | grep -c '"median": 90.0')" -eq 1 ]
}

@test "numeric options: a bad value is a usage error (exit 2) naming the option" {
    mkdir -p d/a
    for v in 65 -1 x 3y ""; do
        run fb-audit -d "$v" d
        [ "$status" -eq 2 ]; grep -q -- "--near-dup: '$v' is not a whole number from 0 to 64" <<< "$output"
    done
    for v in 1.5 -0.5 x nan; do
        run fb-audit -c "$v" d
        [ "$status" -eq 2 ]; grep -q -- "--cosine: '$v' is not a number from 0 to 1" <<< "$output"
    done
    run fb-audit --cosine 0 d;             [ "$status" -eq 2 ]; grep -q -- "--cosine: '0' is not above 0" <<< "$output"
}

@test "usage errors exit 2; a missing folder exits 1" {
    run fb-audit;                          [ "$status" -eq 2 ]
    run fb-audit -l x y;                   [ "$status" -eq 2 ]; grep -q "not both" <<< "$output"
    run fb-audit -d 65 x;                  [ "$status" -eq 2 ]
    run fb-audit -c 0 x;                   [ "$status" -eq 2 ]
    run fb-audit --bogus x;                [ "$status" -eq 2 ]
    run fb-audit --help;                   [ "$status" -eq 0 ]; grep -q "Exit status" <<< "$output"
    run fb-audit no-such-dir;              [ "$status" -eq 1 ]; grep -q "no-such-dir: cannot read folder" <<< "$output"
    mkdir empty
    run fb-audit -l empty;                 [ "$status" -eq 1 ]; grep -q "no train.tsv, val.tsv or test.tsv" <<< "$output"
}

@test "fb-split lists of a set with copies audit clean (group-aware splitting)" {
    distinct_photos d a 1 10 400 300
    distinct_photos d b 101 10 400 300
    make_copies d d/a
    for seed in 1 2 3; do
        fb-split -s $seed -o lists d 2>/dev/null
        run fb-audit -l lists
        [ "$status" -eq 0 ]
        grep -q "5 groups, 0 spanning splits" <<< "$output"
    done
    # without near-duplicate grouping the same split leaks for some seed
    leaked=0
    for seed in 1 2 3 4 5 6; do
        fb-split --no-near-dups -s $seed -o lists d 2>/dev/null
        run fb-audit -l lists
        [ "$status" -eq 3 ] && leaked=1
    done
    [ "$leaked" -eq 1 ]
}

@test "cats-vs-dogs: the given train/test split is clean" {
    shared_data_or_skip cats-vs-dogs
    mkdir lists
    for s in train test; do
        for c in cats dogs; do list $s $c "$FB_SHARED_DATA"/cats-vs-dogs/$s/$c/*; done
    done
    run fb-audit -l lists
    [ "$status" -eq 0 ]
    grep -q "1200 files in 2 classes" <<< "$output"
    grep -qx "Near-duplicates.*: 0 groups, 0 spanning splits" <<< "$output"
    grep -q "no shortcut" <<< "$output"
}

@test "stanford-dogs-3breeds: clean" {
    shared_data_or_skip stanford-dogs-3breeds
    run fb-audit "$FB_SHARED_DATA/stanford-dogs-3breeds"
    [ "$status" -eq 0 ]
    grep -q "450 files in 3 classes" <<< "$output"
    grep -q "Verdict: clean (exit status 0)" <<< "$output"
}

@test "dogfacenet: near-duplicate groups are bursts of one dog, never two dogs" {
    shared_data_or_skip dogfacenet
    run fb-audit "$FB_SHARED_DATA/dogfacenet"
    # measured at 8 bits: 0 of 514,781 pairs of different dogs; 18 pairs of one dog (bursts)
    ! grep -q "labelled as" <<< "$output" || false
    groups=$(grep -o 'pHash of whole or 92% crop within 8 bits): [0-9]*' <<< "$output" | grep -o '[0-9]*$')
    [ "$groups" -eq 18 ]
    [ "$(grep -c '^    -  ' <<< "$output")" -eq 36 ]      # 36 files in them
    ! grep -q "png-data\|: not an image" <<< "$output" || false       # PNG data named .jpg reads fine
}

@test "nasty: hostile files never crash or hang the audit; refused loaders are never run" {
    shared_data_or_skip nasty
    run timeout 300 fb-audit --json "$FB_SHARED_DATA/nasty"
    # statuses 0..5 only: no crash (>128), no timeout (124)
    [ "$status" -le 5 ]
    grep -q '"path": ".*nasty/libvips-test-images/truncated.svgz"' <<< "$output"
    grep -q '"status": ' <<< "$output"
    [ "$(grep -c '"problem": "not-image"' <<< "$output")" -gt 100 ]
}

@test "backbone features catch 5% crops the pHash misses (real photos, fb-prep | fb-feat)" {
    shared_data_or_skip stanford-dogs-3breeds
    weights_or_skip
    S="$FB_SHARED_DATA/stanford-dogs-3breeds"
    mkdir -p d/retriever d/maltese
    cp "$S"/flat_coated_retriever/n02099267_{720,1018,1596,2040}.jpg d/retriever/
    cp $(ls "$S"/maltese/*.jpg | head -3) "$S"/maltese/n02085936_233.jpg d/maltese/
    # cut 5% off the left and the bottom: 14 and 16 bits from the originals
    for f in d/retriever/n02099267_720.jpg d/maltese/n02085936_233.jpg; do
        w=$(vipsheader -f width "$f"); h=$(vipsheader -f height "$f")
        vips crop "$f" "${f%.jpg}-crop.jpg" $((w * 5 / 100)) 0 $((w * 95 / 100)) $((h * 95 / 100))
    done
    run fb-audit d
    grep -q "pHash of whole or 92% crop within 8 bits): 0 groups" <<< "$output"
    fb-prep d/*/*.jpg 2>/dev/null | fb-feat > f.fbt
    run fb-audit -f f.fbt d
    grep -q "pHash of whole or 92% crop within 8 bits, or feature cosine): 2 groups" <<< "$output"
    grep -q "d/retriever/n02099267_720-crop.jpg" <<< "$output"
    grep -q "d/maltese/n02085936_233-crop.jpg" <<< "$output"
}

@test "feature stream: training photos unlike all the others are listed, most unusual first" {
    distinct_photos d a 1 60 64 48
    distinct_photos d b 101 42 64 48
    args=()
    for f in d/a/*.jpg d/b/*.jpg; do
        s=${f##*/p}; s=${s%.jpg}
        case $f in d/b/p142.jpg) args+=("$f=$s") ;; *) args+=("$f=~$s") ;; esac
    done
    audit-features feats.fbt "${args[@]}"
    run fb-audit -f feats.fbt d
    grep -q "^unusual training photos (worth a look): 1 unlike the others" <<< "$output"
    # farther than the 101 others: rank 101/102
    grep -q $'^b\t[0-9.]*\t0.9902\td/b/p142.jpg$' <<< "$output"
    fb-audit --json -f feats.fbt d > audit.json || true
    python3 -c '
import json, sys
u = json.load(open("audit.json"))["unusual"]
assert [p["path"] for p in u["photos"]] == ["d/b/p142.jpg"], u
assert u["photos"][0]["distance"] > u["cut"] > 0, u'
    # without features, no such section
    run fb-audit d
    ! grep -q "unusual training photos" <<< "$output"
}
