#!/bin/bash
# Malformed JSON and known fields of the wrong type in v2 infer requests: each gets 400 with an
# {"error": ...} body, never a crash, and the server answers a good request right after.
source "$(dirname "$0")/lib.sh"
fixtures
start_server --model-repository "$FIXTURES"

INFER=/v2/models/binary/infer
ROW="[$GOOD_ROW]"
inp() { # inp FIELDS... : one input object with these fields
  local IFS=,
  printf '{"inputs":[{%s}]}' "$*"
}
N='"name":"input"' S='"shape":[1,30]' D='"datatype":"FP32"' X="\"data\":$ROW"

# Sanity first: the good body works and echoes the id.
req POST $INFER "$(inp "$N" "$S" "$D" "$X" | sed 's/^{/{"id":"req-1",/')"
expect_status 200 "good request with id"
expect_json '.id' '"req-1"'
expect_json '.model_name' '"binary"'
expect_json '.outputs[0].name' '"predict"'

# Unknown top-level fields are ignored.
req POST $INFER "$(inp "$N" "$S" "$D" "$X" | sed 's/^{/{"x-extension":{"a":[1,2]},/')"
expect_status 200 "unknown top-level field is ignored"

# Malformed JSON.
bad_request 400 "truncated JSON" POST $INFER '{"inputs": ['
bad_request 400 "empty body" POST $INFER ''
bad_request 400 "body is not JSON" POST $INFER 'hello world'
bad_request 400 "trailing garbage after the JSON" POST $INFER "$(good_body) xyz"
bad_request 400 "body is a JSON array" POST $INFER "[$(good_body)]"
bad_request 400 "body is a JSON string" POST $INFER '"inputs"'
bad_request 400 "unterminated string" POST $INFER '{"inputs":[{"name":"input'
bad_request 400 "single quotes" POST $INFER "{'inputs': []}"
bad_request 400 "number overflowing a double (1e999)" POST $INFER "$(inp "$N" "$S" "$D" "\"data\":[1e999${ROW:4}")"
printf '{"inputs":[{"name":"in\xff\xfeput","shape":[1,30],"datatype":"FP32","data":%s}]}' "$ROW" >"$WORK/badutf8.json"
bad_request 400 "invalid UTF-8 in a string" POST $INFER @"$WORK/badutf8.json" -H 'Content-Type: application/json'
printf '{"inputs":[{"name":"input","shape":[1,30],"datatype":"FP\x0032","data":%s}]}' "$ROW" >"$WORK/nul.json"
bad_request 400 "NUL byte inside a string" POST $INFER @"$WORK/nul.json" -H 'Content-Type: application/json'
# Deep nesting: 50000 levels of [ must not overflow the parser's stack.
/usr/bin/python3 -c 'import sys; sys.stdout.write("{\"inputs\":[{\"name\":\"input\",\"shape\":[1,30],\"datatype\":\"FP32\",\"data\":" + "["*50000 + "]"*50000 + "}]}")' >"$WORK/deep.json"
req POST $INFER @"$WORK/deep.json" -H 'Content-Type: application/json'
if [ "$STATUS" = 400 ] || [ "$STATUS" = 413 ]; then pass; else fail "50000-deep nesting: status $STATUS, want 400 or 413"; fi
expect_good_after "50000-deep nesting"
/usr/bin/python3 -c 'import sys; sys.stdout.write("["*50000)' >"$WORK/deep2.json"
req POST $INFER @"$WORK/deep2.json" -H 'Content-Type: application/json'
if [ "$STATUS" = 400 ] || [ "$STATUS" = 413 ]; then pass; else fail "50000 unclosed [: status $STATUS, want 400 or 413"; fi
expect_good_after "50000 unclosed ["

# Known fields with the wrong type.
bad_request 400 '"inputs": 5' POST $INFER '{"inputs": 5}'
bad_request 400 '"inputs": "x"' POST $INFER '{"inputs": "x"}'
bad_request 400 '"inputs": {}' POST $INFER '{"inputs": {}}'
bad_request 400 '"inputs": null' POST $INFER '{"inputs": null}'
bad_request 400 '"inputs": [5]' POST $INFER '{"inputs": [5]}'
bad_request 400 '"inputs": [null]' POST $INFER '{"inputs": [null]}'
bad_request 400 'no "inputs" at all' POST $INFER '{"id": "x"}'
bad_request 400 '"id": 7' POST $INFER "$(inp "$N" "$S" "$D" "$X" | sed 's/^{/{"id":7,/')"
bad_request 400 '"parameters": 5' POST $INFER "$(inp "$N" "$S" "$D" "$X" | sed 's/^{/{"parameters":5,/')"
bad_request 400 '"parameters" with a non-scalar value' POST $INFER "$(inp "$N" "$S" "$D" "$X" | sed 's/^{/{"parameters":{"a":[1]},/')"
bad_request 400 '"outputs": 5' POST $INFER "$(inp "$N" "$S" "$D" "$X" | sed 's/^{/{"outputs":5,/')"
bad_request 400 '"outputs": [5]' POST $INFER "$(inp "$N" "$S" "$D" "$X" | sed 's/^{/{"outputs":[5],/')"
bad_request 400 '"outputs": [{"name": 5}]' POST $INFER "$(inp "$N" "$S" "$D" "$X" | sed 's/^{/{"outputs":[{"name":5}],/')"
bad_request 400 '"name": 5' POST $INFER "$(inp '"name":5' "$S" "$D" "$X")"
bad_request 400 'input without "name"' POST $INFER "$(inp "$S" "$D" "$X")"
bad_request 400 '"shape": "x"' POST $INFER "$(inp "$N" '"shape":"x"' "$D" "$X")"
bad_request 400 '"shape": 30' POST $INFER "$(inp "$N" '"shape":30' "$D" "$X")"
bad_request 400 '"shape": ["1", 30]' POST $INFER "$(inp "$N" '"shape":["1",30]' "$D" "$X")"
bad_request 400 '"shape": [1.5, 30]' POST $INFER "$(inp "$N" '"shape":[1.5,30]' "$D" "$X")"
bad_request 400 '"shape": [true, 30]' POST $INFER "$(inp "$N" '"shape":[true,30]' "$D" "$X")"
bad_request 400 'input without "shape"' POST $INFER "$(inp "$N" "$D" "$X")"
bad_request 400 '"datatype": 3' POST $INFER "$(inp "$N" "$S" '"datatype":3' "$X")"
bad_request 400 '"datatype": null' POST $INFER "$(inp "$N" "$S" '"datatype":null' "$X")"
bad_request 400 'input without "datatype"' POST $INFER "$(inp "$N" "$S" "$X")"
bad_request 400 '"data": "abc"' POST $INFER "$(inp "$N" "$S" "$D" '"data":"abc"')"
bad_request 400 '"data": 5' POST $INFER "$(inp "$N" "$S" "$D" '"data":5')"
bad_request 400 '"data": {}' POST $INFER "$(inp "$N" "$S" "$D" '"data":{}')"
bad_request 400 'input without "data" (and not binary)' POST $INFER "$(inp "$N" "$S" "$D")"
bad_request 400 'a string element in FP32 data' POST $INFER "$(inp "$N" "$S" "$D" "\"data\":[\"x\"${ROW:4}")"
bad_request 400 'a null element in FP32 data' POST $INFER "$(inp "$N" "$S" "$D" "\"data\":[null${ROW:4}")"
bad_request 400 'an object element in FP32 data' POST $INFER "$(inp "$N" "$S" "$D" "\"data\":[{}${ROW:4}")"
bad_request 400 'input "parameters": 5' POST $INFER "$(inp "$N" "$S" "$D" "$X" '"parameters":5')"

finish
