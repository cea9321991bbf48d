#!/bin/bash
# POST /transform (docs/features.md "Transformer") against an independent oracle
# (transform_oracle.py, written from the documentation): the default configuration (50
# buckets, word 1-2-grams, character 3-5-grams, L2) on English and accented UTF-8 text, a
# batch of texts, and a deployment's own configuration from DATA/transformers/<name>.yaml
# (8 buckets, idf, no normalisation), which is reloaded when the file changes. Bad bodies are
# 400s, an unknown transformer a 404, a text above 64 KiB a 413; the server lives on.
source "$(dirname "$0")/lib.sh"
trap 'stop_server >/dev/null 2>&1; rm -rf "$WORK"' EXIT
ORACLE="$MMSP_SOURCE_DIR/tests/integration/transform_oracle.py"
DATA="$WORK/data"
mkdir -p "$DATA/transformers"

# close_to EXPECTED_JSON : BODY's .features equal EXPECTED within 1e-6 element-wise.
close_to() {
  local want=$1 what=$2
  if printf '%s' "$BODY" | jq -e --argjson w "$want" '
      (.features | length) == ($w | length) and
      ([range(0; $w | length) as $r | (.features[$r] | length) == ($w[$r] | length) and
        ([range(0; $w[$r] | length) as $i | ((.features[$r][$i] - $w[$r][$i]) | fabs) < 1e-6] | all)]
       | all)' >/dev/null 2>&1; then
    pass
  else
    fail "$what: got ${BODY:0:400}, want ${want:0:400}"
  fi
}

start_server --data "$DATA"

T1='WIN a FREE prize now!!! Call 0800-123'
T2='¿Estás libre el sábado? Café à 3h'
req POST /transform "$(jq -cn --arg t "$T1" '{text: $t}')"
expect_status 200 "one text"
expect_json '.n_buckets' '50'
expect_json '.features | length' '1'
expect_json '.features[0] | length' '50'
close_to "$($PY "$ORACLE" '{}' "$T1")" "default configuration, English"
req POST /transform "$(jq -cn --arg a "$T1" --arg b "$T2" '{texts: [$a, $b, ""]}')"
expect_status 200 "three texts"
close_to "$($PY "$ORACLE" '{}' "$T1" "$T2" "")" "default configuration, a batch with UTF-8"
expect_json '.features[2] | add' '0'

# A deployment's configuration.
cat >"$DATA/transformers/tiny.yaml" <<'YAML'
n_buckets: 8
word_ngrams: [1, 1]
char_ngrams: [2, 3]
norm: none
idf: [1, 2, 0.5, 1, 1.5, 1, 3, 0.25]
labels: [no, yes]
YAML
CFG='{"n_buckets":8,"word_ngrams":[1,1],"char_ngrams":[2,3],"norm":"none","idf":[1,2,0.5,1,1.5,1,3,0.25]}'
req POST /transform "$(jq -cn --arg t "$T2" '{text: $t, deployment: "tiny"}')"
expect_status 200 "a deployment's transformer"
expect_json '.n_buckets' '8'
close_to "$($PY "$ORACLE" "$CFG" "$T2")" "tiny configuration"
# Changed on disk: the next request uses the new file.
cat >"$DATA/transformers/tiny.yaml" <<'YAML'
n_buckets: 16
char_ngrams: [0, 0]
YAML
req POST /transform "$(jq -cn --arg t "$T1" '{text: $t, deployment: "tiny"}')"
expect_json '.n_buckets' '16'
close_to "$($PY "$ORACLE" '{"n_buckets":16,"char_ngrams":[0,0]}' "$T1")" "reloaded configuration"

# --- errors ---
req POST /transform '{"text":"x","deployment":"nope"}'
expect_error 404 "no transformer"
printf 'n_buckets: many\n' >"$DATA/transformers/broken.yaml"
req POST /transform '{"text":"x","deployment":"broken"}'
expect_error 400 "broken configuration"
for body in '{' '[]' '{}' '{"text":1}' '{"text":"a","texts":["b"]}' '{"texts":[]}' '{"texts":"a"}' \
  '{"texts":["a",2]}' '{"text":"x","deployment":"../etc/passwd"}' '{"text":"x","deployment":7}'; do
  req POST /transform "$body"
  expect_error 400 "bad body $body"
done
req POST /transform "$(jq -cn '{texts: [range(0; 300) | "x"]}')"
expect_error 400 "too many texts"
head -c 70000 /dev/zero | tr '\0' 'a' >"$WORK/long"
req POST /transform "$(jq -cn --rawfile t "$WORK/long" '{text: $t}')"
expect_error 413 "text above 64 KiB"
req GET /transform
expect_status 405 "GET /transform"
expect_alive "after bad bodies"
finish
