#!/bin/bash
# Delivery assets: renders deploy/k8s/overlays/{dev,prod} with `kubectl kustomize` and checks the
# objects with check_k8s.py (non-root containers with limits and probes, every Deployment covered
# by a NetworkPolicy and an HPA with the seeds' bounds, namespaces per environment, Argo CD
# projects and applications, the Dockerfile). The Dockerfile's runtime packages are derived from
# the binary under test (objdump NEEDED -> dpkg -S), and the flags in the manifests from its
# `mmsp serve --help`. Then the checker is run on broken copies of deploy/, one fault each, and
# must reject every one with the expected message: a checker that cannot fail proves nothing.
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$WORK"' EXIT
command -v kubectl >/dev/null || { echo "kubectl missing (Debian package kubectl)" >&2; exit 1; }
$PY -c 'import yaml' 2>/dev/null || { echo "python3-yaml missing" >&2; exit 1; }
CHECK="$MMSP_SOURCE_DIR/tests/integration/check_k8s.py"
DEPLOY="$MMSP_SOURCE_DIR/deploy"

# Debian packages of the shared libraries the binary links (toolchain runtimes aside).
"$MMSP_BIN" serve --help >"$WORK/serve-help.txt" 2>&1
pkgs=()
while read -r lib; do
  path=$(ldd "$MMSP_BIN" | awk -v l="$lib" '$1 == l { print $3; exit }')
  [ -n "$path" ] || { fail "ldd does not resolve $lib"; continue; }
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
  [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
  [ -n "$pkg" ] || { fail "no Debian package owns $path ($lib)"; continue; }
  case "$pkg" in libc6 | libgcc-s1 | libstdc++6 | libasan* | libubsan* | liblsan* | libtsan*) continue ;; esac
  pkgs+=("$pkg")
done < <(objdump -p "$MMSP_BIN" | awk '$1 == "NEEDED" { print $2 }')
RUNTIME_PKGS=$(
  IFS=,
  echo "${pkgs[*]}"
)
if [ ${#pkgs[@]} -ge 5 ]; then pass; else fail "derived only ${#pkgs[@]} runtime packages: $RUNTIME_PKGS"; fi

check() { # check DEPLOY_DIR : runs the checker, output in $WORK/check.out
  $PY "$CHECK" "$1" --serve-help "$WORK/serve-help.txt" --runtime-packages "$RUNTIME_PKGS" >"$WORK/check.out" 2>&1
}

# The real assets pass.
if check "$DEPLOY"; then pass; else fail "check_k8s.py on deploy/:"$'\n'"$(cat "$WORK/check.out")"; fi
for env in dev prod; do
  if kubectl kustomize "$DEPLOY/k8s/overlays/$env" >"$WORK/$env.yaml" 2>"$WORK/$env.err"; then pass; else fail "kubectl kustomize overlays/$env: $(cat "$WORK/$env.err")"; fi
  n=$(grep -c '^kind: Deployment$' "$WORK/$env.yaml")
  [ "$n" = 4 ] && pass || fail "overlays/$env renders $n Deployments, want 4"
done
if kubectl kustomize "$DEPLOY/argocd" >"$WORK/argocd.yaml" 2>"$WORK/argocd.err"; then pass; else fail "kubectl kustomize deploy/argocd: $(cat "$WORK/argocd.err")"; fi
[ "$(grep -c '^kind: Application$' "$WORK/argocd.yaml")" = 2 ] && pass || fail "deploy/argocd: want 2 Applications"
[ "$(grep -c '^kind: AppProject$' "$WORK/argocd.yaml")" = 2 ] && pass || fail "deploy/argocd: want 2 AppProjects"
# The environments differ where the seeds say they do.
if grep -q 'image: ghcr.io/mmsp-project/mmsp:0.1.0-dev' "$WORK/dev.yaml" &&
  grep -q 'image: ghcr.io/mmsp-project/mmsp:0.1.0$' "$WORK/prod.yaml"; then pass; else fail "overlay images"; fi

# mutant N WHAT EXPECTED_MESSAGE FILE CMD... : copies deploy/ to $WORK/mN, runs CMD on FILE there
# (a path under deploy/), checks the file changed, and expects the checker to fail with a line
# containing EXPECTED_MESSAGE.
mutant() {
  local n=$1 what=$2 want=$3 file=$4
  shift 4
  local root="$WORK/m$n"
  mkdir -p "$root" && cp -r "$DEPLOY" "$root/deploy"
  (cd "$root/deploy" && "$@" "$file")
  if cmp -s "$DEPLOY/$file" "$root/deploy/$file"; then
    fail "mutant $n ($what): the edit did not change $file"
    return
  fi
  if check "$root/deploy"; then
    fail "mutant $n ($what): the checker accepted it"
  elif grep -qF -- "$want" "$WORK/check.out"; then
    pass
  else
    fail "mutant $n ($what): rejected, but without '$want':"$'\n'"$(cat "$WORK/check.out")"
  fi
  rm -rf "$root"
}
drop_doc() { # drop_doc KIND NAME FILE : removes one YAML document
  $PY - "$@" <<'PY'
import sys, re
kind, name, path = sys.argv[1:]
docs = open(path).read().split("\n---\n")
keep = [d for d in docs if not (re.search(r"^kind: %s$" % kind, d, re.M) and re.search(r"^  name: %s$" % name, d, re.M))]
open(path, "w").write("\n---\n".join(keep))
PY
}

mutant 1 "gateway runs as root" "runs as root" k8s/base/gateway.yaml sed -i 's/runAsUser: 10001/runAsUser: 0/'
mutant 2 "runAsNonRoot false" "runAsNonRoot is not true" k8s/base/features.yaml sed -i 's/runAsNonRoot: true/runAsNonRoot: false/'
mutant 3 "inference without readiness" "no readinessProbe" k8s/base/inference.yaml sed -i '/readinessProbe:/,/failureThreshold: 3/d'
mutant 4 "registry without memory limit" "no memory limit" k8s/base/registry.yaml sed -i 's/limits: {cpu: 500m, memory: 256Mi}/limits: {cpu: 500m}/'
mutant 5 "gateway HPA max 20" "HPA bounds 2-20, the seeds say 2-10 for prod" k8s/base/gateway.yaml sed -i 's/maxReplicas: 10/maxReplicas: 20/'
mutant 6 "no features NetworkPolicy" "Deployment/mmsp-features: not selected by any role-specific NetworkPolicy" \
  k8s/base/networkpolicies.yaml drop_doc NetworkPolicy mmsp-features
mutant 7 "no registry HPA" "Deployment/mmsp-registry: not targeted by any HorizontalPodAutoscaler" \
  k8s/base/registry.yaml drop_doc HorizontalPodAutoscaler mmsp-registry
mutant 8 "prod namespace" "want 'mmsp-prod'" k8s/overlays/prod/kustomization.yaml sed -i 's/^namespace: mmsp-prod/namespace: mmsp-production/'
mutant 9 "dev model server resources" "seed 001 says 500m/512Mi for dev" k8s/overlays/dev/kustomization.yaml sed -i 's/limits: {cpu: 500m, memory: 512Mi}/limits: {cpu: 1000m, memory: 1Gi}/'
mutant 10 "writable root filesystem" "readOnlyRootFilesystem is not true" k8s/base/inference.yaml sed -i 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/'
mutant 11 "unknown serve flag" "flag --serving-directory is not an \`mmsp serve\` flag" k8s/base/inference.yaml sed -i 's/- --serving-dir$/- --serving-directory/'
mutant 12 "image latest" "no pinned tag" k8s/overlays/dev/kustomization.yaml sed -i 's/newTag: 0.1.0-dev/newTag: latest/'
mutant 13 "Dockerfile without USER" "final stage has no USER" docker/Dockerfile sed -i '/^USER /d'
mutant 14 "Dockerfile on latest" "is not pinned" docker/Dockerfile sed -i 's/^ARG DEBIAN_TAG=.*/ARG DEBIAN_TAG=latest/'
mutant 15 "Dockerfile single stage" "not a multi-stage build" docker/Dockerfile sed -i '/^FROM debian:${DEBIAN_TAG} AS runtime/d'
lastpkg=${pkgs[${#pkgs[@]}-1]}
mutant 16 "Dockerfile misses $lastpkg" "runtime stage does not install $lastpkg" docker/Dockerfile sed -i "s/ $lastpkg / /g; s/ $lastpkg\$//"
mutant 17 "Application path" "is not an overlay directory" argocd/application-prod.yaml sed -i 's#path: deploy/k8s/overlays/prod#path: deploy/k8s/overlays/production#'
mutant 18 "no self-heal" "selfHeal: true" argocd/application-dev.yaml sed -i 's/selfHeal: true/selfHeal: false/'
mutant 19 "repo not in project" "not in project sourceRepos" argocd/project-dev.yaml sed -i 's#https://github.com/mmsp-project/mmsp.git#https://github.com/someone/else.git#'
mutant 20 "kind not whitelisted" "renders NetworkPolicy" argocd/project-prod.yaml sed -i '/kind: NetworkPolicy}/d'
mutant 21 "argocd YAML broken" "does not parse" argocd/project-dev.yaml sed -i 's/^spec:$/spec: [/'
mutant 22 "capabilities kept" "capabilities do not drop ALL" k8s/base/gateway.yaml sed -i 's/capabilities: {drop: \[ALL\]}/capabilities: {drop: [NET_RAW]}/'

finish
