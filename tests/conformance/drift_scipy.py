#!/usr/bin/python3
"""Checks `mmsp drift baseline` / `mmsp drift report` against numpy and scipy on seeded samples:
quantile edges (numpy.quantile), reference fractions, PSI (Evidently's formula and empty-bin
treatment, in numpy), Jensen-Shannon distance (scipy.spatial.distance.jensenshannon), KS
statistic and p-value (scipy.stats.ks_2samp, method 'auto': exact and asymptotic). Statistics
to 1e-9, p-values to 1e-6. Usage: drift_scipy.py MMSP_BIN WORKDIR"""
import json
import os
import subprocess
import sys

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

MMSP, WORK = sys.argv[1], sys.argv[2]
failures = 0
checks = 0


def check(name, ours, ref, tol):
    global failures, checks
    checks += 1
    if ours is None or ref is None or not np.isfinite(ref) or abs(ours - ref) > tol:
        failures += 1
        print(f"FAIL {name}: ours {ours!r} reference {ref!r} (tol {tol})")


def psi_evidently(ref, cur):
    ref = np.array(ref, dtype=float)
    cur = np.array(cur, dtype=float)
    for arr in (ref, cur):
        nz = arr[arr > 0]
        fill = nz.min() / 1e6 if nz.min() <= 0.0001 else 0.0001
        arr[arr == 0] = fill
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def run_case(name, train_cols, cur_cols, bins=10, sample=None, expect_method=None):
    d = os.path.join(WORK, name)
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    names = [f"f{i}" for i in range(len(train_cols))]
    n = len(train_cols[0])
    with open(os.path.join(d, "train.csv"), "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            f.write(",".join(repr(float(c[i])) for c in train_cols) + "\n")
    m = len(cur_cols[0])
    with open(os.path.join(d, "logs", "predictions-20260101T000000Z-000001.jsonl"), "w") as f:
        for i in range(0, m, 3):  # several rows per record, as the gateway logs batches
            rows = [[float(c[k]) for c in cur_cols] for k in range(i, min(i + 3, m))]
            f.write(json.dumps({"time": "2026-01-01T00:00:00.000Z", "id": str(i),
                                "inputs": rows, "prediction": [0] * len(rows),
                                "status": "ok"}) + "\n")
    base = os.path.join(d, "baseline.json")
    args = [MMSP, "drift", "baseline", "--data-file", os.path.join(d, "train.csv"), "--out", base,
            "--bins", str(bins)]
    if sample:
        args += ["--sample", str(sample)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(d, "report.json")
    subprocess.run([MMSP, "drift", "report", "--baseline", base, "--logs",
                    os.path.join(d, "logs"), "--out", out, "--json"], check=True,
                   stdout=subprocess.DEVNULL)
    B = json.load(open(base))
    R = json.load(open(out))
    check(f"{name} rows", R["rows"], m, 0)
    for j, (tr, cu) in enumerate(zip(train_cols, cur_cols)):
        bf, rf = B["features"][j], R["features"][j]
        tr = np.asarray(tr, dtype=float)
        cu = np.asarray(cu, dtype=float)
        q = np.quantile(tr, [i / bins for i in range(1, bins)])
        edges = []
        for v in q:
            if not edges or v > edges[-1]:
                edges.append(float(v))
        checks_edges = len(edges) == len(bf["edges"])
        if not checks_edges:
            print(f"FAIL {name}/{bf['name']}: {len(bf['edges'])} edges, numpy gives {len(edges)}")
            global failures
            failures += 1
            continue
        for k in range(len(edges)):
            check(f"{name}/{bf['name']} edge {k}", bf["edges"][k], edges[k], 1e-9)
        refc = np.bincount(np.searchsorted(edges, tr, side="right"), minlength=len(edges) + 1)
        ref = refc / len(tr)
        for k in range(len(ref)):
            check(f"{name}/{bf['name']} ref {k}", bf["reference"][k], ref[k], 1e-12)
        check(f"{name}/{bf['name']} mean", bf["mean"], float(np.mean(tr)), 1e-9)
        check(f"{name}/{bf['name']} std", bf["std"], float(np.std(tr)), 1e-9)
        curc = np.bincount(np.searchsorted(edges, cu, side="right"), minlength=len(edges) + 1)
        cur = curc / len(cu)
        check(f"{name}/{bf['name']} psi", rf["psi"], psi_evidently(ref, cur), 1e-9)
        check(f"{name}/{bf['name']} js", rf["js_distance"], float(jensenshannon(ref, cur)), 1e-9)
        sample_vals = np.asarray(bf["sample"], dtype=float)
        # the sample is a subset of the training column
        checks_sub = np.isin(sample_vals, tr).all()
        check(f"{name}/{bf['name']} sample subset", 1.0 if checks_sub else 0.0, 1.0, 0)
        ks = ks_2samp(sample_vals, cu)
        check(f"{name}/{bf['name']} ks statistic", rf["ks_statistic"], float(ks.statistic), 1e-9)
        check(f"{name}/{bf['name']} ks pvalue", rf["ks_pvalue"], float(ks.pvalue), 1e-6)
        if expect_method:
            check(f"{name}/{bf['name']} ks method", 1.0 if rf["ks_method"] == expect_method
                  else 0.0, 1.0, 0)


rng = np.random.default_rng(20260601)
# exact, n1 != n2; a shifted, a scaled and an unchanged column
run_case("exact", [rng.normal(0, 1, 400), rng.exponential(1, 400), rng.uniform(0, 1, 400)],
         [rng.normal(0.4, 1, 250), rng.exponential(1.3, 250), rng.uniform(0, 1, 250)],
         expect_method="exact")
# exact, equal sizes (the "outside the square" formula)
run_case("square", [rng.normal(0, 1, 300), rng.normal(0, 1, 300)],
         [rng.normal(0.2, 1, 300), rng.normal(0, 1.5, 300)], expect_method="exact")
# ties: small integers (duplicate quantile edges collapse, KS with ties)
run_case("ties", [rng.integers(0, 4, 500), rng.poisson(2, 500)],
         [rng.integers(0, 5, 700), rng.poisson(2.5, 700)], expect_method="exact")
# asymptotic: reservoir sample of 2000 from 30000 rows against 12000 logged rows, with shifts
# small enough to keep p in (0, 1) (Durbin / Pelz-Good branches) and large (Smirnov sums)
run_case("asymp", [rng.normal(0, 1, 30000), rng.normal(0, 1, 30000), rng.gamma(2, 1, 30000),
                   rng.normal(0, 1, 30000)],
         [rng.normal(0.03, 1, 12000), rng.normal(0.08, 1, 12000), rng.gamma(2.2, 1, 12000),
          rng.normal(0, 1, 12000)], sample=2000, expect_method="asymp")
# asymptotic with a tiny sample (kstwo's n <= 140 branches: Pomeranz, Durbin)
run_case("asymp_small", [rng.normal(0, 1, 5000), rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)],
         [rng.normal(0.1, 1, 11000), rng.normal(0.5, 1, 11000), rng.normal(0, 1, 11000)],
         sample=60, bins=5, expect_method="asymp")

print(f"{checks} checks, {failures} failures")
sys.exit(1 if failures else 0)
