// Helper of tests/conformance/test_parquet_parquetjs.sh: files written by an independent Parquet
// implementation, parquetjs (npm @dsnp/parquetjs), with DATA PAGE V2 headers, which DuckDB does
// not write. Usage: node parquet_parquetjs.mjs NODE_MODULES gen DIR
// For each codec (UNCOMPRESSED, SNAPPY, GZIP) and page version (v2, and v1 for comparison) it
// writes DIR/pqjs_<codec>_<v>.parquet (2500 rows, row groups of 1000, pages of 300 rows; every
// type our reader supports, nullable and required, nulls, edge values) and next to it
// <file>.expected: the canonical text of tests/conformance/parquet_dump.c, made from the values
// in memory (not read back). Prints the file names.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const [modules, cmd, dir] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'x.js'));
const parquet = require('@dsnp/parquetjs');

function hexDouble(x) {
  if (Number.isNaN(x)) return 'nan';
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
}

// A deterministic generator (xorshift32), so the files are the same on every run.
let seed = 2463534242;
function rnd() {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}

const columns = [
  ['flag', 'BOOLEAN', 'BOOL', true],
  ['count', 'INT32', 'INT32', true],
  ['id', 'INT64', 'INT64', false],
  ['score', 'FLOAT', 'FLOAT', true],
  ['amount', 'DOUBLE', 'DOUBLE', false],
  ['name', 'UTF8', 'STRING', true],
  ['t_ms', 'TIMESTAMP_MILLIS', 'TIMESTAMP_MS', true],
  ['t_us', 'TIMESTAMP_MICROS', 'TIMESTAMP_US', false],
];

function value(kind, r) {
  switch (kind) {
    case 'BOOL': return rnd() < 0.5;
    case 'INT32': return r === 1 ? -2147483648 : r === 2 ? 2147483647 : Math.floor(rnd() * 2e6) - 1e6;
    case 'INT64': return r === 1 ? -(2 ** 53) + 1 : r === 2 ? 2 ** 53 - 1 : Math.floor(rnd() * 1e12);
    case 'FLOAT': return r === 1 ? 0 : Math.fround((rnd() - 0.5) * 1e4);
    case 'DOUBLE': return r === 1 ? -0.5e-300 : r === 2 ? 1.7976931348623157e308 : (rnd() - 0.5) * 1e9;
    case 'STRING': return r === 1 ? '' : r === 2 ? 'ünïcödé "quoted" \\ tab\t' : 'v' + Math.floor(rnd() * 1e6);
    case 'TIMESTAMP_MS': return 1700000000000 + Math.floor(rnd() * 1e9);
    case 'TIMESTAMP_US': return 1700000000000000 + Math.floor(rnd() * 1e12);
  }
}

function canon(kind, v) {
  if (v === null) return 'null';
  if (kind === 'BOOL') return v ? 'true' : 'false';
  if (kind === 'FLOAT' || kind === 'DOUBLE') return hexDouble(v);
  if (kind === 'STRING') return JSON.stringify(v);
  if (kind === 'TIMESTAMP_MS') return String(v * 1000);
  return String(v);
}

async function gen(out) {
  const rows = [];
  for (let r = 0; r < 2500; r++) {
    const row = {};
    for (const [name, , kind, nullable] of columns)
      row[name] = nullable && r % 7 === 3 + (name.length % 3) ? null : value(kind, r);
    rows.push(row);
  }
  const header = columns.map(([name, , kind, nullable]) => `${name}:${kind}${nullable ? '?' : ''}`);
  const expected = [header.join('\t')].concat(
    rows.map((row) => columns.map(([name, , kind]) => canon(kind, row[name])).join('\t')));
  for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'GZIP']) {
    for (const v2 of [true, false]) {
      const spec = {};
      for (const [name, type, , nullable] of columns)
        spec[name] = { type, optional: nullable, compression: codec };
      const schema = new parquet.ParquetSchema(spec);
      const file = path.join(out, `pqjs_${codec.toLowerCase()}_${v2 ? 'v2' : 'v1'}.parquet`);
      const w = await parquet.ParquetWriter.openFile(schema, file,
        { useDataPageV2: v2, pageSize: 300, rowGroupSize: 1000 });
      w.setRowGroupSize(1000);
      for (const row of rows) {
        const o = {};
        for (const [name, , kind] of columns) {
          if (row[name] === null) continue; // absent = null
          o[name] = kind === 'TIMESTAMP_MS' ? new Date(row[name])
            : kind === 'INT64' || kind === 'TIMESTAMP_US' ? BigInt(row[name]) : row[name];
        }
        await w.appendRow(o);
      }
      await w.close();
      writeFileSync(file + '.expected', expected.join('\n') + '\n');
      console.log(file);
    }
  }
}

if (cmd === 'gen') await gen(dir);
else {
  console.error('usage: node parquet_parquetjs.mjs NODE_MODULES gen DIR');
  process.exit(2);
}
