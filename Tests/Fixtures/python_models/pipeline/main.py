"""Pipeline fixture: a scikit-learn Pipeline whose first step is a transformer
class defined here, so the pickle refers to main.PenguinShape and serving must
import this module before it can load the model. Missing values arrive as NaN.
"""
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]


class PenguinShape(BaseEstimator, TransformerMixin):
    """Medians for missing numbers, bill shape ratios, and one-hot categories learned at fit."""

    def fit(self, X, y=None):
        self.medians_ = {c: float(np.nanmedian(X[c].to_numpy())) for c in NUMBERS}
        self.levels_ = {c: sorted(X[c].dropna().unique()) for c in ("species", "island", "sex")}
        return self

    def transform(self, X):
        numbers = {c: X[c].fillna(self.medians_[c]).to_numpy() for c in NUMBERS}
        columns = list(numbers.values()) + [
            numbers["bill_length_mm"] / numbers["bill_depth_mm"],
            np.log(numbers["flipper_length_mm"]),
        ]
        for name, levels in self.levels_.items():
            columns += [(X[name] == level).to_numpy(dtype=float) for level in levels]
        return np.column_stack(columns)


def train(dataset):
    model = Pipeline([("shape", PenguinShape()), ("ridge", Ridge(alpha=1.0))])
    return model.fit(dataset.drop(columns=["body_mass_g"]), dataset["body_mass_g"].to_numpy())


def predict(model, features):
    return model.predict(features)


def evaluate(model, dataset):
    error = predict(model, dataset.drop(columns=["body_mass_g"])) - dataset["body_mass_g"].to_numpy()
    return {"rmse": float(np.sqrt(np.mean(error ** 2)))}
