#!/usr/bin/env bats
# fb-info on a head: what fb-train stored, as text and as JSON, told apart
# from a stream by the file's magic.

load helpers

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T"
    synth-features -n 120 -d 16 -k 2 -s 2.5 -C lucy,other -p backbone=test-backbone \
        --seed 3 --draw 1 > train.fbt
    synth-features -n 40 -d 16 -k 2 -s 2.5 -C lucy,other -p backbone=test-backbone \
        --seed 3 --draw 2 > val.fbt
}

# json FILE EXPR: the value of a Python expression over the JSON document j.
json() { python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"; }

@test "a deep head: layers, normalisation, weight decay, dropout, unknown test, notes, provenance" {
    fb-train -q --head 8,4 --dropout 0.25 --weight-decay 0.001 --norm sqrt,l2 --epochs 3 \
        --reject-rate 0.05 -v val.fbt -o deep.bin < train.fbt
    run fb-info deep.bin
    [ "$status" -eq 0 ]
    bytes=$(stat -c %s deep.bin)
    grep -qx "head:           deep.bin (head.bin version 3, $bytes bytes)" <<< "$output"
    grep -qx "classes:        2" <<< "$output"
    grep -qx "  0 lucy" <<< "$output"
    grep -qx "  1 other" <<< "$output"
    grep -qx "input:          16 features" <<< "$output"
    # 16*8+8 + 2*8 (gamma, beta) + 8*4+4 + 2*4 + 4*2+2 = 206
    grep -qx "architecture:   8,4 (2 hidden layers, 206 parameters)" <<< "$output"
    grep -qx "  dense 16 -> 8, ReLU, BatchNorm, dropout 0.25" <<< "$output"
    grep -qx "  dense 8 -> 4, ReLU, BatchNorm, dropout 0.25" <<< "$output"
    grep -qx "  dense 4 -> 2, softmax" <<< "$output"
    grep -qx "normalisation:  sqrt,l2" <<< "$output"
    grep -qx "regularisation: weight decay 0.001, dropout 0.25" <<< "$output"
    grep -qx "decision:       'other' when ln(p(other)/p(lucy)) > 0 (the more probable class)" <<< "$output"
    # the unknown test keeps the training and validation photos (120 + 40)
    grep -qE "^unknown test:   k=5 nearest of 160 stored training photos, cut 0\.[0-9]{4} \(rejects 5% of them\)$" <<< "$output"
    grep -qx "  epochs_run=3" <<< "$output"
    grep -qx "  val_records=40" <<< "$output"
    grep -qx "  backbone=test-backbone" <<< "$output"

    fb-info --json deep.bin > deep.json
    [ "$(json deep.json 'j["kind"], j["version"], j["bytes"] == '$bytes', j["classes"]')" = "head 3 True ['lucy', 'other']" ]
    [ "$(json deep.json 'j["input_dim"], j["architecture"]["spec"], j["architecture"]["hidden"], j["architecture"]["parameters"]')" = "16 8,4 [8, 4] 206" ]
    [ "$(json deep.json '[(l["in"], l["out"], l["activation"], l.get("dropout")) for l in j["architecture"]["layers"]]')" = \
      "[(16, 8, 'relu', 0.25), (8, 4, 'relu', 0.25), (4, 2, 'softmax', None)]" ]
    [ "$(json deep.json 'j["normalisation"], j["regularisation"], j["threshold"]')" = \
      "sqrt,l2 {'weight_decay': 0.001, 'dropout': 0.25} 0.0" ]
    [ "$(json deep.json 'j["unknown"]["k"], j["unknown"]["points"], j["unknown"]["rate"], 0 < j["unknown"]["cut"] < 2')" = "5 160 0.05 True" ]
    [ "$(json deep.json 'j["training"]["optimizer"], j["training"]["epochs_run"], j["provenance"]["backbone"]')" = "adam 3 test-backbone" ]
    # the cut in the text is the JSON's, to four places
    cut=$(json deep.json '"%.4f" % j["unknown"]["cut"]')
    grep -q "cut $cut (rejects" <<< "$output"
}

@test "a solved linear head: C, how it was chosen, the threshold; no unknown test" {
    fb-train -q --C 2 --threshold val --no-reject -v val.fbt -o lin.bin < train.fbt
    run fb-info lin.bin
    [ "$status" -eq 0 ]
    grep -qx "architecture:   linear (no hidden layer, 34 parameters)" <<< "$output"
    grep -qx "  dense 16 -> 2, softmax" <<< "$output"
    grep -qx "normalisation:  l2" <<< "$output"
    grep -qx "regularisation: L2, C=2 (given)" <<< "$output"
    grep -qx "unknown test:   none stored (fb-predict never answers 'unknown')" <<< "$output"
    # the threshold chosen on the validation stream, as the notes record it
    t=$(grep -oP '^  threshold=\K.*' <<< "$output")
    [ -n "$t" ]
    grep -qF "decision:       'other' when ln(p(other)/p(lucy)) > $(printf '%g' "$t")" <<< "$output"
    fb-info --json lin.bin > lin.json
    [ "$(json lin.json 'j["architecture"]["hidden"], j["architecture"]["layers"], j["regularisation"], j["unknown"]')" = \
      "[] [{'type': 'dense', 'in': 16, 'out': 2, 'activation': 'softmax'}] {'C': 2.0, 'C_from': 'given'} None" ]
    [ "$(json lin.json '"%g" % j["threshold"]')" = "$(printf '%g' "$t")" ]
}

@test "head or stream is told by the magic: from a file, from stdin, in one call" {
    fb-train -q -o lin.bin < train.fbt
    cp lin.bin no-extension
    run fb-info no-extension
    [ "$status" -eq 0 ]
    grep -q "^head:           no-extension (head.bin version 3" <<< "$output"
    run fb-info < lin.bin
    [ "$status" -eq 0 ]
    grep -q "^head:           stdin" <<< "$output"
    run fb-info train.fbt lin.bin
    [ "$status" -eq 0 ]
    grep -qx "stream:     train.fbt" <<< "$output"
    grep -q "^head:           lin.bin" <<< "$output"
    # --json describes a stream too
    fb-info --json train.fbt > s.json
    [ "$(json s.json 'j["kind"], j["records"], j["dtype"], j["dims"], [(c["name"], c["records"]) for c in j["classes"]], j["provenance"]')" = \
      "stream 120 float32 [16] [('lucy', 60), ('other', 60)] {'backbone': 'test-backbone'}" ]
}

@test "a damaged head or a head given to -r or -c: named, exit 1" {
    fb-train -q -o lin.bin < train.fbt
    head -c 100 lin.bin > cut.bin
    run fb-info cut.bin
    [ "$status" -eq 1 ]
    grep -q "fb-info: cut.bin: .*truncated or damaged" <<< "$output"
    run fb-info -c lin.bin
    [ "$status" -eq 1 ]
    grep -q "fb-info: lin.bin: a head (head.bin), not a stream" <<< "$output"
    run fb-info --json -r train.fbt
    [ "$status" -eq 2 ]
}
