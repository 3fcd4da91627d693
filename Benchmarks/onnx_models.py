"""Exports the ONNX benchmark's models and times onnxruntime on them
(a pre-built InferenceSession, one thread): single-row calls over 10,000
different rows, and one 10,000-row batch. Used by Benchmarks/onnx.sh.

usage: python onnx_models.py OUT_DIR SEATTLE_CSV
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_friedman1
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType

out, seattle = sys.argv[1], sys.argv[2]
ROWS = 10_000
x, y = make_friedman1(n_samples=20_000 + ROWS, n_features=10, random_state=0)
x = x.astype(np.float32)
train, test = slice(0, 20_000), slice(20_000, 20_000 + ROWS)


def write(name, onx, feeds):
    with open(f"{out}/{name}.onnx", "wb") as f:
        f.write(onx.SerializeToString())
    inputs = {k: {"type": "string" if v.dtype.kind in "UO" else "float", "shape": list(v.shape),
                  "data": [str(e) for e in v.reshape(-1)] if v.dtype.kind in "UO" else v.reshape(-1).tolist()}
              for k, v in feeds.items()}
    with open(f"{out}/{name}.json", "w") as f:
        json.dump({"inputs": inputs}, f)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(f"{out}/{name}.onnx", options, providers=["CPUExecutionProvider"])
    singles = [{k: v[i:i + 1] for k, v in feeds.items()} for i in range(ROWS)]
    for feed in singles[:200]:
        session.run(None, feed)
    passes = 3
    start = time.perf_counter()
    for _ in range(passes):
        for feed in singles:
            session.run(None, feed)
    single = (time.perf_counter() - start) / (passes * ROWS)
    start = time.perf_counter()
    session.run(None, feeds)
    batch = time.perf_counter() - start
    return {"model": name, "ort_single_row_us": single * 1e6, "ort_batch_s": batch}


results = []
forest = RandomForestRegressor(n_estimators=100, max_depth=10, random_state=0, n_jobs=1).fit(x[train], y[train])
results.append(write("forest_100_depth_10", convert_sklearn(forest, initial_types=[("X", FloatTensorType([None, 10]))]),
                     {"X": x[test]}))
gbdt = GradientBoostingRegressor(n_estimators=200, max_depth=3, random_state=0).fit(x[train], y[train])
results.append(write("gbdt_200_rounds", convert_sklearn(gbdt, initial_types=[("X", FloatTensorType([None, 10]))]),
                     {"X": x[test]}))

weather = pd.read_csv(seattle)
numbers = ["temp_min", "precipitation", "wind"]
pipeline = Pipeline([
    ("prepare", ColumnTransformer([
        ("numbers", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numbers),
        ("weather", OneHotEncoder(handle_unknown="ignore"), ["weather"]),
    ])),
    ("ridge", Ridge()),
]).fit(weather[numbers + ["weather"]], weather["temp_max"])
rows = weather.sample(n=ROWS, replace=True, random_state=0)
feeds = {c: rows[[c]].to_numpy().astype(np.float32) for c in numbers}
feeds["weather"] = rows[["weather"]].to_numpy().astype(str)
types = [(c, FloatTensorType([None, 1])) for c in numbers] + [("weather", StringTensorType([None, 1]))]
results.append(write("sklearn_pipeline", convert_sklearn(pipeline, initial_types=types), feeds))
print(json.dumps(results))
