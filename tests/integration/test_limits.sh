#!/bin/bash
# --max-body-bytes: bodies over the limit get 413 with an {"error": ...} body, whether sent with
# Content-Length or chunked, JSON or binary; a body of exactly the limit is served; the server
# answers a good request after each. Also that every documented flag is accepted.
source "$(dirname "$0")/lib.sh"
fixtures
start_server --model-repository "$FIXTURES" --max-body-bytes 4096 --threads 2 --idle-timeout 30 \
  --default-model binary

INFER=/v2/models/binary/infer
pad_body() { # pad_body SIZE FILE : good_body padded with spaces to SIZE bytes (valid JSON)
  local b
  b=$(good_body)
  { printf '%s' "$b"; head -c $(($1 - ${#b})) /dev/zero | tr '\0' ' '; } >"$2"
}
JSON=(-H 'Content-Type: application/json' -H 'Expect:')

pad_body 4096 "$WORK/exact.json"
req POST $INFER @"$WORK/exact.json" "${JSON[@]}"
expect_status 200 "body of exactly --max-body-bytes (4096)"
pad_body 4097 "$WORK/over1.json"
bad_request 413 "body of 4097 bytes (limit 4096)" POST $INFER @"$WORK/over1.json" "${JSON[@]}"
pad_body 8192 "$WORK/8k.json"
bad_request 413 "body of 8 KB" POST $INFER @"$WORK/8k.json" "${JSON[@]}"
pad_body 65536 "$WORK/64k.json"
bad_request 413 "body of 64 KB" POST $INFER @"$WORK/64k.json" "${JSON[@]}"
bad_request 413 "body of 8 KB with Expect: 100-continue" POST $INFER @"$WORK/8k.json" \
  -H 'Content-Type: application/json' -H 'Expect: 100-continue'

# Chunked transfer encoding (no Content-Length): the limit still holds.
req POST $INFER @"$WORK/exact.json" "${JSON[@]}" -H 'Transfer-Encoding: chunked'
expect_status 200 "chunked body of 4096 bytes"
bad_request 413 "chunked body of 8 KB" POST $INFER @"$WORK/8k.json" "${JSON[@]}" -H 'Transfer-Encoding: chunked'
bad_request 413 "chunked body of 64 KB" POST $INFER @"$WORK/64k.json" "${JSON[@]}" -H 'Transfer-Encoding: chunked'

# Binary body over the limit.
$PY "$V2TOOL" rows 3 40 30 >"$WORK/rows40.json"
H=$($PY "$V2TOOL" binary-body "$WORK/bin.body" "$WORK/rows40.json")
bad_request 413 "binary body of $(stat -c %s "$WORK/bin.body") bytes" POST $INFER @"$WORK/bin.body" \
  -H 'Content-Type: application/octet-stream' -H "Inference-Header-Content-Length: $H" -H 'Expect:'

# Other endpoints that take bodies.
bad_request 413 "v1 predict body of 8 KB" POST /v1/models/binary:predict @"$WORK/8k.json" "${JSON[@]}"
bad_request 413 "repository index body of 8 KB" POST /v2/repository/index @"$WORK/8k.json" "${JSON[@]}"

# A declared Content-Length far over the limit is refused without waiting for the body.
OUT=$($PY "$V2TOOL" send 127.0.0.1 "$PORT" \
  'POST /v2/models/binary/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\nConnection: close\r\n\r\n{"inputs":' 5)
if printf '%s' "$OUT" | jqe '.status | test("^HTTP/1\\.[01] 413")' >/dev/null; then pass; else fail "Content-Length 10^12: want a 413 before the body, got $OUT"; fi
expect_good_after "Content-Length 10^12"
OUT=$($PY "$V2TOOL" send 127.0.0.1 "$PORT" \
  'POST /v2/models/binary/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\nConnection: close\r\n\r\n' 5)
if printf '%s' "$OUT" | jqe '.status | test("^HTTP/1\\.[01] (400|413)")' >/dev/null; then pass; else fail "Content-Length overflowing 64 bits: want 400 or 413, got $OUT"; fi
expect_good_after "Content-Length overflowing 64 bits"
OUT=$($PY "$V2TOOL" send 127.0.0.1 "$PORT" \
  'POST /v2/models/binary/infer HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n' 5)
if printf '%s' "$OUT" | jqe '.status | test("^HTTP/1\\.[01] 4[0-9][0-9]")' >/dev/null; then pass; else fail "Content-Length -5: want 4xx, got $OUT"; fi
expect_good_after "Content-Length -5"
# Many 413s in a row leave the server healthy (no leak of the partial bodies under ASan).
n413=0
for _ in $(seq 1 50); do
  s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST "${JSON[@]}" --data-binary @"$WORK/64k.json" "$URL$INFER")
  [ "$s" = 413 ] && n413=$((n413 + 1))
done
if [ "$n413" = 50 ]; then pass; else fail "50 bodies of 64 KB: only $n413 got 413"; fi
expect_good_after "50 bodies of 64 KB"

finish
