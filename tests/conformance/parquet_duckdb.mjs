// DuckDB side of tests/conformance/test_parquet_duckdb.sh (npm @duckdb/node-api, the oracle).
//   node parquet_duckdb.mjs NODE_MODULES gen DIR        DuckDB writes DIR/duck_*.parquet with
//                                                       every codec, several row groups,
//                                                       dictionaries, nulls, timestamps (ms, us),
//                                                       pages v1 and v2; prints the paths
//   node parquet_duckdb.mjs NODE_MODULES dump FILE...   prints each FILE as DuckDB reads it to
//                                                       FILE.duckdb.txt
//   node parquet_duckdb.mjs NODE_MODULES statscheck FILE GROUP   checks the footer statistics
//                                                       of a file with row groups of GROUP rows
// The canonical text is the one tests/conformance/parquet_dump.c prints: a header of
// "name:TYPE" ("?" when the column is OPTIONAL in the file), then tab-separated rows: null,
// true/false, integers in decimal, FLOAT/DOUBLE as the hex bits of the value as a double,
// timestamps as microseconds since the epoch, strings as JSON.stringify writes them.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const [modules, cmd, ...args] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
const { DuckDBInstance } = require('@duckdb/node-api');

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run('SET threads = 1');

const q = (s) => "'" + s.replaceAll("'", "''") + "'";

const DATA = `
SELECT
  CASE WHEN range % 7 = 3 THEN NULL ELSE range % 3 = 0 END AS b,
  CASE WHEN range % 11 = 5 THEN NULL ELSE (range * 7919 % 2000003 - 1000000)::INTEGER END AS i32,
  (range * 1000003 - 5000000000)::BIGINT AS i64,
  CASE WHEN range % 13 = 0 THEN NULL ELSE (range / 7.0)::FLOAT END AS f32,
  sin(range) * 1e6 AS f64,
  CASE WHEN range % 4 = 0 THEN NULL
       ELSE ['alpha', 'beta', '', 'quote " \\ x', 'tab' || chr(9) || 'nl' || chr(10),
             'é ü € 日本 🙂'][range % 6 + 1] END AS s_dict,
  md5(range::VARCHAR) || CASE WHEN range % 2 = 0 THEN 'x' ELSE '' END AS s_plain,
  make_timestamp(1700000000000000 + range * 12345) AS ts_us,
  CASE WHEN range % 9 = 0 THEN NULL
       ELSE make_timestamp(-86400000000 + range * 3600000)::TIMESTAMP_MS END AS ts_ms,
  NULL::INTEGER AS all_null,
  42::BIGINT AS constant,
  (range % 5)::DOUBLE AS f64_dict
FROM range(10000)`;

async function gen(dir) {
  const variants = [
    ['uncompressed', 'v1'], ['snappy', 'v1'], ['zstd', 'v1'], ['gzip', 'v1'],
    ['snappy', 'v2'], ['zstd', 'v2'], ['uncompressed', 'v2'],
  ];
  for (const [codec, version] of variants) {
    const file = path.join(dir, `duck_${codec}_${version}.parquet`);
    await con.run(`COPY (${DATA}) TO ${q(file)} (FORMAT parquet, CODEC '${codec}', ` +
                  `ROW_GROUP_SIZE 2048, PARQUET_VERSION ${version})`);
    console.log(file);
  }
}

function hexDouble(x) {
  if (Number.isNaN(x)) return 'nan';
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
}

async function dump(file) {
  const desc = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${q(file)})`))
    .getRows();
  const ps = (await con.runAndReadAll(
    `SELECT name, repetition_type, converted_type, logical_type::VARCHAR
     FROM parquet_schema(${q(file)})`)).getRows();
  const info = new Map(ps.map((r) => [r[0], r]));
  const header = [], exprs = [], kinds = [];
  for (const [name, type] of desc) {
    const [, rep, conv, logical] = info.get(name);
    const id = '"' + name.replaceAll('"', '""') + '"';
    let t;
    if (type === 'BOOLEAN') t = 'BOOL';
    else if (type === 'INTEGER') t = 'INT32';
    else if (type === 'BIGINT') t = 'INT64';
    else if (type === 'FLOAT') t = 'FLOAT';
    else if (type === 'DOUBLE') t = 'DOUBLE';
    else if (type === 'VARCHAR') t = 'STRING';
    else if (type.startsWith('TIMESTAMP')) {
      const ms = conv === 'TIMESTAMP_MILLIS' || /MILLIS=MilliSeconds/.test(logical || '');
      t = ms ? 'TIMESTAMP_MS' : 'TIMESTAMP_US';
    } else t = 'UNSUPPORTED_' + type;
    header.push(`${name}:${t}${rep === 'OPTIONAL' ? '?' : ''}`);
    kinds.push(t);
    if (t === 'FLOAT' || t === 'DOUBLE') exprs.push(`CAST(${id} AS DOUBLE)`);
    else if (t.startsWith('TIMESTAMP')) exprs.push(`epoch_us(${id})`);
    else exprs.push(id);
  }
  const rows = (await con.runAndReadAll(
    `SELECT ${exprs.join(', ')} FROM read_parquet(${q(file)})`)).getRows();
  const out = [header.join('\t')];
  for (const row of rows) {
    out.push(row.map((v, i) => {
      if (v === null) return 'null';
      const k = kinds[i];
      if (k === 'BOOL') return v ? 'true' : 'false';
      if (k === 'FLOAT' || k === 'DOUBLE') return hexDouble(v);
      if (k === 'STRING') return JSON.stringify(v);
      return String(v);
    }).join('\t'));
  }
  writeFileSync(file + '.duckdb.txt', out.join('\n') + '\n');
}

// Statistics of FILE (row groups of GROUP rows) as DuckDB reads them from the footer
// (parquet_metadata) against what DuckDB computes from the data of each row group: null
// counts for every column, min/max wherever the footer has them, which must be everywhere
// for BOOLEAN, integer and string columns with a non-null value. Prints the mismatches and
// exits 1 when there is one.
async function statscheck(file, group) {
  await con.run("SET TimeZone = 'UTC'");
  const meta = (await con.runAndReadAll(
    `SELECT row_group_id, path_in_schema, stats_null_count, stats_min_value, stats_max_value
     FROM parquet_metadata(${q(file)}) ORDER BY row_group_id, column_id`)).getRows();
  const desc = new Map((await con.runAndReadAll(
    `DESCRIBE SELECT * FROM read_parquet(${q(file)})`)).getRows().map((r) => [r[0], r[1]]));
  let bad = 0, checked = 0;
  const actual = new Map();
  for (const name of desc.keys()) {
    const id = '"' + name.replaceAll('"', '""') + '"';
    const rows = (await con.runAndReadAll(
      `SELECT file_row_number // ${group}, count(*) - count(${id}), min(${id})::VARCHAR,
              max(${id})::VARCHAR
       FROM read_parquet(${q(file)}, file_row_number = true) GROUP BY 1 ORDER BY 1`)).getRows();
    for (const r of rows) actual.set(`${r[0]}/${name}`, r.slice(1));
  }
  for (const [rg, name, nulls, mn, mx] of meta) {
    const a = actual.get(`${rg}/${name}`);
    const type = desc.get(name);
    const must = ['BOOLEAN', 'INTEGER', 'BIGINT', 'VARCHAR'].includes(type) && a[1] !== null;
    const problems = [];
    if (String(nulls) !== String(a[0])) problems.push(`null_count ${nulls} vs ${a[0]}`);
    if (mn !== null && mn !== a[1]) problems.push(`min ${mn} vs ${a[1]}`);
    if (mx !== null && mx !== a[2]) problems.push(`max ${mx} vs ${a[2]}`);
    if (must && (mn === null || mx === null)) problems.push('no min/max');
    if (problems.length) {
      console.log(`${file}: row group ${rg} column ${name}: ${problems.join(', ')}`);
      bad++;
    }
    checked++;
  }
  if (bad || checked === 0) process.exit(1);
}

if (cmd === 'gen') await gen(args[0]);
else if (cmd === 'statscheck') await statscheck(args[0], Number(args[1]));
else if (cmd === 'dump') for (const f of args) await dump(f);
else {
  console.error('usage: parquet_duckdb.mjs NODE_MODULES gen DIR | dump FILE...');
  process.exit(2);
}
