#!/usr/bin/env node
// Prints what an ONNX file says about itself, read with a protobuf decoder of
// its own (independent of fb's writer): one line per fact, TAB-separated,
// newlines in values shown as \n.
//   ir_version  8
//   opset       13
//   producer    fb
//   meta        KEY  VALUE        (one per metadata_props entry)
//   input       NAME              (graph inputs, then outputs)
//   output      NAME
//   nodes       COUNT             (and one "op OPTYPE COUNT" per operator)
//   initializers COUNT
'use strict';
const fs = require('fs');

// Top-level fields of a message: [{field, wire, value}] (value: Number or Buffer).
function fields(buf) {
    const out = [];
    let i = 0;
    const varint = () => {
        let v = 0n, shift = 0n;
        for (;;) {
            if (i >= buf.length) throw new Error('truncated varint');
            const b = buf[i++];
            v |= BigInt(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
            shift += 7n;
        }
    };
    while (i < buf.length) {
        const key = varint(), field = Number(key >> 3n), wire = Number(key & 7n);
        let value;
        if (wire === 0) value = Number(BigInt.asIntN(64, varint()));
        else if (wire === 2) {
            const n = Number(varint());
            if (i + n > buf.length) throw new Error(`field ${field}: length ${n} past the end`);
            value = buf.subarray(i, i + n);
            i += n;
        } else if (wire === 5) { value = buf.readFloatLE(i); i += 4; }
        else if (wire === 1) { value = buf.readDoubleLE(i); i += 8; }
        else throw new Error(`wire type ${wire}`);
        out.push({field, wire, value});
    }
    return out;
}
const str = v => v.toString('utf8').replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
const get = (msg, f) => (msg.find(x => x.field === f) || {}).value;

const model = fields(fs.readFileSync(process.argv[2]));
console.log(`ir_version\t${get(model, 1)}`);
for (const o of model.filter(x => x.field === 8)) console.log(`opset\t${get(fields(o.value), 2)}`);
console.log(`producer\t${str(get(model, 2))}`);
for (const m of model.filter(x => x.field === 14)) {
    const kv = fields(m.value);
    console.log(`meta\t${str(get(kv, 1))}\t${str(get(kv, 2))}`);
}
const graph = fields(get(model, 7));
for (const [f, what] of [[11, 'input'], [12, 'output']])
    for (const v of graph.filter(x => x.field === f)) console.log(`${what}\t${str(get(fields(v.value), 1))}`);
const nodes = graph.filter(x => x.field === 1), ops = {};
for (const n of nodes) { const op = str(get(fields(n.value), 4)); ops[op] = (ops[op] || 0) + 1; }
console.log(`nodes\t${nodes.length}`);
for (const op of Object.keys(ops).sort()) console.log(`op\t${op}\t${ops[op]}`);
console.log(`initializers\t${graph.filter(x => x.field === 5).length}`);
