"""The `shap` package's TreeExplainer on scikit-learn and LightGBM models, and the same models
exported to ONNX: the oracle for Conveyor's explanations of a repository's own ONNX tree
ensemble (ONNXExplanationTests). Conveyor only sees the .onnx file and the training split, from
which it computes the covers; shap reads the original model (bagging off, so its covers are the
same training rows).

The converters write thresholds and leaf weights as float32, so the exported model differs
from the original by that rounding. shap therefore runs twice: on the original model as
trained ("original_base"/"original_contributions", equal to Conveyor's to the rounding) and
on the original with its thresholds and leaf values set to the ONNX file's float32 numbers
("base"/"contributions": the exactness oracle, 1e-9).

usage: python onnx_shap_oracle.py OUT_DIR SEATTLE_CSV PENGUINS_TRAIN_CSV
writes, per case, OUT_DIR/<case>.onnx, <case>-train.csv and <case>-test.csv, and
OUT_DIR/cases.json: {case: {"features": [{name, type}], "target", "task",
"classes": [labels in shap's output order] or null, "base": [per output],
"contributions": [row][output][feature] (one-hot columns summed back to their feature),
"single_output": true when shap gives one log-odds output for two classes}}.
"""
import json
import sys
import warnings

import lightgbm
import numpy as np
import onnx
import pandas as pd
import shap
from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
from skl2onnx import convert_sklearn, update_registered_converter
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from skl2onnx.common.shape_calculator import (calculate_linear_classifier_output_shapes,
                                              calculate_linear_regressor_output_shapes)
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

warnings.filterwarnings("ignore")
import skl2onnx_int_flags  # noqa: F401 (patches skl2onnx)
update_registered_converter(lightgbm.LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes,
                            convert_lightgbm)
update_registered_converter(lightgbm.LGBMClassifier, "LightGbmLGBMClassifier", calculate_linear_classifier_output_shapes,
                            convert_lightgbm, options={"nocl": [True, False], "zipmap": [True, False, "columns"]})

out_dir, seattle_csv, penguins_csv = sys.argv[1:4]
cases = {}


def split(frame):
    cut = len(frame) * 4 // 5
    return frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True)


def as_float32(frame, columns):
    # Conveyor feeds float32 tensors: shap reads the same values.
    return frame[columns].astype(np.float32).astype(np.float64).to_numpy()


def shap_arrays(explainer, x):
    values = np.asarray(explainer.shap_values(x, check_additivity=False))
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    if values.ndim == 2:
        values = values[:, np.newaxis, :]  # one output
    elif values.shape[0] != x.shape[0]:
        values = np.transpose(values, (1, 0, 2))  # older shap: [outputs, rows, features]
    else:
        values = np.transpose(values, (0, 2, 1))  # [rows, features, outputs] → [rows, outputs, features]
    return base, values


def save(name, onx, features, target, task, train, test, base, contributions, rounded, classes=None, single=False,
         exact=True):
    """`rounded` is (base, contributions) from shap on the model with the ONNX file's float32 numbers;
    `exact` false where there is no such model (XGBoost: shap's reading of it rounds on its own)."""
    with open(f"{out_dir}/{name}.onnx", "wb") as file:
        file.write(onx.SerializeToString())
    train.to_csv(f"{out_dir}/{name}-train.csv", index=False)
    test.to_csv(f"{out_dir}/{name}-test.csv", index=False)
    cases[name] = {
        "features": features, "target": target, "task": task, "classes": classes, "single_output": single, "exact": exact,
        "base": rounded[0].tolist(), "contributions": rounded[1].tolist(),
        "original_base": base.tolist(), "original_contributions": contributions.tolist(),
    }


def onnx_numbers(onx):
    """The ensemble's leaf weights {(tree, node): {target: weight}}, thresholds {(tree, node): value}
    and base values, as the file holds them (float32, read by the onnx package)."""
    node = next(n for n in onx.graph.node if n.op_type.startswith("TreeEnsemble"))
    a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
    prefix = "class" if node.op_type.endswith("Classifier") else "target"
    leaves = {}
    for t, n, k, w in zip(a[f"{prefix}_treeids"], a[f"{prefix}_nodeids"], a[f"{prefix}_ids"], a[f"{prefix}_weights"]):
        leaves.setdefault((t, n), {})[k] = w
    thresholds = {(t, n): v for t, n, v, m in zip(a["nodes_treeids"], a["nodes_nodeids"], a["nodes_values"],
                                                   a["nodes_modes"]) if m != b"LEAF"}
    return leaves, thresholds, a.get("base_values")


def set_sklearn_numbers(trees, onx, leaf_value):
    """Sets each scikit-learn tree's thresholds to the file's and its leaf values to
    `leaf_value(weights)` (skl2onnx numbers trees and nodes as scikit-learn does)."""
    leaves, thresholds, _ = onnx_numbers(onx)
    for index, tree in enumerate(trees):
        state = tree.tree_
        for node in range(state.node_count):
            if state.children_left[node] == -1:
                state.value[node, 0, :] = leaf_value(leaves.get((index, node), {}), state.value[node, 0, :])
            else:
                state.threshold[node] = thresholds[(index, node)]


def rounded_booster(booster):
    """A LightGBM booster with its thresholds and leaf values rounded to float32, as onnxmltools writes them."""
    lines = []
    for line in booster.model_to_string().split("\n"):
        key, _, values = line.partition("=")
        if key == "tree_sizes":
            continue  # byte offsets the rounding changes; LightGBM reads the trees in order without them
        if key in ("threshold", "leaf_value"):
            line = key + "=" + " ".join(repr(float(np.float32(float(v)))) for v in values.split())
        lines.append(line)
    return lightgbm.Booster(model_str="\n".join(lines))


def numeric(names):
    return [{"name": n, "type": "numeric"} for n in names]


def to_opset5(onx, name, sample):
    """The legacy TreeEnsembleRegressor of `onx` rewritten as ai.onnx.ml opset 5's TreeEnsemble
    (nodes and leaves apart, modes as numbers); onnxruntime must predict the same."""
    node = next(n for n in onx.graph.node if n.op_type == "TreeEnsembleRegressor")
    a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
    rows = list(zip(a["nodes_treeids"], a["nodes_nodeids"], a["nodes_featureids"], a["nodes_modes"], a["nodes_values"],
                    a["nodes_truenodeids"], a["nodes_falsenodeids"], a["nodes_missing_value_tracks_true"]))
    internal, leaves = {}, {}
    for t, i, *_rest in rows:
        (leaves if _rest[1] == b"LEAF" else internal)[(t, i)] = len(leaves if _rest[1] == b"LEAF" else internal)
    weight = {(t, i): w for t, i, w in zip(a["target_treeids"], a["target_nodeids"], a["target_weights"])}
    modes = {b"BRANCH_LEQ": 0, b"BRANCH_LT": 1, b"BRANCH_GTE": 2, b"BRANCH_GT": 3}
    ordered = sorted(((index, key) for key, index in internal.items()))
    columns = {k: [] for k in ("feature", "split", "mode", "true", "trueleaf", "false", "falseleaf", "missing")}
    by_key = {(t, i): (f, m, v, tr, fa, mi) for t, i, f, m, v, tr, fa, mi in rows}
    for _, (t, i) in ordered:
        f, m, v, tr, fa, mi = by_key[(t, i)]
        columns["feature"].append(f)
        columns["split"].append(v)
        columns["mode"].append(modes[m])
        columns["missing"].append(mi)
        for side, child in (("true", tr), ("false", fa)):
            leaf = (t, child) in leaves
            columns[side].append(leaves[(t, child)] if leaf else internal[(t, child)])
            columns[side + "leaf"].append(1 if leaf else 0)
    leaf_order = sorted((index, key) for key, index in leaves.items())
    ensemble = onnx.helper.make_node(
        "TreeEnsemble", node.input, node.output, domain="ai.onnx.ml", n_targets=1, aggregate_function=1,
        post_transform=0, tree_roots=[internal[(t, 0)] for t in sorted({t for t, _ in internal})],
        nodes_featureids=columns["feature"],
        nodes_splits=onnx.numpy_helper.from_array(np.array(columns["split"], dtype=np.float32)),
        nodes_modes=onnx.numpy_helper.from_array(np.array(columns["mode"], dtype=np.uint8)),
        nodes_truenodeids=columns["true"], nodes_trueleafs=columns["trueleaf"],
        nodes_falsenodeids=columns["false"], nodes_falseleafs=columns["falseleaf"],
        nodes_missing_value_tracks_true=columns["missing"], leaf_targetids=[0] * len(leaf_order),
        leaf_weights=onnx.numpy_helper.from_array(np.array([weight.get(key, 0.0) for _, key in leaf_order],
                                                            dtype=np.float32)))
    graph = onnx.helper.make_graph([ensemble], name, list(onx.graph.input), list(onx.graph.output))
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 21),
                                                         onnx.helper.make_opsetid("ai.onnx.ml", 5)])
    import onnxruntime
    legacy = onnxruntime.InferenceSession(onx.SerializeToString()).run(None, {"input": sample.astype(np.float32)})[0]
    mine = onnxruntime.InferenceSession(model.SerializeToString()).run(None, {"input": sample.astype(np.float32)})[0]
    assert np.array_equal(legacy, mine), "onnxruntime predicts differently from the opset-5 rewrite"
    return model


# Seattle's weather: temp_max from three numbers, one input [N, 3].
seattle = pd.read_csv(seattle_csv)
weather_columns = ["temp_min", "precipitation", "wind"]
seattle = seattle[weather_columns + ["temp_max"]]
train, test = split(seattle)
x_train, x_test = as_float32(train, weather_columns), as_float32(test, weather_columns)
matrix = [("input", FloatTensorType([None, len(weather_columns)]))]
for name, model in [
    ("gbdt_regression", GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=0)),
    ("forest_regression", RandomForestRegressor(n_estimators=20, max_depth=8, bootstrap=False, max_features=0.7,
                                                random_state=0)),
]:
    model.fit(x_train, train["temp_max"])
    base, values = shap_arrays(shap.TreeExplainer(model), x_test)
    onx = convert_sklearn(model, initial_types=matrix, target_opset={"": 17, "ai.onnx.ml": 3})
    if name == "gbdt_regression":
        rate = model.learning_rate
        set_sklearn_numbers(model.estimators_[:, 0], onx, lambda w, old: w.get(0, 0.0) / rate)
        model.init_.constant_[:] = onnx_numbers(onx)[2][0]
    else:
        count = len(model.estimators_)
        set_sklearn_numbers(model.estimators_, onx, lambda w, old: w.get(0, 0.0) * count)
    rounded = shap_arrays(shap.TreeExplainer(model), x_test)
    save(name, onx, numeric(weather_columns), "temp_max", "regression", train, test, base, values, rounded)
    if name == "forest_regression":
        save("forest_regression_opset5", to_opset5(onx, name, x_test), numeric(weather_columns), "temp_max", "regression",
             train, test, base, values, rounded)

def flipped(onx, name, sample, flip):
    """`onx` with each split mode in `flip` ({old: new}) written the other way round: the
    children swapped and the missing direction negated (BRANCH_LEQ → BRANCH_GT, BRANCH_LT →
    BRANCH_GTE), the same model (onnxruntime must predict the same)."""
    import copy
    import onnxruntime
    model = copy.deepcopy(onx)
    node = next(n for n in model.graph.node if n.op_type.startswith("TreeEnsemble"))
    a = {x.name: x for x in node.attribute}
    modes = list(a["nodes_modes"].strings)
    trues, falses = list(a["nodes_truenodeids"].ints), list(a["nodes_falsenodeids"].ints)
    missing = list(a["nodes_missing_value_tracks_true"].ints)
    for i, mode in enumerate(modes):
        if mode in flip:
            modes[i] = flip[mode]
            trues[i], falses[i] = falses[i], trues[i]
            missing[i] = 1 - missing[i]
    for key, values in (("nodes_modes", modes), ("nodes_truenodeids", trues), ("nodes_falsenodeids", falses),
                        ("nodes_missing_value_tracks_true", missing)):
        attribute = a[key]
        field = attribute.strings if key == "nodes_modes" else attribute.ints
        del field[:]
        field.extend(values)
    feeds = {"input": sample.astype(np.float32)}
    before = onnxruntime.InferenceSession(onx.SerializeToString()).run(None, feeds)[0]
    after = onnxruntime.InferenceSession(model.SerializeToString()).run(None, feeds)[0]
    assert np.array_equal(before, after), f"{name}: onnxruntime predicts differently after flipping the modes"
    return model


# LightGBM with missing precipitation (every 7th row): NaN follows each split's default side.
blanked = seattle.copy()
blanked.loc[blanked.index % 7 == 3, "precipitation"] = np.nan
train, test = split(blanked)
x_train, x_test = as_float32(train, weather_columns), as_float32(test, weather_columns)
model = lightgbm.LGBMRegressor(n_estimators=40, num_leaves=15, min_child_samples=5, verbose=-1,
                               bagging_fraction=1.0, feature_fraction=1.0)
model.fit(x_train, train["temp_max"])
base, values = shap_arrays(shap.TreeExplainer(model), x_test)
rounded = shap_arrays(shap.TreeExplainer(rounded_booster(model.booster_)), x_test)
features = numeric(weather_columns)
features[1]["missing"] = "native"
onx = convert_sklearn(model, initial_types=matrix, target_opset={"": 17, "ai.onnx.ml": 3})
save("lightgbm_regression_missing", onx, features, "temp_max", "regression", train, test, base, values, rounded)
# The same trees written as BRANCH_GT (x > t goes to the true side), missing values included.
save("lightgbm_regression_missing_gt", flipped(onx, "lightgbm_gt", x_test, {b"BRANCH_LEQ": b"BRANCH_GT"}), features,
     "temp_max", "regression", train, test, base, values, rounded)

# XGBoost (its splits are `x < t`, BRANCH_LT in the file) with the same missing precipitation.
# XGBoost keeps float32 thresholds and leaf values itself, but shap's reading of an XGBoost model
# rounds again (2e-7 of the output apart): compared to the export's rounding only.
import xgboost
from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
update_registered_converter(xgboost.XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes,
                            convert_xgboost)
model = xgboost.XGBRegressor(n_estimators=30, max_depth=4, subsample=1.0, colsample_bytree=1.0, n_jobs=1)
model.fit(x_train, train["temp_max"])
base, values = shap_arrays(shap.TreeExplainer(model), x_test)
onx = convert_sklearn(model, initial_types=matrix, target_opset={"": 17, "ai.onnx.ml": 3})
save("xgboost_regression_missing", onx, features, "temp_max", "regression", train, test, base, values, (base, values),
     exact=False)
# Written as BRANCH_GTE (x >= t goes to the true side).
save("xgboost_regression_missing_gte", flipped(onx, "xgboost_gte", x_test, {b"BRANCH_LT": b"BRANCH_GTE"}), features,
     "temp_max", "regression", train, test, base, values, (base, values), exact=False)

# Palmer penguins: species from the islands and sexes one-hot inside the graph (one input per
# column) and four measurements; three classes, LightGBM's raw score per class.
penguins = pd.read_csv(penguins_csv).dropna().reset_index(drop=True)
measures = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
categorical = ["island", "sex"]
train, test = split(penguins[categorical + measures + ["species"]])
encoder = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
                             ("numbers", "passthrough", measures)])
pipeline = Pipeline([("encode", encoder),
                     ("gbdt", lightgbm.LGBMClassifier(n_estimators=25, num_leaves=7, min_child_samples=5, verbose=-1))])
train_float = train.copy()
test_float = test.copy()
for column in measures:
    train_float[column] = train[column].astype(np.float32)
    test_float[column] = test[column].astype(np.float32)
pipeline.fit(train_float[categorical + measures], train["species"])
encoded = pipeline.named_steps["encode"].transform(test_float[categorical + measures]).astype(np.float64)
base, values = shap_arrays(shap.TreeExplainer(pipeline.named_steps["gbdt"]), encoded)
rounded_base, rounded_values = shap_arrays(shap.TreeExplainer(rounded_booster(pipeline.named_steps["gbdt"].booster_)),
                                           encoded)
widths = [len(c) for c in pipeline.named_steps["encode"].named_transformers_["categories"].categories_]
groups = []
for width in widths:
    start = sum(len(g) for g in groups)
    groups.append(list(range(start, start + width)))
groups += [[sum(widths) + i] for i in range(len(measures))]
per_feature = np.stack([values[:, :, g].sum(axis=2) for g in groups], axis=2)
rounded = (rounded_base, np.stack([rounded_values[:, :, g].sum(axis=2) for g in groups], axis=2))
column_types = [(c, StringTensorType([None, 1])) for c in categorical] + [(c, FloatTensorType([None, 1])) for c in measures]
onx = convert_sklearn(pipeline, initial_types=column_types, target_opset={"": 17, "ai.onnx.ml": 3},
                      options={id(pipeline): {"zipmap": False}})
save("lightgbm_multiclass_onehot", onx,
     [{"name": c, "type": "categorical"} for c in categorical] + numeric(measures), "species", "classification",
     train, test, base, per_feature, rounded, classes=[str(c) for c in pipeline.classes_])

# Two classes from a forest voting (probabilities, one output per class) and from LightGBM
# (one log-odds output), the latter with missing flipper lengths.
two = penguins[measures + ["species"]].copy()
two["species"] = np.where(two["species"] == "Adelie", "adelie", "other")
train, test = split(two)
x_train, x_test = as_float32(train, measures), as_float32(test, measures)
forest = RandomForestClassifier(n_estimators=15, max_depth=6, bootstrap=False, max_features=0.75, random_state=0)
forest.fit(x_train, train["species"])
base, values = shap_arrays(shap.TreeExplainer(forest), x_test)
matrix4 = [("input", FloatTensorType([None, len(measures)]))]
onx = convert_sklearn(forest, initial_types=matrix4, target_opset={"": 17, "ai.onnx.ml": 3},
                      options={id(forest): {"zipmap": False}})
# Two classes, one score: the file's weight is the second class's probability over the trees.
trees = len(forest.estimators_)
set_sklearn_numbers(forest.estimators_, onx, lambda w, old: [1 - w.get(0, 0.0) * trees, w.get(0, 0.0) * trees])
rounded = shap_arrays(shap.TreeExplainer(forest), x_test)
save("forest_binary", onx, numeric(measures), "species", "classification", train, test, base, values, rounded,
     classes=[str(c) for c in forest.classes_])

two.loc[two.index % 6 == 1, "flipper_length_mm"] = np.nan
train, test = split(two)
x_train, x_test = as_float32(train, measures), as_float32(test, measures)
labels = (train["species"] == "other").astype(int)
booster = lightgbm.LGBMClassifier(n_estimators=30, num_leaves=7, min_child_samples=5, verbose=-1)
booster.fit(x_train, labels)
base, values = shap_arrays(shap.TreeExplainer(booster), x_test)
rounded = shap_arrays(shap.TreeExplainer(rounded_booster(booster.booster_)), x_test)
train = train.assign(species=labels.astype(str))
test = test.assign(species=(test["species"] == "other").astype(int).astype(str))
features = numeric(measures)
features[2]["missing"] = "native"
save("lightgbm_binary_missing", convert_sklearn(booster, initial_types=matrix4, target_opset={"": 17, "ai.onnx.ml": 3},
                                                options={id(booster): {"zipmap": False}}),
     features, "species", "classification", train, test, base, values, rounded, classes=["0", "1"],
     single=values.shape[1] == 1)

# Not explained: a linear model (no trees), and a forest reading a linear projection of its inputs
# (PCA mixes the columns before the trees).
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
train, test = split(seattle)
x_train = as_float32(train, weather_columns)
for name, model in [("linear_refused", LinearRegression()),
                    ("projected_forest_refused", Pipeline([("pca", PCA(n_components=2)),
                                                           ("forest", RandomForestRegressor(n_estimators=3, max_depth=3,
                                                                                            random_state=0))]))]:
    model.fit(x_train, train["temp_max"])
    with open(f"{out_dir}/{name}.onnx", "wb") as file:
        file.write(convert_sklearn(model, initial_types=matrix, target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString())
# Arithmetic after the ensemble: the trees alone no longer give the graph's prediction, so the
# check before recording covers refuses it.
forest = RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0).fit(x_train, train["temp_max"])
onx = convert_sklearn(forest, initial_types=matrix, target_opset={"": 17, "ai.onnx.ml": 3})
tree_node = next(n for n in onx.graph.node if n.op_type.startswith("TreeEnsemble"))
tree_node.output[0] = "tree_scores"
onx.graph.initializer.append(onnx.numpy_helper.from_array(np.array([5.0], dtype=np.float32), "shift"))
onx.graph.node.append(onnx.helper.make_node("Add", ["tree_scores", "shift"], [onx.graph.output[0].name]))
with open(f"{out_dir}/shifted_refused.onnx", "wb") as file:
    file.write(onx.SerializeToString())
# A malformed (but evaluable) file: one split sends both sides to the same leaf, leaving its
# other leaf unreachable. The shared node would get two covers in one slot: refused.
onx = convert_sklearn(forest, initial_types=matrix, target_opset={"": 17, "ai.onnx.ml": 3})
tree_node = next(n for n in onx.graph.node if n.op_type.startswith("TreeEnsemble"))
a = {x.name: x for x in tree_node.attribute}
modes = list(a["nodes_modes"].strings)
trues, falses = a["nodes_truenodeids"].ints, a["nodes_falsenodeids"].ints
split = next(i for i in range(len(modes)) if modes[i] != b"LEAF" and modes[trues[i]] == b"LEAF"
             and modes[falses[i]] == b"LEAF")
falses[split] = trues[split]
with open(f"{out_dir}/shared_node_refused.onnx", "wb") as file:
    file.write(onx.SerializeToString())
train.to_csv(f"{out_dir}/refused-train.csv", index=False)
test.to_csv(f"{out_dir}/refused-test.csv", index=False)

with open(f"{out_dir}/cases.json", "w") as file:
    json.dump(cases, file)
