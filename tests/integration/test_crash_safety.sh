#!/usr/bin/env bash
# Crash safety of the registry store: SIGKILL at random points during registrations and
# deployment changes, on SQLite (--data) and on a real PostgreSQL (--registry, artifacts under
# --data). Each trial starts one command in the background (`mmsp model register` of a new,
# distinct artifact, or `mmsp deploy` / `promote` / `rollback`), kills it with SIGKILL after a
# random delay drawn from 0..1.2x the command's measured normal duration (so kills land before
# the artifact, during its write, between the artifact and the commit, and after), then
#   - `mmsp registry check` must exit 0: the store opens, its integrity check passes and no
#     version points at a missing or partial artifact;
#   - the version listing must still parse, with every version READY;
#   - a command that finished (was not killed) must have had its effect: a registration that
#     exited 0 is in the listing for good.
# Prints, per engine, how many trials killed a command mid-run versus after it completed, and
# where the killed registrations stopped (nothing stored, artifact stored without a version,
# version committed).
# Environment: MMSP_CRASH_TRIALS (default 200 per engine).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg.sh"
fixtures

TRIALS=${MMSP_CRASH_TRIALS:-200}
MODEL="$FIXTURES/binary/1/model.json"
VARIANTS="$WORK/variants"
N_VARIANTS=$((TRIALS + 60))
export MMSP_USER=crash

cat >"$WORK/good.yaml" <<'EOF'
apiVersion: mlifecycle.io/v1
kind: ModelDeployment
spec:
  model: {name: crash, framework: xgboost}
  metrics: {accuracy: 0.9, f1_score: 0.85}
  fairness: {demographic_parity: 0.02}
EOF

# Distinct artifacts prepared before the trials: the fixture model followed by i spaces (the
# model is the same, the digest differs, so every registration really writes a file).
mkdir -p "$VARIANTS"
for i in $(seq 1 "$N_VARIANTS"); do
  { cat "$MODEL"; printf "%${i}s" ""; } >"$VARIANTS/m$i.json"
done
declare -A DIGEST
while read -r d f; do DIGEST[$(basename "$f" .json)]=$d; done < <(sha256sum "$VARIANTS"/m*.json)

# A sleep without a fork: read with a timeout from a pipe nobody writes.
exec {SLEEP_FD}<> <(:)
sleep_us() {
  local us=$1
  read -r -t "$((us / 1000000)).$(printf '%06d' $((us % 1000000)))" -u "$SLEEP_FD"
}

NEXT_VARIANT=1
# op_args KIND: the command line of one operation (sets OP_ARGS; registrations take the next
# variant and set OP_VARIANT).
op_args() {
  OP_VARIANT=""
  case $1 in
    register)
      OP_VARIANT=m$NEXT_VARIANT
      NEXT_VARIANT=$((NEXT_VARIANT + 1))
      OP_ARGS=(model register crash "$VARIANTS/$OP_VARIANT.json" --manifest "$WORK/good.yaml")
      ;;
    deploy) OP_ARGS=(deploy crash --model crash --version $((1 + RANDOM % 2)) --canary $((5 + RANDOM % 90))) ;;
    weight) OP_ARGS=(deploy crash --canary $((RANDOM % 101))) ;;
    stable) OP_ARGS=(deploy crash --model crash --version $((1 + RANDOM % 2)) --reason crash-test) ;;
    promote) OP_ARGS=(promote crash --reason crash-test) ;;
    rollback) OP_ARGS=(rollback crash --reason crash-test) ;;
  esac
}

# crash_engine LABEL BACKEND-ARGS...
crash_engine() {
  local label=$1
  shift
  local backend=("$@") kind i
  echo "== $label: $TRIALS trials" >&2

  # A store with two versions and a deployment.
  for kind in register register stable; do
    op_args "$kind"
    if ! "$MMSP_BIN" "${OP_ARGS[@]}" "${backend[@]}" >/dev/null 2>"$WORK/setup.err"; then
      fail "$label: setup '${OP_ARGS[*]}' failed: $(cat "$WORK/setup.err")"
      return
    fi
  done

  # The normal duration of each kind of operation: the slowest of five runs (fsync times vary
  # a lot on a busy machine; the slowest run keeps late kill points in the range).
  declare -A dur
  for kind in register deploy weight promote stable rollback; do
    dur[$kind]=0
    for _ in 1 2 3 4 5; do
      op_args "$kind"
      local t0 t1
      t0=${EPOCHREALTIME/./}
      "$MMSP_BIN" "${OP_ARGS[@]}" "${backend[@]}" >/dev/null 2>&1
      t1=${EPOCHREALTIME/./}
      [ $((t1 - t0)) -gt "${dur[$kind]}" ] && dur[$kind]=$((t1 - t0))
    done
  done
  echo "   normal durations (ms): register $((dur[register] / 1000)), deploy $((dur[deploy] / 1000)), promote $((dur[promote] / 1000)), rollback $((dur[rollback] / 1000))" >&2

  local killed=0 completed=0 checks_ok=0 reg_killed_none=0 reg_killed_orphan=0 reg_killed_committed=0
  local completed_variants=()
  local kinds=(register register deploy weight promote register stable rollback)
  for i in $(seq 1 "$TRIALS"); do
    kind=${kinds[$((i % ${#kinds[@]}))]}
    op_args "$kind"
    local limit=$((dur[$kind] * 12 / 10 + 1)) delay pid rc
    delay=$(((RANDOM << 15 | RANDOM) % limit)) # 30 random bits
    "$MMSP_BIN" "${OP_ARGS[@]}" "${backend[@]}" >/dev/null 2>"$WORK/trial.err" &
    pid=$!
    sleep_us "$delay"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null # (no "Killed" job notice)
    rc=$?
    if [ "$rc" = 137 ]; then
      killed=$((killed + 1))
    else
      completed=$((completed + 1))
      # A finished command ran to its normal end: 0, or a refusal the state allows
      # (promote without a canary, a weight change with no canary: 4).
      case "$kind:$rc" in
        register:0) completed_variants+=("$OP_VARIANT") ;;
        *:0 | deploy:4 | weight:4 | promote:4 | rollback:4 | stable:4) ;;
        *) fail "$label trial $i: '${OP_ARGS[*]}' exited $rc: $(head -c 400 "$WORK/trial.err")" ;;
      esac
    fi

    if "$MMSP_BIN" registry check "${backend[@]}" >"$WORK/check.out" 2>"$WORK/check.err"; then
      checks_ok=$((checks_ok + 1))
    else
      fail "$label trial $i (${OP_ARGS[*]}, killed after ${delay} us, rc $rc): registry check failed: $(head -c 600 "$WORK/check.err")"
    fi
    if "$MMSP_BIN" model show crash "${backend[@]}" --json >"$WORK/versions.json" 2>"$WORK/show.err" &&
      jqe '(.versions | length >= 2) and (.versions | all(.status == "READY" and (.digest | length == 64)))' <"$WORK/versions.json"; then
      pass
    else
      fail "$label trial $i: the version listing does not parse: $(head -c 300 "$WORK/show.err") $(head -c 300 "$WORK/versions.json")"
    fi
    if [ "$kind" = register ] && [ "$rc" = 137 ]; then
      local d=${DIGEST[$OP_VARIANT]}
      if jqe --arg d "$d" 'any(.versions[]; .digest == $d)' <"$WORK/versions.json"; then
        reg_killed_committed=$((reg_killed_committed + 1))
      elif [ -f "${backend_data}/artifacts/sha256/${d:0:2}/$d" ]; then
        reg_killed_orphan=$((reg_killed_orphan + 1))
      else
        reg_killed_none=$((reg_killed_none + 1))
      fi
    fi
  done

  # Every registration that finished is there for good.
  "$MMSP_BIN" model show crash "${backend[@]}" --json >"$WORK/versions.json" 2>/dev/null
  local v lost=0
  for v in "${completed_variants[@]}"; do
    jqe --arg d "${DIGEST[$v]}" 'any(.versions[]; .digest == $d)' <"$WORK/versions.json" || lost=$((lost + 1))
  done
  if [ "$lost" = 0 ]; then pass; else fail "$label: $lost registrations that exited 0 are missing"; fi
  # Versions are numbered 1..n without gaps or duplicates.
  if jqe '[.versions[].version] == [range(1; (.versions | length) + 1)]' <"$WORK/versions.json"; then pass; else fail "$label: version numbers are not 1..n"; fi
  local temps
  temps=$(find "$backend_data/artifacts" -type f 2>/dev/null | grep -vc '/sha256/../[0-9a-f]\{64\}$')
  if [ "$checks_ok" = "$TRIALS" ]; then pass; fi
  if [ "$killed" -gt 0 ] && [ "$completed" -gt 0 ]; then pass; else fail "$label: kills did not spread (killed $killed, completed $completed)"; fi
  echo "   $label: $TRIALS trials: $killed killed mid-run, $completed completed before the kill;" \
    "registry check passed $checks_ok/$TRIALS" >&2
  echo "   $label: killed registrations: $reg_killed_none stored nothing, $reg_killed_orphan left" \
    "an unreferenced artifact, $reg_killed_committed had committed; $temps temporary files left;" \
    "$(jq '.versions | length' "$WORK/versions.json") versions" >&2
}

backend_data="$WORK/sqlite"
NEXT_VARIANT=1
crash_engine sqlite --data "$backend_data"

pg_start
backend_data="$WORK/pgdata"
NEXT_VARIANT=1
crash_engine postgresql --registry "$PG_URL" --data "$backend_data"

finish
