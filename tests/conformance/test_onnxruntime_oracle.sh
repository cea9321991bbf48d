#!/bin/bash
# Oracle test: ai.onnx.ml models (and an MLP) built by onnx_oracle.py with onnx.helper from
# sklearn fits, run by ONNX Runtime (npm onnxruntime-node, installed here into
# $MMSP_BUILD_DIR/node-oracle with ONNXRUNTIME_NODE_INSTALL=skip: the native binary ships in the
# npm package) and by our runtime (test_onnx_ml_run), compared by onnx_oracle.py compare
# (rtol 1e-4, atol 1e-5, labels exact; the documented ONNX Runtime / spec deviation is in
# onnx_oracle.py's docstring). Needs /usr/bin/python3 with python3-onnx and python3-sklearn,
# node and npm (npm only for the first install).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${MMSP_BUILD_DIR:?MMSP_BUILD_DIR must point at the build tree}
runner=$build/tests/conformance_test_onnx_ml_run
cache=$build/node-oracle
work=$(mktemp -d "${TMPDIR:-/tmp}/mmsp-ort-oracle.XXXXXX")
trap 'rm -rf "$work"' EXIT

[ -x "$runner" ] || { echo "missing $runner (build the tests first)" >&2; exit 1; }
if [ ! -f "$cache/node_modules/onnxruntime-node/package.json" ]; then
    mkdir -p "$cache"
    ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund \
        --prefix "$cache" onnxruntime-node@1.30.0 >&2
fi

/usr/bin/python3 "$here/onnx_oracle.py" build "$work"
node "$here/onnx_oracle_ort.js" "$cache/node_modules" "$work"
/usr/bin/python3 - "$work" <<'PY' > "$work/runs.txt"
import json, sys
for m in json.load(open(sys.argv[1] + "/manifest.json")):
    print(m["name"], m["rows"], m["cols"])
PY
while read -r name rows cols; do
    "$runner" "$work/$name.onnx" "$work/$name.in.bin" "$rows" "$cols" "$work/$name.ours.txt"
done < "$work/runs.txt"
/usr/bin/python3 "$here/onnx_oracle.py" compare "$work"
