#!/usr/bin/env node
// The ONNX Runtime side of scripts/ort-yardstick: runs an exported fb model
// on N images in batches and prints one line,
//   ort images_per_s=R batch=B threads=T images=N warmup=W spin=S
// where R counts only the batches after the first W images (start-up, model
// loading and the first runs' allocations excluded).
//   node ort-yardstick.js MODEL.onnx IMAGES N BATCH THREADS [SPIN]
// SPIN 1 (default): ONNX Runtime's own default, its intra-op threads spin
// while they wait for work; 0: they sleep (session.intra_op.allow_spinning),
// which on a machine shared with other work can be the faster of the two.
// IMAGES: raw uint8 224x224x3 images (.u8) or a NumPy uint8 array (.npy, as
// fb-export --npy writes); repeated in order when it holds fewer than N.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
    const [model, imagesPath, nArg, batchArg, threadsArg, spinArg] = process.argv.slice(2);
    const spin = spinArg === '0' ? '0' : '1';
    const n = parseInt(nArg, 10), batch = parseInt(batchArg, 10), threads = parseInt(threadsArg, 10);
    const imageBytes = 224 * 224 * 3;
    let raw = fs.readFileSync(imagesPath);
    if (imagesPath.endsWith('.npy')) raw = raw.subarray(10 + raw.readUInt16LE(8));
    const have = Math.floor(raw.length / imageBytes);
    if (have < 1) throw new Error(`${imagesPath}: no 224x224x3 image in it`);
    const images = new Uint8Array(n * imageBytes);
    for (let i = 0; i < n; i++)
        images.set(raw.subarray((i % have) * imageBytes, (i % have + 1) * imageBytes), i * imageBytes);
    const session = await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: 'all', extra: {session: {intra_op: {allow_spinning: spin}}}});
    const input = session.inputNames[0];
    const warmup = Math.min(batch, n);       // the first batch: not counted
    let timed = 0, t0 = 0;
    for (let start = 0; start < n; start += batch) {
        if (start >= warmup && t0 === 0) t0 = performance.now();
        const b = Math.min(batch, n - start);
        const pixels = images.subarray(start * imageBytes, (start + b) * imageBytes);
        await session.run({[input]: new ort.Tensor('uint8', pixels, [b, 224, 224, 3])});
        if (start >= warmup) timed += b;
    }
    const seconds = (performance.now() - t0) / 1000;
    const rate = timed > 0 ? (timed / seconds).toFixed(2) : 'nan';
    console.log(`ort images_per_s=${rate} batch=${batch} threads=${threads} images=${n} warmup=${warmup} spin=${spin}`);
}

main().catch(e => { console.error(`ort-yardstick: ${e.message || e}`); process.exit(1); });
