"""Trains the penguins pipeline and saves it the way the repository already
does for MLflow: mlflow.sklearn.save_model into $CONVEYOR_OUTPUT_DIR/mlflow-model."""
import importlib.metadata as md
import os

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

train = pd.read_csv(os.environ["CONVEYOR_TRAIN_FILE"])
features = os.environ["CONVEYOR_FEATURES"].split(",")
numbers = [c for c in features if c not in ("island", "sex")]
X = train[features].astype({c: "float64" for c in numbers})
model = Pipeline([
    ("prepare", ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), ["island", "sex"])],
                                  remainder=StandardScaler())),
    ("classify", LogisticRegression(max_iter=500, C=0.5)),
]).fit(X, train[os.environ["CONVEYOR_TARGET"]])
pins = [name + "==" + md.version(name) for name in ("mlflow-skinny", "scikit-learn", "pandas", "numpy")]
mlflow.sklearn.save_model(model, os.path.join(os.environ["CONVEYOR_OUTPUT_DIR"], "mlflow-model"),
                          signature=infer_signature(X, model.predict(X)), pip_requirements=pins,
                          serialization_format="pickle")
print("saved the MLflow model")
