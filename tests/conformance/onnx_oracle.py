#!/usr/bin/python3
"""Models and comparison for test_onnxruntime_oracle.sh.

  onnx_oracle.py build DIR    writes DIR/<name>.onnx (ours), DIR/<name>.ort.onnx (ONNX
                              Runtime's, when it differs), DIR/<name>.in.bin, DIR/manifest.json
  onnx_oracle.py compare DIR  compares DIR/<name>.ours.txt (test_onnx_ml_run) with
                              DIR/<name>.ort.json (onnx_oracle_ort.js); exit 1 on any mismatch

Graphs are written by hand with onnx.helper (skl2onnx is not available): sklearn fits the
models, this script turns the fitted trees / coefficients into ai.onnx.ml attributes.
Floats must agree within rtol 1e-4 / atol 1e-5, labels exactly.

Known ONNX Runtime deviation from the ONNX specification, followed by us per the spec:
for a TreeEnsembleClassifier with two class labels whose leaves carry weights for BOTH
classes (a random forest: every leaf votes for class 0 and class 1), ONNX Runtime (1.30 too)
returns label 1 whenever the class-1 score is > 0 (it applies its one-class "binary case"
rule), while the specification defines the label as the top class, i.e. argmax of the
scores. For such models ("label_rule": "argmax") our label is checked against the argmax
of ONNX Runtime's own probabilities, and the number of rows where ONNX Runtime's label
differs is printed. Rows whose two top ONNX Runtime scores are within 1e-5 (ties, e.g. 5 of
10 trees each way) accept either label.

SVMClassifier in linear mode (no support vectors, one coefficient row per class) with two
class labels: ONNX Runtime returns the second label whenever the top raw score is > 0 and the
coefficients have mixed signs, while the reference implementation (onnx/reference/ops/aionnxml/
op_svm_classifier.py, set_score_svm) returns the top class. We follow the reference; model
svc2_linear_mode uses label_rule "argmax" like the forests above. ONNX Runtime also refuses
an SVM without kernel_params (optional in the spec): its copy of the linear-mode models gets
kernel_params [0, 0, 0] (with_kernel_params), ours keeps it absent.

ZipMap: onnxruntime-node cannot return seq(map) outputs, and our executor presents ZipMap's
output as the [N, classes] probability tensor (docs/onnx.md "ML operators"). ONNX Runtime's
model therefore also exposes ZipMap's input tensor (the values of every map) and our ZipMap
output is compared with it.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
from onnx import TensorProto as T
from onnx import helper as h

RTOL, ATOL = 1e-4, 1e-5
ML = "ai.onnx.ml"
rng = np.random.RandomState(20240613)


def save(model, path):
    onnx.checker.check_model(model)
    onnx.save(model, path)


def make_model(nodes, inputs, outputs, ml_opset=3, onnx_opset=13, inits=()):
    g = h.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return h.make_model(g, ir_version=8, opset_imports=[
        h.make_opsetid("", onnx_opset), h.make_opsetid(ML, ml_opset)])


def tinfo(name, et, shape):
    return h.make_tensor_value_info(name, et, shape)


def seqmap_info(name, key_type):
    mt = onnx.TypeProto()
    mt.map_type.key_type = key_type
    mt.map_type.value_type.CopyFrom(h.make_tensor_type_proto(T.FLOAT, []))
    st = onnx.TypeProto()
    st.sequence_type.elem_type.CopyFrom(mt)
    return h.make_value_info(name, st)


def tree_attrs(estimators, kind, n_out, weight_fn, gt=False, missing=None):
    """nodes_* and class_/target_* attributes from fitted sklearn trees.

    weight_fn(tree_index, tree_, node) -> list of (id, weight) for a leaf. sklearn splits
    are x <= t (BRANCH_LEQ); gt=True writes the same trees as BRANCH_GT with children
    swapped (exercises the mode mapping). missing: RandomState to draw
    nodes_missing_value_tracks_true."""
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values",
                         "nodes_modes", "nodes_truenodeids", "nodes_falsenodeids")}
    w = {k: [] for k in ("treeids", "nodeids", "ids", "weights")}
    miss = []
    for ti, est in enumerate(estimators):
        t = est.tree_
        for nd in range(t.node_count):
            leaf = t.children_left[nd] == -1
            a["nodes_treeids"].append(ti)
            a["nodes_nodeids"].append(nd)
            a["nodes_featureids"].append(0 if leaf else int(t.feature[nd]))
            a["nodes_values"].append(0.0 if leaf else float(np.float32(t.threshold[nd])))
            l, r = int(t.children_left[nd]), int(t.children_right[nd])
            if leaf:
                a["nodes_modes"].append("LEAF")
                a["nodes_truenodeids"].append(0)
                a["nodes_falsenodeids"].append(0)
            elif gt:
                a["nodes_modes"].append("BRANCH_GT")
                a["nodes_truenodeids"].append(r)
                a["nodes_falsenodeids"].append(l)
            else:
                a["nodes_modes"].append("BRANCH_LEQ")
                a["nodes_truenodeids"].append(l)
                a["nodes_falsenodeids"].append(r)
            miss.append(int(missing.randint(0, 2)) if missing is not None else 0)
            if leaf:
                for cid, wt in weight_fn(ti, t, nd):
                    w["treeids"].append(ti)
                    w["nodeids"].append(nd)
                    w["ids"].append(cid)
                    w["weights"].append(float(wt))
    if missing is not None:
        a["nodes_missing_value_tracks_true"] = miss
    for k, v in w.items():
        a[kind + "_" + k] = v
    return a


def features(n, f, nan_frac=0.0):
    x = rng.normal(size=(n, f)).astype(np.float32)
    if nan_frac:
        x[rng.uniform(size=x.shape) < nan_frac] = np.nan
    return x


def build(d):
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                                  RandomForestClassifier, RandomForestRegressor)
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    manifest = []

    def add(name, model, x, fetch, ours_out=None, ort_model=None, label_rule="exact",
            pairs=None):
        save(model, os.path.join(d, name + ".onnx"))
        if ort_model is not None:
            save(ort_model, os.path.join(d, name + ".ort.onnx"))
        x.astype("<f4").tofile(os.path.join(d, name + ".in.bin"))
        manifest.append({"name": name, "rows": int(x.shape[0]), "cols": int(x.shape[1]),
                         "ort_model": name + (".ort.onnx" if ort_model is not None else ".onnx"),
                         "fetch": fetch, "label_rule": label_rule,
                         "pairs": pairs or {k: k for k in fetch}})

    # 1. MLP 30 -> 64 -> 2 with Softmax: MatMul + Add + Relu, Gemm, Softmax.
    w1 = rng.normal(scale=0.3, size=(30, 64)).astype(np.float32)
    b1 = rng.normal(scale=0.1, size=(64,)).astype(np.float32)
    w2 = rng.normal(scale=0.3, size=(64, 2)).astype(np.float32)
    b2 = rng.normal(scale=0.1, size=(2,)).astype(np.float32)
    inits = [onnx.numpy_helper.from_array(v, n) for v, n in
             ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    nodes = [h.make_node("MatMul", ["X", "w1"], ["h0"]), h.make_node("Add", ["h0", "b1"], ["h1"]),
             h.make_node("Relu", ["h1"], ["h2"]),
             h.make_node("Gemm", ["h2", "w2", "b2"], ["logits"]),
             h.make_node("Softmax", ["logits"], ["prob"], axis=-1)]
    m = make_model(nodes, [tinfo("X", T.FLOAT, ["N", 30])], [tinfo("prob", T.FLOAT, ["N", 2])],
                   inits=inits)
    add("mlp", m, features(257, 30), ["prob"])

    # 2./3. Random forests, two and three classes (leaf weights for every class: p / n_trees).
    for n_cls in (2, 3):
        X, y = make_classification(n_samples=600, n_features=8, n_informative=5,
                                   n_classes=n_cls, n_clusters_per_class=1, random_state=n_cls)
        rf = RandomForestClassifier(n_estimators=12, max_depth=7, random_state=0).fit(X, y)

        def wfn(ti, t, nd, n_trees=len(rf.estimators_)):
            v = t.value[nd][0]
            p = v / v.sum()
            return [(c, p[c] / n_trees) for c in range(len(p))]

        for variant in ("", "_gt_missing"):
            attrs = tree_attrs(rf.estimators_, "class", n_cls, wfn, gt=bool(variant),
                               missing=np.random.RandomState(1) if variant else None)
            labels = [10 + 3 * c for c in range(n_cls)]
            node = h.make_node("TreeEnsembleClassifier", ["X"], ["label", "prob"], domain=ML,
                               classlabels_int64s=labels, post_transform="NONE", **attrs)
            m = make_model([node], [tinfo("X", T.FLOAT, ["N", 8])],
                           [tinfo("label", T.INT64, ["N"]), tinfo("prob", T.FLOAT, ["N", n_cls])],
                           ml_opset=1)
            add("rf%d%s" % (n_cls, variant), m, features(300, 8, 0.03 if variant else 0.0),
                ["label", "prob"], label_rule="argmax" if n_cls == 2 else "exact")

    # 4. Gradient boosting, binary: weights for class 0 only (the one-class two-label rule),
    #    LOGISTIC, base value.
    X, y = make_classification(n_samples=500, n_features=6, random_state=7)
    gb = GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0).fit(X, y)
    est = [e[0] for e in gb.estimators_]
    attrs = tree_attrs(est, "class", 2,
                       lambda ti, t, nd: [(0, t.value[nd][0][0] * gb.learning_rate)])
    base = float(gb._raw_predict_init(X[:1])[0][0])
    node = h.make_node("TreeEnsembleClassifier", ["X"], ["label", "prob"], domain=ML,
                       classlabels_int64s=[0, 1], post_transform="LOGISTIC",
                       base_values=[base], **attrs)
    m = make_model([node], [tinfo("X", T.FLOAT, ["N", 6])],
                   [tinfo("label", T.INT64, ["N"]), tinfo("prob", T.FLOAT, ["N", 2])])
    add("gb_binary", m, features(300, 6), ["label", "prob"])

    # 5. Regressors: gradient boosting (SUM + base value), random forest (AVERAGE), and the
    #    same forest with aggregate MAX (evaluated by the per-node walk, not the forest).
    X, y = make_regression(n_samples=400, n_features=5, random_state=3)
    gbr = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    attrs = tree_attrs([e[0] for e in gbr.estimators_], "target", 1,
                       lambda ti, t, nd: [(0, t.value[nd][0][0] * gbr.learning_rate)])
    node = h.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=1,
                       base_values=[float(gbr.init_.constant_[0][0])], **attrs)
    m = make_model([node], [tinfo("X", T.FLOAT, ["N", 5])], [tinfo("Y", T.FLOAT, ["N", 1])])
    add("gb_regressor", m, features(300, 5), ["Y"])
    rfr = RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0).fit(X, y)
    for agg in ("AVERAGE", "MAX"):
        attrs = tree_attrs(rfr.estimators_, "target", 1,
                           lambda ti, t, nd: [(0, t.value[nd][0][0])])
        node = h.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=1,
                           aggregate_function=agg, **attrs)
        m = make_model([node], [tinfo("X", T.FLOAT, ["N", 5])], [tinfo("Y", T.FLOAT, ["N", 1])])
        add("rf_regressor_" + agg.lower(), m, features(300, 5), ["Y"])

    # 6. Linear classifiers: 3 classes (SOFTMAX), binary with one coefficient row (LOGISTIC).
    X, y = make_classification(n_samples=500, n_features=10, n_informative=6, n_classes=3,
                               random_state=5)
    lr = LogisticRegression(max_iter=500).fit(X, y)
    node = h.make_node("LinearClassifier", ["X"], ["label", "prob"], domain=ML,
                       coefficients=lr.coef_.astype(np.float32).ravel().tolist(),
                       intercepts=lr.intercept_.astype(np.float32).tolist(),
                       classlabels_ints=[0, 1, 2], post_transform="SOFTMAX", multi_class=1)
    m = make_model([node], [tinfo("X", T.FLOAT, ["N", 10])],
                   [tinfo("label", T.INT64, ["N"]), tinfo("prob", T.FLOAT, ["N", 3])], ml_opset=1)
    add("linear3", m, features(300, 10), ["label", "prob"])
    X, y = make_classification(n_samples=500, n_features=10, random_state=6)
    lr2 = LogisticRegression(max_iter=500).fit(X, y)
    node = h.make_node("LinearClassifier", ["X"], ["label", "prob"], domain=ML,
                       coefficients=lr2.coef_.astype(np.float32).ravel().tolist(),
                       intercepts=lr2.intercept_.astype(np.float32).tolist(),
                       classlabels_ints=[0, 1], post_transform="LOGISTIC")
    m = make_model([node], [tinfo("X", T.FLOAT, ["N", 10])],
                   [tinfo("label", T.INT64, ["N"]), tinfo("prob", T.FLOAT, ["N", 2])], ml_opset=1)
    add("linear_binary", m, features(300, 10), ["label", "prob"])

    # 7. Scaler -> LinearClassifier -> ZipMap (see the module docstring for ZipMap).
    sc = StandardScaler().fit(X)
    lr3 = LogisticRegression(max_iter=500).fit(sc.transform(X), y)
    nodes = [h.make_node("Scaler", ["X"], ["S"], domain=ML,
                         offset=sc.mean_.astype(np.float32).tolist(),
                         scale=(1.0 / sc.scale_).astype(np.float32).tolist()),
             h.make_node("LinearClassifier", ["S"], ["label", "prob"], domain=ML,
                         coefficients=np.vstack([-lr3.coef_, lr3.coef_]).astype(np.float32)
                         .ravel().tolist(),
                         intercepts=np.hstack([-lr3.intercept_, lr3.intercept_])
                         .astype(np.float32).tolist(),
                         classlabels_ints=[0, 1], post_transform="SOFTMAX"),
             h.make_node("ZipMap", ["prob"], ["zipmap"], domain=ML, classlabels_int64s=[0, 1])]
    ours = make_model(nodes, [tinfo("X", T.FLOAT, ["N", 10])],
                      [tinfo("label", T.INT64, ["N"]), seqmap_info("zipmap", T.INT64)])
    theirs = make_model(nodes, [tinfo("X", T.FLOAT, ["N", 10])],
                        [tinfo("label", T.INT64, ["N"]), tinfo("prob", T.FLOAT, ["N", 2]),
                         seqmap_info("zipmap", T.INT64)])
    add("scaler_linear_zipmap", ours, features(300, 10) * 3, ["label", "prob"],
        ort_model=theirs, pairs={"label": "label", "zipmap": "prob"})

    # 8. Preprocessing chain: Imputer (NaN -> per-column value) -> Normalizer (L2)
    #    -> ArrayFeatureExtractor (columns 4, 0, 2) -> Binarizer; and the LinearRegressor.
    idx = onnx.numpy_helper.from_array(np.array([4, 0, 2], dtype=np.int64), "idx")
    nodes = [h.make_node("Imputer", ["X"], ["I"], domain=ML,
                         imputed_value_floats=[0.5, -1.0, 2.0, 0.0, 1.5, 3.0],
                         replaced_value_float=float("nan")),
             h.make_node("Normalizer", ["I"], ["Nm"], domain=ML, norm="L2"),
             h.make_node("ArrayFeatureExtractor", ["Nm", "idx"], ["A"], domain=ML),
             h.make_node("Binarizer", ["A"], ["B"], domain=ML, threshold=0.1),
             h.make_node("LinearRegressor", ["I"], ["R"], domain=ML, targets=2,
                         coefficients=rng.normal(size=12).astype(np.float32).tolist(),
                         intercepts=[0.25, -0.5])]
    m = make_model(nodes, [tinfo("X", T.FLOAT, ["N", 6])],
                   [tinfo("Nm", T.FLOAT, ["N", 6]), tinfo("A", T.FLOAT, ["N", 3]),
                    tinfo("B", T.FLOAT, ["N", 3]), tinfo("R", T.FLOAT, ["N", 2])],
                   inits=[idx])
    add("preprocess", m, features(200, 6, 0.1), ["Nm", "A", "B", "R"])
    for norm in ("MAX", "L1"):
        node = h.make_node("Normalizer", ["X"], ["Y"], domain=ML, norm=norm)
        m = make_model([node], [tinfo("X", T.FLOAT, ["N", 6])], [tinfo("Y", T.FLOAT, ["N", 6])])
        add("normalizer_" + norm.lower(), m, np.abs(features(100, 6)) + 0.1, ["Y"])

    # 9. LabelEncoder (opset 2 form): float -> string -> int64 (default for unknown keys),
    #    and float -> float.
    keys = [0.5, 1.0, 1.5, 2.0, -3.0]
    nodes = [h.make_node("LabelEncoder", ["X"], ["S"], domain=ML, keys_floats=keys,
                         values_strings=["half", "one", "one-half", "two", "minus-three"],
                         default_string="other"),
             h.make_node("LabelEncoder", ["S"], ["L"], domain=ML,
                         keys_strings=["one", "two", "half", "minus-three", "other"],
                         values_int64s=[1, 2, 5, -3, 99]),
             h.make_node("LabelEncoder", ["X"], ["F"], domain=ML, keys_floats=keys,
                         values_floats=[5.0, 10.0, 15.0, 20.0, -30.0], default_float=-1.0)]
    m = make_model(nodes, [tinfo("X", T.FLOAT, ["N", 4])],
                   [tinfo("L", T.INT64, ["N", 4]), tinfo("F", T.FLOAT, ["N", 4])], ml_opset=2)
    xs = np.array(keys + [0.25, 7.0], dtype=np.float32)[rng.randint(0, 7, size=(100, 4))]
    add("label_encoder", m, xs, ["L", "F"])

    # 10. SVMs (attribute layout of skl2onnx's SVC / SVR converters: kernel_params [gamma,
    #     coef0, degree], support_vectors row-major, vectors_per_class = n_support_; for two
    #     classes coefficients = -dual_coef_ and rho = -intercept_, libsvm's sign, so s > 0
    #     votes for the first class; prob_a / prob_b = probA_ / probB_). Z is SVMClassifier's
    #     own output: probabilities with prob_a, else the one-vs-one decision values.
    from sklearn.svm import SVC, SVR, LinearSVC, OneClassSVM

    def svm_kernel_attrs(est):
        return dict(kernel_type=est.kernel.upper(),
                    kernel_params=[float(np.float32(est._gamma)), float(est.coef0),
                                   float(est.degree)],
                    support_vectors=est.support_vectors_.astype(np.float32).ravel().tolist())

    def with_kernel_params(model):
        """ONNX Runtime refuses an SVM without kernel_params (optional in the spec): its copy
        of a linear-mode model gets [0, 0, 0]; ours keeps the attribute absent."""
        c = onnx.ModelProto()
        c.CopyFrom(model)
        c.graph.node[0].attribute.append(h.make_attribute("kernel_params", [0.0, 0.0, 0.0]))
        if not any(a.name == "kernel_type" for a in c.graph.node[0].attribute):
            c.graph.node[0].attribute.append(h.make_attribute("kernel_type", "LINEAR"))
        return c

    for n_cls in (2, 3):
        X, y = make_classification(n_samples=240, n_features=5, n_informative=4,
                                   n_redundant=0, n_classes=n_cls, n_clusters_per_class=1,
                                   random_state=20 + n_cls)
        for kernel in ("rbf", "linear", "poly") + (("sigmoid",) if n_cls == 2 else ()):
            for proba in (False, True):
                svc = SVC(kernel=kernel, probability=proba, C=1.0, degree=3, coef0=0.5,
                          gamma=0.1 if kernel == "sigmoid" else "scale",
                          random_state=0).fit(X, y)
                sign = -1.0 if n_cls == 2 else 1.0
                attrs = svm_kernel_attrs(svc)
                attrs.update(coefficients=(sign * svc.dual_coef_).astype(np.float32)
                             .ravel().tolist(),
                             rho=(sign * svc.intercept_).astype(np.float32).tolist(),
                             vectors_per_class=[int(v) for v in svc.n_support_],
                             classlabels_ints=[7 + 5 * c for c in range(n_cls)],
                             post_transform="NONE")
                if proba:
                    attrs.update(prob_a=svc.probA_.astype(np.float32).tolist(),
                                 prob_b=svc.probB_.astype(np.float32).tolist())
                width = n_cls if proba else (2 if n_cls == 2 else n_cls * (n_cls - 1) // 2)
                node = h.make_node("SVMClassifier", ["X"], ["label", "prob"], domain=ML,
                                   **attrs)
                m = make_model([node], [tinfo("X", T.FLOAT, ["N", 5])],
                               [tinfo("label", T.INT64, ["N"]),
                                tinfo("prob", T.FLOAT, ["N", width])], ml_opset=1)
                add("svc%d_%s%s" % (n_cls, kernel, "_proba" if proba else ""), m,
                    features(200, 5), ["label", "prob"])

    # Linear mode (no support vectors): per-class weights, one rho for every class. Three
    # classes from a one-vs-rest LinearSVC; two classes as rows [-w, w] (mixed signs), where
    # ONNX Runtime labels by "some score > 0" instead of the top class (see the docstring).
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3,
                               n_clusters_per_class=1, random_state=31)
    lsv = LinearSVC(fit_intercept=False, max_iter=5000, random_state=0).fit(X, y)
    node = h.make_node("SVMClassifier", ["X"], ["label", "prob"], domain=ML,
                       coefficients=lsv.coef_.astype(np.float32).ravel().tolist(), rho=[0.125],
                       classlabels_ints=[1, 2, 3], post_transform="SOFTMAX")
    m = make_model([node], [tinfo("X", T.FLOAT, ["N", 6])],
                   [tinfo("label", T.INT64, ["N"]), tinfo("prob", T.FLOAT, ["N", 3])], ml_opset=1)
    add("svc3_linear_mode", m, features(200, 6), ["label", "prob"],
        ort_model=with_kernel_params(m))
    w = rng.normal(size=6).astype(np.float32)
    node = h.make_node("SVMClassifier", ["X"], ["label", "prob"], domain=ML,
                       coefficients=np.concatenate([-w, w]).tolist(), rho=[0.25],
                       classlabels_ints=[0, 1], post_transform="NONE")
    m = make_model([node], [tinfo("X", T.FLOAT, ["N", 6])],
                   [tinfo("label", T.INT64, ["N"]), tinfo("prob", T.FLOAT, ["N", 2])], ml_opset=1)
    add("svc2_linear_mode", m, features(200, 6), ["label", "prob"], label_rule="argmax",
        ort_model=with_kernel_params(m))

    # SVMRegressor: SVR with rbf / linear / poly kernels, a linear-mode regressor (no support
    # vectors: coefficients = coef_), and a one-class SVM (one_class = 1: output +-1).
    X, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=11)
    y = y / np.std(y)
    for kernel in ("rbf", "linear", "poly"):
        svr = SVR(kernel=kernel, C=3.0, epsilon=0.05, degree=2, coef0=1.0).fit(X, y)
        node = h.make_node("SVMRegressor", ["X"], ["Y"], domain=ML,
                           coefficients=svr.dual_coef_.astype(np.float32).ravel().tolist(),
                           rho=svr.intercept_.astype(np.float32).tolist(),
                           n_supports=len(svr.support_), post_transform="NONE",
                           **svm_kernel_attrs(svr))
        m = make_model([node], [tinfo("X", T.FLOAT, ["N", 4])], [tinfo("Y", T.FLOAT, ["N", 1])],
                       ml_opset=1)
        add("svr_" + kernel, m, features(200, 4), ["Y"])
    svr = SVR(kernel="linear", C=3.0).fit(X, y)
    node = h.make_node("SVMRegressor", ["X"], ["Y"], domain=ML,
                       coefficients=svr.coef_.astype(np.float32).ravel().tolist(),
                       rho=svr.intercept_.astype(np.float32).tolist(), kernel_type="LINEAR")
    m = make_model([node], [tinfo("X", T.FLOAT, ["N", 4])], [tinfo("Y", T.FLOAT, ["N", 1])],
                   ml_opset=1)
    add("svr_linear_mode", m, features(200, 4), ["Y"], ort_model=with_kernel_params(m))
    oc = OneClassSVM(kernel="rbf", gamma=0.2, nu=0.2).fit(X)
    node = h.make_node("SVMRegressor", ["X"], ["Y"], domain=ML,
                       coefficients=oc.dual_coef_.astype(np.float32).ravel().tolist(),
                       rho=oc.intercept_.astype(np.float32).tolist(),
                       n_supports=len(oc.support_), one_class=1, **svm_kernel_attrs(oc))
    m = make_model([node], [tinfo("X", T.FLOAT, ["N", 4])], [tinfo("Y", T.FLOAT, ["N", 1])],
                   ml_opset=1)
    add("one_class_svm", m, features(200, 4) * 1.5, ["Y"])

    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def read_ours(path):
    outs, lines = {}, open(path).read().split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        head = lines[i].split()
        name, dtype, nd = head[0], head[1], int(head[2])
        dims = [int(v) for v in head[3:3 + nd]]
        cnt = int(np.prod(dims)) if dims else 1
        vals = lines[i + 1:i + 1 + cnt]
        arr = np.array([float(v) for v in vals]) if dtype != "BYTES" else np.array(vals)
        outs[name] = arr.reshape(dims)
        i += 1 + cnt
    return outs


def compare(d):
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    bad = 0
    for m in manifest:
        ours = read_ours(os.path.join(d, m["name"] + ".ours.txt"))
        theirs = json.load(open(os.path.join(d, m["name"] + ".ort.json")))
        report = []
        for our_name, ort_name in m["pairs"].items():
            t = theirs[ort_name]
            ref = np.array(t["data"], dtype=np.float64).reshape(t["dims"])
            if our_name not in ours:
                report.append("%s: missing from our outputs" % our_name)
                bad += 1
                continue
            got = ours[our_name].astype(np.float64)
            if got.shape != ref.shape:
                report.append("%s: shape %s, ONNX Runtime %s" % (our_name, got.shape,
                                                                ref.shape))
                bad += 1
                continue
            if t["type"] == "int64" and our_name == "label" and m["label_rule"] == "argmax":
                prob = np.array(theirs["prob"]["data"]).reshape(theirs["prob"]["dims"])
                top = np.sort(prob, axis=1)
                tie = (top[:, -1] - top[:, -2]) <= 1e-5
                labels = np.array(m_labels(d, m))
                want = labels[np.argmax(prob, axis=1)]
                wrong = int(np.sum((got != want) & ~tie))
                ort_diff = int(np.sum(ref != want))
                report.append("label: %d/%d rows disagree with argmax of ONNX Runtime's "
                              "scores (%d ties); ONNX Runtime's own label deviates from that "
                              "argmax (the spec) on %d rows" % (wrong, len(got),
                                                                int(tie.sum()), ort_diff))
                bad += wrong
            elif t["type"] in ("int64", "int32", "string"):
                wrong = int(np.sum(got != ref))
                report.append("%s: %d/%d labels differ" % (our_name, wrong, got.size))
                bad += wrong
            else:
                diff = np.abs(got - ref)
                both_nan = np.isnan(got) & np.isnan(ref)
                off = (diff > ATOL + RTOL * np.abs(ref)) & ~both_nan
                off |= np.isnan(got) != np.isnan(ref)
                report.append("%s: max abs diff %.3g, %d/%d values off" % (
                    our_name, float(np.nanmax(diff)) if diff.size else 0.0, int(off.sum()),
                    got.size))
                bad += int(off.sum())
        print("%-24s %s" % (m["name"], "; ".join(report)))
    print("onnx_oracle: %s" % ("all models agree with ONNX Runtime" if not bad else
                               "%d mismatches" % bad))
    return 1 if bad else 0


def m_labels(d, m):
    model = onnx.load(os.path.join(d, m["name"] + ".onnx"))
    for node in model.graph.node:
        for a in node.attribute:
            if a.name in ("classlabels_int64s", "classlabels_ints"):
                return list(a.ints)
    raise SystemExit("no class labels in " + m["name"])


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("build", "compare"):
        raise SystemExit("usage: onnx_oracle.py build|compare DIR")
    if sys.argv[1] == "build":
        build(sys.argv[2])
    else:
        sys.exit(compare(sys.argv[2]))
