#!/usr/bin/python3
"""Load and deployment-change driver for the registry-mode serving tests.

usage:
  deploy_load.py sample URL PATH BODY N
      Sends N POSTs of BODY (a file) to URL+PATH on one keep-alive connection and prints
      {"requests": N, "statuses": {"200": n, ...}, "versions": {"1": n, ...}, "errors": k}
      (versions: the model_version of each 2xx answer; errors: socket errors).

  deploy_load.py drive --url URL --model NAME --body FILE --mmsp BIN --data DIR
                       --changes FILE [--workers 4] [--start S] [--registry URL]
      Runs WORKERS client threads that keep POSTing BODY to the model, alternating
      /v2/models/NAME/infer and /v2/models/NAME/versions/V/infer, while it applies the changes
      of FILE one by one. A change line is
          VIA  EXPECT  ARGS...
      VIA is "cli" (runs BIN ARGS... --data DIR [--registry URL] --json: the poll path of the
      server) or "http"
      (ARGS are METHOD PATH [JSON]: the server's own API, whose on_change wakes the follower);
      EXPECT is the deployment the change must produce: STABLE[,CANARY@WEIGHT][,sSHADOW]
      (e.g. "1,2@10", "3", "1,s2"). Blank lines and lines starting with '#' are skipped.
      After each change it checks that the registry answered EXPECT, waits (at most 60 s) until
      the server's mmsp_deployment_generation{model=NAME} reaches the change's generation,
      checks that the model lists exactly the deployment's versions, that each one is ready,
      and that 200 unversioned answers follow the split (weight 0: the stable only, 100: the
      canary only, otherwise both and nothing else).
      Versioned requests only ever name a version that is loaded both before and after the
      change in progress: before a change the target moves to such a version (or to none) and
      the driver waits until no request to another version is in flight. So every request has
      a right answer and a single failure is a bug. S is the state before the first change
      (default "1").
      Prints a JSON summary on stdout; failures on stderr; exits 1 when any check failed or any
      request got a non-2xx status or a socket error.

Only the Python standard library; deterministic apart from the canary draws (whose checks
have failure odds below 1e-9).
"""
import http.client
import json
import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.parse


def connect(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


class Client:
    """One keep-alive connection; reconnects after a socket error."""

    def __init__(self, url):
        self.url = url
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """Returns (status, body bytes), or (None, error text) on a socket error."""
        try:
            if self.conn is None:
                self.conn = connect(self.url)
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException) as e:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None, str(e)


def model_version(data):
    try:
        return str(json.loads(data).get("model_version"))
    except (ValueError, AttributeError):
        return None


def sample(url, path, body, n):
    c = Client(url)
    statuses, versions, errors = {}, {}, 0
    for _ in range(n):
        s, data = c.request("POST", path, body, {"Content-Type": "application/json"})
        if s is None:
            errors += 1
            continue
        statuses[str(s)] = statuses.get(str(s), 0) + 1
        if 200 <= s < 300:
            v = model_version(data)
            versions[v] = versions.get(v, 0) + 1
    return {"requests": n, "statuses": statuses, "versions": versions, "errors": errors}


def parse_expect(text):
    """"1,2@10,s3" -> dict(stable=1, canary=2, weight=10, shadow=3)."""
    st = {"stable": 0, "canary": 0, "weight": 0, "shadow": 0}
    for i, part in enumerate(text.split(",")):
        if i == 0:
            st["stable"] = int(part)
        elif part.startswith("s"):
            st["shadow"] = int(part[1:])
        else:
            v, w = part.split("@")
            st["canary"], st["weight"] = int(v), int(w)
    return st


def versions_of(st):
    return sorted({v for v in (st["stable"], st["canary"], st["shadow"]) if v})


class Load:
    """Client threads; versioned requests go to `target` (None: unversioned only)."""

    def __init__(self, url, model, body, workers):
        self.url, self.model, self.body = url, model, body
        self.cv = threading.Condition()
        self.target = None
        self.inflight = {}  # target -> requests in flight
        self.stop = False
        self.lock = threading.Lock()
        self.requests = 0
        self.versioned = 0
        self.bad = []  # (path, status or error)
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(workers)]

    def run(self):
        c = Client(self.url)
        hdr = {"Content-Type": "application/json"}
        i = 0
        while True:
            with self.cv:
                if self.stop:
                    break
                t = self.target if i % 2 else None
                self.inflight[t] = self.inflight.get(t, 0) + 1
            i += 1
            path = (f"/v2/models/{self.model}/versions/{t}/infer" if t
                    else f"/v2/models/{self.model}/infer")
            s, data = c.request("POST", path, self.body, hdr)
            with self.cv:
                self.inflight[t] -= 1
                self.cv.notify_all()
            with self.lock:
                self.requests += 1
                self.versioned += t is not None
                if s is None or not 200 <= s < 300:
                    self.bad.append((path, s if s is not None else data,
                                     data[:200] if s is not None else ""))
                elif t is not None and model_version(data) != str(t):
                    self.bad.append((path, s, f"answered by version {model_version(data)}"))

    def retarget(self, t):
        """Versioned requests go to t from now; returns once none to another version runs."""
        with self.cv:
            self.target = t
            self.cv.wait_for(lambda: all(n == 0 for k, n in self.inflight.items()
                                         if k is not None and k != t), timeout=60)

    def start(self):
        for th in self.threads:
            th.start()

    def finish(self):
        with self.cv:
            self.stop = True
        for th in self.threads:
            th.join()


def generation_served(client, model):
    s, data = client.request("GET", "/metrics")
    if s != 200:
        return None
    m = re.search(r'^mmsp_deployment_generation\{model="%s"\} ([0-9.e+]+)$' % re.escape(model),
                  data.decode(), re.M)
    return int(float(m.group(1))) if m else None


def drive(a):
    with open(a.body, "rb") as f:
        body = f.read()
    changes = []
    with open(a.changes) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                via, expect, rest = line.split(None, 2)
                changes.append((via, parse_expect(expect), rest))
    load = Load(a.url, a.model, body, a.workers)
    probe = Client(a.url)
    failures = []
    state = parse_expect(a.start)
    load.retarget(state["stable"])
    load.start()
    t0 = time.monotonic()
    for n, (via, want, rest) in enumerate(changes, 1):
        what = f"change {n} ({via} {rest})"
        before, after = versions_of(state), versions_of(want)
        both = [v for v in before if v in after]
        load.retarget(state["stable"] if state["stable"] in both else (both[0] if both else None))
        if via == "cli":
            store = ["--data", a.data] + (["--registry", a.registry] if a.registry else [])
            p = subprocess.run([a.mmsp] + shlex.split(rest) + store + ["--json"],
                               capture_output=True, text=True)
            if p.returncode != 0:
                failures.append(f"{what}: exit {p.returncode}: {p.stderr.strip()[:300]}")
                break
            out = p.stdout
        else:
            parts = rest.split(None, 2)
            s, data = probe.request(parts[0], parts[1], parts[2] if len(parts) > 2 else "{}",
                                    {"Content-Type": "application/json"})
            if s != 200:
                failures.append(f"{what}: status {s}: {data[:300]!r}")
                break
            out = data.decode()
        try:
            d = json.loads(out)
        except ValueError:
            failures.append(f"{what}: not JSON: {out[:300]}")
            break
        got = {"stable": d.get("stable_version") or 0, "canary": d.get("canary_version") or 0,
               "weight": d.get("canary_weight") or 0, "shadow": d.get("shadow_version") or 0}
        if not got["canary"]:
            got["weight"] = 0
        if got != want:
            failures.append(f"{what}: the registry answered {got}, the test expects {want}")
            break
        state = want
        deadline = time.monotonic() + 60
        while generation_served(probe, a.model) != d["generation"]:
            if time.monotonic() > deadline:
                failures.append(f"{what}: generation {d['generation']} not served after 60 s "
                                f"(serving {generation_served(probe, a.model)})")
                break
            time.sleep(0.02)
        s, data = probe.request("GET", f"/v2/models/{a.model}")
        listed = json.loads(data).get("versions") if s == 200 else None
        if listed != [str(v) for v in after]:
            failures.append(f"{what}: the model lists versions {listed}, want {after}")
        for v in after:
            s, data = probe.request("GET", f"/v2/models/{a.model}/versions/{v}/ready")
            if s != 200:
                failures.append(f"{what}: version {v} ready: status {s} {data[:200]!r}")
        load.retarget(want["stable"])
        seen = sample(a.url, f"/v2/models/{a.model}/infer", body, 200)
        vs = seen["versions"]
        if seen["statuses"] != {"200": 200}:
            failures.append(f"{what}: sampling: {seen}")
        stable, canary, w = str(want["stable"]), str(want["canary"]), want["weight"]
        if w == 0 or not want["canary"]:
            ok = set(vs) == {stable}
        elif w == 100:
            ok = set(vs) == {canary}
        else:
            ok = set(vs) == {stable, canary}
        if not ok:
            failures.append(f"{what}: unversioned answers by version {vs}, split {want}")
    load.finish()
    for path, s, detail in load.bad[:10]:
        failures.append(f"request {path}: {s} {detail!r}")
    summary = {"changes": len(changes), "requests": load.requests,
               "versioned_requests": load.versioned, "failed_requests": len(load.bad),
               "seconds": round(time.monotonic() - t0, 2)}
    print(json.dumps(summary))
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "sample" and len(sys.argv) == 6:
        with open(sys.argv[4], "rb") as f:
            body = f.read()
        print(json.dumps(sample(sys.argv[2], sys.argv[3], body, int(sys.argv[5]))))
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "drive":
        import argparse
        p = argparse.ArgumentParser(prog="deploy_load.py drive")
        for flag in ("--url", "--model", "--body", "--mmsp", "--data", "--changes"):
            p.add_argument(flag, required=True)
        p.add_argument("--workers", type=int, default=4)
        p.add_argument("--start", default="1")
        p.add_argument("--registry")
        return drive(p.parse_args(sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
