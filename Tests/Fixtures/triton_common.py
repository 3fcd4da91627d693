"""What the Open Inference Protocol client fixtures (triton_http.py,
triton_grpc.py, kserve_grpc.py) share: collecting failures, POST /predict as
the oracle for the same rows, the regression model's rows and their tensors,
and the classification check (FP32 tensors → labels and probabilities equal
to POST /predict's) that both tritonclient modules run the same way."""
import json
import sys
import urllib.error
import urllib.request

import numpy as np

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def post(base, path, body, headers=None):
    request = urllib.request.Request(base + path, data=body, method="POST",
                                     headers=headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def predict(base, rows, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, body, _ = post(base, "/predict", json.dumps({"instances": rows}).encode(), headers)
    assert status == 200, body
    return json.loads(body)["predictions"]


# Rows of the regression model the tests deploy (numeric a and b, categorical colour), every colour present.
REGRESSION_ROWS = [{"a": 1.5, "b": 2.0, "colour": "red"}, {"a": 0.0, "b": 0.5, "colour": "blue"},
                   {"a": 7.25, "b": 3.0, "colour": "green"}, {"a": 4.0, "b": 1.0, "colour": "red"},
                   {"a": 2.5, "b": 0.0, "colour": "blue"}]


def regression_inputs(module, rows, **options):
    """`rows` as `module`'s (tritonclient.http or .grpc) tensors: FP64 a and b, BYTES colour.
    `options` go to each set_data_from_numpy (binary_data over HTTP)."""
    inputs = [module.InferInput("a", [len(rows)], "FP64"), module.InferInput("b", [len(rows)], "FP64"),
              module.InferInput("colour", [len(rows)], "BYTES")]
    inputs[0].set_data_from_numpy(np.array([r["a"] for r in rows], dtype=np.float64), **options)
    inputs[1].set_data_from_numpy(np.array([r["b"] for r in rows], dtype=np.float64), **options)
    inputs[2].set_data_from_numpy(np.array([r["colour"].encode() for r in rows], dtype=np.object_), **options)
    return inputs


def check_classification(base, client, module, model):
    """FP32 tensors through `module` (tritonclient.http or .grpc): labels and probabilities equal POST /predict."""
    # Values exact in FP32, so FP32 tensors and JSON doubles give the same rows.
    rows = [{"x": 0.125, "y": 0.25}, {"x": 0.875, "y": 0.75}, {"x": 0.5, "y": 0.625}, {"x": 0.25, "y": 0.9375}]
    expected = predict(base, rows)
    inputs = [module.InferInput("x", [len(rows)], "FP32"), module.InferInput("y", [len(rows)], "FP32")]
    inputs[0].set_data_from_numpy(np.array([r["x"] for r in rows], dtype=np.float32))
    inputs[1].set_data_from_numpy(np.array([r["y"] for r in rows], dtype=np.float32))
    result = client.infer(model, inputs)
    labels = [label.decode() for label in result.as_numpy("label")]
    check(labels == [p["label"] for p in expected], f"labels {labels} != {[p['label'] for p in expected]}")
    probabilities = result.as_numpy("probabilities")
    classes = sorted(expected[0]["probabilities"])
    want = np.array([[p["probabilities"][c] for c in classes] for p in expected])
    check(probabilities.shape == want.shape and np.array_equal(probabilities, want),
          f"probabilities {probabilities} != {want}")
    return result


def finish(mode):
    """Exits non-zero listing the failures, or says ok."""
    if failures:
        print("\n".join("FAIL " + failure for failure in failures))
        sys.exit(1)
    print(f"ok {mode}")
