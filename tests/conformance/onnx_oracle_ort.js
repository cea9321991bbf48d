// The ONNX Runtime side of test_onnxruntime_oracle.sh: for every model in DIR/manifest.json,
// runs DIR/<ort_model> on DIR/<name>.in.bin (rows x cols float32) with onnxruntime-node and
// writes the fetched outputs to DIR/<name>.ort.json as {output: {type, dims, data}}.
// Usage: node onnx_oracle_ort.js NODE_MODULES_DIR DIR
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(process.argv[2], 'onnxruntime-node'));
const dir = process.argv[3];

(async () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  for (const m of manifest) {
    const buf = fs.readFileSync(path.join(dir, m.name + '.in.bin'));
    const x = new Float32Array(buf.buffer, buf.byteOffset, m.rows * m.cols);
    const sess = await ort.InferenceSession.create(path.join(dir, m.ort_model),
                                                   {intraOpNumThreads: 1});
    const feeds = {};
    feeds[sess.inputNames[0]] = new ort.Tensor('float32', Float32Array.from(x), [m.rows, m.cols]);
    const res = await sess.run(feeds, m.fetch);
    const out = {};
    for (const k of m.fetch) {
      const t = res[k];
      out[k] = {type: t.type, dims: t.dims.map(Number),
                data: Array.from(t.data, (v) => (typeof v === 'bigint' ? Number(v) : v))};
    }
    fs.writeFileSync(path.join(dir, m.name + '.ort.json'), JSON.stringify(out));
  }
})().catch((e) => {
  console.error('onnx_oracle_ort.js: ' + e.message);
  process.exit(1);
});
