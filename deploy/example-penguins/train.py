"""Trains the penguin-species pipeline and exports it to ONNX for Conveyor.

Conveyor runs this at the merge commit with the data and schema in
environment variables (see the Conveyor README, "Bring your own model") and
takes $CONVEYOR_OUTPUT_DIR/model.onnx; its own evaluation decides the rest.
"""
import json
import os

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType

CATEGORIES = ["island", "sex"]
features = os.environ["CONVEYOR_FEATURES"].split(",")
numbers = [f for f in features if f not in CATEGORIES]
target = os.environ["CONVEYOR_TARGET"]

train = pd.read_csv(os.environ["CONVEYOR_TRAIN_FILE"])
train = train.dropna(subset=[target])
train[CATEGORIES] = train[CATEGORIES].fillna("")  # a missing category arrives as ""
model = Pipeline([
    ("prepare", ColumnTransformer([
        ("numbers", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numbers),
        ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORIES),
    ])),
    ("forest", RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0)),
]).fit(train[features], train[target])

types = [(f, StringTensorType([None, 1]) if f in CATEGORIES else FloatTensorType([None, 1])) for f in features]
onx = convert_sklearn(model, initial_types=types, options={id(model): {"zipmap": False}})
out = os.environ["CONVEYOR_OUTPUT_DIR"]
with open(os.path.join(out, "model.onnx"), "wb") as f:
    f.write(onx.SerializeToString())
with open(os.path.join(out, "params.json"), "w") as f:
    json.dump(model.named_steps["forest"].get_params(), f, default=str)
print(f"trained on {len(train)} rows; wrote model.onnx")
