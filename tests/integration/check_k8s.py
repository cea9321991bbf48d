#!/usr/bin/python3
"""Checks mmsp's delivery assets: deploy/docker/Dockerfile, deploy/k8s (rendered) and deploy/argocd.

Renders every overlay of DEPLOY/k8s/overlays with `kubectl kustomize` and checks the objects:
  - every container runs as non-root (runAsNonRoot true and runAsUser != 0, pod or container
    level), cannot escalate, has a read-only root filesystem, drops ALL capabilities, a
    RuntimeDefault seccomp profile, CPU and memory requests and limits (requests <= limits),
    liveness on /v2/health/live and readiness on /v2/health/ready, an explicit image tag (not
    `latest`), and its pod template has the prometheus.io scrape annotations;
  - every Deployment is selected by a role-specific NetworkPolicy (one with a non-empty pod
    selector that has ingress rules) and a default-deny policy exists; every pod selector used in
    a policy's peers matches some Deployment; every Deployment is the target of an HPA
    (autoscaling/v2) whose bounds and CPU target are the seeds' for the environment, and its
    replicas lie within them; every Service selects a Deployment;
  - every namespaced object is in the environment's namespace (mmsp-ENV), which the overlay
    renders as a Namespace object enforcing the "restricted" Pod Security profile;
  - ConfigMaps referenced by a container exist in the rendered output; Secrets referenced are only
    the documented out-of-band `mmsp-secrets`; flags passed to `mmsp serve` exist in
    `mmsp serve --help` (--serve-help FILE) or are among the documented planned flags;
  - the model servers' resources follow seed 001's environment table.
DEPLOY/argocd: every file parses; each Application's project exists, its repoURL and destination
are permitted by the project, its path is an overlay directory that exists, its destination
namespace is the overlay's, its sync is automated with prune and selfHeal, and every kind the
overlay renders is whitelisted by the project.
DEPLOY/docker/Dockerfile: multi-stage, every FROM pinned (no `latest`, no untagged image), the final
stage switches to a numeric non-root USER, EXPOSEs 8080, ENTRYPOINT runs `mmsp serve`, installs no
-dev package, and installs every Debian package of --runtime-packages (derived from the built
binary by the test).

Usage: check_k8s.py DEPLOY_DIR [--serve-help FILE] [--runtime-packages PKG,...]
Prints one line per problem on stderr and exits 1 when there is any; prints a summary and exits 0
otherwise. Uses python3-yaml (Debian) and kubectl (Debian package kubectl).
"""
import os
import re
import subprocess
import sys

import yaml

ROLES = ["gateway", "inference", "registry", "features"]
# Autoscaling bounds: (min, max, cpu %, memory % or None). Seeds 000/002: gateway 2-10 at 70 %
# CPU (memory 80 %), production model servers 2-10 at 80 % CPU, staging 1-3; feature service
# 2-10 at 70 % CPU / 80 % memory. dev is the staging tier: 1-3 for every role.
HPA = {
    "prod": {
        "mmsp-gateway": (2, 10, 70, 80),
        "mmsp-inference": (2, 10, 80, None),
        "mmsp-registry": (2, 4, 70, None),
        "mmsp-features": (2, 10, 70, 80),
    },
    "dev": {
        "mmsp-gateway": (1, 3, 70, 80),
        "mmsp-inference": (1, 3, 80, None),
        "mmsp-registry": (1, 3, 70, None),
        "mmsp-features": (1, 3, 70, 80),
    },
}
# Seed 001's environment table (limits of the model servers): Development 500m/512Mi,
# Production 2000m/4Gi.
MODEL_LIMITS = {"dev": ("500m", "512Mi"), "prod": ("2000m", "4Gi")}
SECRETS = {"mmsp-secrets"}
# Flags of the design (docs/deploy.md) that `mmsp serve` may not have yet.
PLANNED_FLAGS = {"--roles", "--inference-url", "--features-url", "--online-store", "--prediction-log"}
CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                 "CustomResourceDefinition", "PriorityClass"}

problems = []


def bad(where, msg):
    problems.append("%s: %s" % (where, msg))


def cpu_milli(v):
    s = str(v)
    if s.endswith("m"):
        return float(s[:-1])
    return float(s) * 1000


def mem_bytes(v):
    s = str(v)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    for u, f in units.items():
        if s.endswith(u):
            return float(s[: -len(u)]) * f
    return float(s)


def selects(selector, labels):
    """True when a matchLabels-only label selector selects labels (empty selects everything)."""
    if selector is None:
        return False
    if selector.get("matchExpressions"):
        return False  # not used by mmsp's manifests: refuse rather than guess
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def render(overlay_dir):
    p = subprocess.run(["kubectl", "kustomize", overlay_dir], capture_output=True, text=True)
    if p.returncode != 0:
        bad(overlay_dir, "kubectl kustomize failed: " + p.stderr.strip())
        return []
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def check_container(where, c, pod_sc, env, role, serve_flags):
    sc = c.get("securityContext") or {}
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if non_root is not True:
        bad(where, "runAsNonRoot is not true (pod or container securityContext)")
    if uid is None or uid == 0:
        bad(where, "runs as root: runAsUser is %r (want a fixed non-zero UID)" % (uid,))
    if sc.get("allowPrivilegeEscalation") is not False:
        bad(where, "allowPrivilegeEscalation is not false")
    if sc.get("privileged"):
        bad(where, "privileged")
    if sc.get("readOnlyRootFilesystem") is not True:
        bad(where, "readOnlyRootFilesystem is not true")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        bad(where, "capabilities do not drop ALL")
    if (sc.get("capabilities") or {}).get("add"):
        bad(where, "capabilities added: %s" % sc["capabilities"]["add"])
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        bad(where, "seccompProfile is %r (want RuntimeDefault)" % (seccomp,))
    res = c.get("resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    for r in ("cpu", "memory"):
        if r not in req:
            bad(where, "no %s request" % r)
        if r not in lim:
            bad(where, "no %s limit" % r)
    try:
        if "cpu" in req and "cpu" in lim and cpu_milli(req["cpu"]) > cpu_milli(lim["cpu"]):
            bad(where, "cpu request %s > limit %s" % (req["cpu"], lim["cpu"]))
        if "memory" in req and "memory" in lim and mem_bytes(req["memory"]) > mem_bytes(lim["memory"]):
            bad(where, "memory request %s > limit %s" % (req["memory"], lim["memory"]))
    except ValueError as e:
        bad(where, "unparsable quantity: %s" % e)
    if role == "inference" and env in MODEL_LIMITS:
        want = MODEL_LIMITS[env]
        try:
            got_ok = cpu_milli(lim.get("cpu", 0)) == cpu_milli(want[0]) and mem_bytes(lim.get("memory", 0)) == mem_bytes(want[1])
        except ValueError:
            got_ok = False
        if not got_ok:
            bad(where, "model server limits %s/%s, seed 001 says %s/%s for %s" %
                (lim.get("cpu"), lim.get("memory"), want[0], want[1], env))
    for kind, path in (("livenessProbe", "/v2/health/live"), ("readinessProbe", "/v2/health/ready")):
        probe = c.get(kind)
        if not probe:
            bad(where, "no %s" % kind)
        elif (probe.get("httpGet") or {}).get("path") != path:
            bad(where, "%s is not an HTTP GET of %s" % (kind, path))
    image = c.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
        bad(where, "image %r has no pinned tag (untagged or latest)" % image)
    if "/" not in image:
        bad(where, "image %r was not rewritten by the overlay (images:)" % image)
    # Flags of mmsp serve: the role and its own flags.
    args = [str(a) for a in (c.get("args") or [])]
    if "--roles" not in args or args.index("--roles") + 1 >= len(args) or args[args.index("--roles") + 1] != role:
        bad(where, "args do not say --roles %s: %s" % (role, " ".join(args)))
    if serve_flags is not None:
        for a in args:
            if a.startswith("--") and a not in serve_flags and a not in PLANNED_FLAGS:
                bad(where, "flag %s is not an `mmsp serve` flag (mmsp serve --help)" % a)
    if "--host" not in args or args[args.index("--host") + 1 :][:1] != ["0.0.0.0"]:
        bad(where, "does not listen on 0.0.0.0 (--host 0.0.0.0)")


def check_overlay(env, overlay_dir, serve_flags):
    ns = "mmsp-" + env
    objs = render(overlay_dir)
    if not objs:
        bad(overlay_dir, "renders nothing")
        return set()
    kinds = set()
    by_kind = {}
    for o in objs:
        kinds.add((o.get("apiVersion", "").split("/")[0] if "/" in o.get("apiVersion", "") else "", o.get("kind")))
        by_kind.setdefault(o.get("kind"), []).append(o)
        name = "%s %s/%s" % (env, o.get("kind"), o["metadata"].get("name"))
        if o.get("kind") in CLUSTER_KINDS:
            if o["kind"] == "Namespace":
                if o["metadata"].get("name") != ns:
                    bad(name, "Namespace is not %s" % ns)
                lbl = o["metadata"].get("labels") or {}
                if lbl.get("pod-security.kubernetes.io/enforce") != "restricted":
                    bad(name, "does not enforce the restricted Pod Security profile")
            else:
                bad(name, "cluster-scoped object in an environment overlay")
        elif o["metadata"].get("namespace") != ns:
            bad(name, "namespace %r, want %r" % (o["metadata"].get("namespace"), ns))
    if not any(n["metadata"]["name"] == ns for n in by_kind.get("Namespace", [])):
        bad(env, "no Namespace %s rendered" % ns)

    deps = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    for role in ROLES:
        if "mmsp-" + role not in deps:
            bad(env, "no Deployment mmsp-%s" % role)
    configmaps = {c["metadata"]["name"] for c in by_kind.get("ConfigMap", [])}
    pvcs = {c["metadata"]["name"] for c in by_kind.get("PersistentVolumeClaim", [])}
    sas = {c["metadata"]["name"] for c in by_kind.get("ServiceAccount", [])}
    for dname, d in deps.items():
        where = "%s Deployment/%s" % (env, dname)
        tpl = d["spec"]["template"]
        labels = tpl["metadata"].get("labels") or {}
        role = labels.get("app.kubernetes.io/component", "")
        if not selects(d["spec"].get("selector"), labels):
            bad(where, "selector does not select its own pod template")
        ann = tpl["metadata"].get("annotations") or {}
        if ann.get("prometheus.io/scrape") != "true" or not ann.get("prometheus.io/port"):
            bad(where, "no prometheus.io/scrape + prometheus.io/port annotations")
        spec = tpl["spec"]
        pod_sc = spec.get("securityContext") or {}
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            bad(where, "uses host namespaces")
        if spec.get("automountServiceAccountToken") is not False:
            bad(where, "mounts a service account token (automountServiceAccountToken not false)")
        if spec.get("serviceAccountName") and spec["serviceAccountName"] not in sas:
            bad(where, "ServiceAccount %s not rendered" % spec["serviceAccountName"])
        containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
        if not containers:
            bad(where, "no containers")
        for c in containers:
            cw = "%s container %s" % (where, c.get("name"))
            check_container(cw, c, pod_sc, env, role, serve_flags)
            for e in c.get("env") or []:
                vf = e.get("valueFrom") or {}
                if "configMapKeyRef" in vf and vf["configMapKeyRef"].get("name") not in configmaps:
                    bad(cw, "env %s: ConfigMap %s not rendered" % (e["name"], vf["configMapKeyRef"].get("name")))
                if "secretKeyRef" in vf and vf["secretKeyRef"].get("name") not in SECRETS:
                    bad(cw, "env %s: Secret %s is not the documented mmsp-secrets" % (e["name"], vf["secretKeyRef"].get("name")))
            mounts = {m["name"] for m in c.get("volumeMounts") or []}
            if "tmp" not in mounts:
                bad(cw, "no writable /tmp volume (read-only root filesystem)")
        for v in spec.get("volumes") or []:
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in pvcs:
                bad(where, "PVC %s not rendered" % v["persistentVolumeClaim"]["claimName"])
            if "hostPath" in v:
                bad(where, "hostPath volume %s" % v["name"])

    # NetworkPolicies.
    pols = by_kind.get("NetworkPolicy", [])
    if not any(p["spec"].get("podSelector") == {} and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in pols):
        bad(env, "no default-deny NetworkPolicy (podSelector {}, Ingress+Egress, no rules)")
    for dname, d in deps.items():
        labels = d["spec"]["template"]["metadata"].get("labels") or {}
        specific = [p for p in pols if (p["spec"].get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/component")
                    and selects(p["spec"]["podSelector"], labels) and p["spec"].get("ingress")]
        if not specific:
            bad("%s Deployment/%s" % (env, dname), "not selected by any role-specific NetworkPolicy with ingress rules")
    dep_labels = [d["spec"]["template"]["metadata"].get("labels") or {} for d in deps.values()]
    for p in pols:
        for rule in (p["spec"].get("ingress") or []) + (p["spec"].get("egress") or []):
            for peer in (rule.get("from") or []) + (rule.get("to") or []):
                sel = peer.get("podSelector")
                if sel and "namespaceSelector" not in peer and sel.get("matchLabels"):
                    if not any(selects(sel, lb) for lb in dep_labels):
                        bad("%s NetworkPolicy/%s" % (env, p["metadata"]["name"]),
                            "peer %s selects no Deployment" % sel["matchLabels"])

    # HPAs.
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    want = HPA.get(env, {})
    for dname, d in deps.items():
        where = "%s Deployment/%s" % (env, dname)
        hs = [h for h in hpas if (h["spec"].get("scaleTargetRef") or {}).get("kind") == "Deployment"
              and h["spec"]["scaleTargetRef"].get("name") == dname]
        if not hs:
            bad(where, "not targeted by any HorizontalPodAutoscaler")
            continue
        h = hs[0]
        if h.get("apiVersion") != "autoscaling/v2":
            bad(where, "HPA apiVersion %s (want autoscaling/v2)" % h.get("apiVersion"))
        lo, hi = h["spec"].get("minReplicas", 1), h["spec"].get("maxReplicas")
        targets = {}
        for m in h["spec"].get("metrics") or []:
            if m.get("type") == "Resource":
                targets[m["resource"]["name"]] = (m["resource"].get("target") or {}).get("averageUtilization")
        if dname in want:
            wlo, whi, wcpu, wmem = want[dname]
            if (lo, hi) != (wlo, whi):
                bad(where, "HPA bounds %s-%s, the seeds say %s-%s for %s" % (lo, hi, wlo, whi, env))
            if targets.get("cpu") != wcpu:
                bad(where, "HPA CPU target %s%%, the seeds say %s%%" % (targets.get("cpu"), wcpu))
            if wmem is not None and targets.get("memory") != wmem:
                bad(where, "HPA memory target %s%%, the seeds say %s%%" % (targets.get("memory"), wmem))
        replicas = d["spec"].get("replicas", 1)
        if hi is not None and not lo <= replicas <= hi:
            bad(where, "replicas %s outside the HPA bounds %s-%s" % (replicas, lo, hi))

    # Services select a Deployment and target a named container port.
    for s in by_kind.get("Service", []):
        sel = s["spec"].get("selector") or {}
        if not sel or not any(all(lb.get(k) == v for k, v in sel.items()) for lb in dep_labels):
            bad("%s Service/%s" % (env, s["metadata"]["name"]), "selects no Deployment")
    return kinds


def check_argocd(argo_dir, deploy_dir, overlay_kinds):
    docs = []
    for f in sorted(os.listdir(argo_dir)):
        if not f.endswith((".yaml", ".yml")):
            continue
        try:
            with open(os.path.join(argo_dir, f)) as fh:
                docs += [(f, d) for d in yaml.safe_load_all(fh) if d]
        except yaml.YAMLError as e:
            bad("argocd/" + f, "does not parse: %s" % e)
    projects = {d["metadata"]["name"]: d for f, d in docs if d.get("kind") == "AppProject"}
    apps = [(f, d) for f, d in docs if d.get("kind") == "Application"]
    repo_root = os.path.dirname(os.path.abspath(deploy_dir))
    covered = set()
    for f, a in apps:
        where = "argocd/%s Application/%s" % (f, a["metadata"].get("name"))
        if a.get("apiVersion") != "argoproj.io/v1alpha1":
            bad(where, "apiVersion %s" % a.get("apiVersion"))
        spec = a.get("spec") or {}
        src, dst = spec.get("source") or {}, spec.get("destination") or {}
        path = src.get("path", "")
        m = re.fullmatch(r"deploy/k8s/overlays/([a-z0-9-]+)", path)
        if not m or not os.path.isfile(os.path.join(repo_root, path, "kustomization.yaml")):
            bad(where, "source.path %r is not an overlay directory of this repository" % path)
            continue
        env = m.group(1)
        covered.add(env)
        if dst.get("namespace") != "mmsp-" + env:
            bad(where, "destination namespace %r, the overlay renders mmsp-%s" % (dst.get("namespace"), env))
        auto = (spec.get("syncPolicy") or {}).get("automated")
        if not isinstance(auto, dict) or auto.get("prune") is not True or auto.get("selfHeal") is not True:
            bad(where, "syncPolicy.automated does not have prune: true and selfHeal: true")
        proj = projects.get(spec.get("project"))
        if not proj:
            bad(where, "project %r is not defined in argocd/" % spec.get("project"))
            continue
        pspec = proj.get("spec") or {}
        repos = pspec.get("sourceRepos") or []
        if "*" in repos:
            bad("AppProject/" + proj["metadata"]["name"], "sourceRepos allows every repository")
        if src.get("repoURL") not in repos:
            bad(where, "repoURL %r not in project sourceRepos %s" % (src.get("repoURL"), repos))
        dests = pspec.get("destinations") or []
        if any(x.get("namespace") == "*" for x in dests):
            bad("AppProject/" + proj["metadata"]["name"], "destinations allow every namespace")
        if not any(x.get("namespace") == dst.get("namespace") and
                   (x.get("server") == dst.get("server") or (x.get("name") and x.get("name") == dst.get("name")))
                   for x in dests):
            bad(where, "destination %s not permitted by project %s" % (dst, proj["metadata"]["name"]))
        allowed = {(w.get("group", ""), w.get("kind")) for w in
                   (pspec.get("namespaceResourceWhitelist") or []) + (pspec.get("clusterResourceWhitelist") or [])}
        for grp, kind in sorted(overlay_kinds.get(env, set()), key=str):
            if (grp, kind) not in allowed and ("*", "*") not in allowed:
                bad(where, "renders %s (group %r), not whitelisted by project %s" % (kind, grp, proj["metadata"]["name"]))
    for env in overlay_kinds:
        if env not in covered:
            bad("argocd", "no Application for overlay %s" % env)
    for name, p in projects.items():
        if p.get("metadata", {}).get("namespace") != "argocd" or p.get("apiVersion") != "argoproj.io/v1alpha1":
            bad("AppProject/" + name, "not an argoproj.io/v1alpha1 object in namespace argocd")


def check_dockerfile(path, runtime_pkgs):
    try:
        text = open(path).read()
    except OSError as e:
        bad("Dockerfile", str(e))
        return
    # Join continuation lines, drop comments.
    lines = []
    cur = ""
    for raw in text.splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        lines.append(cur + s)
        cur = ""
    args = {}
    stages = []  # list of dicts: base, name, instrs
    for ln in lines:
        instr, _, rest = ln.partition(" ")
        instr = instr.upper()
        if instr == "ARG" and not stages:
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip()
        elif instr == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            image = re.sub(r"\$\{?(\w+)\}?", lambda mm: args.get(mm.group(1), ""), m.group(1))
            stages.append({"base": image, "name": m.group(2), "instrs": []})
        elif stages:
            stages[-1]["instrs"].append((instr, rest))
    if len(stages) < 2:
        bad("Dockerfile", "not a multi-stage build (%d FROM)" % len(stages))
        return
    names = {s["name"] for s in stages if s["name"]}
    for s in stages:
        b = s["base"]
        if b in names or b == "scratch":
            continue
        tag = b.rsplit("/", 1)[-1]
        if "@sha256:" not in b and (":" not in tag or tag.split(":", 1)[1] in ("", "latest")):
            bad("Dockerfile", "FROM %s is not pinned (no tag, or latest)" % b)
        if not b.startswith("debian:") and "/debian" not in b:
            bad("Dockerfile", "FROM %s is not a Debian image" % b)
    final = stages[-1]
    users = [r for i, r in final["instrs"] if i == "USER"]
    if not users:
        bad("Dockerfile", "final stage has no USER (runs as root)")
    else:
        uid = users[-1].split(":")[0].strip()
        if not uid.isdigit() or int(uid) == 0:
            bad("Dockerfile", "final USER %r is not a numeric non-root UID" % users[-1])
    exposes = " ".join(r for i, r in final["instrs"] if i == "EXPOSE").split()
    if "8080" not in [e.split("/")[0] for e in exposes]:
        bad("Dockerfile", "final stage does not EXPOSE 8080")
    eps = [r for i, r in final["instrs"] if i == "ENTRYPOINT"]
    if not eps or not re.search(r'mmsp"?\s*,\s*"serve"', eps[-1]):
        bad("Dockerfile", "ENTRYPOINT is not the exec form of `mmsp serve`")
    copies = [r for i, r in final["instrs"] if i == "COPY"]
    if not copies or not all(c.startswith("--from=") for c in copies):
        bad("Dockerfile", "final stage copies from the build context (want only COPY --from=<build stage>)")
    installed = set()
    for i, r in final["instrs"]:
        if i == "RUN":
            for m in re.finditer(r"apt-get install((?:\s+-\S+)*)((?:\s+[a-z0-9][a-z0-9.+-]*)+)", r):
                installed.update(m.group(2).split())
    dev = sorted(p for p in installed if p.endswith("-dev") or p in ("build-essential", "cmake", "gcc", "clang"))
    if dev:
        bad("Dockerfile", "runtime stage installs build packages: %s" % " ".join(dev))
    missing = sorted(p for p in runtime_pkgs if p not in installed)
    if missing:
        bad("Dockerfile", "runtime stage does not install %s (libraries the binary links)" % " ".join(missing))
    if not any(i == "RUN" and "cmake" in r for i, r in stages[0]["instrs"]):
        bad("Dockerfile", "first stage does not build with cmake")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    deploy = argv[1]
    serve_flags = None
    runtime_pkgs = []
    i = 2
    while i < len(argv):
        if argv[i] == "--serve-help" and i + 1 < len(argv):
            with open(argv[i + 1]) as fh:
                serve_flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", fh.read()))
            i += 2
        elif argv[i] == "--runtime-packages" and i + 1 < len(argv):
            runtime_pkgs = [p for p in argv[i + 1].split(",") if p]
            i += 2
        else:
            print("check_k8s.py: unknown argument %s" % argv[i], file=sys.stderr)
            return 2
    overlays_dir = os.path.join(deploy, "k8s", "overlays")
    envs = sorted(e for e in os.listdir(overlays_dir) if os.path.isdir(os.path.join(overlays_dir, e))) \
        if os.path.isdir(overlays_dir) else []
    for want in ("dev", "prod"):
        if want not in envs:
            bad("k8s/overlays", "no %s overlay" % want)
    kinds = {}
    for env in envs:
        kinds[env] = check_overlay(env, os.path.join(overlays_dir, env), serve_flags)
    check_argocd(os.path.join(deploy, "argocd"), deploy, kinds)
    check_dockerfile(os.path.join(deploy, "docker", "Dockerfile"), runtime_pkgs)
    for p in problems:
        print("check_k8s: " + p, file=sys.stderr)
    if problems:
        print("check_k8s: %d problem(s)" % len(problems), file=sys.stderr)
        return 1
    print("check_k8s: ok: overlays %s, argocd, Dockerfile" % ", ".join(envs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
