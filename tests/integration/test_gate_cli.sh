#!/usr/bin/env bash
# `mmsp gate` end to end with the real binary: exit codes (0 pass, 1 a rule failed, 2 usage or
# invalid input), the table, --json read with jq, --policy with a custom bound, the printed
# default policy loaded back, the example policies, standard input, and broken manifests and
# policies reported as "mmsp: FILE:LINE: FIELD: what". No server needed.
source "$(dirname "$0")/lib.sh"

OUT="$WORK/out"
ERR="$WORK/err"

# gate ARGS... : runs `mmsp gate ARGS`, sets RC; stdout in $OUT, stderr in $ERR.
gate() {
  "$MMSP_BIN" gate "$@" >"$OUT" 2>"$ERR"
  RC=$?
}

expect_rc() {
  if [ "$RC" = "$1" ]; then pass; else fail "$2: exit $RC, want $1; stderr: $(head -c 300 "$ERR")"; fi
}

expect_out() { # grep -E pattern in stdout
  if grep -qE -- "$1" "$OUT"; then pass; else fail "$2: stdout lacks /$1/: $(head -c 600 "$OUT")"; fi
}

expect_err_exact() {
  local got
  got=$(cat "$ERR")
  if [ "$got" = "$1" ]; then pass; else fail "$2: stderr '$got', want '$1'"; fi
}

expect_jq() { # FILTER EXPECTED on stdout
  local got
  got=$(jq -c "$1" <"$OUT" 2>/dev/null)
  if [ "$got" = "$2" ]; then pass; else fail "$3: $1 = '$got', want '$2'"; fi
}

cat >"$WORK/seed.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model:
    name: fraud-detector
    version: "2.1.0"
    framework: pytorch
  metrics:
    accuracy: 0.94
    f1_score: 0.90
  fairness:
    demographic_parity: 0.02
  drift:
    score: 0.05
EOF

# --- help and usage errors ---
gate --help
expect_rc 0 "--help"
expect_out "^usage: mmsp gate MANIFEST" "--help usage line"
expect_out "exit codes: 0 every rule passed, 1 a rule failed, 2 usage error" "--help exit codes"
"$MMSP_BIN" --help | grep -q "^  gate " && pass || fail "gate missing from mmsp --help"
gate
expect_rc 2 "no manifest"
expect_err_exact "mmsp: gate: a MANIFEST file is required
see 'mmsp gate --help'" "no manifest message"
gate "$WORK/seed.yaml" --bogus
expect_rc 2 "unknown option"
gate "$WORK/seed.yaml" "$WORK/seed.yaml"
expect_rc 2 "two manifests"
gate "$WORK/seed.yaml" --policy
expect_rc 2 "--policy without a file"

# --- the seed manifest passes the built-in policy ---
gate "$WORK/seed.yaml"
expect_rc 0 "seed manifest"
expect_out "^RESULT +RULE +FIELD +CHECK +SEEN$" "table header"
[ "$(grep -c '^PASS ' "$OUT")" = 6 ] && pass || fail "want 6 PASS rows: $(cat "$OUT")"
expect_out "^PASS +min-accuracy +spec\.metrics\.accuracy +>= 0\.85 +0\.94$" "accuracy row"
expect_out "^PASS +max-drift +spec\.drift\.score +< 0\.30 +0\.05$" "drift row"
expect_out "^PASS +dependencies-allowlisted +spec\.dependencies +in_allowlist [0-9]+ names +\(absent\)$" \
  "optional rule, absent"
expect_out "^PASS: all 6 rules passed \(manifest .*seed\.yaml, policy built-in\)$" "summary line"
gate "$WORK/seed.yaml" --json
expect_rc 0 "seed --json"
expect_jq '.passed' 'true' "seed json passed"
expect_jq '[.rules[] | .name]' \
  '["min-accuracy","min-f1","fairness-evaluated","max-demographic-parity","max-drift","dependencies-allowlisted"]' \
  "rule order"
expect_jq '.rules[0] | [.field, .op, .bound, .seen, .passed, .message]' \
  '["spec.metrics.accuracy",">=","0.85","0.94",true,""]' "json rule fields"

# --- failing rules: exit 1, each reported, the others still evaluated ---
sed -e 's/accuracy: 0.94/accuracy: 0.80/' -e 's/score: 0.05/score: 0.31/' "$WORK/seed.yaml" \
  >"$WORK/weak.yaml"
printf '  dependencies: [xgboost==1.7.4, leftpad==0.0.1]\n' >>"$WORK/weak.yaml"
gate "$WORK/weak.yaml"
expect_rc 1 "failing manifest"
expect_out "^FAIL +min-accuracy +spec\.metrics\.accuracy +>= 0\.85 +0\.80$" "failed accuracy row"
expect_out "^PASS +min-f1 " "f1 still passes"
expect_out "^  min-accuracy: spec\.metrics\.accuracy 0\.80 < 0\.85$" "accuracy reason"
expect_out "^  max-drift: spec\.drift\.score 0\.31 >= 0\.30$" "drift reason"
expect_out "^  dependencies-allowlisted: dependency 'leftpad==0\.0\.1' is not in the allowlist$" \
  "dependency reason"
expect_out "^FAIL: 3 of 6 rules failed " "failure summary"
gate "$WORK/weak.yaml" --json
expect_rc 1 "failing --json"
expect_jq '.passed' 'false' "json passed=false"
expect_jq '[.rules[] | select(.passed | not) | .name]' \
  '["min-accuracy","max-drift","dependencies-allowlisted"]' "json failed rules"
expect_jq '.rules[5].seen' '"xgboost==1.7.4, leftpad==0.0.1"' "json dependencies seen"

# absent and required: fairness removed
sed -e '/fairness:/d' -e '/demographic_parity/d' "$WORK/seed.yaml" >"$WORK/nofair.yaml"
gate "$WORK/nofair.yaml" --json
expect_rc 1 "no fairness"
expect_jq '[.rules[] | select(.passed | not) | [.name, .seen, .message]]' \
  '[["fairness-evaluated","(absent)","spec.fairness is absent (required)"]]' "fairness absent"

# --- a policy file with a custom bound ---
cat >"$WORK/parity.yaml" <<'EOF'
rules:
  - name: max-demographic-parity
    field: spec.fairness.demographic_parity
    op: "<="
    value: 0.01
EOF
gate "$WORK/seed.yaml" --policy "$WORK/parity.yaml"
expect_rc 1 "parity 0.02 against bound 0.01"
expect_out "^FAIL +max-demographic-parity +spec\.fairness\.demographic_parity +<= 0\.01 +0\.02$" \
  "custom bound row"
expect_out "policy .*parity\.yaml\)$" "summary names the policy"
sed -i 's/value: 0.01/value: 0.05/' "$WORK/parity.yaml"
gate "$WORK/seed.yaml" --policy "$WORK/parity.yaml"
expect_rc 0 "parity 0.02 against bound 0.05"

# --- the printed default is a policy file that gives the same verdicts ---
gate --print-default-policy
expect_rc 0 "--print-default-policy"
cp "$OUT" "$WORK/default.yaml"
grep -q "demographic_parity" "$WORK/default.yaml" && pass || fail "default policy text"
gate "$WORK/weak.yaml" --json --policy "$WORK/default.yaml"
expect_rc 1 "printed default, loaded back"
expect_jq '[.rules[] | select(.passed | not) | .name]' \
  '["min-accuracy","max-drift","dependencies-allowlisted"]' "same verdicts as built-in"

# --- example policies and the example manifest ---
for p in "$MMSP_SOURCE_DIR"/examples/policies/*.yaml; do
  gate "$WORK/seed.yaml" --policy "$p"
  if [ "$RC" = 0 ] || [ "$RC" = 1 ]; then pass; else fail "example policy $p: exit $RC: $(cat "$ERR")"; fi
done
gate "$WORK/seed.yaml" --policy "$MMSP_SOURCE_DIR/examples/policies/strict.yaml" --json
expect_rc 1 "strict policy wants lineage"
expect_jq '[.rules[] | select(.passed | not) | .name]' \
  '["approved","traceable-code","traceable-data","supported-framework"]' \
  "strict failures"
if [ -f "$MMSP_SOURCE_DIR/examples/fraud-detector/manifest.yaml" ]; then
  gate "$MMSP_SOURCE_DIR/examples/fraud-detector/manifest.yaml"
  expect_rc 0 "fraud-detector example passes the built-in policy"
fi

# --- standard input ---
"$MMSP_BIN" gate - --json <"$WORK/seed.yaml" >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0 "manifest on stdin"
expect_jq '.passed' 'true' "stdin verdict"

# --- broken manifests and policies: exit 2, "mmsp: FILE:LINE: FIELD: what", nothing on stdout ---
sed 's/accuracy: 0.94/accuracy: high/' "$WORK/seed.yaml" >"$WORK/bad.yaml"
gate "$WORK/bad.yaml"
expect_rc 2 "non-numeric metric"
expect_err_exact "mmsp: $WORK/bad.yaml:9: spec.metrics.accuracy: expected a number, got 'high'" \
  "file:line:field"
[ ! -s "$OUT" ] && pass || fail "stdout not empty on error: $(cat "$OUT")"
gate "$WORK/bad.yaml" --json
expect_rc 2 "non-numeric metric, --json"

sed 's#mlifecycle.io/v1#mlifecycle.io/v9#' "$WORK/seed.yaml" >"$WORK/bad2.yaml"
gate "$WORK/bad2.yaml"
expect_rc 2 "wrong apiVersion"
expect_err_exact "mmsp: $WORK/bad2.yaml:1: apiVersion: expected 'mlifecycle.io/v1', got 'mlifecycle.io/v9'" \
  "apiVersion message"

sed 's/    name: fraud-detector/    nam: fraud-detector/' "$WORK/seed.yaml" >"$WORK/bad3.yaml"
gate "$WORK/bad3.yaml"
expect_rc 2 "missing model name"
expect_err_exact "mmsp: $WORK/bad3.yaml:5: spec.model.name: required field is missing" "missing field"

{ cat "$WORK/seed.yaml"; printf '  metrics: {auc: 0.9}\n'; } >"$WORK/dup.yaml"
gate "$WORK/dup.yaml"
expect_rc 2 "duplicate key"
expect_err_exact "mmsp: $WORK/dup.yaml:15: spec.metrics: duplicate key (first at line 8)" "duplicate"

printf 'a: &a [x, x, x, x]\nb: [*a, *a, *a, *a]\n' >"$WORK/lol.yaml"
gate "$WORK/lol.yaml"
expect_rc 2 "aliases refused"
expect_err_exact "mmsp: $WORK/lol.yaml:2: b[0]: aliases (*a) are not supported" "alias message"

head -c 1100000 /dev/zero | tr '\0' '#' >"$WORK/huge.yaml"
gate "$WORK/huge.yaml"
expect_rc 2 "too large"
expect_err_exact "mmsp: $WORK/huge.yaml: larger than 1048576 bytes" "size message"

gate "$WORK/missing.yaml"
expect_rc 2 "missing file"
expect_err_exact "mmsp: $WORK/missing.yaml: cannot open: No such file or directory" "missing message"

printf 'rules:\n  - name: a\n    field: spec.metrics.accuracy\n    op: "=>"\n    value: 1\n' \
  >"$WORK/badpolicy.yaml"
gate "$WORK/seed.yaml" --policy "$WORK/badpolicy.yaml"
expect_rc 2 "invalid policy"
grep -q "^mmsp: $WORK/badpolicy.yaml:4: rules\[0\].op: unknown operator" "$ERR" && pass ||
  fail "policy error: $(cat "$ERR")"
printf 'rules:\n  - {name: a, field: x, op: present, severity: 1}\n' >"$WORK/badpolicy2.yaml"
gate "$WORK/seed.yaml" --policy "$WORK/badpolicy2.yaml"
expect_rc 2 "unknown policy key"
grep -q "^mmsp: $WORK/badpolicy2.yaml:2: rules\[0\].severity: unknown key" "$ERR" && pass ||
  fail "policy key error: $(cat "$ERR")"
gate "$WORK/seed.yaml" --policy "$WORK/nothere.yaml"
expect_rc 2 "missing policy file"

finish
