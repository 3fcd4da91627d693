#!/usr/bin/env bash
# Side-by-side serving benchmark, one run, same machine: Conveyor's `serving`
# (release build) answering with a 100-tree depth-12 random forest trained on
# friedman_200k.csv, scikit-learn's forest on the same data behind the peers'
# Flask/gunicorn and FastAPI/uvicorn apps (../shared/peers), and a bare
# Hummingbird route (the HTTP stack's ceiling). Each is loaded with
#   wrk -t2 -c32 -d15s --latency   (single-row body, ../shared/peers/post.lua)
# and the table gives requests/s, p50/p99 latency and ratios, plus serving's
# RSS with the model loaded. Starts its own PostgreSQL in a temp directory.
# Usage: Benchmarks/serving.sh [DATA_DIR]   (default /tmp/cdata; DURATION=15s; SWIFT_SCRATCH_PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
peers=$(cd "${PEERS_DIR:-../shared/peers}" && pwd)
data=${1:-/tmp/cdata}
duration=${DURATION:-15s}
venv=$("$peers/setup.sh" | tail -1)
"$venv/bin/pip" install -q --disable-pip-version-check "pandas<3" >&2
[ -f "$data/friedman_200k.csv" ] || "$venv/bin/python" "$peers/make_data.py" "$data" >&2
# SWIFT_SCRATCH_PATH: a build folder of its own (e.g. .build-release), so a release build
# does not wait on, or hold up, the debug builds in .build.
release=(-c release ${SWIFT_SCRATCH_PATH:+--scratch-path "$SWIFT_SCRATCH_PATH"})
swift build "${release[@]}" --product serving >&2
swift build "${release[@]}" --product trainer >&2
swift build "${release[@]}" --product bare-route >&2
bin=$(swift build "${release[@]}" --show-bin-path)

source Benchmarks/lib/common.sh

echo "== training Conveyor's forest (trainer train)" >&2
friedman_artifact "{algorithm: random_forest, params: {trees: 100, max_depth: 12}}"

start_postgres
db=$pg_url

echo "== serving" >&2
DATABASE_URL=$db ARTIFACTS_DIR=$work/artifacts PORT=5090 LOG_LEVEL=warning PREDICTION_SPILL_DIR=$work/spill \
  ADMIN_TOKEN=$bench_admin_token "$bin/serving" 2>"$work/serving.log" & pids+=($!)
serving_pid=$!
wait_http http://127.0.0.1:5090/health/live || { cat "$work/serving.log" >&2; exit 1; }
register_version "$db" local
deploy_version http://127.0.0.1:5090 local
wait_http http://127.0.0.1:5090/health/ready || { cat "$work/serving.log" >&2; exit 1; }

echo "== scikit-learn forest for the peers" >&2
"$venv/bin/python" "$peers/train.py" "$data/friedman_200k.csv" y rf --trees 100 --max-depth 12 --jobs 2 \
  --save "$work/rf.pkl" >&2
MODEL=$work/rf.pkl "$venv/bin/gunicorn" -w 2 -b 127.0.0.1:5000 --chdir "$peers" serve_flask:app \
  >"$work/flask.log" 2>&1 & pids+=($!)
# Access logs off: the peers get their fastest setting.
MODEL=$work/rf.pkl "$venv/bin/uvicorn" --workers 2 --no-access-log --host 127.0.0.1 --port 5001 \
  --app-dir "$peers" serve_fastapi:app >"$work/fastapi.log" 2>&1 & pids+=($!)
"$bin/bare-route" 5099 2>"$work/bare.log" & pids+=($!)
for url in http://127.0.0.1:5000/hello http://127.0.0.1:5001/hello; do wait_http "$url" || exit 1; done
wait_http_post() { for _ in $(seq 1 300); do curl -fsS -o /dev/null -XPOST -d '{}' "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
wait_http_post http://127.0.0.1:5099/predict

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
# One answer first, to check every server predicts (not just answers).
curl -fsS -XPOST -H 'content-type: application/json' --data "$(sed -n "s/.*or '\(.*\)'$/\1/p" "$peers/post.lua")" \
  http://127.0.0.1:5090/predict >&2; echo >&2
load conveyor http://127.0.0.1:5090/predict
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$serving_pid/status")
load bare-hummingbird http://127.0.0.1:5099/predict
load flask-gunicorn http://127.0.0.1:5000/predict
load fastapi-uvicorn http://127.0.0.1:5001/predict
logged=$(psql -qtA "$db" -c "SELECT count(*) FROM prediction_log")

python3 - "$results" "$rss_kb" "$logged" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
rps = {r[0]: float(r[1]) for r in rows}
print(f"| server | requests/s | p50 | p99 | errors | Conveyor ÷ this |")
print(f"|---|---:|---:|---:|---|---:|")
for name, r, p50, p99, errors in rows:
    print(f"| {name} | {float(r):,.0f} | {p50} | {p99} | {errors.strip()} | {rps['conveyor'] / float(r):.2f}× |")
print()
print(f"Conveyor serving RSS with the model loaded, after its load: {int(sys.argv[2]) / 1024:.1f} MB; "
      f"prediction_log rows written: {sys.argv[3]}")
PY
