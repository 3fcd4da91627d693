"""Trains the benchmark's model once and writes everything Benchmarks/mlflow-serving.sh serves.

usage: python make_models.py FRIEDMAN_20K_CSV OUT_DIR   (the venv with mlflow, bentoml, scikit-learn, onnx)

The model: scikit-learn's RandomForestRegressor(n_estimators=100, max_depth=12, n_jobs=1,
random_state=0) fitted on the first 80% of the rows (x0..x9 -> y, file order, as
../shared/peers/train.py splits), written ONCE with mlflow.sklearn.save_model and a signature
inferred from the training frame. Everything else is derived from that directory:
  OUT/mlflow-model/        the MLflow model (its requirements.txt pins mlflow-skinny and the
                           libraries of this venv, as the repository's own fixture does)
  OUT/model.pkl            the same estimator, loaded back from the MLflow model, pickled as
                           ../shared/peers/serve_fastapi.py expects ({"model", "features"})
  OUT/model.onnx           the same estimator's trees as an ai.onnx.ml opset-5 TreeEnsemble
                           (thresholds and leaf values as doubles, double in and out), its input
                           cast to float32 and back first: scikit-learn's trees compare float32(x)
                           with double thresholds, so this graph takes the same branches and
                           answers what predict answers
  OUT/rows.json            100 rows of the test split (the last 20%) as {x0..x9} objects
  OUT/expected.json        the estimator's own predict on those rows (a DataFrame, float64)
  OUT/body-<server>-<n>.json   each server's own request body for n = 1 and 100 rows
  OUT/versions.json        the versions of the libraries used
"""
import importlib.metadata as md
import json
import os
import pickle
import sys

import mlflow.sklearn
import numpy as np
import onnx
import pandas as pd
from mlflow.models import infer_signature
from onnx import TensorProto, helper, numpy_helper
from sklearn.ensemble import RandomForestRegressor

csv, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
FEATURES = [f"x{i}" for i in range(10)]
frame = pd.read_csv(csv)
cut = int(len(frame) * 0.8)
train, test = frame.iloc[:cut], frame.iloc[cut:]
X = train[FEATURES].astype("float64")
forest = RandomForestRegressor(n_estimators=100, max_depth=12, n_jobs=1, random_state=0).fit(X, train["y"])

# The MLflow model, logged once. Pinned as the repository's fixture pins its own
# (Tests/Fixtures/python_models/mlflow_classifier/make_model.py): mlflow-skinny is all pyfunc needs.
pins = [f"{name}=={md.version(name)}" for name in ("mlflow-skinny", "scikit-learn", "numpy", "pandas", "scipy", "cloudpickle")]
model_dir = os.path.join(out, "mlflow-model")
# cloudpickle: MLflow 3's default, skops, refuses a forest unless told to trust sklearn's Tree type.
mlflow.sklearn.save_model(forest, model_dir, signature=infer_signature(X, forest.predict(X)), pip_requirements=pins,
                          serialization_format="cloudpickle")

# Every other server's copy comes from the MLflow directory, not from the object in memory.
loaded = mlflow.sklearn.load_model(model_dir)
with open(os.path.join(out, "model.pkl"), "wb") as f:
    pickle.dump({"model": loaded, "features": FEATURES}, f)

# The ONNX export is written here from the estimator's own trees: skl2onnx's forest-regressor
# converter (1.20) writes ai.onnx.ml opset-1 TreeEnsembleRegressor attributes as float32 even for
# double inputs, and that rounding moves thresholds and leaf values (answers off by about 1e-6, some
# rows down another branch). The opset-5 TreeEnsemble holds them as doubles and answers in its
# input's type; AVERAGE sums the trees in order and divides by their count, as predict does.
splits, features, true_ids, true_leafs, false_ids, false_leafs, roots, leaf_weights = [], [], [], [], [], [], [], []
for estimator in loaded.estimators_:
    tree = estimator.tree_
    left, right = tree.children_left, tree.children_right
    child = {}  # node -> (is a leaf, its index among the ensemble's nodes or leaves)
    for node in range(tree.node_count):
        if left[node] == -1:
            child[node] = (1, len(leaf_weights))
            leaf_weights.append(float(tree.value[node, 0, 0]))
    internal = [node for node in range(tree.node_count) if left[node] != -1]
    for i, node in enumerate(internal):
        child[node] = (0, len(splits) + i)
    roots.append(child[0][1])
    for node in internal:
        splits.append(float(tree.threshold[node]))
        features.append(int(tree.feature[node]))
        for target, ids, flags in ((left[node], true_ids, true_leafs), (right[node], false_ids, false_leafs)):
            flags.append(child[target][0])
            ids.append(child[target][1])
ensemble = helper.make_node(
    "TreeEnsemble", ["X_as_sklearn"], ["variable"], domain="ai.onnx.ml", name="forest",
    aggregate_function=0, post_transform=0, n_targets=1,  # 0: AVERAGE, 0: no transform
    tree_roots=roots, nodes_featureids=features,
    nodes_splits=numpy_helper.from_array(np.array(splits, dtype=np.float64)),
    nodes_modes=numpy_helper.from_array(np.zeros(len(splits), dtype=np.uint8)),  # 0: BRANCH_LEQ (x <= split: true)
    nodes_truenodeids=true_ids, nodes_trueleafs=true_leafs, nodes_falsenodeids=false_ids, nodes_falseleafs=false_leafs,
    leaf_targetids=[0] * len(leaf_weights), leaf_weights=numpy_helper.from_array(np.array(leaf_weights, dtype=np.float64)))
# scikit-learn's trees compare float32(x) with their double thresholds: the input is cast to float32 and back.
casts = [helper.make_node("Cast", ["X"], ["X_float32"], to=TensorProto.FLOAT, name="to_float32"),
         helper.make_node("Cast", ["X_float32"], ["X_as_sklearn"], to=TensorProto.DOUBLE, name="back_to_double")]
graph = helper.make_graph(casts + [ensemble], "forest",
                          [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, len(FEATURES)])],
                          [helper.make_tensor_value_info("variable", TensorProto.DOUBLE, [None, 1])])
onx = helper.make_model(graph, producer_name="Benchmarks/mlflow_serving/make_models.py",
                        opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)])
onnx.checker.check_model(onx)
with open(os.path.join(out, "model.onnx"), "wb") as f:
    f.write(onx.SerializeToString())

rows = test[FEATURES].iloc[:100].astype("float64")
expected = loaded.predict(rows)
objects = [{name: float(value) for name, value in zip(FEATURES, row)} for row in rows.to_numpy()]
json.dump(objects, open(os.path.join(out, "rows.json"), "w"))
json.dump([float(v) for v in expected], open(os.path.join(out, "expected.json"), "w"))
for n in (1, 100):
    part = objects[:n]
    matrix = [[row[name] for name in FEATURES] for row in part]
    bodies = {
        "conveyor": {"instances": part},
        "mlflow": {"dataframe_split": {"columns": FEATURES, "data": matrix}},
        "bentoml": {"rows": matrix},
        # serve_fastapi.py's own body is one object; its 100-row route (serve_fastapi_rows.py) takes instances.
        "fastapi": part[0] if n == 1 else {"instances": part},
    }
    for server, body in bodies.items():
        json.dump(body, open(os.path.join(out, f"body-{server}-{n}.json"), "w"))
json.dump({name: md.version(name) for name in ("mlflow", "mlflow-skinny", "bentoml", "scikit-learn", "numpy",
                                               "pandas", "onnx", "fastapi", "uvicorn")},
          open(os.path.join(out, "versions.json"), "w"))
print(f"trained on {len(train)} rows; test rows {len(test)}; first expected {expected[0]!r}", file=sys.stderr)
