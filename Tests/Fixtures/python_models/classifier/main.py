"""Classifier fixture: a class Model, LogisticRegression on the Palmer penguins.

predict_proba answers a DataFrame whose columns are the class names in reverse
order, so the worker's reordering to Conveyor's sorted classes is exercised.
"""
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORIES = ["island", "sex"]


class Model:
    def train(self, dataset):
        model = Pipeline([
            ("prepare", ColumnTransformer([
                ("numbers", StandardScaler(), NUMBERS),
                ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORIES),
            ])),
            ("logistic", LogisticRegression(max_iter=1000)),
        ])
        return model.fit(dataset[NUMBERS + CATEGORIES], dataset["species"])

    def predict(self, model, features):
        return model.predict(features)

    def predict_proba(self, model, features):
        classes = list(model.classes_)
        table = pd.DataFrame(model.predict_proba(features), columns=classes)
        return table[classes[::-1]]

    def evaluate(self, model, dataset):
        return {"accuracy": float((self.predict(model, dataset) == dataset["species"].to_numpy()).mean())}

    def info(self):
        return {"learner": "LogisticRegression", "features": NUMBERS + CATEGORIES}
