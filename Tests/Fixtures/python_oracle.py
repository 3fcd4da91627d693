"""The oracle for served Python models: the artifact's model.pkl unpickled here
and the module's own predict called directly, on the DataFrame pandas reads from
a CSV file by itself (manifest order, numbers float64, categories pandas' text
dtype, missing values NaN), with no code of Conveyor's in between.

  python python_oracle.py ARTIFACT_DIR CSV             predict (and predict_proba) on every row
  python python_oracle.py ARTIFACT_DIR --horizon N     a forecast model's next N values
  python python_oracle.py --mlflow ARTIFACT_DIR CSV    an MLflow model: mlflow.pyfunc.load_model(...).predict

Prints {"predictions": [...], "probabilities": [[...], ...] or null} as JSON.
Run it with the interpreter of the environment the model was trained in.
"""
import importlib.util
import json
import os
import pickle
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MISSING = ["", "NA", "N/A", "na", "n/a", "null", "NULL", "None", "NaN", "nan"]


def entry(module, name):
    function = getattr(module, name, None)
    if callable(function) and not isinstance(function, type):
        return function
    cls = getattr(module, "Model", None)
    if isinstance(cls, type) and callable(getattr(cls, name, None)):
        return getattr(cls(), name)
    return None


def frame_of(spec, csv):
    text = pd.Series(["a"]).dtype
    dtypes = {f["name"]: (np.float64 if f["type"] == "numeric" else text) for f in spec["features"]}
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(csv, dtype=dtypes, keep_default_na=False, na_values=MISSING, **exact)
    for f in spec["features"]:
        if f["type"] == "boolean":
            frame[f["name"]] = frame[f["name"]].map({"true": 1.0, "false": 0.0}).astype(np.float64)
        elif f["type"] == "date":
            frame[f["name"]] = pd.to_datetime(frame[f["name"]], format="ISO8601")
    return frame[[f["name"] for f in spec["features"]]]


def mlflow_main(directory, csv):
    import shutil
    import tempfile

    import mlflow.pyfunc

    with open(os.path.join(directory, "spec.json")) as f:
        spec = json.load(f)
    model_dir = tempfile.mkdtemp()
    for name in os.listdir(directory):
        if name.startswith("mlflow."):
            shutil.copyfile(os.path.join(directory, name), os.path.join(model_dir, name[len("mlflow."):]))
    result = mlflow.pyfunc.load_model(model_dir).predict(frame_of(spec, csv))
    values = np.asarray(result).tolist()
    predictions = [str(v) for v in values] if spec["task"] == "classification" else [float(v) for v in values]
    print(json.dumps({"predictions": predictions, "probabilities": None}))


def main(argv):
    if argv[0] == "--mlflow":
        return mlflow_main(argv[1], argv[2])
    directory = argv[0]
    with open(os.path.join(directory, "model.json")) as f:
        python = json.load(f)["model"]["python"]
    with open(os.path.join(directory, "spec.json")) as f:
        spec = json.load(f)
    path = os.path.join(directory, python["module"])
    name = os.path.splitext(python["module"])[0]
    sys.path.insert(0, directory)
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    with open(os.path.join(directory, "model.pkl"), "rb") as f:
        payload = f.read()
    with open(os.path.join(directory, "model.format")) as f:
        form = f.read().strip()
    model = payload if form == "bytes" else pickle.loads(payload)
    predict = entry(module, "predict")
    if argv[1] == "--horizon":
        result = np.asarray(predict(model, int(argv[2])), dtype=np.float64)
        print(json.dumps({"predictions": result.tolist(), "probabilities": None}))
        return
    frame = frame_of(spec, argv[1])
    result = predict(model, frame)
    if spec["task"] == "classification":
        predictions = [str(v) for v in np.asarray(result).tolist()]
    else:
        predictions = np.asarray(result, dtype=np.float64).tolist()
    probabilities = None
    proba = entry(module, "predict_proba")
    if spec["task"] == "classification" and proba is not None:
        classes = sorted(pd.read_csv(argv[3], dtype=str, keep_default_na=False)[spec["target"]].unique())
        matrix = proba(model, frame)
        if isinstance(matrix, pd.DataFrame):
            matrix = matrix[classes]
        probabilities = np.asarray(matrix, dtype=np.float64).tolist()
    print(json.dumps({"predictions": predictions, "probabilities": probabilities}))


if __name__ == "__main__":
    main(sys.argv[1:])
