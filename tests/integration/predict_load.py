#!/usr/bin/python3
"""Steady /predict load for the canary and alert tests (Debian python3, stdlib only).

predict_load.py URL DEPLOYMENT STOPFILE OUT.json [THREADS] [PAUSE_MS]
Each thread keeps one keep-alive connection and posts a fixed 30-feature row until STOPFILE
exists, then OUT.json gets the counts: {"ok": {variant: n}, "ok_versions": {version: n},
"fail": n, "fail_bodies": {first 200 bytes: n}, "transport_errors": n}.
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

ROW = [0.5, -1.25, 2, 0.75, -0.5, 1, 0, -2, 0.25, 1.5, -0.75, 0.125, 3, -1, 0.5, 0.5, -0.25,
       1, 2, -1.5, 0, 0.25, -0.125, 1, -1, 0.5, 1.75, -2.5, 0.375, 1]


def main():
    url, deployment, stopfile, out = sys.argv[1:5]
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    pause = (int(sys.argv[6]) if len(sys.argv) > 6 else 2) / 1000.0
    u = urllib.parse.urlparse(url)
    body = json.dumps({"deployment": deployment, "inputs": [ROW]})
    lock = threading.Lock()
    res = {"ok": {}, "ok_versions": {}, "fail": 0, "fail_bodies": {}, "transport_errors": 0}

    def worker():
        conn = None
        while not os.path.exists(stopfile):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                with lock:
                    if r.status == 200:
                        d = json.loads(data)
                        v = d.get("variant", "?")
                        res["ok"][v] = res["ok"].get(v, 0) + 1
                        k = str(d.get("version"))
                        res["ok_versions"][k] = res["ok_versions"].get(k, 0) + 1
                    else:
                        res["fail"] += 1
                        k = data[:200].decode("utf-8", "replace")
                        res["fail_bodies"][k] = res["fail_bodies"].get(k, 0) + 1
            except (OSError, http.client.HTTPException, ValueError):
                with lock:
                    res["transport_errors"] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
            time.sleep(pause)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(out + ".tmp", "w") as f:
        json.dump(res, f)
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
