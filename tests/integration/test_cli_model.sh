#!/usr/bin/env bash
# `mmsp model register|list|show|stage|alias` and `mmsp registry check` on a temporary --data
# store, then the same flow against a running `mmsp serve` with --server (the output of both
# backends must be the same document), with the admin token. Exit codes: 0 ok, 1 failed,
# 2 usage, 3 not found, 4 refused (gate), 5 authentication.
source "$(dirname "$0")/lib.sh"
fixtures

D="$WORK/data"
MODEL="$FIXTURES/binary/1/model.json"
MODEL2="$FIXTURES/regress/1/model.json"
export MMSP_USER=tester
unset MMSP_ADMIN_TOKEN

# run ARGS... : runs mmsp, sets RC, OUT (stdout), ERR (stderr).
run() {
  "$MMSP_BIN" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}
expect_rc() {
  if [ "$RC" = "$1" ]; then pass; else fail "$2: exit $RC, want $1; stdout: ${OUT:0:300}; stderr: ${ERR:0:400}"; fi
}
# expect_out FILTER EXPECTED : jq -c FILTER of OUT equals EXPECTED.
expect_out() {
  local got
  got=$(printf '%s' "$OUT" | jq -c "$1" 2>/dev/null)
  if [ -n "$OUT" ] && [ "$got" = "$2" ]; then pass; else fail "$1: got '$got', want '$2'; stdout: ${OUT:0:300}"; fi
}
expect_in() { # expect_in TEXT HAYSTACK WHAT
  if [[ "$2" == *"$1"* ]]; then pass; else fail "$3: '$1' not in: ${2:0:600}"; fi
}
expect_not_in() {
  if [[ "$2" != *"$1"* ]]; then pass; else fail "$3: '$1' unexpectedly in: ${2:0:600}"; fi
}
n_artifacts() { find "$1/artifacts" -type f 2>/dev/null | grep -c '/sha256/../[0-9a-f]\{64\}$'; }

cat >"$WORK/good.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.02}
  lineage: {dataset_version: ds-2024-01}
EOF
cat >"$WORK/bad.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud}
  metrics: {accuracy: 0.5, f1_score: 0.4}
  fairness: {demographic_parity: 0.02}
EOF
printf 'this is not a model' >"$WORK/junk.json"

# --- help and usage ------------------------------------------------------------------------
run model --help
expect_rc 0 "model --help"
expect_in "register NAME ARTIFACT" "$OUT" "model --help"
for sub in register list show stage alias; do
  run model "$sub" --help
  expect_rc 0 "model $sub --help"
  expect_in "exit codes: 0 ok" "$OUT" "model $sub --help"
  expect_in "--server URL" "$OUT" "model $sub --help"
done
run registry check --help
expect_rc 0 "registry check --help"
run model
expect_rc 2 "model without a subcommand"
run model frobnicate
expect_rc 2 "unknown subcommand"
run model list --data "$D" --bogus
expect_rc 2 "bad flag"
expect_in "mmsp: model list: unknown option '--bogus'" "$ERR" "bad flag message"
run model register --data "$D" fraud
expect_rc 2 "register without ARTIFACT"
run model register --data "$D" fraud "$MODEL" --metric accuracy
expect_rc 2 "--metric without ="
run model register --data "$D" fraud "$MODEL" --metric accuracy=high
expect_rc 2 "--metric not a number"
run model register --data "$D" fraud "$MODEL" --manifest
expect_rc 2 "--manifest without a value"
run model show --data "$D" fraud abc
expect_rc 2 "version not a number"
run model list --data "$D" --server http://127.0.0.1:1
expect_rc 2 "--server with --data"

# --- register ------------------------------------------------------------------------------
digest=$(sha256sum "$MODEL" | cut -d' ' -f1)
run model register fraud "$MODEL" --data "$D" --manifest "$WORK/good.yaml" --metric auc=0.97 \
  --tag team=risk --git-sha 3f2a9c1 --approver alice --run-id run-7 --description "first" --json
expect_rc 0 "register v1"
expect_out '.name' '"fraud"'
expect_out '.version' '1'
expect_out '.gate_status' '"passed"'
expect_out '.format' '"xgboost"'
expect_out '.digest' "\"$digest\""
expect_out '.size' "$(stat -c %s "$MODEL")"
expect_out '.metrics.accuracy' '0.9'
expect_out '.metrics.auc' '0.97'
expect_out '.tags.team' '"risk"'
expect_out '.lineage.git_sha' '"3f2a9c1"'
expect_out '.lineage.approver' '"alice"'
expect_out '.lineage.dataset_version' '"ds-2024-01"'
expect_out '.run_id' '"run-7"'
expect_out '.user_id' '"tester"'
if [ -f "$D/artifacts/sha256/${digest:0:2}/$digest" ]; then pass; else fail "artifact not stored content-addressed"; fi
cmp -s "$MODEL" "$D/artifacts/sha256/${digest:0:2}/$digest" && pass || fail "stored artifact differs"

# flags before the positionals (even before the subcommand), human output
run model --data "$D" register --manifest "$WORK/good.yaml" fraud "$MODEL2"
expect_rc 0 "register v2 (flags first)"
expect_in "registered fraud version 2" "$OUT" "register human output"
expect_in "gate passed" "$OUT" "register human output"

# gate refusal: exit 4, each failed rule listed, nothing stored
before=$(n_artifacts "$D")
printf ' ' | cat "$MODEL" - >"$WORK/model-variant.json" # a new digest
run model register fraud "$WORK/model-variant.json" --data "$D" --manifest "$WORK/bad.yaml"
expect_rc 4 "gate refusal"
expect_in "refused by the policy gate" "$ERR" "gate refusal message"
expect_in "min-accuracy" "$ERR" "failed rule min-accuracy listed"
expect_in "min-f1" "$ERR" "failed rule min-f1 listed"
if [ "$(printf '%s\n' "$ERR" | grep -c '^  - ')" -ge 2 ]; then pass; else fail "failed rules not one per line: $ERR"; fi
expect_not_in "fairness-evaluated" "$ERR" "a passing rule is not listed"
run model show fraud --data "$D" --json
expect_out '.versions | length' '2'
if [ "$(n_artifacts "$D")" = "$before" ]; then pass; else fail "a refused registration stored an artifact"; fi

# no manifest and no metrics: the gate fails on the absent metrics
run model register fraud "$WORK/model-variant.json" --data "$D"
expect_rc 4 "register without a manifest"
# --metric values alone can pass (with fairness still absent it fails)
run model register fraud "$WORK/model-variant.json" --data "$D" --metric accuracy=0.95 --metric f1_score=0.9
expect_rc 4 "metrics without fairness"
expect_in "fairness" "$ERR" "fairness rule named"

# --force registers past the gate, recorded with its failures
run model register fraud "$WORK/model-variant.json" --data "$D" --manifest "$WORK/bad.yaml" --force --user bob
expect_rc 0 "forced registration"
expect_in "gate forced" "$OUT" "forced output"
expect_in "min-accuracy" "$OUT" "forced output lists the failed rules"
run model show fraud 3 --data "$D" --json
expect_out '.gate_status' '"forced"'
expect_out '.gate_report.passed' 'false'
expect_out '[.gate_report.rules[] | select(.passed == false) | .name] | sort' '["min-accuracy","min-f1"]'
run history fraud --data "$D" --json
expect_rc 0 "history of the model shows the forced registration"
expect_out '[.events[] | select(.action == "register") | .who]' '["bob"]'
expect_out '[.events[] | select(.action == "register") | .detail.version]' '[3]'
run history fraud --data "$D"
expect_in "register" "$OUT" "history table"
expect_in "bob" "$OUT" "history table who"

# the runtime refuses what it cannot serve, with its message; nothing stored
before=$(n_artifacts "$D")
run model register fraud "$WORK/junk.json" --data "$D" --manifest "$WORK/good.yaml"
expect_rc 1 "junk artifact"
expect_in "mmsp: model register:" "$ERR" "junk artifact message"
if [ "$(n_artifacts "$D")" = "$before" ]; then pass; else fail "a refused artifact was stored"; fi
run model register fraud "$WORK/missing.json" --data "$D" --manifest "$WORK/good.yaml"
expect_rc 1 "missing artifact"
run model register fraud "$MODEL" --data "$D" --manifest "$WORK/missing.yaml"
expect_rc 1 "missing manifest"
expect_in "missing.yaml" "$ERR" "missing manifest named"
printf 'apiVersion: mlifecycle.io/v1\nkind: ModelDeployment\nspec:\n  metrics: {accuracy: high}\n' >"$WORK/broken.yaml"
run model register fraud "$MODEL" --data "$D" --manifest "$WORK/broken.yaml"
if [ "$RC" != 0 ] && [[ "$ERR" == *broken.yaml* ]]; then pass; else fail "broken manifest: exit $RC, stderr $ERR"; fi

# --- list and show -------------------------------------------------------------------------
run model register other "$MODEL2" --data "$D" --manifest "$WORK/good.yaml" --json
expect_rc 0 "register another model"
run model list --data "$D"
expect_rc 0 "model list"
header=$(printf '%s\n' "$OUT" | head -1)
if [[ "$header" =~ ^NAME\ +LATEST\ +ALIASES\ +UPDATED$ ]]; then pass; else fail "list header: '$header'"; fi
if printf '%s\n' "$OUT" | grep -Eq '^fraud +3 +- +[0-9]{4}-[0-9]{2}-[0-9]{2}T'; then pass; else fail "list row: $OUT"; fi
run model list --data "$D" --json
expect_out '[.models[].name]' '["fraud","other"]'
expect_out '[.models[].latest_version]' '[3,1]'
run model show fraud --data "$D"
expect_rc 0 "model show"
expect_in "VERSION" "$OUT" "show table"
if printf '%s\n' "$OUT" | grep -Eq '^3 +None +forced +xgboost'; then pass; else fail "show version row: $OUT"; fi
run model show fraud 1 --data "$D"
expect_rc 0 "model show version"
expect_in "3f2a9c1" "$OUT" "show version lineage"
expect_in "auc" "$OUT" "show version metrics"
expect_in "min-accuracy" "$OUT" "show version gate report"
run model show nosuch --data "$D"
expect_rc 3 "unknown model"
expect_in "mmsp: model show:" "$ERR" "unknown model message"
run model show fraud 99 --data "$D" --json
expect_rc 3 "unknown version"
if [ -z "$OUT" ]; then pass; else fail "an error printed a document: $OUT"; fi

# --- stage ---------------------------------------------------------------------------------
run model stage fraud 1 production --data "$D" --json
expect_rc 0 "stage production"
expect_out '.stage' '"Production"'
run model stage fraud 2 Production --archive-existing --data "$D"
expect_rc 0 "stage with --archive-existing"
expect_in "Production" "$OUT" "stage output"
run model show fraud --data "$D" --json
expect_out '[.versions[].stage]' '["Archived","Production","None"]'
run model stage fraud 2 Live --data "$D"
expect_rc 2 "unknown stage"
run model stage fraud 42 Staging --data "$D"
expect_rc 3 "stage of an unknown version"
run model stage fraud 1 --data "$D"
expect_rc 2 "stage without STAGE"

# --- alias ---------------------------------------------------------------------------------
run model alias fraud champion 1 --data "$D" --json
expect_rc 0 "alias set"
expect_out '.version' '1'
expect_out '.aliases' '["champion"]'
run model alias fraud champion 2 --data "$D"
expect_rc 0 "alias moved"
expect_in "champion of fraud -> version 2" "$OUT" "alias output"
run model list --data "$D" --json
expect_out '.models[0].aliases' '{"champion":2}'
run model list --data "$D"
if printf '%s\n' "$OUT" | grep -Eq '^fraud +3 +champion=2 '; then pass; else fail "list aliases: $OUT"; fi
run model alias fraud champion 77 --data "$D"
expect_rc 3 "alias to an unknown version"
run model alias fraud champion --delete --data "$D" --json
expect_rc 0 "alias delete"
expect_out '.deleted' 'true'
run model alias fraud champion --delete --data "$D"
expect_rc 3 "delete an unknown alias"
run model alias fraud champion --data "$D"
expect_rc 2 "alias without VERSION or --delete"
run model alias fraud champion 1 --delete --data "$D"
expect_rc 2 "alias with VERSION and --delete"

# --- registry check ------------------------------------------------------------------------
run registry check --data "$D"
expect_rc 0 "registry check"
expect_in "ok: 4 versions" "$OUT" "registry check output"
run registry check --data "$D" --json
expect_out '.ok' 'true'
expect_out '.versions' '4'
# a corrupted artifact is found
cp -r "$D" "$WORK/corrupt"
f="$WORK/corrupt/artifacts/sha256/${digest:0:2}/$digest"
chmod u+w "$f" 2>/dev/null
printf 'x' >>"$f"
run registry check --data "$WORK/corrupt" --json
expect_rc 1 "registry check finds a corrupted artifact"
expect_out '.ok' 'false'
expect_in "fraud" "$ERR" "the problem names the model"
rm -f "$f"
run registry check --data "$WORK/corrupt"
expect_rc 1 "registry check finds a missing artifact"
run registry check --server http://127.0.0.1:1
expect_rc 2 "registry check over --server"

# --- the same over --server ----------------------------------------------------------------
S="$WORK/srv"
TOKEN=t0ken-$$
start_server --data "$S" --admin-token "$TOKEN"
run model register fraud "$MODEL" --server "$URL" --manifest "$WORK/good.yaml" --metric auc=0.97 \
  --tag team=risk --git-sha 3f2a9c1 --approver alice --run-id run-7 --description first --json
expect_rc 5 "register without the token"
expect_in "401" "$ERR" "401 named"
run model register fraud "$MODEL" --server "$URL" --token wrong --manifest "$WORK/good.yaml"
expect_rc 5 "register with a wrong token"
run model register fraud "$MODEL" --server "$URL" --token "$TOKEN" --manifest "$WORK/good.yaml" \
  --metric auc=0.97 --tag team=risk --git-sha 3f2a9c1 --approver alice --run-id run-7 \
  --description first --json
expect_rc 0 "register over --server"
expect_out '.version' '1'
expect_out '.digest' "\"$digest\""
expect_out '.gate_status' '"passed"'
expect_out '.metrics.auc' '0.97'
expect_out '.user_id' '"tester"'
MMSP_ADMIN_TOKEN=$TOKEN run model register fraud "$WORK/model-variant.json" --server "$URL" --manifest "$WORK/bad.yaml"
expect_rc 4 "gate refusal over --server"
expect_in "min-accuracy" "$ERR" "failed rule over --server"
MMSP_ADMIN_TOKEN=$TOKEN run model register fraud "$WORK/model-variant.json" --server "$URL" --manifest "$WORK/bad.yaml" --force
expect_rc 0 "forced over --server (token from the environment)"
run model register fraud "$WORK/junk.json" --server "$URL" --token "$TOKEN"
expect_rc 1 "junk artifact over --server"
run model register fraud "$MODEL" --server "$URL" --token "$TOKEN" --policy "$WORK/good.yaml"
expect_rc 2 "--policy with --server"
run model stage fraud 1 Staging --server "$URL" --token "$TOKEN" --json
expect_rc 0 "stage over --server"
expect_out '.stage' '"Staging"'
run model stage fraud 1 Staging --server "$URL"
expect_rc 5 "stage without the token"
run model alias fraud champion 2 --server "$URL" --token "$TOKEN" --json
expect_rc 0 "alias over --server"
expect_out '.version' '2'
run model alias fraud ghost --delete --server "$URL" --token "$TOKEN"
expect_rc 3 "delete an unknown alias over --server"
run model show nosuch --server "$URL"
expect_rc 3 "unknown model over --server"
run model show fraud 9 --server "$URL"
expect_rc 3 "unknown version over --server"

# reads are open; both backends print the same documents (the server runs on the same store)
for args in "model list" "model show fraud" "model show fraud 1" "model show fraud 2"; do
  # shellcheck disable=SC2086
  run $args --server "$URL" --json
  expect_rc 0 "$args over --server"
  remote=$OUT
  # shellcheck disable=SC2086
  run $args --data "$S" --json
  expect_rc 0 "$args locally beside the server"
  if [ "$remote" = "$OUT" ]; then pass; else fail "$args: --server and --data differ"; diff <(echo "$remote") <(echo "$OUT") | head -10 >&2; fi
  # shellcheck disable=SC2086
  run $args --server "$URL"
  remote=$OUT
  # shellcheck disable=SC2086
  run $args --data "$S"
  if [ "$remote" = "$OUT" ]; then pass; else fail "$args: tables differ between --server and --data"; fi
done
run model list --server "http://127.0.0.1:1"
expect_rc 1 "unreachable server"
expect_in "mmsp: model list:" "$ERR" "unreachable server message"

finish
