"""../shared/peers/serve_fastapi.py unchanged (its POST /predict takes one row as an object), plus
POST /predict_rows for the 100-row requests: {"instances": [{x0..x9}, ...]} -> {"predictions": [...]},
the same model.predict on a numpy matrix.
run: MODEL=model.pkl PYTHONPATH=../shared/peers uvicorn --workers 2 --app-dir Benchmarks/mlflow_serving serve_fastapi_rows:app"""
import numpy as np
from fastapi import Request

from serve_fastapi import app, features, model


@app.post("/predict_rows")
async def predict_rows(request: Request):
    body = await request.json()
    rows = np.array([[float(row[name]) for name in features] for row in body["instances"]])
    return {"predictions": model.predict(rows).tolist()}
