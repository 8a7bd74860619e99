#!/usr/bin/env bats
# One verdict per photo: what fb-prep reads, fb-audit (and fb-split's
# pHash) calls usable, and what fb-prep refuses, fb-audit calls unusable.
# Both open a photo the same way (lib/photo: fb_photo_open_checked).

load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
}

# noise_jpeg W H FILE: a real-size photo-like JPEG
noise_jpeg() {
    vips gaussnoise "$T/n.v" "$1" "$2" --mean 128 --sigma 30
    vips cast "$T/n.v" "$T/n8.v" uchar
    vips jpegsave "$T/n8.v" "$3" --Q 85
}

# audit_verdict FILE: sets verdict to "usable" or "unusable" from fb-audit -l
# over FILE and three good photos (two classes, so the audit runs)
audit_verdict() {
    mkdir -p lists good
    for s in 1 2 3; do [ -f "good/p$s.jpg" ] || noise_jpeg 200 150 "good/p$s.jpg"; done
    printf 'a\t%s\n' "$1" good/p1.jpg > lists/train.tsv
    printf 'b\t%s\n' good/p2.jpg good/p3.jpg >> lists/train.tsv
    run fb-audit -l lists
    verdict=usable
    if sed -n '/^Unusable files/,$p' <<< "$output" | grep -qF "$1:"; then verdict=unusable; fi
}

@test "verdict: a JPEG cut in its scan data is unusable to fb-audit as to fb-prep" {
    noise_jpeg 1512 2688 full.jpg
    # 90% in: the pHash's shrunk, resized decode used to hide the missing
    # rows (vips_resize's line cache turns the loader's error into grey)
    head -c $(( $(stat -c %s full.jpg) * 9 / 10 )) full.jpg > cut.jpg
    run bash -c 'fb-prep cut.jpg > /dev/null'
    [ "$status" -ne 0 ]
    grep -q "cut.jpg: .*Premature end" <<< "$output"
    audit_verdict cut.jpg
    [ "$verdict" = unusable ]
    grep -q "cut.jpg: cannot decode: .*Premature end" <<< "$output"
    audit_verdict full.jpg
    [ "$verdict" = usable ]
}

@test "verdict: a TIFF fb-prep reads is usable to fb-audit, whatever other loader claims it" {
    vips gaussnoise n.v 300 200 --mean 128 --sigma 30
    vips cast n.v n8.v uchar
    # A tiled TIFF whose description starts "Aperio": OpenSlide's sniffer
    # claims it (a slide), though it is a TIFF the TIFF loader reads.
    vips tiffsave n8.v slide.tif --tile --properties
    LC_ALL=C sed -i 's/<?xml /Aperio/' slide.tif
    grep -qa 'Aperio' slide.tif
    run bash -c 'fb-prep slide.tif > /dev/null'
    [ "$status" -eq 0 ]
    audit_verdict slide.tif
    [ "$verdict" = usable ]
}
