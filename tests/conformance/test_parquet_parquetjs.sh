#!/bin/bash
# Oracle test: our Parquet reader on files written by parquetjs (npm @dsnp/parquetjs, a second
# independent implementation, installed here into $MMSP_BUILD_DIR/node-parquetjs on first use).
# Its point is DATA PAGE V2: DuckDB 1.5 writes v1 page headers even for its v2 files, so
# test_parquet_duckdb.sh checks our v2 page reader only on our own files; parquetjs writes real
# v2 pages (definition levels outside the compressed data, is_compressed, num_nulls).
# parquet_parquetjs.mjs writes every type (nullable and required, with nulls and edge values)
# with UNCOMPRESSED, SNAPPY and GZIP, v2 and v1 pages, several pages and row groups, and the
# canonical text of what it wrote (from memory); what our reader reads must equal it exactly,
# and each file must hold the page kind its name promises.
# Needs node and npm (npm only for the first install); exits 77 (skipped) when the package
# cannot be installed (offline).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${MMSP_BUILD_DIR:?MMSP_BUILD_DIR must point at the build tree}
dump=$build/tests/conformance_parquet_dump
cache=$build/node-parquetjs
work=$(mktemp -d "${TMPDIR:-/tmp}/mmsp-parquetjs.XXXXXX")
trap 'rm -rf "$work"' EXIT

[ -x "$dump" ] || { echo "missing $dump (build the tests first)" >&2; exit 1; }
if [ ! -f "$cache/node_modules/@dsnp/parquetjs/dist/parquet.js" ]; then
    mkdir -p "$cache"
    # 1.8.6: the newest release whose package ships dist/ and runs on Debian's node 20
    if ! npm install --silent --no-audit --no-fund --prefix "$cache" @dsnp/parquetjs@1.8.6 >&2; then
        echo "skipped: cannot install @dsnp/parquetjs (offline?)" >&2
        exit 77
    fi
fi

node "$here/parquet_parquetjs.mjs" "$cache/node_modules" gen "$work" > "$work/list"
fail=0 n=0 v2=0
while read -r f; do
    case $f in
    *_v2.parquet) want=data_v2 ;;
    *) want=data_v1 ;;
    esac
    pages=$("$dump" pages "$f" | awk -v k=$want '$1 == k { print $2 }')
    if [ "${pages:-0}" -le 1 ]; then
        echo "FAIL: $(basename "$f") has ${pages:-0} $want pages (expected several)" >&2
        fail=1
    fi
    [ $want = data_v2 ] && v2=$((v2 + 1))
    if ! "$dump" read "$f" > "$f.ours.txt"; then
        echo "FAIL: our reader refused $(basename "$f")" >&2
        fail=1
        continue
    fi
    if ! diff -q "$f.expected" "$f.ours.txt" > /dev/null; then
        echo "FAIL: $(basename "$f"): our reader differs from what parquetjs wrote:" >&2
        diff "$f.expected" "$f.ours.txt" | head -5 >&2
        fail=1
    fi
    n=$((n + 1))
done < "$work/list"
[ "$n" -eq 6 ] && [ "$v2" -eq 3 ] || { echo "FAIL: read $n files ($v2 with v2 pages), expected 6 (3)" >&2; fail=1; }
rows=$(wc -l < "$(head -1 "$work/list").ours.txt")
[ "$rows" -eq 2501 ] || { echo "FAIL: expected 2500 rows, got $((rows - 1))" >&2; fail=1; }
[ $fail -eq 0 ] && echo "ok: $n parquetjs files ($v2 with DATA PAGE V2) read exactly"
exit $fail
