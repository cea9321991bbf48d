#!/usr/bin/env bash
# `mmsp deploy`, `promote`, `rollback`, `history` and `deployments` on a temporary --data
# store: all at once, canary, weight change, shadow, alias, environments, promote, rollback
# and rollback --to, the history with who and why, every error with its exit code (2 usage,
# 3 not found, 4 refused); then the same flow against a running `mmsp serve` with --server,
# whose output must equal the local one on the same store.
source "$(dirname "$0")/lib.sh"
fixtures

D="$WORK/data"
MODEL="$FIXTURES/binary/1/model.json"
export MMSP_USER=deployer
unset MMSP_ADMIN_TOKEN

run() {
  "$MMSP_BIN" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}
expect_rc() {
  if [ "$RC" = "$1" ]; then pass; else fail "$2: exit $RC, want $1; stdout: ${OUT:0:300}; stderr: ${ERR:0:400}"; fi
}
expect_out() {
  local got
  got=$(printf '%s' "$OUT" | jq -c "$1" 2>/dev/null)
  if [ -n "$OUT" ] && [ "$got" = "$2" ]; then pass; else fail "$1: got '$got', want '$2'; stdout: ${OUT:0:300}"; fi
}
expect_in() {
  if [[ "$2" == *"$1"* ]]; then pass; else fail "$3: '$1' not in: ${2:0:600}"; fi
}
# state JSON: "stable canary weight shadow state" of the deployment document in OUT
expect_state() {
  local got
  got=$(printf '%s' "$OUT" | jq -r '"\(.stable_version) \(.canary_version) \(.canary_weight) \(.shadow_version) \(.state)"' 2>/dev/null)
  if [ "$got" = "$1" ]; then pass; else fail "$2: state '$got', want '$1'; stdout: ${OUT:0:300}"; fi
}

cat >"$WORK/good.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: fraud, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.02}
EOF

# three versions of "fraud" (distinct artifacts: trailing whitespace changes the digest only)
setup_versions() { # setup_versions BACKEND-ARGS...
  local i
  for i in 1 2 3; do
    { cat "$MODEL"; printf "%${i}s" ""; } >"$WORK/fraud-$i.json"
    run model register fraud "$WORK/fraud-$i.json" --manifest "$WORK/good.yaml" "$@" --json
    expect_rc 0 "register fraud v$i"
    expect_out '.version' "$i"
  done
}

# --- help and usage ------------------------------------------------------------------------
for cmd in deploy promote rollback history deployments; do
  run "$cmd" --help
  expect_rc 0 "$cmd --help"
  expect_in "exit codes: 0 ok" "$OUT" "$cmd --help exit codes"
  expect_in "--server URL" "$OUT" "$cmd --help common flags"
done
run deploy --data "$D"
expect_rc 2 "deploy without NAME"
run deploy svc --data "$D"
expect_rc 2 "deploy with nothing to deploy"
run deploy svc --model fraud --data "$D"
expect_rc 2 "--model without --version/--alias"
run deploy svc --model fraud --version 1 --alias champion --data "$D"
expect_rc 2 "--version and --alias"
run deploy svc --version 1 --data "$D"
expect_rc 2 "--version without --model"
run deploy svc --model fraud --version 1 --env prod --data "$D"
expect_rc 2 "bad --env"
expect_in "mmsp: deploy: --env" "$ERR" "bad --env message"
run deploy svc --model fraud --version 1 --canary 150 --data "$D"
expect_rc 2 "--canary above 100"
run deploy svc --model fraud --version 1 --canary 10 --shadow --data "$D"
expect_rc 2 "--canary with --shadow"
run deploy svc --model fraud --version x --data "$D"
expect_rc 2 "bad --version"
run deploy svc --model fraud --version 1 --frobnicate --data "$D"
expect_rc 2 "unknown flag"
run rollback svc --to zero --data "$D"
expect_rc 2 "bad --to"
run promote --data "$D"
expect_rc 2 "promote without NAME"
run deployments extra --data "$D"
expect_rc 2 "deployments with an argument"

# --- local flow ----------------------------------------------------------------------------
setup_versions --data "$D"

run deploy svc --model fraud --version 1 --canary 10 --data "$D"
expect_rc 4 "the first deploy cannot be a canary"
run deploy svc --model nosuch --version 1 --data "$D"
expect_rc 3 "unknown model"
run deploy svc --model fraud --version 9 --data "$D"
expect_rc 3 "unknown version"
run deploy svc --model fraud --alias nosuch --data "$D"
expect_rc 3 "unknown alias"
run promote nosuch --data "$D"
expect_rc 3 "promote an unknown deployment"
run rollback nosuch --data "$D"
expect_rc 3 "rollback an unknown deployment"
run history nosuch --data "$D"
expect_rc 3 "history of an unknown deployment"
run deployments --data "$D" --json
expect_out '.deployments' '[]'

run deploy svc --model fraud --version 1 --reason "first release" --data "$D" --json
expect_rc 0 "deploy v1"
expect_out '.name' '"svc"'
expect_out '.environment' '"production"'
expect_out '.model' '"fraud"'
expect_state "1 null 0 null active" "deploy v1"
run promote svc --data "$D"
expect_rc 4 "promote without a canary"
run rollback svc --data "$D"
expect_rc 4 "rollback with nothing before"

run deploy svc --model fraud --version 2 --canary 10 --data "$D" --json
expect_rc 0 "canary v2 at 10"
expect_state "1 2 10 null canary" "canary v2"
run deploy svc --canary 50 --data "$D" --json
expect_rc 0 "weight change"
expect_state "1 2 50 null canary" "weight 50"
run deploy svc --canary 60 --data "$D"
expect_rc 0 "weight change (human)"
expect_in "canary 2 at 60%" "$OUT" "deploy human output"
run deployments --data "$D"
expect_rc 0 "deployments"
header=$(printf '%s\n' "$OUT" | head -1)
if [[ "$header" =~ ^NAME\ +ENV\ +MODEL\ +STABLE\ +CANARY\ +WEIGHT\ +SHADOW\ +STATE\ +UPDATED$ ]]; then pass; else fail "deployments header: '$header'"; fi
if printf '%s\n' "$OUT" | grep -Eq '^svc +production +fraud +1 +2 +60% +- +canary +[0-9]{4}-'; then pass; else fail "deployments row: $OUT"; fi

run promote svc --reason "canary healthy" --data "$D" --json
expect_rc 0 "promote"
expect_state "2 null 0 null active" "promote"
run rollback svc --reason "bad latency" --data "$D" --json
expect_rc 0 "rollback to the previous stable"
expect_state "1 null 0 null rolled_back" "rollback"
run rollback svc --to 2 --data "$D" --json
expect_rc 0 "rollback --to 2"
expect_out '.stable_version' '2'
run deploy svc --model fraud --version 3 --canary 20 --data "$D" --json
expect_rc 0 "canary v3"
run rollback svc --data "$D" --json
expect_rc 0 "rollback removes the canary"
expect_out '.stable_version' '2'
expect_out '.canary_version' 'null'

# alias and shadow
run model alias fraud champion 3 --data "$D"
expect_rc 0 "alias champion"
run deploy svc --model fraud --alias champion --data "$D" --json
expect_rc 0 "deploy by alias"
expect_out '.stable_version' '3'
run deploy svc --model fraud --version 1 --shadow --data "$D" --json
expect_rc 0 "shadow"
expect_out '.shadow_version' '1'
expect_out '.stable_version' '3'

# environments
run deploy svc --model fraud --version 2 --env staging --user carol --data "$D" --json
expect_rc 0 "deploy to staging"
expect_out '.environment' '"staging"'
run deployments --data "$D" --json
expect_out '[.deployments[] | "\(.name)/\(.environment)"]' '["svc/production","svc/staging"]'
run history svc --env staging --data "$D" --json
expect_rc 0 "history --env staging"
expect_out '[.events[] | .environment] | unique' '["staging"]'
expect_out '[.events[] | .who]' '["carol"]'
run history svc --env staging --data "$D" --server "http://127.0.0.1:1"
expect_rc 2 "--server with --data"

# the whole history: who, actions, reasons
run history svc --data "$D" --json
expect_rc 0 "history"
expect_out '[.events[] | select(.environment == "production") | .action] | length >= 9' 'true'
expect_out '[.events[] | select(.environment == "production") | .who] | unique' '["deployer"]'
expect_out '[.events[] | .detail.reason | select(. != null)]' '["first release","canary healthy","bad latency"]'
expect_out '[.events[].id] == ([.events[].id] | sort)' 'true'
for a in promote rollback; do
  expect_out "[.events[] | select(.action == \"$a\")] | length > 0" 'true'
done
run history svc --data "$D"
header=$(printf '%s\n' "$OUT" | head -1)
if [[ "$header" =~ ^TIME\ +ENV\ +WHO\ +ACTION\ +DETAIL$ ]]; then pass; else fail "history header: '$header'"; fi
expect_in "first release" "$OUT" "history table reason"
expect_in "carol" "$OUT" "history table who"

run registry check --data "$D"
expect_rc 0 "registry check after the flow"

# --- over --server (same store) --------------------------------------------------------------
S="$WORK/srv"
TOKEN=dep-$$
start_server --data "$S" --admin-token "$TOKEN"
export MMSP_ADMIN_TOKEN=$TOKEN
setup_versions --server "$URL"
run deploy web --model fraud --version 1 --server "$URL" --token wrong
expect_rc 5 "deploy with a wrong token"
MMSP_ADMIN_TOKEN='' run deploy web --model fraud --version 1 --server "$URL"
expect_rc 5 "deploy without a token"
run deploy web --model fraud --version 1 --canary 10 --server "$URL"
expect_rc 4 "first deploy as a canary over --server"
run deploy web --model fraud --version 9 --server "$URL"
expect_rc 3 "unknown version over --server"
run deploy web --model fraud --version 1 --reason "first release" --server "$URL" --json
expect_rc 0 "deploy over --server"
expect_state "1 null 0 null active" "deploy over --server"
run deploy web --model fraud --version 2 --canary 25 --server "$URL" --json
expect_state "1 2 25 null canary" "canary over --server"
run deploy web --canary 40 --server "$URL" --json
expect_state "1 2 40 null canary" "weight over --server"
run promote web --reason ok --server "$URL" --json
expect_state "2 null 0 null active" "promote over --server"
run promote web --server "$URL"
expect_rc 4 "promote without a canary over --server"
run rollback web --server "$URL" --json
expect_state "1 null 0 null rolled_back" "rollback over --server"
run rollback web --to 2 --server "$URL" --json
expect_out '.stable_version' '2'
run model alias fraud champion 3 --server "$URL"
run deploy web --model fraud --alias champion --env staging --server "$URL" --json
expect_rc 0 "deploy by alias to staging over --server"
expect_out '.stable_version' '3'
run history nosuch --server "$URL"
expect_rc 3 "history of an unknown deployment over --server"

for args in "deployments" "history web" "history web --env production" "history web --env staging"; do
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
run history web --server "$URL" --json
expect_out '[.events[] | .who] | unique' '["deployer"]'
expect_out '[.events[] | .detail.reason | select(. != null)]' '["first release","ok"]'

finish
