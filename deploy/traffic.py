"""Traffic and ground truth for the running example, so monitoring has something to show.

Usage: python3 deploy/traffic.py [SERVING_URL]   (default http://127.0.0.1:8000;
       ADMIN_TOKEN set: a report is computed after each phase instead of waiting
       for MONITORING_INTERVAL)

Three phases of 1,000 predictions each, drawn from the Seattle example's
training years, sent in batches of 50 with their true temp_max as feedback:
  1. as the data is: no drift;
  2. temp_min 8 °C warmer: temp_min and the prediction drift, live RMSE rises;
  3. the weather mix flipped (sun <-> rain, fog <-> drizzle): weather drifts.
After each phase it prints GET /monitoring's verdict, its rollback rules as the
trainer evaluated them, and the newest deployment. The example's manifest rolls
a version back when its live RMSE passes 6 over 200 labelled predictions, so
phase 2 makes the trainer roll the live version back to the one before it within
ROLLBACK_CHECK_INTERVAL (merge another PR first, see the README, so that there is
one). Standard library only.
The prediction drifts from phase 1 on, and rightly: its reference is the
model's predictions on the test split, the warmer year 2015, while this
traffic comes from 2012-2014.
"""
import csv
import json
import os
import random
import sys
import time
import urllib.request

url = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000").rstrip("/")
token = os.environ.get("ADMIN_TOKEN")
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "example-model", "data", "seattle-weather.csv")) as f:
    rows = list(csv.DictReader(f))
training = rows[: len(rows) - round(len(rows) * 0.2)]


def call(method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def phase(name, change):
    rng = random.Random(name)
    sent = 0
    for _ in range(20):
        batch = [change(rng.choice(training)) for _ in range(50)]
        instances = [{k: float(r[k]) for k in ("temp_min", "precipitation", "wind")} | {"weather": r["weather"]}
                     for r in batch]
        answer = call("POST", "/predict", {"instances": instances})
        feedback = [{"request_id": answer["request_id"], "position": i, "actual": float(r["temp_max"])}
                    for i, r in enumerate(batch)]
        call("POST", "/feedback", {"feedback": feedback})
        sent += len(batch)
    if token:
        call("POST", "/monitoring/reports", {}, {"Authorization": f"Bearer {token}"})
    report = (call("GET", "/monitoring")["reports"] or [{}])[0]
    drifted = [f["feature"] for f in report.get("features", []) if f["drifted"]]
    print(f"{name}: sent {sent}; report over {report.get('rows')} predictions: dataset drift "
          f"{report.get('dataset_drift')}, drifting {drifted or 'nothing'}, prediction drift "
          f"{(report.get('prediction') or {}).get('drifted')}, live RMSE {report.get('live_metrics', {}).get('rmse')}"
          f" (training {report.get('training_metrics', {}).get('rmse')})")
    for rule in call("GET", "/monitoring").get("rules", []):
        print(f"  rule {rule['rule']} on {rule['model_version']}: {rule.get('value')} ({rule['bound']}, "
              f"{rule.get('samples')} samples) {rule['verdict']}{': ' + rule['action'] if rule.get('action') else ''}")
    newest = call("GET", "/deployments?limit=1")[0]
    print(f"  live: {newest['version']} ({newest['kind']}: {newest['reason']})")


def warmer(row):
    return row | {"temp_min": str(float(row["temp_min"]) + 8)}


flip = {"sun": "rain", "rain": "sun", "fog": "drizzle", "drizzle": "fog"}
phase("1 as the data is", lambda row: row)
phase("2 temp_min 8 °C warmer", warmer)
time.sleep(12)  # the trainer checks the rules every ROLLBACK_CHECK_INTERVAL (10 s by default)
phase("3 weather mix flipped", lambda row: row | {"weather": flip.get(row["weather"], row["weather"])})
