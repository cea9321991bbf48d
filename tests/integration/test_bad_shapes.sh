#!/bin/bash
# Shapes, datatypes and tensor names in v2 infer requests that disagree with the data or with the
# model: each gets 400 (404 for unknown models and versions) with an {"error": ...} body, the
# server stays up and answers a good request after each. Also the accepted conversions
# (INT64/INT32/FP64 -> FP32 give the FP32 answer) and the batch limit (max_batch_size 64).
source "$(dirname "$0")/lib.sh"
fixtures
start_server --model-repository "$FIXTURES"

INFER=/v2/models/binary/infer
row() { # row N : N features, comma separated (the good row cycled)
  /usr/bin/python3 -c "import sys; r='$GOOD_ROW'.split(','); print(','.join(r[i % 30] for i in range($1)))"
}
ROW="$GOOD_ROW"
body() { # body SHAPE DATATYPE DATA [NAME]
  printf '{"inputs":[{"name":"%s","shape":%s,"datatype":"%s","data":%s}]}' "${4:-input}" "$1" "$2" "$3"
}

# The reference answer for the good row.
req POST $INFER "$(good_body)"
expect_status 200 "good FP32 request"
expect_json '.outputs[0].shape' '[1]'
expect_json '.outputs[0].datatype' '"FP32"'
REF=$(printf '%s' "$BODY" | jq -c '.outputs[0].data')

# --- datatypes ---
bad_request 400 'unknown datatype "FLOAT"' POST $INFER "$(body '[1,30]' FLOAT "[$ROW]")"
bad_request 400 'lower-case datatype "fp32"' POST $INFER "$(body '[1,30]' fp32 "[$ROW]")"
bad_request 400 'empty datatype' POST $INFER "$(body '[1,30]' '' "[$ROW]")"
bad_request 400 'BYTES input for an FP32 model' POST $INFER "$(body '[1,30]' BYTES "[$(row 30 | sed 's/[^,]*/"&"/g')]")"
bad_request 400 'non-integral number in INT32 data' POST $INFER "$(body '[1,30]' INT32 "[1.5$(row 30 | sed 's/^[^,]*//')]")"
bad_request 400 'non-integral number in INT64 data' POST $INFER "$(body '[1,30]' INT64 "[0.25$(row 30 | sed 's/^[^,]*//')]")"
bad_request 400 'INT32 value out of range (3000000000)' POST $INFER "$(body '[1,30]' INT32 "[3000000000$(row 30 | sed 's/^[^,]*//')]")"
bad_request 400 'string element in INT64 data' POST $INFER "$(body '[1,30]' INT64 "[\"1\"$(row 30 | sed 's/^[^,]*//')]")"

# Accepted conversions: integral data as INT64/INT32 give the same answer as FP32; FP64 too.
IROW="1,0,-2,3,1,0,0,-1,2,1,-3,0,1,1,0,-1,2,0,1,-1,0,0,1,2,-2,1,0,3,-1,1"
req POST $INFER "$(body '[1,30]' FP32 "[$IROW]")"
expect_status 200 "integral row as FP32"
IREF=$(printf '%s' "$BODY" | jq -c '.outputs[0].data')
for dt in INT64 INT32 FP64; do
  req POST $INFER "$(body '[1,30]' $dt "[$IROW]")"
  expect_status 200 "integral row as $dt"
  expect_json '.outputs[0].data' "$IREF"
done
req POST $INFER "$(body '[1,30]' FP64 "[$ROW]")"
expect_status 200 "good row as FP64"
expect_json '.outputs[0].data' "$REF"

# --- shape against data ---
bad_request 400 'shape [1,30] with 29 values' POST $INFER "$(body '[1,30]' FP32 "[$(row 29)]")"
bad_request 400 'shape [1,30] with 31 values' POST $INFER "$(body '[1,30]' FP32 "[$(row 31)]")"
bad_request 400 'shape [2,30] with 30 values' POST $INFER "$(body '[2,30]' FP32 "[$ROW]")"
bad_request 400 'shape [1,30] with no values' POST $INFER "$(body '[1,30]' FP32 '[]')"
bad_request 400 'nested rows of 15 and 45 for shape [2,30]' POST $INFER "$(body '[2,30]' FP32 "[[$(row 15)],[$(row 45)]]")"
bad_request 400 'nested [[..30..]] three deep for shape [1,30]' POST $INFER "$(body '[1,30]' FP32 "[[[$ROW]]]")"
bad_request 400 'nested [[30],[30],[30]] for shape [2,30]' POST $INFER "$(body '[2,30]' FP32 "[[$ROW],[$ROW],[$ROW]]")"
bad_request 400 'nested [[60]] for shape [2,30]' POST $INFER "$(body '[2,30]' FP32 "[[$ROW,$ROW]]")"
bad_request 400 'mixed nesting [[30], 30 scalars] for shape [2,30]' POST $INFER "$(body '[2,30]' FP32 "[[$ROW],$ROW]")"
# Flat and nested forms of the right size both work and agree.
req POST $INFER "$(body '[2,30]' FP32 "[[$ROW],[$IROW]]")"
expect_status 200 "nested [2,30]"
NESTED=$(printf '%s' "$BODY" | jq -c '.outputs[0].data')
req POST $INFER "$(body '[2,30]' FP32 "[$ROW,$IROW]")"
expect_status 200 "flat [2,30]"
expect_json '.outputs[0].data' "$NESTED"
expect_json '.outputs[0].shape' '[2]'

# --- shapes that overflow or are negative (no huge allocation: must answer fast) ---
overflow_case() { # overflow_case SHAPE WHAT
  local t0 t1
  t0=$(date +%s%N)
  bad_request 400 "$2" POST $INFER "$(body "$1" FP32 "[$ROW]")"
  t1=$(date +%s%N)
  if [ $(((t1 - t0) / 1000000)) -lt 5000 ]; then pass; else fail "$2: took $(((t1 - t0) / 1000000)) ms"; fi
}
overflow_case '[4294967296,4294967296,16]' 'shape [2^32,2^32,16] (product overflows int64)'
overflow_case '[9223372036854775807,2]' 'shape [INT64_MAX,2]'
overflow_case '[3037000500,3037000500]' 'shape whose product just overflows int64'
overflow_case '[18446744073709551616,30]' 'dim 2^64 (does not fit int64)'
overflow_case '[1e300,30]' 'dim 1e300'
overflow_case '[100000000000,30]' 'shape [1e11,30] (fits int64, far more than the data)'
overflow_case '[2147483648,2147483648]' 'shape [2^31,2^31]'
overflow_case '[-1,30]' 'negative batch dim'
overflow_case '[1,-30]' 'negative feature dim'
overflow_case '[-2,-15]' 'two negative dims whose product is 30'
overflow_case '[-9223372036854775808,30]' 'dim INT64_MIN'

# --- shape against the model ---
bad_request 400 'feature count 29 (model has 30)' POST $INFER "$(body '[1,29]' FP32 "[$(row 29)]")"
bad_request 400 'feature count 31 (model has 30)' POST $INFER "$(body '[1,31]' FP32 "[$(row 31)]")"
bad_request 400 'shape [30,1] (30 values, wrong layout)' POST $INFER "$(body '[30,1]' FP32 "[$ROW]")"
bad_request 400 'rank 3 shape [1,1,30]' POST $INFER "$(body '[1,1,30]' FP32 "[$ROW]")"
bad_request 400 'multi (4 features) sent 30' POST /v2/models/multi/infer "$(body '[1,30]' FP32 "[$ROW]")"

# --- batch limit: binary has max_batch_size 64 ---
B64=$(/usr/bin/python3 -c "r='$ROW'; print(','.join([r]*64))")
req POST $INFER "$(body '[64,30]' FP32 "[$B64]")"
expect_status 200 "batch of 64 (= max_batch_size)"
expect_json '.outputs[0].shape' '[64]'
expect_json '.outputs[0].data | length' '64'
bad_request 400 'batch of 65 (> max_batch_size 64)' POST $INFER "$(body '[65,30]' FP32 "[$B64,$ROW]")"
B1000=$(/usr/bin/python3 -c "r='$ROW'; print(','.join([r]*1000))")
printf '%s' "$(body '[1000,30]' FP32 "[$B1000]")" >"$WORK/b1000.json"
bad_request 400 'batch of 1000' POST $INFER @"$WORK/b1000.json" -H 'Content-Type: application/json'

# --- names ---
bad_request 400 'unknown input name' POST $INFER "$(body '[1,30]' FP32 "[$ROW]" inputz)"
bad_request 400 'no inputs ("inputs": [])' POST $INFER '{"inputs":[]}'
bad_request 400 'the input twice' POST $INFER "$(body '[1,30]' FP32 "[$ROW]" | sed 's/\]}\]}$/]},{"name":"input","shape":[1,30],"datatype":"FP32","data":['"$ROW"']}]}/')"
bad_request 400 'an extra unknown input beside the good one' POST $INFER "$(body '[1,30]' FP32 "[$ROW]" | sed 's/\]}\]}$/]},{"name":"extra","shape":[1],"datatype":"FP32","data":[1]}]}/')"
bad_request 400 'unknown requested output' POST $INFER "$(good_body | sed 's/}$/,"outputs":[{"name":"probabilities"}]}/')"
req POST $INFER "$(good_body | sed 's/}$/,"outputs":[{"name":"predict"}]}/')"
expect_status 200 'requested output "predict"'
expect_json '.outputs[0].data' "$REF"

# --- unknown model / version ---
bad_request 404 'unknown model' POST /v2/models/nosuchmodel/infer "$(good_body)"
bad_request 404 'unknown version 9' POST /v2/models/binary/versions/9/infer "$(good_body)"
bad_request_oneof '400|404' 'version "abc"' POST /v2/models/binary/versions/abc/infer "$(good_body)"
req POST /v2/models/binary/versions/1/infer "$(good_body)"
expect_status 200 "explicit version 1"
expect_json '.outputs[0].data' "$REF"
expect_json '.model_version' '"1"'
# regress has versions 1 and 2 on disk; its default policy (latest, 1 version) serves only 2.
bad_request 404 'regress version 1 (on disk, not served by policy latest:1)' POST /v2/models/regress/versions/1/infer "$(body '[1,10]' FP32 "[$(row 10)]")"
req POST /v2/models/regress/infer "$(body '[1,10]' FP32 "[$(row 10)]")"
expect_status 200 "regress default version"
expect_json '.model_version' '"2"'

finish
