#!/usr/bin/env bash
# `serving` (release build) answering with a 100-tree depth-10 random forest
# trained natively by Conveyor, then with scikit-learn's forest of the same
# size on the same rows, exported to ONNX and served through Shared/ONNX:
# the cost of bringing your own model. Both go through `trainer train` and
# one serving process (the second is a hot swap); each is loaded with
#   wrk -t2 -c32 -d15s --latency   (a single Friedman row, ../shared/peers/post.lua)
# Usage: Benchmarks/serving-onnx.sh [DATA_DIR]   (default /tmp/cdata; DURATION=15s;
#        the test venv from deploy/local.sh test, or CONVEYOR_TEST_PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
peers=$(cd "${PEERS_DIR:-../shared/peers}" && pwd)
data=${1:-/tmp/cdata}
duration=${DURATION:-15s}
python=${CONVEYOR_TEST_PYTHON:-$root/.local/test-venv/bin/python}
[ -f "$data/friedman_200k.csv" ] || "$python" "$peers/make_data.py" "$data" >&2
swift build -c release --product serving >&2
swift build -c release --product trainer >&2
bin=$(swift build -c release --show-bin-path)

source Benchmarks/lib/common.sh

train() { # DIR VERSION → "relative-path sha"
  local line
  line=$("$bin/trainer" train --repo "$1" --version "$2" --output "$work/artifacts" | grep '^artifact:')
  echo "$(echo "$line" | sed -E 's/^artifact: (.*) \(sha256 .*/\1/' | sed "s|^$work/artifacts/||") $(echo "$line" | sed -E 's/.*\(sha256 ([0-9a-f]+)\)/\1/')"
}

echo "== Conveyor's forest" >&2
friedman_repo "$work/native" "{algorithm: random_forest, params: {trees: 100, max_depth: 10}}"
read -r native_path native_sha < <(train "$work/native" native)
echo "== scikit-learn's forest as ONNX" >&2
friedman_repo "$work/onnx" "{format: onnx, path: models/model.onnx}"
"$python" - "$work/onnx" <<'PY'
import sys, os
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
repo = sys.argv[1]
frame = pd.read_csv(f"{repo}/data/friedman.csv")
train = frame.iloc[: int(len(frame) * 0.8)]
features = [f"x{i}" for i in range(10)]
forest = RandomForestRegressor(n_estimators=100, max_depth=10, n_jobs=2, random_state=0).fit(train[features], train["y"])
os.makedirs(f"{repo}/models", exist_ok=True)
onx = convert_sklearn(forest, initial_types=[("X", FloatTensorType([None, 10]))])
open(f"{repo}/models/model.onnx", "wb").write(onx.SerializeToString())
PY
read -r onnx_path onnx_sha < <(train "$work/onnx" onnx)

start_postgres
db=$pg_url
DATABASE_URL=$db ARTIFACTS_DIR=$work/artifacts PORT=5090 LOG_LEVEL=warning PREDICTION_SPILL_DIR=$work/spill \
  ADMIN_TOKEN=$bench_admin_token "$bin/serving" 2>"$work/serving.log" & pids+=($!)
wait_http http://127.0.0.1:5090/health/live || { cat "$work/serving.log" >&2; exit 1; }
deploy() { # VERSION PATH SHA
  psql -q "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO model_versions (version, model_name, pr_number, commit_sha, metrics, artifact_path, artifact_sha256)
VALUES ('$1', 'friedman', 1, 'bench', '{}', '$2', '$3');
SQL
  deploy_version http://127.0.0.1:5090 "$1"
  for _ in $(seq 1 300); do
    curl -fsS -H 'Accept: application/json' http://127.0.0.1:5090/ 2>/dev/null |
      python3 -c 'import json, sys; sys.exit(json.load(sys.stdin).get("version") != sys.argv[1])' "$1" && return 0
    sleep 0.1
  done
  echo "serving did not swap to $1" >&2; cat "$work/serving.log" >&2; exit 1
}
results=$work/results
load() { # label
  echo "== wrk $1" >&2
  wrk -t2 -c32 -d"$duration" --latency -s "$peers/post.lua" http://127.0.0.1:5090/predict >"$work/wrk-$1.txt"
  printf '%s\t%s\t%s\t%s\n' "$1" "$(awk '/^Requests\/sec/ {print $2}' "$work/wrk-$1.txt")" \
    "$(awk '$1 == "50%" {print $2}' "$work/wrk-$1.txt")" "$(awk '$1 == "99%" {print $2}' "$work/wrk-$1.txt")" >>"$results"
}
deploy native "$native_path" "$native_sha"
load conveyor-forest
deploy onnx "$onnx_path" "$onnx_sha"
load onnx-forest
python3 - "$results" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
native = float(rows[0][1])
print("| model served | requests/s | p50 | p99 | ÷ Conveyor's forest |")
print("|---|---:|---:|---:|---:|")
for name, rps, p50, p99 in rows:
    print(f"| {name} | {float(rps):,.0f} | {p50} | {p99} | {float(rps) / native:.2f}× |")
PY
