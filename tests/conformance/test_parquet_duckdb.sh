#!/bin/bash
# Oracle test: our Parquet reader and writer against DuckDB (npm @duckdb/node-api, installed
# here into $MMSP_BUILD_DIR/node-duckdb on first use; the native library ships in the npm
# package). Both directions, compared as canonical text (see parquet_dump.c):
#   1. DuckDB writes files (every codec, PARQUET_VERSION v1 and v2, several row groups,
#      dictionaries, nulls, timestamps in ms and us, delta and byte-stream-split encodings in
#      v2; DuckDB 1.5 writes v1 page headers even then); what our reader reads must equal what
#      DuckDB reads from the same file.
#   2. We write files (every type, nulls, every codec x page version x dictionary); what DuckDB
#      reads (values, nulls, types, nullability) must equal what we wrote, and the footer
#      statistics DuckDB decodes (null counts, min/max) must match the data of each row group.
# Needs node and npm (npm only for the first install); exits 77 (skipped) when the package
# cannot be installed (offline).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${MMSP_BUILD_DIR:?MMSP_BUILD_DIR must point at the build tree}
dump=$build/tests/conformance_parquet_dump
cache=$build/node-duckdb
work=$(mktemp -d "${TMPDIR:-/tmp}/mmsp-parquet-duckdb.XXXXXX")
trap 'rm -rf "$work"' EXIT

[ -x "$dump" ] || { echo "missing $dump (build the tests first)" >&2; exit 1; }
if [ ! -f "$cache/node_modules/@duckdb/node-api/package.json" ]; then
    mkdir -p "$cache"
    if ! npm install --silent --no-audit --no-fund --prefix "$cache" @duckdb/node-api@1.5.6-r.1 >&2; then
        echo "skipped: cannot install @duckdb/node-api (offline?)" >&2
        exit 77
    fi
fi
duck() { node "$here/parquet_duckdb.mjs" "$cache/node_modules" "$@"; }

fail=0
mkdir "$work/duck" "$work/ours"

# 1. DuckDB writes, we read
duck gen "$work/duck" > "$work/duck.list"
n=0
while read -r f; do
    duck dump "$f"
    if ! "$dump" read "$f" > "$f.ours.txt"; then
        echo "FAIL: our reader refused $(basename "$f")" >&2
        fail=1
        continue
    fi
    if ! diff -q "$f.duckdb.txt" "$f.ours.txt" > /dev/null; then
        echo "FAIL: $(basename "$f"): our reader differs from DuckDB:" >&2
        diff "$f.duckdb.txt" "$f.ours.txt" | head -5 >&2
        fail=1
    fi
    n=$((n + 1))
done < "$work/duck.list"
[ "$n" -ge 7 ] || { echo "FAIL: DuckDB wrote only $n files" >&2; fail=1; }
# the files must hold what the test claims to cover (a silent change in DuckDB's writer would
# otherwise make the test weaker without notice)
rows=$(wc -l < "$work/duck/duck_snappy_v1.parquet.ours.txt")
[ "$rows" -eq 10001 ] || { echo "FAIL: expected 10000 rows, got $((rows - 1))" >&2; fail=1; }
echo "direction 1: $n DuckDB files read exactly"

# 2. we write, DuckDB reads
"$dump" write "$work/ours" > "$work/ours.list"
n=0
while read -r f; do
    duck dump "$f"
    duck statscheck "$f" 1000 || { echo "FAIL: $(basename "$f"): statistics" >&2; fail=1; }
    # the page kind the file name promises (DuckDB reading v2 data pages is the check of ours)
    case $f in
    *_v2_*) want=data_v2 ;;
    *) want=data_v1 ;;
    esac
    [ "$("$dump" pages "$f" | awk -v k=$want '$1 == k { print $2 }')" -gt 0 ] ||
        { echo "FAIL: $(basename "$f") has no $want pages" >&2; fail=1; }
    if ! diff -q "$f.expected" "$f.duckdb.txt" > /dev/null; then
        echo "FAIL: $(basename "$f"): DuckDB reads something else than we wrote:" >&2
        diff "$f.expected" "$f.duckdb.txt" | head -5 >&2
        fail=1
    fi
    n=$((n + 1))
done < "$work/ours.list"
[ "$n" -eq 16 ] || { echo "FAIL: wrote $n files, expected 16" >&2; fail=1; }
echo "direction 2: $n of our files read by DuckDB exactly"
exit $fail
