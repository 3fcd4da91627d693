#!/usr/bin/env bash
# Side-by-side benchmark of ONE MLflow model served five ways (issue 32), one run, same machine.
# The model: scikit-learn's RandomForestRegressor (100 trees, max_depth 12, n_jobs=1) fitted on
# the first 80% of friedman_20k.csv (../shared/peers/make_data.py), written once with
# mlflow.sklearn.save_model and a signature (Benchmarks/mlflow_serving/make_models.py). Served by
#   1. Conveyor, `model: {format: mlflow, path: ...}`: `trainer train`, then the release `serving`
#      with PYTHON_WORKERS=2, batching on (default PYTHON_MAX_BATCH) and off (PYTHON_MAX_BATCH=1),
#      POST /predict {"instances": [...]};
#   2. `mlflow models serve -m DIR --env-manager local -w 2` (uvicorn, 2 workers), POST
#      /invocations {"dataframe_split": ...};
#   3. BentoML 1.x, a service with workers=2 loading the model with mlflow.pyfunc.load_model,
#      with and without @bentoml.api(batchable=True) (Benchmarks/mlflow_serving/bento_service.py),
#      POST /predict {"rows": [[...]]};
#   4. FastAPI + uvicorn, 2 workers: ../shared/peers/serve_fastapi.py with the same estimator
#      pickled (its single-row body), plus a 100-row route (mlflow_serving/serve_fastapi_rows.py);
#   5. the ceiling: Conveyor serving the same forest exported to ONNX (an opset-5 TreeEnsemble in
#      double precision, written from the estimator's trees: skl2onnx rounds a forest regressor's
#      thresholds and leaves to float32), `model: {format: onnx, ...}`, evaluated in-process.
# Every server's answers to the 1-row and the 100-row request are checked equal (within 1e-9) to
# the estimator's own predict BEFORE it is timed; the script fails otherwise. Each load:
#   wrk -t2 -c32 -d$DURATION --latency --timeout 10s  with a 1-row and with a 100-row body,
# after an unmeasured $WARMUP of the same, then a wait for an idle machine (the server drained).
# Reported: requests/s, rows/s, p50, p99, non-2xx/socket errors, rows/s ÷ FastAPI's, the RSS of
# the server and all its workers (summed, after its loads), the share of the machine other
# processes took during the load, and Conveyor's rows per worker call and worker restarts.
# Access logs are off for every Python server (uvicorn's, BentoML's: their fastest setting).
# Conveyor writes every prediction to its prediction_log (its own PostgreSQL, started here), as in
# production. Python venvs: the peers' (../shared/peers/setup.sh; FastAPI) and one for MLflow,
# BentoML and onnx (MLFLOW_BENCH_VENV, default /tmp/conveyor-mlflow-bench-venv, cached, pinned;
# scikit-learn and numpy pinned to the peers' versions, so one pickle loads everywhere). Everything
# listens on 127.0.0.1 and lives in a temp directory removed on exit (Conveyor's Python
# environment, built by pip from the model's requirements.txt, included).
# Usage: Benchmarks/mlflow-serving.sh [DATA_DIR]
#   (default /tmp/cdata; DURATION=15s; WARMUP=3s; SWIFT_SCRATCH_PATH (default .build-release);
#   NO_BUILD=1: use the binaries already there; QUIET_WAIT=120: how long each load may wait for an
#   idle machine; RETRIES=3: how often a load is measured again when others took the machine;
#   serving's own settings pass through: SANDBOX=auto|bubblewrap|none, PYTHON_WORKERS (default 2), …
#   Where bubblewrap's sandboxed workers get killed while idle and replaced (the restarts line and
#   serving's log say so; see python-serving.sh), SANDBOX=none measures the workers themselves.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
here=$root/Benchmarks/mlflow_serving
peers=$(cd "${PEERS_DIR:-../shared/peers}" && pwd)
data=${1:-/tmp/cdata}
duration=${DURATION:-15s}
warmup=${WARMUP:-3s}
python_workers=${PYTHON_WORKERS:-2}
export PYTHON_WORKERS=$python_workers

venv=$("$peers/setup.sh" | tail -1)
[ -f "$data/friedman_20k.csv" ] || "$venv/bin/python" "$peers/make_data.py" "$data" >&2
# MLflow 3.18.0 needs mlflow-tracing==3.18.0, which PyPI did not have when this was written: 3.17.2.
ml_venv=${MLFLOW_BENCH_VENV:-/tmp/conveyor-mlflow-bench-venv}
peer_pins=$("$venv/bin/pip" freeze | grep -iE '^(numpy|scikit-learn)==')
[ "$(echo "$peer_pins" | wc -l)" = 2 ] || { echo "cannot read numpy/scikit-learn versions from $venv" >&2; exit 1; }
mapfile -t ml_pins <<<"$peer_pins"
ml_pins+=(mlflow==3.17.2 bentoml==1.4.40 onnx==1.23.2)
[ -x "$ml_venv/bin/python" ] || python3 -m venv "$ml_venv"
"$ml_venv/bin/pip" install -q --disable-pip-version-check "${ml_pins[@]}" >&2

scratch=${SWIFT_SCRATCH_PATH:-.build-release}
# NO_BUILD=1: the serving and trainer already in $scratch, as they are (e.g. while the work tree
# does not build); the output then says so instead of naming the commit.
if [ -z "${NO_BUILD:-}" ]; then
  swift build -c release --scratch-path "$scratch" --product serving >&2
  swift build -c release --scratch-path "$scratch" --product trainer >&2
  built=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Services Shared Package.swift || echo ' + uncommitted changes')
fi
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
[ -z "${NO_BUILD:-}" ] || built="the binaries already in $scratch (NO_BUILD, serving from $(date -r "$bin/serving" '+%F %T'))"

# shellcheck source-path=SCRIPTDIR source=lib/common.sh disable=SC1091
source Benchmarks/lib/common.sh
work=${work:?} bench_admin_token=${bench_admin_token:?} # set by common.sh
# Servers are stopped by their pid (TERM, which each passes on to its workers); anything of a
# server's tree still alive after that is killed by pid, checked to still be the same command.
stop_tree() { # ROOT_PID
  local tree pid
  tree=$(python3 "$here/proc.py" tree "$1")
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null || true
  sleep 0.5
  while read -r pid _ _ _ command; do
    [ -n "$pid" ] || continue
    if [ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | sed 's/ $//')" = "$command" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done <<<"$tree"
}
running=()
stopped() { # PID: stopped and no longer in `running`
  stop_tree "$1"
  local rest=() pid
  for pid in "${running[@]}"; do [ "$pid" = "$1" ] || rest+=("$pid"); done
  running=(${rest[@]+"${rest[@]}"})
}
mlflow_cleanup() {
  for pid in ${running[@]+"${running[@]}"}; do stop_tree "$pid"; done
  bench_cleanup
}
trap mlflow_cleanup EXIT
mkdir -p "$work/tmp" "$work/bentoml"
# The trainer and serving keep their temporary files (the Python environment included) in $work;
# serving's default PYTHON_ENVIRONMENTS is under TMPDIR, so it reuses the one the trainer built.
export TMPDIR=$work/tmp
export DO_NOT_TRACK=true BENTOML_DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true BENTOML_HOME=$work/bentoml

echo "== the model: trained once, written as an MLflow model; its pickle, its ONNX export and the request bodies" >&2
models=$work/models
"$ml_venv/bin/python" "$here/make_models.py" "$data/friedman_20k.csv" "$models" 2>&1 | grep -v 'WARNING mlflow.sklearn' >&2
expected=$models/expected.json

echo "== Conveyor: two model repositories (format: mlflow, format: onnx), trained by trainer train" >&2
repository() { # DIR MODEL
  mkdir -p "$1/models"
  cp "$data/friedman_20k.csv" "$1/data.csv"
  {
    echo "name: friedman"
    echo "task: regression"
    echo "data: {path: data.csv, split: {test_fraction: 0.2}}"
    echo "target: y"
    echo "features:"
    for i in 0 1 2 3 4 5 6 7 8 9; do echo "  - {name: x$i, type: numeric}"; done
    echo "model: $2"
  } >"$1/conveyor.yaml"
}
repository "$work/repo-mlflow" "{format: mlflow, path: models/friedman}"
cp -R "$models/mlflow-model" "$work/repo-mlflow/models/friedman"
repository "$work/repo-onnx" "{format: onnx, path: models/model.onnx}"
cp "$models/model.onnx" "$work/repo-onnx/models/model.onnx"
declare -A artifact_path artifact_sha
for kind in mlflow onnx; do
  started=$SECONDS
  "$bin/trainer" train --repo "$work/repo-$kind" --version "$kind" --output "$work/artifacts" \
    >"$work/trainer-$kind.log" 2>&1 || { cat "$work/trainer-$kind.log" >&2; exit 1; }
  line=$(grep '^artifact:' "$work/trainer-$kind.log")
  artifact_path[$kind]=$(echo "$line" | sed -E 's/^artifact: (.*) \(sha256 .*/\1/' | sed "s|^$work/artifacts/||")
  artifact_sha[$kind]=$(echo "$line" | sed -E 's/.*\(sha256 ([0-9a-f]+)\)/\1/')
  echo "   $kind: $((SECONDS - started)) s, $(grep -E '^metrics:' "$work/trainer-$kind.log")" >&2
done

start_postgres

results=$work/results
server_pid=
# The server tree's processes after its loads: "label pid rss_kb pss_kb cpu command".
snapshot() { # LABEL ROOT_PID
  python3 "$here/proc.py" tree "$2" | while read -r pid rss pss cpu command; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$pid" "$rss" "$pss" "$cpu" "$command"
  done >>"$work/processes.txt"
}
machine_idle() { # true when the machine was under 10% busy over 2 s
  local a b
  a=$(python3 "$here/proc.py" machine); sleep 2; b=$(python3 "$here/proc.py" machine)
  awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); exit !((y[1] - x[1]) < 0.1 * (y[2] - x[2]))}'
}
wait_quiet() {
  local until=$((SECONDS + ${QUIET_WAIT:-120})) said=
  while [ $SECONDS -lt $until ]; do
    machine_idle && return 0
    [ -n "$said" ] || { echo "   the machine is busy (other processes): waiting for it to quiet down" >&2; said=1; }
    sleep 3
  done
  echo "   still busy after ${QUIET_WAIT:-120} s: measuring anyway (flagged below)" >&2
}
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
local file = io.open(os.getenv("BODY_FILE"), "rb"); wrk.body = file:read("*a"); file:close()
wrk.headers["Content-Type"] = "application/json"
LUA
python_metrics() { # URL → "calls rows restarts" of Conveyor's Python workers so far
  curl -fsS "$1/metrics" | awk '/^conveyor_python_batch_rows_sum/ {s += $NF} /^conveyor_python_batch_rows_count/ {c += $NF}
    /^conveyor_python_worker_restarts_total/ {r += $NF} END {printf "%d %d %d\n", c, s, r}'
}
# One load. Its share of the machine's CPU that went to none of the server's tree, wrk and
# PostgreSQL ("others": another build or test run on a shared machine; the kernel's own share of
# a loopback load is a few percent) is measured; a load that others took over 15% of is measured
# again after a wait for an idle machine, up to RETRIES (default 3) times; the last attempt is
# reported, with its share.
load() { # LABEL ROWS URL BODY_FILE [CONVEYOR_URL]
  local out=$work/wrk-$1-$2 machine0 machine1 cpu0 cpu1 pg0 pg1 postmaster calls0=0 rows0=0 calls1=0 rows1=0 \
    restarts0=0 restarts1=0 others attempt=0
  if [ "$warmup" != 0 ]; then
    BODY_FILE=$4 wrk -t2 -c32 -d"$warmup" --timeout 10s -s "$work/post.lua" "$3" >/dev/null
  fi
  postmaster=$(head -1 "$work/pg/postmaster.pid")
  while :; do
    attempt=$((attempt + 1))
    # After the warm-up (or the attempt before): the server has finished what it had queued.
    wait_quiet
    echo "== wrk $1, $2 row(s) a request$([ "$attempt" = 1 ] || echo ", attempt $attempt")" >&2
    [ -z "${5:-}" ] || read -r calls0 rows0 restarts0 < <(python_metrics "$5")
    machine0=$(python3 "$here/proc.py" machine)
    cpu0=$(python3 "$here/proc.py" cpu "$server_pid")
    pg0=$(python3 "$here/proc.py" cpu "$postmaster")
    BODY_FILE=$4 /usr/bin/time -f '%U %S' -o "$out.cpu" \
      wrk -t2 -c32 -d"$duration" --latency --timeout 10s -s "$work/post.lua" "$3" >"$out.txt"
    pg1=$(python3 "$here/proc.py" cpu "$postmaster")
    cpu1=$(python3 "$here/proc.py" cpu "$server_pid")
    machine1=$(python3 "$here/proc.py" machine)
    [ -z "${5:-}" ] || read -r calls1 rows1 restarts1 < <(python_metrics "$5")
    others=$(awk -v m0="$machine0" -v m1="$machine1" -v server="$cpu0 $cpu1" -v pg="$pg0 $pg1" \
      -v tick="$(getconf CLK_TCK)" -v wrk="$(awk '{print $1 + $2}' "$out.cpu")" 'BEGIN {
        split(m0, a, " "); split(m1, b, " "); split(server, s, " "); split(pg, p, " ")
        busy = (b[1] - a[1]) / tick; total = (b[2] - a[2]) / tick
        rest = busy - (s[2] - s[1]) - (p[2] - p[1]) - wrk
        printf "%.3f\n", (rest > 0 ? rest : 0) / total }')
    if awk -v o="$others" 'BEGIN {exit !(o > 0.15)}' && [ "$attempt" -le "${RETRIES:-3}" ]; then
      echo "   other processes took $(awk -v o="$others" 'BEGIN {printf "%.0f%%", o * 100}') of the machine: again" >&2
      continue
    fi
    break
  done
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' "$out.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$out.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out.txt")
  errors=$(awk '/Non-2xx|Socket errors/ {sub(/^ +/, ""); print}' "$out.txt" | tr '\n' ' ')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$rps" "$p50" "$p99" "${errors:-none}" \
    "$others" "$attempt" "$((calls1 - calls0))" "$((rows1 - rows0))" "$((restarts1 - restarts0))" >>"$results"
}
check() { # NAME KIND URL
  python3 "$here/check.py" "$1" "$2" "$3" "$models/body-$2-1.json" "$models/body-$2-100.json" "$expected" >&2
}

# Conveyor: one serving (and database) per configuration, stopped after its loads.
conveyor() { # LABEL VERSION [ENV=VALUE...]
  local label=$1 version=$2 port db url live=
  shift 2
  db=$(create_database "bench_${label//-/_}")
  port=$(free_port)
  url=http://127.0.0.1:$port
  echo "== $label: serving $version ($* PYTHON_WORKERS=$python_workers SANDBOX=${SANDBOX:-auto})" >&2
  env DATABASE_URL="$db" ARTIFACTS_DIR="$work/artifacts" HOST=127.0.0.1 PORT="$port" GRPC_PORT=off LOG_LEVEL=notice \
    PREDICTION_SPILL_DIR="$work/spill-$label" ADMIN_TOKEN="$bench_admin_token" "$@" \
    "$bin/serving" 2>"$work/serving-$label.log" &
  server_pid=$!
  running+=("$server_pid")
  wait_http "$url/health/live" || { cat "$work/serving-$label.log" >&2; exit 1; }
  psql -q "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO model_versions (version, model_name, pr_number, commit_sha, metrics, artifact_path, artifact_sha256)
VALUES ('$version', 'friedman', 1, 'bench', '{}', '${artifact_path[$version]}', '${artifact_sha[$version]}');
SQL
  local started=$SECONDS
  deploy_version "$url" "$version"
  for _ in $(seq 1 1800); do # a Python environment not built yet is installed from PyPI: up to 15 minutes
    if curl -fsS "$url/" 2>/dev/null | grep -qE "\"version\" *: *\"$version\""; then live=yes; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$live" ] || ! wait_http "$url/health/ready"; then
    curl -sS "$url/health/ready" >&2 || true; cat "$work/serving-$label.log" >&2; exit 1
  fi
  echo "   live after $((SECONDS - started)) s" >&2
  check "$label" conveyor "$url/predict"
  load "$label" 1 "$url/predict" "$models/body-conveyor-1.json" "$url"
  load "$label" 100 "$url/predict" "$models/body-conveyor-100.json" "$url"
  snapshot "$label" "$server_pid"
  grep -iE '"level":"(error|critical|warning)"' "$work/serving-$label.log" | grep -v 'no model is deployed yet' \
    | tail -3 >&2 || true
  stopped "$server_pid"
}
# A Python peer: started, checked, loaded, stopped.
peer() { # LABEL KIND URL READY_URL LOG COMMAND...
  local label=$1 kind=$2 url=$3 ready=$4 log=$5
  shift 5
  echo "== $label: $*" >&2
  "$@" >"$log" 2>&1 &
  server_pid=$!
  running+=("$server_pid")
  wait_http "$ready" || { cat "$log" >&2; exit 1; }
  check "$label" "$kind" "$url"
  load "$label" 1 "$url" "$models/body-$kind-1.json"
  load "$label" 100 "$url$([ "$kind" = fastapi ] && echo _rows)" "$models/body-$kind-100.json"
  snapshot "$label" "$server_pid"
  stopped "$server_pid"
}

conveyor conveyor-mlflow mlflow
conveyor conveyor-mlflow-nobatch mlflow PYTHON_MAX_BATCH=1
port=$(free_port)
# mlflow models serve runs `uvicorn --workers 2 mlflow.pyfunc.scoring_server.app:app`; uvicorn reads
# UVICORN_ACCESS_LOG from the environment (there is no mlflow option for it).
peer mlflow-serve mlflow "http://127.0.0.1:$port/invocations" "http://127.0.0.1:$port/ping" "$work/mlflow.log" \
  env PATH="$ml_venv/bin:$PATH" UVICORN_ACCESS_LOG=false \
  "$ml_venv/bin/mlflow" models serve -m "$models/mlflow-model" --env-manager local -w 2 -h 127.0.0.1 -p "$port"
for service in Forest ForestBatchable; do
  port=$(free_port)
  label=bentoml$([ $service = Forest ] || echo -batchable)
  peer "$label" bentoml "http://127.0.0.1:$port/predict" "http://127.0.0.1:$port/readyz" "$work/$label.log" \
    env MLFLOW_MODEL="$models/mlflow-model" "$ml_venv/bin/bentoml" serve "bento_service:$service" \
    --working-dir "$here" --host 127.0.0.1 --port "$port"
done
port=$(free_port)
# train.py-style pickles are predicted on a numpy row, so scikit-learn warns about feature names on
# every request: ignored, as in python-serving.sh.
peer fastapi-uvicorn fastapi "http://127.0.0.1:$port/predict" "http://127.0.0.1:$port/hello" "$work/fastapi.log" \
  env PYTHONWARNINGS=ignore::UserWarning MODEL="$models/model.pkl" PYTHONPATH="$peers" \
  "$venv/bin/uvicorn" --workers 2 --no-access-log --host 127.0.0.1 --port "$port" \
  --app-dir "$here" serve_fastapi_rows:app
conveyor conveyor-onnx onnx

python3 - "$results" "$work/processes.txt" "$models/versions.json" "$duration" "$built" "$python_workers" \
  "${SANDBOX:-auto}" "$(nproc)" <<'PY'
import json, os, sys
results, processes, versions_file, duration, built, workers, sandbox, cores = sys.argv[1:9]
rows = [line.rstrip("\n").split("\t") for line in open(results)]
versions = json.load(open(versions_file))
names = {
    "conveyor-mlflow": f"Conveyor, format: mlflow, {workers} workers, batching on (PYTHON_MAX_BATCH default)",
    "conveyor-mlflow-nobatch": f"Conveyor, format: mlflow, {workers} workers, batching off (PYTHON_MAX_BATCH=1)",
    "mlflow-serve": "mlflow models serve --env-manager local -w 2",
    "bentoml": "BentoML, workers=2",
    "bentoml-batchable": "BentoML, workers=2, batchable=True",
    "fastapi-uvicorn": "FastAPI + uvicorn, 2 workers (serve_fastapi.py)",
    "conveyor-onnx": "Conveyor, the same forest as ONNX (ceiling)",
}
rss, pss, procs = {}, {}, {}
details = []
for line in open(processes):
    label, pid, rss_kb, pss_kb, cpu, command = line.rstrip("\n").split("\t")
    rss[label] = rss.get(label, 0) + int(rss_kb)
    pss[label] = pss.get(label, 0) + int(pss_kb)
    procs[label] = procs.get(label, 0) + 1
    details.append((label, pid, int(rss_kb), int(pss_kb), cpu, command))
def ms(text):
    for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float("nan")
by = {(r[0], r[1]): r for r in rows}
print(f"One MLflow model (RandomForestRegressor, 100 trees, max_depth 12, n_jobs=1; first 80% of friedman_20k.csv), "
      f"served five ways on this machine ({cores} cores); `wrk -t2 -c32 -d{duration} --latency --timeout 10s` per row, "
      f"after a warm-up; every server's answers checked equal to the estimator's predict (1e-9) first.")
print()
print("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) +
      f"; Conveyor built from {built}, PYTHON_WORKERS={workers}, SANDBOX={sandbox}")
print()
print("| server | rows/request | requests/s | rows/s | p50 | p99 | errors | rows/s ÷ FastAPI | RSS MB (server + workers) | others' CPU |")
print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
disturbed, retried = [], []
for label, n, rps, p50, p99, errors, others, attempts, calls, batched, restarts in rows:
    fast = by.get(("fastapi-uvicorn", n))
    ratio = f"{float(rps) / float(fast[2]):.2f}×" if fast else "–"
    others = float(others)
    if others > 0.15:
        disturbed.append(f"{label} ({n} rows): {others:.0%}")
    if attempts != "1":
        retried.append(f"{label} ({n} rows, {attempts} attempts)")
    print(f"| {names.get(label, label)} | {n} | {float(rps):,.0f} | {float(rps) * int(n):,.0f} | {p50} | {p99} "
          f"| {errors.strip()} | {ratio} | {rss.get(label, 0) / 1024:,.0f} ({procs.get(label, 0)} processes) | {others:.0%} |")
print()
restarted = []
for label, n, *_rest in rows:
    calls, batched, restarts = int(_rest[-3]), int(_rest[-2]), int(_rest[-1])
    if label.startswith("conveyor-mlflow") and calls:
        print(f"- {label}, {n} row(s) a request: {calls:,} calls to the Python workers, {batched / calls:.2f} rows each; "
              f"workers replaced during the load: {restarts}")
    if restarts:
        restarted.append(f"{label} ({n} rows): {restarts}")
if restarted:
    print("- WARNING: Conveyor's Python workers were replaced during " + "; ".join(restarted) + ": those figures include the "
          "restarts (serving's log says why; with bubblewrap here, a worker's sandbox dies with the thread that started it).")
single = {label: r for (label, n), r in by.items() if n == "1"}
conv, mlf = single.get("conveyor-mlflow"), single.get("mlflow-serve")
bentos = [single[k] for k in ("bentoml", "bentoml-batchable") if k in single]
if conv and mlf and bentos:
    best = max(bentos, key=lambda r: float(r[2]))
    r_mlflow = float(conv[2]) / float(mlf[2])
    r_bento = float(conv[2]) / float(best[2])
    tail = ms(conv[4]) <= ms(mlf[4]) / 2
    print(f"- Goal (issue 32), single row at c=32, Conveyor with batching: ≥ 3× mlflow models serve: {r_mlflow:.2f}× — "
          f"{'met' if r_mlflow >= 3 else 'NOT met'}; ≥ 1.5× BentoML's best ({best[0]}): {r_bento:.2f}× — "
          f"{'met' if r_bento >= 1.5 else 'NOT met'}; p99 ({conv[4]}) at most half of MLflow's ({mlf[4]}): "
          f"{'met' if tail else 'NOT met'}.")
if retried:
    print("- Measured again because other processes took over 15% of the machine: " + "; ".join(retried) + ".")
if disturbed:
    print("- WARNING: other processes still took over 15% of the machine during " + "; ".join(disturbed) + ": run again on a quiet machine.")
print("- Conveyor's figures include writing every prediction to its prediction_log in PostgreSQL (same machine).")
print("- RSS: every process of the server's tree, summed, after its loads (MLflow's includes the `mlflow models serve` "
      "process that supervises uvicorn; uvicorn's its multiprocessing resource tracker; Conveyor's, with bubblewrap, the sandboxes).")
if sandbox == "none":
    print("- SANDBOX=none: Conveyor's Python workers ran as plain child processes of serving, outside bubblewrap.")
print()
print("Processes after each server's loads (RSS / PSS MB, CPU seconds since start):")
for label, pid, rss_kb, pss_kb, cpu, command in details:
    what = " ".join(w.rsplit("/", 1)[-1] if w.startswith("/") else w for w in command.split(" "))
    what = what[:100] + " …" if len(what) > 100 else what
    print(f"  {label:24} pid {pid:>7}  RSS {rss_kb / 1024:6.1f}  PSS {pss_kb / 1024:6.1f}  CPU {cpu:>6}  {what}")
PY
