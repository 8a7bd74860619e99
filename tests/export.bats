#!/usr/bin/env bats
# fb-export: streams to NumPy .npy + TSV and back (checked with NumPy itself),
# the TSV form, and the ONNX model run in ONNX Runtime (onnxruntime-node)
# against fb-feat and fb-predict on the 105 reference images.
load helpers

ORT_MODULES="${XDG_CACHE_HOME:-$HOME/.cache}/fb/ort/node_modules"

setup() {
    T="$BATS_TEST_TMPDIR"
    ref="$FB_SHARED/reference"
}

# A python3 that has NumPy (Debian's python3-numpy is for /usr/bin/python3,
# which may not be the first python3 on PATH).
numpy_or_skip() {
    for PY in python3 /usr/bin/python3; do
        "$PY" -c 'import numpy' 2>/dev/null && return 0
    done
    skip "no python3 with NumPy (scripts/setup-deps installs python3-numpy)"
}

# node with onnxruntime-node (scripts/setup-deps installs it in $ORT_MODULES).
ort_or_skip() {
    command -v node >/dev/null || skip "no node (scripts/setup-deps installs it)"
    NODE_PATH="$ORT_MODULES" node -e "require('onnxruntime-node')" 2>/dev/null ||
        skip "no onnxruntime-node in $ORT_MODULES (scripts/setup-deps installs it)"
    export NODE_PATH="$ORT_MODULES"
}

reference_or_skip() {
    [ -f "$ref/inputs.u8" ] || skip "no reference tensors at $ref (a fresh clone has none)"
    weights_or_skip
}

# within VALUE LIMIT: true when VALUE <= LIMIT (floating point)
within() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'; }
# the value of key=VALUE in export-ort.js's line
ort_field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

# ---------------------------------------------------------------- NumPy

@test "--npy: NumPy loads float32 [records, dims] with the stream's values, ids and labels" {
    numpy_or_skip
    "$PY" -c 'import numpy as np; np.random.default_rng(3).standard_normal(7 * 5, dtype=np.float32).tofile("'"$T"'/raw.f32")'
    fbt-make -t f32 -d 5 -n 7 -C a,b,c -r "$T/raw.f32" > "$T/s.fbt"
    run fb-export --npy "$T/feat.npy" < "$T/s.fbt"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    fb-info -r "$T/s.fbt" > "$T/records.txt"
    "$PY" - "$T" <<'PY'
import sys, zlib, numpy as np
t = sys.argv[1]
a = np.load(t + "/feat.npy")
assert a.dtype == np.dtype("<f4") and a.shape == (7, 5), (a.dtype, a.shape)
assert np.array_equal(a, np.fromfile(t + "/raw.f32", dtype="<f4").reshape(7, 5))
rows = [l.rstrip("\n").split("\t") for l in open(t + "/feat.tsv")]
assert rows[0] == ["index", "id", "label", "class"], rows[0]
info = [l.split("\t") for l in open(t + "/records.txt").read().splitlines()]
for i, (row, rec) in enumerate(zip(rows[1:], info)):
    # fb-info -r: index, id, class, CRC-32 of the tensor
    assert row == [str(i), rec[1], str(i % 3), rec[2]], (row, rec)
    assert "%08x" % zlib.crc32(a[i].tobytes()) == rec[3]
assert len(rows) == 8
print("ok")
PY
}

@test "--npy: uint8 images come out as |u1 [105,224,224,3], byte for byte" {
    numpy_or_skip
    [ -f "$ref/inputs.u8" ] || skip "no reference tensors at $ref (a fresh clone has none)"
    fbt-make -t u8 -d 224x224x3 -n 105 -r "$ref/inputs.u8" > "$T/img.fbt"
    fb-export --npy "$T/img.npy" < "$T/img.fbt"
    "$PY" -c '
import sys, numpy as np
a = np.load(sys.argv[1])
assert a.dtype == np.uint8 and a.shape == (105, 224, 224, 3), (a.dtype, a.shape)
assert np.array_equal(a.reshape(-1), np.fromfile(sys.argv[2], dtype=np.uint8))
print("ok")' "$T/img.npy" "$ref/inputs.u8"
}

@test "round trip stream -> .npy -> stream keeps every record (fb-info -r identical)" {
    synth-features -n 40 -d 16 -k 3 -C cat,dog,fox --seed 2 > "$T/s.fbt"
    fb-export --npy "$T/f.npy" "$T/s.fbt"
    fb-export --from-npy "$T/f.npy" > "$T/back.fbt"
    fb-info -r "$T/s.fbt" > "$T/a.txt"
    fb-info -r "$T/back.fbt" > "$T/b.txt"
    diff "$T/a.txt" "$T/b.txt"
    # compressed, and to a named file
    fb-export --from-npy "$T/f.npy" -z 6 -o "$T/z.fbt"
    fb-info -r "$T/z.fbt" | diff "$T/a.txt" -
    # unlabelled records stay unlabelled
    synth-features -n 5 -d 4 --no-labels > "$T/u.fbt"
    fb-export --npy "$T/u.npy" < "$T/u.fbt"
    fb-export --from-npy "$T/u.npy" | fb-info -r | diff <(fb-info -r "$T/u.fbt") -
}

@test "--from-npy: float64 features made with NumPy, labelled by class name, train with fb" {
    numpy_or_skip
    "$PY" - "$T" <<'PY'
import sys, numpy as np
t = sys.argv[1]
rng = np.random.default_rng(1)
y = np.arange(60) % 2
x = rng.standard_normal((60, 8)) + 6.0 * y[:, None]     # float64, separable
np.save(t + "/made.npy", x)
with open(t + "/made-labels.tsv", "w") as f:
    f.write("id\tclass\n")
    for i in range(60):
        f.write("photo %d.jpg\t%s\n" % (i, ["lucy", "other\\tdog"][y[i]]))
PY
    fb-export --from-npy "$T/made.npy" --labels "$T/made-labels.tsv" -p backbone=elsewhere > "$T/made.fbt"
    run fb-info "$T/made.fbt"
    echo "$output"
    [[ "$output" == *"records:    60"* ]]
    [[ "$output" == *"float32 8"* ]]
    [[ "$output" == *"lucy"*"30"* ]]
    [[ "$output" == *'other\tdog'*"30"* ]]   # fb-info escapes the TAB in the name
    [[ "$output" == *"backbone=elsewhere"* ]]
    fb-train -q --epochs 20 --lr 0.05 -o "$T/head.bin" < "$T/made.fbt"
    acc=$(fb-eval "$T/head.bin" < "$T/made.fbt" | awk '$1 == "accuracy" { print $2 }')
    [ "$acc" = "1.0000" ]
}

@test "--tsv: one record per line; the values read back exactly as the .npy's" {
    numpy_or_skip
    synth-features -n 6 -d 3 -k 2 --seed 4 > "$T/s.fbt"
    fb-export --tsv "$T/values.tsv" < "$T/s.fbt"
    fb-export --npy "$T/s.npy" < "$T/s.fbt"
    [ "$(head -n 1 "$T/values.tsv")" = "$(printf 'index\tid\tlabel\tclass\tv0\tv1\tv2')" ]
    [ "$(wc -l < "$T/values.tsv")" -eq 7 ]
    "$PY" -c '
import sys, numpy as np
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
t = np.array([[float(v) for v in r[4:]] for r in rows], dtype=np.float32)
assert np.array_equal(t, np.load(sys.argv[2]))
print("ok")' "$T/values.tsv" "$T/s.npy"
    fb-export --tsv - < "$T/s.fbt" | cmp - "$T/values.tsv"
}

@test "bad input: the file and the problem named, nothing half-written" {
    printf 'not numpy' > "$T/bad.npy"
    run fb-export --from-npy "$T/bad.npy"
    [ "$status" -eq 1 ]
    [[ "$output" == *"bad.npy: not a NumPy .npy file"* ]]
    synth-features -n 5 -d 4 -k 2 > "$T/s.fbt"
    fb-export --npy "$T/f.npy" < "$T/s.fbt"
    head -n 3 "$T/f.tsv" > "$T/short.tsv"
    run fb-export --from-npy "$T/f.npy" --labels "$T/short.tsv"
    [ "$status" -eq 1 ]
    [[ "$output" == *"short.tsv has 2 records, "*"f.npy has 5"* ]]
    # a truncated stream: no .npy or .tsv appears
    head -c 100 "$T/s.fbt" > "$T/cut.fbt"
    run fb-export --npy "$T/cut.npy" < "$T/cut.fbt"
    [ "$status" -eq 1 ]
    [ ! -e "$T/cut.npy" ] && [ ! -e "$T/cut.tsv" ]
    [ -z "$(ls "$T" | grep tmp)" ]
    run fb-export --npy "$T/x.npy" --from-npy "$T/f.npy"
    [ "$status" -eq 2 ]
    run fb-export
    [ "$status" -eq 2 ]
}

# ---------------------------------------------------------------- ONNX

# The 105 reference images through fb-feat once for the whole file.
feat_once() {
    local d="$BATS_FILE_TMPDIR"
    [ -f "$d/inputs.fbt" ] || fbt-make -t u8 -d 224x224x3 -n 105 -C cat,dog,fox -r "$ref/inputs.u8" > "$d/inputs.fbt"
    [ -f "$d/features.npy" ] || { fb-feat < "$d/inputs.fbt" > "$d/features.fbt" &&
                                  fb-export --npy "$d/features.npy" < "$d/features.fbt"; }
}

@test "ONNX features: ONNX Runtime matches fb-feat within 1e-4 on the 105 reference images" {
    reference_or_skip
    ort_or_skip
    feat_once
    fb-export -o "$T/resnet.onnx"
    run node "$FB_ROOT/tests/tools/export-ort.js" "$T/resnet.onnx" "$ref/inputs.u8" 105 "$BATS_FILE_TMPDIR/features.npy"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | ort_field width)" -eq 2048 ]
    within "$(echo "$output" | ort_field maxdiff)" 1e-4
}

@test "ONNX --layer probs: ImageNet probabilities match fb-feat within 1e-4, same top-1" {
    reference_or_skip
    ort_or_skip
    feat_once
    fb-feat --layer probs < "$BATS_FILE_TMPDIR/inputs.fbt" > "$T/probs.fbt"
    fb-export --npy "$T/probs.npy" < "$T/probs.fbt"
    fb-export --layer probs -o "$T/probs.onnx"
    run node "$FB_ROOT/tests/tools/export-ort.js" "$T/probs.onnx" "$ref/inputs.u8" 105 "$T/probs.npy"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | ort_field width)" -eq 1000 ]
    [ "$(echo "$output" | ort_field top1_agree)" -eq 105 ]
    within "$(echo "$output" | ort_field maxdiff)" 1e-4
}

@test "ONNX with a trained head: ONNX Runtime's probabilities match fb-predict within 1e-4" {
    reference_or_skip
    ort_or_skip
    feat_once
    # a hidden block (Dense, ReLU, BatchNorm) and the output layer
    fb-train -q --head 64 --epochs 5 -o "$T/head.bin" < "$BATS_FILE_TMPDIR/features.fbt"
    fb-predict --all "$T/head.bin" < "$BATS_FILE_TMPDIR/features.fbt" > "$T/predict.tsv"
    fb-export -o "$T/model.onnx" "$T/head.bin"
    run node "$FB_ROOT/tests/tools/export-ort.js" "$T/model.onnx" "$ref/inputs.u8" 105 "$T/predict.tsv"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | ort_field width)" -eq 3 ]
    [ "$(echo "$output" | ort_field top1_agree)" -eq 105 ]
    within "$(echo "$output" | ort_field maxdiff)" 1e-4
    # what the model says about itself, read by an independent decoder
    run node "$FB_ROOT/tests/tools/export-onnx-meta.js" "$T/model.onnx"
    echo "$output"
    [[ "$output" == *"ir_version	8"* ]]
    [[ "$output" == *"opset	13"* ]]
    [[ "$output" == *"meta	fb.classes	[\"cat\",\"dog\",\"fox\"]"* ]]
    [[ "$output" == *"meta	fb.head_provenance	"*"feat_output=features"* ]]
    [[ "$output" == *"meta	fb.head_training	head=64"* ]]
    [[ "$output" == *"input	pixels"* ]]
    [[ "$output" == *"output	probs"* ]]
    [[ "$output" == *"op	BatchNormalization	1"* ]]
    [[ "$output" == *"op	Conv	53"* ]]
}

@test "ONNX with a linear head and with two hidden blocks: within 1e-4 of fb-predict" {
    reference_or_skip
    ort_or_skip
    feat_once
    for arch in linear 128,32; do
        fb-train -q --head "$arch" --epochs 3 -o "$T/head.bin" < "$BATS_FILE_TMPDIR/features.fbt"
        fb-predict --all "$T/head.bin" < "$BATS_FILE_TMPDIR/features.fbt" | head -n 16 > "$T/predict.tsv"
        fb-export -o "$T/model.onnx" "$T/head.bin"
        run node "$FB_ROOT/tests/tools/export-ort.js" "$T/model.onnx" "$ref/inputs.u8" 16 "$T/predict.tsv"
        echo "$arch: $output"
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | ort_field top1_agree)" -eq 16 ]
        within "$(echo "$output" | ort_field maxdiff)" 1e-4
    done
}

@test "ONNX with heads trained on fb-feat --layer probs and logits: within 1e-4 of fb-predict" {
    reference_or_skip
    ort_or_skip
    fbt-make -t u8 -d 224x224x3 -n 8 -C a,b -r "$ref/inputs.u8" > "$T/eight.fbt"
    for kind in probs logits; do
        fb-feat --layer "$kind" < "$T/eight.fbt" > "$T/$kind.fbt"
        fb-train -q --head 16 --epochs 3 -o "$T/head.bin" < "$T/$kind.fbt"
        fb-predict --all "$T/head.bin" < "$T/$kind.fbt" > "$T/predict.tsv"
        fb-export -o "$T/model.onnx" "$T/head.bin"
        run node "$FB_ROOT/tests/tools/export-ort.js" "$T/model.onnx" "$ref/inputs.u8" 8 "$T/predict.tsv"
        echo "$kind: $output"
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | ort_field width)" -eq 2 ]
        within "$(echo "$output" | ort_field maxdiff)" 1e-4
    done
}

@test "ONNX: a head trained on other weights' features is refused" {
    weights_or_skip
    synth-features -n 40 -d 2048 -k 2 -p weights_crc32=deadbeef -p feat_output=features > "$T/s.fbt"
    fb-train -q --epochs 1 -o "$T/head.bin" < "$T/s.fbt"
    run fb-export -o "$T/model.onnx" "$T/head.bin"
    [ "$status" -eq 1 ]
    [[ "$output" == *"head.bin"*"weights deadbeef"* ]]
    [ ! -e "$T/model.onnx" ]
    synth-features -n 40 -d 16 -k 2 > "$T/small.fbt"
    fb-train -q --epochs 1 -o "$T/small.bin" < "$T/small.fbt"
    run fb-export -o "$T/model.onnx" "$T/small.bin"
    [ "$status" -eq 1 ]
    [[ "$output" == *"reads 16 values per record"* ]]
}

@test "scripts/ort-yardstick prints one machine-readable line" {
    weights_or_skip
    ort_or_skip
    fbt-make -t u8 -d 224x224x3 -n 2 -s 3 > "$T/two.fbt"
    run env FB_ORT_MODELS="$T/models" "$FB_ROOT/scripts/ort-yardstick" -n 3 -b 2 -j 1 -i "$T/two.fbt"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^ort\ images_per_s=[0-9.]+\ batch=2\ threads=1\ images=3\ warmup=2\ spin=1\ wall_s=[0-9.]+$ ]]
    ls "$T/models"/resnet50-features-*.onnx
    run env FB_ORT_MODELS="$T/models" "$FB_ROOT/scripts/ort-yardstick" -n 4 -b 2 -S -i "$T/two.fbt"
    [ "$status" -eq 0 ]
    [[ "$output" == *" threads=2 images=4 warmup=2 spin=0 wall_s="* ]]
    run "$FB_ROOT/scripts/ort-yardstick" -n 0
    [ "$status" -eq 2 ]
}
