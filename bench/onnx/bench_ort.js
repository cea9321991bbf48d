// The ONNX Runtime side of bench/onnx/run (figures, not a test): for every line
// "name model input rows cols" of DIR/cases.txt, creates an onnxruntime-node session on
// DIR/model (intraOpNumThreads 1, interOpNumThreads 1, executionMode 'sequential',
// graphOptimizationLevel 'all'), builds the input tensor once from DIR/input (rows x cols
// float32), warms up, then times SAMPLES samples of enough back-to-back `await session.run`
// calls to last >= 5 ms each (only the run calls are inside the timed loop), and prints the
// median wall-clock ns per run and rows/s, in the format of bench_onnx.c:
//     RESULT name rows ns_per_run rows_per_s
// The first output of the last run goes to DIR/name.ort.out.bin (float32).
// Usage: node bench_ort.js NODE_MODULES_DIR DIR
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.resolve(process.argv[2], 'onnxruntime-node'));
const dir = process.argv[3];

const SAMPLES = 31;
const SAMPLE_NS = 5e6;
const WARMUP_NS = 3e8;
const now = () => Number(process.hrtime.bigint());

(async () => {
  const cases = fs.readFileSync(path.join(dir, 'cases.txt'), 'utf8').split('\n')
      .map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 5);
  for (const [name, model, input, rowsS, colsS] of cases) {
    const rows = Number(rowsS);
    const cols = Number(colsS);
    const sess = await ort.InferenceSession.create(path.join(dir, model), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const buf = fs.readFileSync(path.join(dir, input));
    if (buf.length !== rows * cols * 4) throw new Error(`${input}: not ${rows} x ${cols} float32`);
    const x = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    const feeds = {[sess.inputNames[0]]: new ort.Tensor('float32', x, [rows, cols])};
    const fetch = sess.outputNames[0];

    let res;
    let iters = 0;
    const t0 = now();
    let t = t0;
    while (t - t0 < WARMUP_NS) {
      res = await sess.run(feeds);
      iters++;
      t = now();
    }
    const perSample = Math.floor(SAMPLE_NS / ((t - t0) / iters)) + 1;
    const ns = [];
    for (let s = 0; s < SAMPLES; s++) {
      const w0 = now();
      for (let i = 0; i < perSample; i++) res = await sess.run(feeds);
      ns.push((now() - w0) / perSample);
    }
    ns.sort((a, b) => a - b);
    const med = ns[Math.floor(SAMPLES / 2)];
    console.log(`RESULT ${name} ${rows} ${med.toFixed(1)} ${(rows * 1e9 / med).toFixed(0)}`);
    const out = res[fetch].data;
    fs.writeFileSync(path.join(dir, `${name}.ort.out.bin`),
        Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    await sess.release();
  }
})().catch((e) => {
  console.error('bench_ort.js: ' + e.message);
  process.exit(1);
});
