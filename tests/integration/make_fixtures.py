#!/usr/bin/python3
"""Builds the model repository that integration tests serve, with python3-xgboost (Debian).

usage: make_fixtures.py OUTDIR

OUTDIR/
  binary/config.yaml, binary/1/model.json      binary:logistic, 30 features (fraud-like)
  multi/1/model.json                           multi:softprob, 4 features, 3 classes (no config:
                                               the server must infer it)
  regress/config.yaml, regress/1/model.json    reg:squarederror, 10 features
  regress/2/model.json                         a second version (the policy serves latest only)
Deterministic: fixed seeds, one thread.
"""
import os
import sys

import numpy as np
import xgboost as xgb


def train(path, X, y, params, rounds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    params = dict(params, nthread=1, seed=0)
    bst = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=rounds)
    bst.save_model(path)


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)

    X = rng.normal(size=(2000, 30)).astype(np.float32)
    y = ((X[:, 0] + 0.5 * X[:, 1] - X[:, 2] + rng.normal(scale=0.5, size=2000)) > 1.5).astype(np.float32)
    train(f"{out}/binary/1/model.json", X, y,
          {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3}, 20)
    with open(f"{out}/binary/config.yaml", "w") as f:
        f.write("""name: binary
backend: xgboost
max_batch_size: 64
input:
  - name: input
    datatype: FP32
    dims: [30]
version_policy:
  latest:
    num_versions: 1
""")

    X = rng.normal(size=(600, 4)).astype(np.float32)
    y = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5]).astype(np.float32)
    train(f"{out}/multi/1/model.json", X, y,
          {"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, 10)

    X = rng.normal(size=(800, 10)).astype(np.float32)
    y = (3 * X[:, 0] - 2 * X[:, 3] + rng.normal(scale=0.1, size=800)).astype(np.float32)
    train(f"{out}/regress/1/model.json", X, y, {"objective": "reg:squarederror", "max_depth": 3}, 10)
    train(f"{out}/regress/2/model.json", X, y, {"objective": "reg:squarederror", "max_depth": 4}, 15)
    with open(f"{out}/regress/config.yaml", "w") as f:
        f.write("""backend: xgboost
max_batch_size: 128
""")


if __name__ == "__main__":
    main()
