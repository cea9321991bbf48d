#!/bin/bash
# The spam-detector example end to end (examples/spam-detector, built by the target
# spam-detector-model, part of the default build): metrics.json and the manifest train wrote
# pass the built-in gate (accuracy >= 0.85, F1 >= 0.80, fairness present) and equal the
# checked-in examples/spam-detector/manifest.yaml; in registry mode the model is registered
# with that manifest and deployed, its transformer installed as
# DATA/transformers/spam-detector.yaml, and POST /predict {"deployment": "spam-detector",
# "text": ...} answers "spam" for "WIN a FREE prize now" and "ham" for an ordinary message,
# with probabilities; the spam example's probability equals libxgboost's at training time
# (so serving computes the very features the model was trained on), and POST /transform +
# the "inputs" form give the same answer. A deployment without a transformer refuses text.
source "$(dirname "$0")/lib.sh"
trap 'stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT

EXAMPLE="$MMSP_BUILD_DIR/examples/spam-detector"
MODEL="$EXAMPLE/repository/spam-detector/1/model.json"
for f in "$MODEL" "$EXAMPLE/metrics.json" "$EXAMPLE/manifest.yaml" "$EXAMPLE/transformer.yaml"; do
  [ -f "$f" ] || { echo "$TEST_NAME: $f missing: build the target spam-detector-model" >&2; exit 1; }
done
DATA="$WORK/data"

check() { # check DESCRIPTION JQ_EXPR : `jq -e EXPR` holds for $BODY
  if printf '%s' "$BODY" | jq -e "$2" >/dev/null 2>&1; then pass; else fail "$1: ${BODY:0:300}"; fi
}

BODY=$(cat "$EXAMPLE/metrics.json")
check "metrics: accuracy >= 0.85, F1 >= 0.80" '.accuracy >= 0.85 and .f1 >= 0.80'
P_SPAM=$(jq -r .examples.spam.probability "$EXAMPLE/metrics.json")
SPAM_TEXT=$(jq -r .examples.spam.text "$EXAMPLE/metrics.json")
out=$("$MMSP_BIN" gate "$EXAMPLE/manifest.yaml" 2>&1)
if [ $? = 0 ]; then pass; else fail "the manifest fails the built-in gate: $out"; fi
if cmp -s "$EXAMPLE/manifest.yaml" "$MMSP_SOURCE_DIR/examples/spam-detector/manifest.yaml"; then
  pass
else
  fail "examples/spam-detector/manifest.yaml differs from what train wrote: copy it over if the model changed on purpose"
fi

# Registry mode: register (gated), deploy, install the transformer, serve.
mmsp_ok "register" model register spam-detector "$MODEL" --manifest "$EXAMPLE/manifest.yaml"
mmsp_ok "deploy" deploy spam-detector --model spam-detector --version 1
mkdir -p "$DATA/transformers"
cp "$EXAMPLE/transformer.yaml" "$DATA/transformers/spam-detector.yaml"
start_server --data "$DATA"
for _ in $(seq 1 200); do
  req POST /predict '{"deployment":"spam-detector","text":"hello"}'
  [ "$STATUS" = 200 ] && break
  sleep 0.05
done
expect_status 200 "the deployment answers"

predict_text() { req POST /predict "$(jq -cn --arg t "$1" '{deployment: "spam-detector", text: $t}')"; }
predict_text "WIN a FREE prize now"
expect_status 200 "spam message"
expect_json '.prediction' '"spam"'
expect_json '[.deployment, .model, .version, .variant]' '["spam-detector","spam-detector",1,"stable"]'
check "spam: two probabilities summing to 1, spam above 0.5" \
  '(.probabilities | length) == 2 and ((.probabilities | add) - 1 | fabs) < 1e-6 and .probabilities[1] > 0.5'
predict_text "Hey, are we still on for lunch tomorrow? I'll bring the report"
expect_status 200 "ham message"
expect_json '.prediction' '"ham"'
check "ham: spam probability below 0.5" '.probabilities[1] < 0.5'
predict_text "¿Quedamos para cenar el viernes?"
expect_json '.prediction' '"ham"'

# The training-time score of a test message: same features at serving time.
predict_text "$SPAM_TEXT"
check "served probability equals libxgboost's at training ($P_SPAM)" \
  "(.probabilities[1] - $P_SPAM) | fabs < 1e-5"
P_SERVED=$(printf '%s' "$BODY" | jq .probabilities[1])
req POST /transform "$(jq -cn --arg t "$SPAM_TEXT" '{deployment: "spam-detector", text: $t}')"
expect_status 200 "POST /transform with the deployment's transformer"
ROW=$(printf '%s' "$BODY" | jq -c .features[0])
req POST /predict '{"deployment":"spam-detector","inputs":['"$ROW"']}'
expect_status 200 "the inputs form"
check "inputs form: the same probability" "(.probabilities[1] - $P_SERVED) | fabs < 1e-6"
check "inputs form: a number as the prediction" '.prediction | type == "number"'

# Errors: text and inputs together; text that is not a string; no transformer.
req POST /predict '{"deployment":"spam-detector","text":"a","inputs":[[1]]}'
expect_error 400 "text and inputs"
req POST /predict '{"deployment":"spam-detector","text":5}'
expect_error 400 "text not a string"
rm "$DATA/transformers/spam-detector.yaml"
predict_text "WIN a FREE prize now"
expect_error 400 "no transformer"
expect_alive "after errors"
finish
