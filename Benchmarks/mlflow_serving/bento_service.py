"""The MLflow model behind BentoML 1.x: a service with two workers, the model loaded once per worker
with mlflow.pyfunc.load_model (what bentoml.mlflow.load_model returns, without copying the model into
BentoML's store), one API taking an [n, 10] array of x0..x9 as {"rows": [[...], ...]} and answering a
JSON list. Two services, one without batching and one with BentoML's adaptive batching
(@bentoml.api(batchable=True), its default max_batch_size 100 and max_latency_ms 60000).
Access logs are off, as for the other Python servers (their fastest setting).
run: MLFLOW_MODEL=DIR bentoml serve bento_service:Forest (or :ForestBatchable) --host 127.0.0.1 --port P
     from Benchmarks/mlflow_serving"""
import os

import bentoml
import mlflow.pyfunc
import numpy as np
import pandas as pd

FEATURES = [f"x{i}" for i in range(10)]
SETTINGS = {"workers": 2, "logging": {"access": {"enabled": False}}}


def load():
    return mlflow.pyfunc.load_model(os.environ["MLFLOW_MODEL"])


def predict(model, rows):
    return np.asarray(model.predict(pd.DataFrame(rows, columns=FEATURES)), dtype=np.float64)


@bentoml.service(**SETTINGS)
class Forest:
    def __init__(self):
        self.model = load()

    @bentoml.api
    def predict(self, rows: np.ndarray) -> np.ndarray:
        return predict(self.model, rows)


@bentoml.service(**SETTINGS)
class ForestBatchable:
    def __init__(self):
        self.model = load()

    @bentoml.api(batchable=True)
    def predict(self, rows: np.ndarray) -> np.ndarray:
        return predict(self.model, rows)
