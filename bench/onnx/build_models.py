#!/usr/bin/python3
"""Models and inputs for bench/onnx/run (figures, not tests).

    build_models.py DIR

Writes, with onnx.helper and numpy (fixed seeds, so every run benchmarks the same bytes):
  DIR/mlp_small.onnx  MLP 30 -> 64 -> 2 with Softmax: MatMul + Add + Relu + MatMul + Add +
                      Softmax (opset 13), input "input" [N, 30], output "prob" [N, 2]
  DIR/mlp_large.onnx  MLP 256 -> 1024 -> 1024 -> 10: Gemm (transB=1, as PyTorch exports
                      nn.Linear) + Relu, Gemm + Relu, Gemm, Softmax; input "input" [N, 256],
                      output "prob" [N, 10]
  DIR/<case>.in.bin   float32 rows x cols, row-major, standard normal
  DIR/cases.txt       one line per case: name model input rows cols
Run by /usr/bin/python3 (Debian's python3-onnx, python3-numpy).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

CASES = [  # name, model, batch
    ("mlp_small_b1", "mlp_small", 1),
    ("mlp_small_b256", "mlp_small", 256),
    ("mlp_large_b64", "mlp_large", 64),
    ("mlp_large_b1", "mlp_large", 1),  # no target: the unbatched serving case's compute
]


def init(name, a):
    return nh.from_array(np.ascontiguousarray(a, dtype=np.float32), name)


def dense(rng, fan_in, fan_out, shape):
    """He-style init so activations stay O(1) through the layers."""
    return rng.standard_normal(shape).astype(np.float32) * np.float32(np.sqrt(2.0 / fan_in))


def save(graph, path):
    m = h.make_model(graph, ir_version=8, opset_imports=[h.make_opsetid("", 13)],
                     producer_name="mmsp-bench")
    onnx.checker.check_model(m)
    onnx.save(m, path)


def mlp_small(path):
    rng = np.random.RandomState(3001)
    w1, b1 = dense(rng, 30, 64, (30, 64)), rng.standard_normal(64).astype(np.float32) * 0.1
    w2, b2 = dense(rng, 64, 2, (64, 2)), rng.standard_normal(2).astype(np.float32) * 0.1
    nodes = [
        h.make_node("MatMul", ["input", "W1"], ["h1"], name="fc1"),
        h.make_node("Add", ["h1", "B1"], ["h1b"], name="fc1_bias"),
        h.make_node("Relu", ["h1b"], ["a1"], name="relu1"),
        h.make_node("MatMul", ["a1", "W2"], ["h2"], name="fc2"),
        h.make_node("Add", ["h2", "B2"], ["logits"], name="fc2_bias"),
        h.make_node("Softmax", ["logits"], ["prob"], name="softmax", axis=-1),
    ]
    g = h.make_graph(nodes, "mlp_small",
                     [h.make_tensor_value_info("input", T.FLOAT, ["N", 30])],
                     [h.make_tensor_value_info("prob", T.FLOAT, ["N", 2])],
                     initializer=[init("W1", w1), init("B1", b1), init("W2", w2),
                                  init("B2", b2)])
    save(g, path)


def mlp_large(path):
    rng = np.random.RandomState(3002)
    dims = [256, 1024, 1024, 10]
    inits, nodes, x = [], [], "input"
    for i in range(3):
        fi, fo = dims[i], dims[i + 1]
        inits.append(init(f"W{i}", dense(rng, fi, fo, (fo, fi))))  # [out, in], transB=1
        inits.append(init(f"B{i}", rng.standard_normal(fo).astype(np.float32) * 0.1))
        y = f"fc{i}"
        nodes.append(h.make_node("Gemm", [x, f"W{i}", f"B{i}"], [y], name=f"gemm{i}", transB=1))
        if i < 2:
            nodes.append(h.make_node("Relu", [y], [f"a{i}"], name=f"relu{i}"))
            x = f"a{i}"
        else:
            x = y
    nodes.append(h.make_node("Softmax", [x], ["prob"], name="softmax", axis=-1))
    g = h.make_graph(nodes, "mlp_large",
                     [h.make_tensor_value_info("input", T.FLOAT, ["N", 256])],
                     [h.make_tensor_value_info("prob", T.FLOAT, ["N", 10])], initializer=inits)
    save(g, path)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    mlp_small(os.path.join(d, "mlp_small.onnx"))
    mlp_large(os.path.join(d, "mlp_large.onnx"))
    cols = {"mlp_small": 30, "mlp_large": 256}
    rng = np.random.RandomState(3003)
    with open(os.path.join(d, "cases.txt"), "w") as f:
        for name, model, rows in CASES:
            x = rng.standard_normal((rows, cols[model])).astype(np.float32)
            x.tofile(os.path.join(d, f"{name}.in.bin"))
            f.write(f"{name} {model}.onnx {name}.in.bin {rows} {cols[model]}\n")


if __name__ == "__main__":
    main()
