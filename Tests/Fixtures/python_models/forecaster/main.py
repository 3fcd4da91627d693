"""Forecaster fixture: predict(model, horizon) over daily page views.

A linear trend times a weekday profile, fitted with numpy. train returns bytes
(a pickle it made itself, as the original framework's models did): predict
gets those bytes back.
"""
import pickle

import numpy as np


def train(dataset):
    assert list(dataset.columns) == ["day", "page_views"]
    assert dataset["day"].is_monotonic_increasing, "a forecast's rows come sorted by date"
    steps = np.arange(len(dataset), dtype=float)
    weekday = dataset["day"].dt.dayofweek.to_numpy()
    design = np.column_stack([steps] + [(weekday == d).astype(float) for d in range(7)])
    coefficients, *_ = np.linalg.lstsq(design, dataset["page_views"].to_numpy(), rcond=None)
    state = {"coefficients": coefficients, "next_step": len(dataset),
             "next_weekday": int((weekday[-1] + 1) % 7)}
    return pickle.dumps(state)


def predict(model, horizon):
    state = pickle.loads(model)
    steps = state["next_step"] + np.arange(horizon, dtype=float)
    weekday = (state["next_weekday"] + np.arange(horizon)) % 7
    return state["coefficients"][0] * steps + state["coefficients"][1:][weekday]


def evaluate(model, dataset):
    error = predict(model, len(dataset)) - dataset["page_views"].to_numpy()
    return {"rmse": float(np.sqrt(np.mean(error ** 2)))}


def info():
    return {"model": "trend x weekday", "unit": "page views per day"}
