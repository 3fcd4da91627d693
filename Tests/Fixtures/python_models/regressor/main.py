"""Regressor fixture: module-level functions, a random forest on Seattle's daily weather.

Features come in every kind the worker builds (date, numbers, a category, a
boolean); train checks they arrive as the contract says.
"""
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

WEATHER = ["drizzle", "fog", "rain", "snow", "sun"]


def inputs(features):
    day = features["date"].dt.dayofyear.to_numpy()
    columns = [
        np.sin(2 * np.pi * day / 365.25), np.cos(2 * np.pi * day / 365.25),
        features["temp_min"].to_numpy(), features["precipitation"].to_numpy(),
        features["wind"].to_numpy(), features["wet"].to_numpy(),
    ]
    columns += [(features["weather"] == w).to_numpy(dtype=float) for w in WEATHER]
    return np.column_stack(columns)


def train(dataset):
    assert list(dataset.columns) == ["date", "temp_min", "precipitation", "wind", "weather", "wet", "temp_max"]
    assert dataset["temp_min"].dtype == np.float64 and dataset["wet"].dtype == np.float64
    assert set(dataset["wet"]) <= {0.0, 1.0}
    assert pd.api.types.is_string_dtype(dataset["weather"]) and pd.api.types.is_datetime64_any_dtype(dataset["date"])
    forest = RandomForestRegressor(n_estimators=50, max_depth=8, random_state=0)
    return forest.fit(inputs(dataset), dataset["temp_max"].to_numpy())


def predict(model, features):
    return model.predict(inputs(features))


def evaluate(model, dataset):
    error = predict(model, dataset) - dataset["temp_max"].to_numpy()
    return {"rmse": np.sqrt(np.mean(error ** 2)), "mae": np.mean(np.abs(error)), "rows": len(dataset)}


def info():
    return {"learner": "RandomForestRegressor", "trees": np.int64(50), "weather": WEATHER}
