#!/usr/bin/env node
// Runs an ONNX model exported by fb-export in ONNX Runtime (onnxruntime-node)
// and compares its output with fb's own, record by record.
//
//   node export-ort.js MODEL.onnx INPUTS.u8 N EXPECTED.f32 [BATCH]
//
// INPUTS.u8: N raw uint8 images 224x224x3 RGB (as ../shared/reference/inputs.u8).
// EXPECTED: what fb computed, N x WIDTH (WIDTH from the model's output):
// raw float32 (.f32), a NumPy .npy of float32 (fb-export --npy), or the TSV
// of fb-predict --all (.tsv: the last WIDTH columns of each line).  Prints one line:
//   ort records=N width=W maxdiff=D top1_agree=K classes=JSON-or-none
// and exits 0; exit 1 on a failure to run.  The test decides what is close.
// onnxruntime-node is found through NODE_PATH (scripts/setup-deps installs it
// into ~/.cache/fb/ort).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
    const [modelPath, inputsPath, nArg, expectedPath, batchArg] = process.argv.slice(2);
    if (!expectedPath) {
        console.error('usage: export-ort.js MODEL.onnx INPUTS.u8 N EXPECTED.f32 [BATCH]');
        process.exit(2);
    }
    const n = parseInt(nArg, 10), batch = parseInt(batchArg || '8', 10);
    const side = 224, imageBytes = side * side * 3;
    const inputs = fs.readFileSync(inputsPath);
    if (inputs.length < n * imageBytes) throw new Error(`${inputsPath}: fewer than ${n} images`);
    const expectedBuf = fs.readFileSync(expectedPath);
    let expected = null, expectedTsv = null;
    if (expectedPath.endsWith('.tsv')) {
        expectedTsv = expectedBuf.toString('utf8').split('\n').filter(l => l && !l.startsWith('id\t'))
            .map(l => l.split('\t'));
    } else {
        let offset = 0;
        if (expectedPath.endsWith('.npy')) {   // version 1.0 header: u16 length at byte 8
            if (expectedBuf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${expectedPath}: not .npy`);
            offset = 10 + expectedBuf.readUInt16LE(8);
        }
        const bytes = expectedBuf.subarray(offset);
        expected = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    }
    const session = await ort.InferenceSession.create(modelPath, {intraOpNumThreads: 2});
    const inputName = session.inputNames[0], outputName = session.outputNames[0];
    let width = 0, maxdiff = 0, agree = 0;
    for (let start = 0; start < n; start += batch) {
        const b = Math.min(batch, n - start);
        const pixels = new Uint8Array(inputs.buffer, inputs.byteOffset + start * imageBytes, b * imageBytes);
        const feeds = {[inputName]: new ort.Tensor('uint8', pixels, [b, side, side, 3])};
        const out = (await session.run(feeds))[outputName];
        width = out.dims[1];
        if (expectedTsv) {
            if (expectedTsv.length !== n) throw new Error(`${expectedPath}: ${expectedTsv.length} lines, expected ${n}`);
            expected = new Float32Array(n * width);
            expectedTsv.forEach((f, r) => f.slice(-width).forEach((v, k) => { expected[r * width + k] = parseFloat(v); }));
            expectedTsv = null;
        }
        if (expected.length !== n * width)
            throw new Error(`${expectedPath}: ${expected.length} floats, expected ${n} x ${width}`);
        for (let i = 0; i < b; i++) {
            let argA = 0, argB = 0;
            for (let k = 0; k < width; k++) {
                const a = out.data[i * width + k], e = expected[(start + i) * width + k];
                const d = Math.abs(a - e);
                if (!(d <= maxdiff)) maxdiff = d;   // NaN counts as worst
                if (a > out.data[i * width + argA]) argA = k;
                if (e > expected[(start + i) * width + argB]) argB = k;
            }
            if (argA === argB) agree++;
        }
    }
    console.log(`ort records=${n} width=${width} maxdiff=${maxdiff} top1_agree=${agree} output=${outputName}`);
}

main().catch(e => { console.error(`export-ort: ${e.message || e}`); process.exit(1); });
