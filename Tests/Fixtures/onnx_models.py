"""Exports scikit-learn, LightGBM and XGBoost models to ONNX and records
onnxruntime's outputs on at least 1,000 rows each: the oracle Conveyor's
own ONNX evaluator is compared against (Tests/IntegrationTests/ONNXOracleTests).

usage: python onnx_models.py OUT_DIR SEATTLE_CSV
writes OUT_DIR/<name>.onnx and OUT_DIR/<name>.json ({"inputs": …, "outputs": …})
and OUT_DIR/index.json (the model names, and those skipped with the reason).
"""
import json
import math
import sys
import warnings

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingClassifier,
                              GradientBoostingRegressor, HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from skl2onnx import convert_sklearn, update_registered_converter
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

warnings.filterwarnings("ignore")

import skl2onnx_int_flags  # noqa: F401 (patches skl2onnx)
out_dir, seattle_csv = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
index = {"models": [], "skipped": {}}


def encode(array):
    array = np.asarray(array)
    if array.dtype.kind in "US" or array.dtype == object:
        return {"type": "string", "shape": list(array.shape), "data": [str(v) for v in array.reshape(-1)]}
    kind = {"float32": "float", "float64": "double", "int64": "int64", "int32": "int32", "bool": "bool"}[str(array.dtype)]
    data = [None if isinstance(v, float) and math.isnan(v) else v for v in array.reshape(-1).tolist()]
    return {"type": kind, "shape": list(array.shape), "data": data}


def record(name, onx, feeds):
    path = f"{out_dir}/{name}.onnx"
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    results = session.run(None, feeds)
    outputs = {}
    for info, value in zip(session.get_outputs(), results):
        if isinstance(value, list):  # ZipMap: one dict per row, keys in label order
            keys = list(value[0].keys())
            outputs[info.name] = {"type": "maps", "labels": [str(k) for k in keys],
                                  "data": [[float(row[k]) for k in keys] for row in value]}
        else:
            outputs[info.name] = encode(value)
    with open(f"{out_dir}/{name}.json", "w") as f:
        json.dump({"inputs": {k: encode(v) for k, v in feeds.items()}, "outputs": outputs}, f)
    index["models"].append(name)


def export(name, model, x, dtype=np.float32, options=None):
    tensor = FloatTensorType if dtype == np.float32 else DoubleTensorType
    onx = convert_sklearn(model, initial_types=[("X", tensor([None, x.shape[1]]))], target_opset={"": 17, "ai.onnx.ml": 3},
                          options=options)
    record(name, onx, {"X": x.astype(dtype)})


# Generated data: 1,500 rows.
xr, yr = make_regression(n_samples=1500, n_features=8, noise=5.0, random_state=1)
xc, yc = make_classification(n_samples=1500, n_features=8, n_informative=5, random_state=2)
xm, ym = make_classification(n_samples=1500, n_features=8, n_informative=6, n_classes=4, random_state=3)
xn = xr.copy()
xn[rng.random(xn.shape) < 0.1] = np.nan  # missing values for the histogram GBMs

export("linear_regression", LinearRegression().fit(xr, yr), xr)
export("ridge", Ridge(alpha=2.0).fit(xr, yr), xr)
export("ridge_double", Ridge(alpha=2.0).fit(xr, yr), xr, dtype=np.float64)
export("decision_tree_regressor", DecisionTreeRegressor(max_depth=10, random_state=0).fit(xr, yr), xr)
export("random_forest_regressor", RandomForestRegressor(n_estimators=40, max_depth=8, random_state=0).fit(xr, yr), xr)
export("extra_trees_regressor", ExtraTreesRegressor(n_estimators=30, max_depth=8, random_state=0).fit(xr, yr), xr)
export("gradient_boosting_regressor", GradientBoostingRegressor(n_estimators=60, random_state=0).fit(xr, yr), xr)
export("hist_gradient_boosting_regressor_missing", HistGradientBoostingRegressor(max_iter=60, random_state=0).fit(xn, yr), xn)
export("mlp_regressor", MLPRegressor(hidden_layer_sizes=(16, 8), max_iter=300, random_state=0).fit(xr / 100, yr), xr / 100)
export("logistic_binary", LogisticRegression().fit(xc, yc), xc)
export("logistic_multiclass", LogisticRegression(max_iter=500).fit(xm, ym), xm)
export("logistic_multiclass_raw_scores", LogisticRegression(max_iter=500).fit(xm, ym), xm,
       options={"zipmap": False})
export("decision_tree_classifier", DecisionTreeClassifier(max_depth=8, random_state=0).fit(xm, ym), xm)
export("random_forest_classifier_binary", RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0).fit(xc, yc), xc)
export("random_forest_classifier_multiclass",
       RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0).fit(xm, ym), xm, options={"zipmap": False})
export("extra_trees_classifier", ExtraTreesClassifier(n_estimators=30, max_depth=8, random_state=0).fit(xm, ym), xm)
export("gradient_boosting_classifier_binary", GradientBoostingClassifier(n_estimators=40, random_state=0).fit(xc, yc), xc)
export("gradient_boosting_classifier_multiclass",
       GradientBoostingClassifier(n_estimators=30, random_state=0).fit(xm, ym), xm)
xcn = xc.copy()
xcn[rng.random(xcn.shape) < 0.1] = np.nan
xmn = xm.copy()
xmn[rng.random(xmn.shape) < 0.1] = np.nan
export("hist_gradient_boosting_classifier_binary_missing",
       HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(xcn, yc), xcn)
export("hist_gradient_boosting_classifier_multiclass_missing",
       HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(xmn, ym), xmn)
export("mlp_classifier", MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(xm, ym), xm)

# Real data: Seattle's weather, one input per column (strings included), as a ColumnTransformer sees it.
weather = pd.read_csv(seattle_csv)
numeric = ["temp_min", "precipitation", "wind"]
frame = weather[numeric + ["weather"]].copy()
frame.loc[rng.random(len(frame)) < 0.05, "wind"] = np.nan


def column_feeds(frame, columns, strings):
    feeds = {}
    for column in columns:
        values = frame[[column]].to_numpy()
        feeds[column] = values.astype(str) if column in strings else values.astype(np.float32)
    return feeds


def column_types(columns, strings):
    return [(c, StringTensorType([None, 1]) if c in strings else FloatTensorType([None, 1])) for c in columns]


def export_pipeline(name, estimator, columns, strings, target, options=None):
    preprocess = ColumnTransformer([
        ("numbers", Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())]),
         [c for c in columns if c not in strings]),
        ("categories", OneHotEncoder(handle_unknown="ignore"), [c for c in columns if c in strings]),
    ])
    model = Pipeline([("preprocess", preprocess), ("model", estimator)]).fit(frame[columns], target)
    onx = convert_sklearn(model, initial_types=column_types(columns, strings), target_opset={"": 17, "ai.onnx.ml": 3},
                          options=options)
    record(name, onx, column_feeds(frame, columns, strings))


export_pipeline("pipeline_ridge_seattle", Ridge(alpha=0.1), numeric + ["weather"], {"weather"}, weather["temp_max"])
export_pipeline("pipeline_forest_seattle", RandomForestRegressor(n_estimators=30, max_depth=8, random_state=0),
                numeric + ["weather"], {"weather"}, weather["temp_max"])
export_pipeline("pipeline_logistic_seattle_labels", LogisticRegression(max_iter=1000), numeric, set(), weather["weather"])

# LightGBM through onnxmltools.
try:
    import lightgbm
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes, calculate_linear_regressor_output_shapes
    update_registered_converter(lightgbm.LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes,
                                convert_lightgbm)
    update_registered_converter(lightgbm.LGBMClassifier, "LightGbmLGBMClassifier", calculate_linear_classifier_output_shapes,
                                convert_lightgbm, options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
    export("lightgbm_regressor", lightgbm.LGBMRegressor(n_estimators=60, verbose=-1).fit(xn, yr), xn)
    export("lightgbm_classifier_binary", lightgbm.LGBMClassifier(n_estimators=40, verbose=-1).fit(xc, yc), xc)
    export("lightgbm_classifier_multiclass", lightgbm.LGBMClassifier(n_estimators=30, verbose=-1).fit(xm, ym), xm)
except ImportError as error:
    index["skipped"]["lightgbm"] = str(error)

# XGBoost through onnxmltools, where it installs.
try:
    import xgboost
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes, calculate_linear_regressor_output_shapes
    update_registered_converter(xgboost.XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes,
                                convert_xgboost)
    update_registered_converter(xgboost.XGBClassifier, "XGBoostXGBClassifier", calculate_linear_classifier_output_shapes,
                                convert_xgboost, options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
    export("xgboost_regressor", xgboost.XGBRegressor(n_estimators=40, max_depth=5).fit(xr, yr), xr)
    export("xgboost_classifier_multiclass", xgboost.XGBClassifier(n_estimators=20, max_depth=4).fit(xm, ym), xm)
except ImportError as error:
    index["skipped"]["xgboost"] = str(error)
except Exception as error:  # a converter that does not match the installed xgboost
    index["skipped"]["xgboost"] = f"{type(error).__name__}: {error}"

with open(f"{out_dir}/index.json", "w") as f:
    json.dump(index, f)
print(f"exported {len(index['models'])} models; skipped: {index['skipped']}")
