"""Checks a server's answers against the model's own predict before it is timed.

usage: python3 check.py NAME KIND URL BODY_1 BODY_100 EXPECTED_JSON
  KIND: conveyor | mlflow | bentoml | fastapi (how the answer is shaped; fastapi's 100 rows go to URL_rows)
Posts both bodies, and exits non-zero unless every answer is within 1e-9 (relative to max(1, |y|)) of
EXPECTED_JSON (the estimator's predict on the same rows); prints the largest difference.
"""
import json
import sys
import urllib.request

name, kind, url, body_1, body_100, expected_file = sys.argv[1:7]
expected = json.load(open(expected_file))


def post(target, path):
    data = open(path, "rb").read()
    request = urllib.request.Request(target, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        sys.exit(f"{name}: HTTP {error.code} from {target}: {error.read()[:500]!r}")


def values(answer, n):
    if kind == "conveyor":
        values = answer["predictions"]
    elif kind == "mlflow":
        values = answer["predictions"]
    elif kind == "bentoml":
        values = answer
    elif kind == "fastapi":
        values = [answer["prediction"]] if n == 1 else answer["predictions"]
    else:
        sys.exit(f"unknown kind {kind}")
    values = [float(v["prediction"] if isinstance(v, dict) else v) for v in values]
    if len(values) != n:
        sys.exit(f"{name}: {len(values)} answers for {n} rows: {answer!r:.300}")
    return values


worst = 0.0
for n, body in ((1, body_1), (100, body_100)):
    target = url + "_rows" if kind == "fastapi" and n == 100 else url
    got = values(post(target, body), n)
    for i, (value, want) in enumerate(zip(got, expected[:n])):
        gap = abs(value - want)
        worst = max(worst, gap)
        if not gap <= 1e-9 * max(1.0, abs(want)):
            sys.exit(f"{name}: row {i} of the {n}-row request answered {value!r}, the model's predict {want!r}: NOT the same model")
print(f"   {name:22} {'equal' if worst == 0 else f'equal within {worst:.2g}'} (1 and 100 rows against the estimator's predict)")
