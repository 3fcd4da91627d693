"""Evidently's drift statistics for a reference sample and a live sample,
named as Conveyor names them (a second oracle beside scipy's, for
Benchmarks/monitoring.sh; Evidently is too heavy for the test venv).

Usage: evidently_drift.py REFERENCE.csv LIVE.csv NUMERIC,... CATEGORICAL,...
Prints JSON: per numeric feature ks_p_value, wasserstein (normed by the
reference's standard deviation) and psi; per categorical feature
chi_square_p_value, jensen_shannon and psi.
"""
import json
import sys

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift

reference = pd.read_csv(sys.argv[1])
live = pd.read_csv(sys.argv[2])
numeric = [name for name in sys.argv[3].split(",") if name]
categorical = [name for name in sys.argv[4].split(",") if name]
columns = numeric + categorical
definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
names = {
    "ks": "ks_p_value", "wasserstein": "wasserstein", "psi": "psi",
    "chisquare": "chi_square_p_value", "jensenshannon": "jensen_shannon",
}
metrics = [ValueDrift(column=name, method=method) for name in numeric for method in ("ks", "wasserstein", "psi")]
metrics += [
    ValueDrift(column=name, method=method) for name in categorical for method in ("chisquare", "jensenshannon", "psi")
]
snapshot = Report(metrics).run(
    current_data=Dataset.from_pandas(live[columns], data_definition=definition),
    reference_data=Dataset.from_pandas(reference[columns], data_definition=definition),
)
out = {}
for metric, result in zip(metrics, snapshot.dict()["metrics"]):
    out.setdefault(metric.column, {})[names[metric.method]] = float(result["value"])
print(json.dumps(out))
