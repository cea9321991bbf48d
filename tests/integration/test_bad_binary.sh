#!/bin/bash
# Triton binary tensor data extension (reference/protocols.md 1.7): a good binary request and a
# binary output decode to the JSON answer; every malformed binary request gets 400 with an
# {"error": ...} body and the server answers a good request after each.
source "$(dirname "$0")/lib.sh"
fixtures
start_server --model-repository "$FIXTURES"

INFER=/v2/models/binary/infer
OCT=(-H 'Content-Type: application/octet-stream')
echo "[[$GOOD_ROW]]" >"$WORK/row.json"

# JSON reference answer for the row.
req POST $INFER "$(good_body)"
expect_status 200 "JSON request"
REF=$(printf '%s' "$BODY" | jq '.outputs[0].data[0]')

# --- good binary input, JSON output ---
HLEN=$($PY "$V2TOOL" binary-body "$WORK/bin.body" "$WORK/row.json")
req POST $INFER @"$WORK/bin.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $HLEN"
expect_status 200 "binary input"
expect_json '.outputs[0].data[0]' "$REF"

# --- good binary input, binary output (per-output binary_data) ---
HLEN=$($PY "$V2TOOL" binary-body "$WORK/bin2.body" "$WORK/row.json" \
  '{"outputs":[{"name":"predict","parameters":{"binary_data":true}}]}')
req POST $INFER @"$WORK/bin2.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $HLEN"
expect_status 200 "binary input, binary output"
RH=$(printf '%s' "$HEADERS" | tr -d '\r' | grep -i '^Inference-Header-Content-Length:' | sed 's/^[^:]*: *//')
if [[ "$RH" =~ ^[0-9]+$ ]]; then pass; else fail "binary output: no Inference-Header-Content-Length response header; headers: $HEADERS"; fi
if DEC=$($PY "$V2TOOL" decode-binary "$WORK/body" "${RH:-0}"); then pass; else fail "binary output does not decode: $DEC"; fi
check_decoded() { # check_decoded WHAT
  if printf '%s' "$DEC" | jqe --argjson ref "$REF" \
    '.nbytes == 4 and (.floats[0] - $ref | fabs) < 1e-6 and
     .header.outputs[0].parameters.binary_data_size == 4 and
     (.header.outputs[0] | has("data") | not) and .header.outputs[0].shape == [1]' >/dev/null 2>&1; then
    pass
  else
    fail "$1: decoded $DEC, want one float = $REF with binary_data_size 4"
  fi
}
check_decoded "binary output (binary_data: true)"

# --- request-level binary_data_output, JSON input ---
req POST $INFER "$(good_body | sed 's/^{/{"parameters":{"binary_data_output":true},/')"
expect_status 200 "binary_data_output: true"
RH=$(printf '%s' "$HEADERS" | tr -d '\r' | grep -i '^Inference-Header-Content-Length:' | sed 's/^[^:]*: *//')
DEC=$($PY "$V2TOOL" decode-binary "$WORK/body" "${RH:-0}")
check_decoded "binary_data_output: true"
# A per-output binary_data false overrides the request default.
req POST $INFER "$(good_body | sed 's/^{/{"parameters":{"binary_data_output":true},"outputs":[{"name":"predict","parameters":{"binary_data":false}}],/')"
expect_status 200 "binary_data_output true, binary_data false"
expect_json '.outputs[0].data[0]' "$REF"

# --- a batch of 3 binary rows decodes to the JSON answers ---
$PY "$V2TOOL" rows 5 3 30 >"$WORK/rows3.json"
HLEN=$($PY "$V2TOOL" binary-body "$WORK/bin3.body" "$WORK/rows3.json" '{"parameters":{"binary_data_output":true}}')
req POST $INFER @"$WORK/bin3.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $HLEN"
expect_status 200 "binary batch of 3"
RH=$(printf '%s' "$HEADERS" | tr -d '\r' | grep -i '^Inference-Header-Content-Length:' | sed 's/^[^:]*: *//')
DEC3=$($PY "$V2TOOL" decode-binary "$WORK/body" "${RH:-0}")
req POST $INFER "$($PY "$V2TOOL" v2-body "$WORK/rows3.json")"
expect_status 200 "JSON batch of 3"
if printf '%s' "$DEC3" | jqe --argjson j "$(printf '%s' "$BODY" | jq -c '.outputs[0].data')" \
  '(.floats | length) == 3 and
   ([.floats, $j] | transpose | all(((.[0] - .[1]) | fabs) < 1e-6))' >/dev/null 2>&1; then
  pass
else
  fail "binary batch of 3: decoded $DEC3, JSON says $(printf '%s' "$BODY" | jq -c '.outputs[0].data')"
fi

# --- malformed binary requests ---
SHAPE='{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP32","parameters":{"binary_data_size":%s}}]}'
mk() { # mk FILE BINARY_DATA_SIZE_JSON NBYTES : prints header length
  # shellcheck disable=SC2059
  $PY "$V2TOOL" raw-body "$1" "$(printf "$SHAPE" "$2")" "$3"
}
H=$(mk "$WORK/ok.body" 120 120)
req POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
expect_status 200 "hand-built binary body (sanity for the cases below)"

bad_request 400 "binary_data_size without Inference-Header-Content-Length" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}"
bad_request 400 "Inference-Header-Content-Length: abc" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: abc"
bad_request 400 "Inference-Header-Content-Length: ${H}abc" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: ${H}abc"
bad_request 400 "Inference-Header-Content-Length: -5" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: -5"
bad_request 400 "Inference-Header-Content-Length: empty" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length;"
bad_request 400 "Inference-Header-Content-Length: 99999999999999999999999 (overflows)" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: 99999999999999999999999"
bad_request 400 "Inference-Header-Content-Length larger than the body" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $((H + 121))"
bad_request 400 "Inference-Header-Content-Length = body length + 1" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $((H + 120 + 1))"
bad_request 400 "Inference-Header-Content-Length cuts the JSON short" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $((H - 10))"
bad_request 400 "Inference-Header-Content-Length: 0" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: 0"
bad_request 400 "Inference-Header-Content-Length 4 bytes into the binary part" \
  POST $INFER @"$WORK/ok.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $((H + 4))"

H=$(mk "$WORK/size100.body" 100 100)
bad_request 400 "binary_data_size 100 for shape [1,30] FP32 (120 bytes)" \
  POST $INFER @"$WORK/size100.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$(mk "$WORK/leftover.body" 120 124)
bad_request 400 "4 leftover binary bytes after the last tensor" \
  POST $INFER @"$WORK/leftover.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$(mk "$WORK/missing.body" 120 116)
bad_request 400 "4 binary bytes missing" \
  POST $INFER @"$WORK/missing.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$(mk "$WORK/none.body" 120 0)
bad_request 400 "binary_data_size 120 and no binary bytes at all" \
  POST $INFER @"$WORK/none.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$(mk "$WORK/neg.body" -120 120)
bad_request 400 "binary_data_size -120" \
  POST $INFER @"$WORK/neg.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$(mk "$WORK/str.body" '"120"' 120)
bad_request 400 'binary_data_size "120" (a string)' \
  POST $INFER @"$WORK/str.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$(mk "$WORK/huge.body" 4611686018427387904 120)
bad_request 400 "binary_data_size 2^62" \
  POST $INFER @"$WORK/huge.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$(mk "$WORK/frac.body" 120.5 120)
bad_request 400 "binary_data_size 120.5" \
  POST $INFER @"$WORK/frac.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$($PY "$V2TOOL" raw-body "$WORK/bigshape.body" \
  '{"inputs":[{"name":"input","shape":[4294967296,4294967296,16],"datatype":"FP32","parameters":{"binary_data_size":120}}]}' 120)
bad_request 400 "binary tensor with a shape whose product overflows" \
  POST $INFER @"$WORK/bigshape.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
H=$($PY "$V2TOOL" raw-body "$WORK/fp64.body" \
  '{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP64","parameters":{"binary_data_size":120}}]}' 120)
bad_request 400 "binary FP64 [1,30] with 120 bytes (needs 240)" \
  POST $INFER @"$WORK/fp64.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
# Two binary tensors whose sizes add up to the binary part but the first is wrong.
H=$($PY "$V2TOOL" raw-body "$WORK/two.body" \
  '{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP32","parameters":{"binary_data_size":116}},{"name":"input","shape":[1,1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}' 120)
bad_request 400 "two binary tensors, first size disagrees with its shape" \
  POST $INFER @"$WORK/two.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"
# Binary body to an unknown model is still 404.
H=$(mk "$WORK/ok2.body" 120 120)
bad_request 404 "binary body to an unknown model" \
  POST /v2/models/nosuchmodel/infer @"$WORK/ok2.body" "${OCT[@]}" -H "Inference-Header-Content-Length: $H"

finish
