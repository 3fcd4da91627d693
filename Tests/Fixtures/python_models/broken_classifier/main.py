"""Broken-classifier fixture: labels and probabilities that break the contract.

x == 1: predict answers a label that is not a class.  x == 2: predict_proba has
one column too few.  x == 3: predict_proba's DataFrame lacks a class.
x == 4: predict_proba answers NaN.
"""
import numpy as np
import pandas as pd


def train(dataset):
    return sorted(dataset["label"].unique())


def predict(model, features):
    x = features["x"].to_numpy()
    return np.where(x == 1, "zebra", model[0])


def predict_proba(model, features):
    x = features["x"].to_numpy()
    table = np.full((len(x), len(model)), 1.0 / len(model))
    if (x == 2).any():
        return table[:, 1:]
    if (x == 3).any():
        return pd.DataFrame(table, columns=["a", "b", "elephant"])
    if (x == 4).any():
        table[x == 4, 0] = np.nan
    return table
