#!/usr/bin/python3
"""ONNX models for tests/integration/test_serve_onnx.sh, built with python3-onnx's onnx.helper.

usage: make_onnx_fixtures.py REPO ROWS_JSON

REPO/mlp/1/model.onnx         MLP 30 -> 64 -> 2, Gemm + Relu + Gemm + Softmax, no config.yaml
REPO/mlp_batched/config.yaml  the same model with dynamic batching
REPO/mlp_batched/1/model.onnx
REPO/bad/1/model.onnx         a graph with an operator we do not have (Resize): must be refused
ROWS_JSON                     {"rows": [[30 floats] x 5], "probabilities": [[2 floats] x 5]}:
                              the expected output computed here with numpy (float64), so the
                              oracle is not our runtime.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp(rng):
    w1 = rng.normal(scale=0.3, size=(30, 64)).astype(np.float32)
    b1 = rng.normal(scale=0.1, size=(64,)).astype(np.float32)
    w2 = rng.normal(scale=0.3, size=(64, 2)).astype(np.float32)
    b2 = rng.normal(scale=0.1, size=(2,)).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["input", "w1", "b1"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["hr"], name="relu"),
        helper.make_node("Gemm", ["hr", "w2", "b2"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 30])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, (w1, b1, w2, b2)


def save(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def main():
    repo, rows_json = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(11)
    model, (w1, b1, w2, b2) = mlp(rng)
    save(model, f"{repo}/mlp/1/model.onnx")
    save(model, f"{repo}/mlp_batched/1/model.onnx")
    with open(f"{repo}/mlp_batched/config.yaml", "w") as f:
        f.write("max_batch_size: 16\n"
                "dynamic_batching:\n"
                "  max_queue_delay_microseconds: 2000\n"
                "  preferred_batch_size: [4, 8]\n")

    bad = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up")], "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 4])],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")])
    bad_model = helper.make_model(bad, opset_imports=[helper.make_opsetid("", 13)])
    bad_model.ir_version = 8
    save(bad_model, f"{repo}/bad/1/model.onnx")

    x = rng.normal(size=(5, 30)).astype(np.float32)
    h = np.maximum(x.astype(np.float64) @ w1 + b1, 0)
    z = h @ w2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    with open(rows_json, "w") as f:
        json.dump({"rows": x.tolist(), "probabilities": p.tolist()}, f)


if __name__ == "__main__":
    main()
