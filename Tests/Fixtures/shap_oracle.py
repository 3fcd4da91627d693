"""The `shap` package's TreeExplainer (path-dependent TreeSHAP), the oracle for
Conveyor's own explanations (TreeSHAPOracleTests).

argv[1]: a JSON file {"trees": [shap custom tree dicts: children_left, children_right, children_default,
features, thresholds, values (nodes x outputs), node_sample_weight], "base_offset": [per
output], "rows": [[value or null for missing]]}.
stdout: {"expected": [per output], "phi": [row][column][output], "raw": [row][output]}, where
"raw" is shap's own evaluation of the same trees (its TreeEnsemble.predict).
"""

import json
import sys

import numpy as np
import shap


def main():
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    trees = []
    for tree in spec["trees"]:
        trees.append(
            {
                "children_left": np.array(tree["children_left"], dtype=np.int32),
                "children_right": np.array(tree["children_right"], dtype=np.int32),
                "children_default": np.array(tree["children_default"], dtype=np.int32),
                "features": np.array(tree["features"], dtype=np.int32),
                "thresholds": np.array(tree["thresholds"], dtype=np.float64),
                "values": np.array(tree["values"], dtype=np.float64),
                "node_sample_weight": np.array(tree["node_sample_weight"], dtype=np.float64),
            }
        )
    model = {"trees": trees, "base_offset": np.array(spec["base_offset"], dtype=np.float64)}
    rows = np.array([[np.nan if v is None else v for v in row] for row in spec["rows"]], dtype=np.float64)
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    phi = np.asarray(explainer.shap_values(rows, check_additivity=True))
    if phi.ndim == 2:
        phi = phi[:, :, np.newaxis]
    raw = np.asarray(explainer.model.predict(rows)).reshape(len(rows), -1)
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    json.dump({"expected": expected.tolist(), "phi": phi.tolist(), "raw": raw.tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
