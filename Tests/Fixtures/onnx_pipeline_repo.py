"""Writes a bring-your-own-model repository: a scikit-learn Pipeline
(ColumnTransformer: impute + scale numbers, one-hot the weather) exported
to models/model.onnx with skl2onnx, its data and a conveyor.yaml; and, apart
from the repository, onnxruntime's predictions on 200 rows (the oracle).

usage: python onnx_pipeline_repo.py REPO_DIR SEATTLE_CSV EXPECTED_JSON
"""
import json
import os
import shutil
import sys

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType

repo, csv, expected_path = sys.argv[1:4]
numbers = ["temp_min", "precipitation", "wind"]
frame = pd.read_csv(csv)
train = frame.iloc[: int(len(frame) * 0.8)]
model = Pipeline([
    ("prepare", ColumnTransformer([
        ("numbers", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numbers),
        ("weather", OneHotEncoder(handle_unknown="ignore"), ["weather"]),
    ])),
    ("forest", RandomForestRegressor(n_estimators=30, max_depth=8, random_state=0)),
]).fit(train[numbers + ["weather"]], train["temp_max"])
types = [(c, FloatTensorType([None, 1])) for c in numbers] + [("weather", StringTensorType([None, 1]))]
onx = convert_sklearn(model, initial_types=types, target_opset={"": 17, "ai.onnx.ml": 3})
os.makedirs(f"{repo}/models", exist_ok=True)
os.makedirs(f"{repo}/data", exist_ok=True)
with open(f"{repo}/models/model.onnx", "wb") as f:
    f.write(onx.SerializeToString())
shutil.copy(csv, f"{repo}/data/seattle-weather.csv")
with open(f"{repo}/conveyor.yaml", "w") as f:
    f.write("""# A scikit-learn pipeline exported to ONNX: Conveyor evaluates, gates and serves it.
name: seattle-temp-max
task: regression
data:
  path: data/seattle-weather.csv
  split: {test_fraction: 0.2}
target: temp_max
features:
  - {name: temp_min, type: numeric, min: -30, max: 45}
  - {name: precipitation, type: numeric, min: 0, max: 200}
  - {name: wind, type: numeric, min: 0, max: 40}
  - {name: weather, type: categorical, categories: [drizzle, fog, rain, snow, sun]}
model:
  format: onnx
  path: models/model.onnx
gates:
  rmse: {max: 5.0}
""")
rows = frame.iloc[-200:]
session = ort.InferenceSession(f"{repo}/models/model.onnx", providers=["CPUExecutionProvider"])
feeds = {c: rows[[c]].to_numpy().astype(np.float32) for c in numbers}
feeds["weather"] = rows[["weather"]].to_numpy().astype(str)
predictions = session.run(None, feeds)[0].reshape(-1).tolist()
instances = [{c: float(r[c]) for c in numbers} | {"weather": r["weather"]} for _, r in rows.iterrows()]
with open(expected_path, "w") as f:
    json.dump({"instances": instances, "predictions": predictions, "producer": onx.producer_name}, f)
