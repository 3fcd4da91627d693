"""The peer side of Benchmarks/explain.sh: shap's TreeExplainer on the trees Conveyor
exported (learning-bench --shap-export: the same model, the same rows), timed over all
rows in one call (shap's fastest use: its C++ loop) and checked equal to Conveyor's
contributions; then, for context, shap on scikit-learn's or LightGBM's own model of the
same shape trained on the same split. Prints one JSON line.

Usage: explain_shap.py EXPORT.json CSV TARGET rf|hgb
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import shap


def timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def main():
    export_path, csv, target, algo = sys.argv[1:5]
    with open(export_path) as file:
        export = json.load(file)
    trees = [
        {key: np.array(tree[key], dtype=np.int32 if key.startswith(("children", "features")) else np.float64)
         for key in ("children_left", "children_right", "children_default", "features", "thresholds", "values",
                     "node_sample_weight")}
        for tree in export["trees"]
    ]
    rows = np.array(export["rows"], dtype=np.float64)
    model = {"trees": trees, "base_offset": np.array(export["base_offset"], dtype=np.float64)}
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    explainer.shap_values(rows[:5], check_additivity=False)  # warm-up
    phi, seconds = timed(lambda: explainer.shap_values(rows, check_additivity=False))
    phi = np.asarray(phi)
    ours = np.array(export["contributions"], dtype=np.float64)[:, 0, :]  # one output: rows x features
    difference = float(np.max(np.abs(phi.reshape(ours.shape) - ours)))
    single, single_seconds = timed(lambda: [explainer.shap_values(rows[i:i + 1], check_additivity=False)
                                            for i in range(min(200, len(rows)))])
    out = {"rows": len(rows), "shap_same_model_batch_row_us": seconds * 1e6 / len(rows),
           "shap_same_model_one_row_us": single_seconds * 1e6 / len(single),
           "max_abs_difference": difference, "shap": shap.__version__}

    # Context: shap on the peer library's own model of the same shape, same split, same rows.
    data = pd.read_csv(csv)
    cut = int(len(data) * 0.8)
    features = [c for c in data.columns if c != target]
    x_train, y_train = data[features].iloc[:cut].to_numpy(), data[target].iloc[:cut].to_numpy()
    if algo == "hgb":
        import lightgbm
        peer = lightgbm.LGBMRegressor(n_estimators=100, num_leaves=31, n_jobs=1, verbose=-1).fit(x_train, y_train)
        out["peer"] = f"lightgbm {lightgbm.__version__} (100 rounds, 31 leaves)"
    else:
        import sklearn
        from sklearn.ensemble import RandomForestRegressor
        peer = RandomForestRegressor(n_estimators=100, max_depth=12, n_jobs=1, random_state=0).fit(x_train, y_train)
        out["peer"] = f"scikit-learn {sklearn.__version__} (100 trees, depth 12)"
    peer_explainer = shap.TreeExplainer(peer)
    peer_explainer.shap_values(rows[:5], check_additivity=False)
    _, peer_seconds = timed(lambda: peer_explainer.shap_values(rows, check_additivity=False))
    out["shap_peer_model_batch_row_us"] = peer_seconds * 1e6 / len(rows)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
