// DuckDB side of bench/parquet/run (npm @duckdb/node-api):
//   node duckdb_scan.mjs NODE_MODULES scan FILE RUNS   one thread (SET threads = 1), every
//       column aggregated (sum of numbers / string lengths, count of non-nulls: the work
//       bench_parquet scan does); prints the best of RUNS as "rows_per_s N"
//   node duckdb_scan.mjs NODE_MODULES copy SRC DST     rewrites SRC with DuckDB's own writer
//       (SNAPPY, default row groups), so both readers are timed on both writers' files
import { createRequire } from 'node:module';
import path from 'node:path';

const [modules, cmd, a, b] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
const { DuckDBInstance } = require('@duckdb/node-api');
const con = await (await DuckDBInstance.create(':memory:')).connect();
await con.run('SET threads = 1');
const q = (s) => "'" + s.replaceAll("'", "''") + "'";

if (cmd === 'copy') {
  await con.run(`COPY (SELECT * FROM read_parquet(${q(a)})) TO ${q(b)} (FORMAT parquet, CODEC 'snappy')`);
} else if (cmd === 'scan') {
  const desc = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${q(a)})`)).getRows();
  const aggs = [];
  for (const [name, type] of desc) {
    const id = '"' + name.replaceAll('"', '""') + '"';
    if (type === 'VARCHAR') aggs.push(`sum(strlen(${id}))`);
    else if (type.startsWith('TIMESTAMP')) aggs.push(`sum(epoch_us(${id}))`);
    else if (type === 'BOOLEAN') aggs.push(`sum(${id}::INT)`);
    else aggs.push(`sum(${id})`);
    aggs.push(`count(${id})`);
  }
  const sql = `SELECT count(*), ${aggs.join(', ')} FROM read_parquet(${q(a)})`;
  const runs = Number(b || 5);
  let best = Infinity, rows = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = (await con.runAndReadAll(sql)).getRows();
    const t = (performance.now() - t0) / 1000;
    rows = Number(r[0][0]);
    if (t < best) best = t;
  }
  console.log(`rows ${rows}\nseconds ${best.toFixed(6)}\nrows_per_s ${Math.round(rows / best)}`);
} else {
  console.error('usage: duckdb_scan.mjs NODE_MODULES scan FILE RUNS | copy SRC DST');
  process.exit(2);
}
