# Run: python make_model.py Tests/Fixtures/python_models/mlflow_classifier (a venv with mlflow-skinny, scikit-learn, pandas).
"""Makes Tests/Fixtures/python_models/mlflow_classifier/models/penguins: an MLflow
sklearn model (a Pipeline: one-hot islands and sexes, scaled numbers, logistic
regression) with a signature inferred from the training frame."""
import sys
import importlib.metadata as md
import pandas as pd
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

root = sys.argv[1]
train = pd.read_csv(root + "/data/train.csv")
features = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]
X = train[features].astype({c: "float64" for c in features if c not in ("island", "sex")})
model = Pipeline([
    ("prepare", ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), ["island", "sex"])],
                                  remainder=StandardScaler())),
    ("classify", LogisticRegression(max_iter=1000)),
]).fit(X, train["species"])
pins = ["mlflow-skinny==" + md.version("mlflow-skinny"), "scikit-learn==" + md.version("scikit-learn"),
        "pandas==" + md.version("pandas"), "numpy==" + md.version("numpy")]
mlflow.sklearn.save_model(model, root + "/models/penguins", signature=infer_signature(X, model.predict(X)),
                          pip_requirements=pins, serialization_format="pickle")
