"""onnxruntime's predictions for a CSV, one [N, 1] input per graph input
(float32 columns, string columns with "" for a missing value): the oracle
for served ONNX models.

usage: python onnx_predict.py MODEL.onnx DATA.csv
prints {"labels": [...], "probabilities": [[...], ...]} (probabilities in the model's label order)
"""
import json
import sys

import numpy as np
import onnxruntime as ort
import pandas as pd

session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
frame = pd.read_csv(sys.argv[2])
feeds = {}
for info in session.get_inputs():
    column = frame[[info.name]]
    feeds[info.name] = column.fillna("").astype(str).to_numpy() if info.type == "tensor(string)" \
        else column.to_numpy().astype(np.float32)
labels, probabilities = session.run(None, feeds)[:2]
print(json.dumps({"labels": [str(v) for v in labels], "probabilities": np.asarray(probabilities).tolist()}))
