#!/usr/bin/env bash
# What an explanation costs a served request, one run, same machine: the release `serving`
# answering with a 100-round gradient-boosted model (31 leaves a tree, trained by `trainer
# train` on friedman_200k.csv), loaded with  wrk -t2 -c32 --latency  (one Friedman row a
# request, ../shared/peers/post.lua) on POST /predict and on POST /predict?explain=true;
# requests/s, p50, p99 and the ratio (issue 36's goal: explained ≥ 50% of plain). The answers
# are checked first: the explained one adds up to the plain one's prediction. Starts its own
# PostgreSQL in a temp directory (the prediction log is written, as in production).
# Usage: Benchmarks/serving-explain.sh [DATA_DIR]   (default /tmp/cdata; DURATION=15s; SWIFT_SCRATCH_PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
peers=$(cd "${PEERS_DIR:-../shared/peers}" && pwd)
data=${1:-/tmp/cdata}
duration=${DURATION:-15s}
venv=$("$peers/setup.sh" | tail -1)
[ -f "$data/friedman_200k.csv" ] || "$venv/bin/python" "$peers/make_data.py" "$data" >&2
release=(-c release ${SWIFT_SCRATCH_PATH:+--scratch-path "$SWIFT_SCRATCH_PATH"})
swift build "${release[@]}" --product serving >&2
swift build "${release[@]}" --product trainer >&2
bin=$(swift build "${release[@]}" --show-bin-path)

source Benchmarks/lib/common.sh

echo "== training the boosted model (trainer train)" >&2
friedman_artifact "{algorithm: gradient_boosting, params: {iterations: 100, max_leaves: 31}}"

start_postgres
db=$pg_url
port=$(free_port)
echo "== serving" >&2
DATABASE_URL=$db ARTIFACTS_DIR=$work/artifacts PORT=$port LOG_LEVEL=warning PREDICTION_SPILL_DIR=$work/spill \
  ADMIN_TOKEN=$bench_admin_token "$bin/serving" 2>"$work/serving.log" & pids+=($!)
serving_pid=$!
url=http://127.0.0.1:$port
wait_http "$url/health/live" || { cat "$work/serving.log" >&2; exit 1; }
register_version "$db" local
deploy_version "$url" local
wait_http "$url/health/ready" || { cat "$work/serving.log" >&2; exit 1; }

body=$(sed -n "s/.*or '\(.*\)'$/\1/p" "$peers/post.lua")
plain=$(curl -fsS -XPOST -H 'content-type: application/json' --data "$body" "$url/predict")
explained=$(curl -fsS -XPOST -H 'content-type: application/json' --data "$body" "$url/predict?explain=true")
python3 - "$plain" "$explained" <<'PY' >&2
import json, sys
plain, explained = json.loads(sys.argv[1]), json.loads(sys.argv[2])
total = explained["base_value"] + sum(explained["contributions"].values())
assert abs(total - plain["prediction"]) < 1e-9, (total, plain)
print(f"checked: base {explained['base_value']:.6g} + contributions = {total:.12g} = prediction {plain['prediction']:.12g}")
PY

results=$work/results
load() { # label url
  echo "== wrk $1" >&2
  wrk -t2 -c32 -d"$duration" --latency -s "$peers/post.lua" "$2" >"$work/wrk-$1.txt"
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk-$1.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk-$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk-$1.txt")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk-$1.txt" | tr '\n' ' ')
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$rps" "$p50" "$p99" "${errors:-none}" >>"$results"
}
load predict "$url/predict"
load predict-explain "$url/predict?explain=true"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$serving_pid/status")

python3 - "$results" "$rss_kb" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
plain = float(rows[0][1])
print("| request | requests/s | p50 | p99 | errors | ÷ plain |")
print("|---|---:|---:|---:|---|---:|")
for name, r, p50, p99, errors in rows:
    print(f"| {name} | {float(r):,.0f} | {p50} | {p99} | {errors.strip()} | {float(r) / plain:.2f}× |")
print(f"\nserving RSS after both loads: {int(sys.argv[2]) / 1024:.1f} MB")
PY
