#!/usr/bin/env bash
# Side-by-side benchmark of a repository's own Python model (`model: {format: python}`),
# one run, same machine: what a single-row request costs on top of the model itself.
#   - Conveyor: `trainer train` runs the repository's main.py (scikit-learn, the same
#     versions as the peers' venv, pinned in its requirements.txt) in the sandbox, and the
#     release `serving` answers through its pool of Python workers (PYTHON_WORKERS=2,
#     conveyor_worker.py serve, each in the sandbox);
#   - the peers: the same model trained by ../shared/peers/train.py, its pickle behind
#     serve_flask.py (gunicorn, 2 workers) and serve_fastapi.py (uvicorn, 2 workers,
#     access log off);
#   - in-process: the same pickle's model.predict on one row (a DataFrame and a numpy
#     array) in one Python process, and conveyor_worker.py's own handling of one request
#     (JSON in, DataFrame, predict, JSON out) without the pipe: the floor under both.
# Model: MODEL=linear (default) is train.py's `linear`, Ridge(alpha=1.0) on x0..x9 of
# friedman_200k.csv, first 80% of the rows: predicting costs next to nothing, so the
# figures are the serving overhead, which is the point. MODEL=rf is a 100-tree depth-12
# random forest (n_jobs=1): its own single-row predict (milliseconds in scikit-learn) dominates
# every stack, so it shows little of the overhead.
# Each server is loaded with  wrk -t2 -c32 -d15s --latency  (single-row body,
# ../shared/peers/post.lua), after an unmeasured 3 s of the same; the answers are checked
# equal first. Goal (issue 31): ≥ 3× FastAPI's requests/s, with Conveyor's p99 below
# FastAPI's p50. Also CPU µs per request and RSS: serving's, each Python worker's, each peer
# worker's. Starts its own PostgreSQL; everything
# listens on 127.0.0.1 and lives in a temp directory removed on exit (the Python
# environments serving and the trainer build included; DATA_DIR and the peers' venv are
# the caches every benchmark shares, as in serving.sh).
# Usage: Benchmarks/python-serving.sh [DATA_DIR]
#   (default /tmp/cdata; DURATION=15s; MODEL=linear|rf; SWIFT_SCRATCH_PATH, e.g. .build-release;
#   PYTHON_WORKERS (default 2); serving's own settings pass through: SANDBOX=auto|bubblewrap|none,
#   PYTHON_MAX_BATCH, …;
#   WARMUP=3s (0: none); ROUNDS=N: the three loads N times over; PERF=1: a perf profile of each
#   load's middle 10 s, on stderr; QUIET_WAIT=600: how long each load may wait for an idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
peers=$(cd "${PEERS_DIR:-../shared/peers}" && pwd)
data=${1:-/tmp/cdata}
duration=${DURATION:-15s}
model_kind=${MODEL:-linear}
case $model_kind in
  linear) peer_args=(linear) ;;
  rf) peer_args=(rf --trees 100 --max-depth 12 --jobs 1) ;;
  *) echo "MODEL must be linear or rf, got $model_kind" >&2; exit 2 ;;
esac
venv=$("$peers/setup.sh" | tail -1)
# As serving.sh: the peers' venv with pandas 2 (train.py's classification test needs it).
"$venv/bin/pip" install -q --disable-pip-version-check "pandas<3" >&2
[ -f "$data/friedman_200k.csv" ] || "$venv/bin/python" "$peers/make_data.py" "$data" >&2
# SWIFT_SCRATCH_PATH: a build folder of its own (e.g. .build-release), so a release build
# does not wait on, or hold up, the debug builds in .build.
release=(-c release ${SWIFT_SCRATCH_PATH:+--scratch-path "$SWIFT_SCRATCH_PATH"})
swift build "${release[@]}" --product serving >&2
swift build "${release[@]}" --product trainer >&2
bin=$(swift build "${release[@]}" --show-bin-path)

source Benchmarks/lib/common.sh
# Conveyor's sandboxed Python workers are grandchildren of serving (under bwrap): they
# exit when serving closes their pipes; any still alive then is killed by its pid.
worker_pids=()
python_cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for pid in "${worker_pids[@]}"; do
    grep -qE 'conveyor_worker|bwrap' "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done
  bench_cleanup
}
trap python_cleanup EXIT
mkdir -p "$work/tmp"
# Temporary files of the trainer and serving (environments, the worker script, scratch) stay in $work.
export TMPDIR=$work/tmp

body=${BODY:-$(sed -n "s/.*or '\(.*\)'$/\1/p" "$peers/post.lua")}
export BODY=$body

# The same library versions on both sides: the repository pins the peers' own.
pins=$("$venv/bin/pip" freeze | grep -iE '^(numpy|pandas|scikit-learn)==')
[ "$(echo "$pins" | wc -l)" = 3 ] || { echo "cannot read numpy/pandas/scikit-learn versions from $venv" >&2; exit 1; }

echo "== the model repository ($model_kind; $(echo $pins))" >&2
repo=$work/repo
mkdir -p "$repo"
cp "$data/friedman_200k.csv" "$repo/data.csv"
{
  echo "name: friedman"
  echo "task: regression"
  echo "data: {path: data.csv, split: {test_fraction: 0.2}}"
  echo "target: y"
  echo "features:"
  for i in 0 1 2 3 4 5 6 7 8 9; do echo "  - {name: x$i, type: numeric}"; done
  echo "model: {format: python, module: main.py, requirements: requirements.txt}"
} >"$repo/conveyor.yaml"
echo "$pins" >"$repo/requirements.txt"
if [ "$model_kind" = linear ]; then
  make_model='from sklearn.linear_model import Ridge
    model = Ridge(alpha=1.0)  # train.py linear'
else
  make_model='from sklearn.ensemble import RandomForestRegressor
    model = RandomForestRegressor(n_estimators=100, max_depth=12, n_jobs=1, random_state=0)  # train.py rf'
fi
cat >"$repo/main.py" <<PY
"""The benchmark's model, as ../shared/peers/train.py $model_kind fits it (same rows: the first 80%)."""
FEATURES = ["x%d" % i for i in range(10)]


def train(dataset):
    $make_model
    model.fit(dataset[FEATURES], dataset["y"])
    return model


def predict(model, features):
    return model.predict(features)
PY

echo "== training Conveyor's Python model (trainer train, sandboxed; builds its environment first)" >&2
started=$SECONDS
"$bin/trainer" train --repo "$repo" --output "$work/artifacts" >"$work/trainer.log" 2>&1 \
  || { cat "$work/trainer.log" >&2; exit 1; }
echo "   took $((SECONDS - started)) s: $(grep -E '^metrics:' "$work/trainer.log")" >&2
artifact_line=$(grep '^artifact:' "$work/trainer.log")
artifact_path=$(echo "$artifact_line" | sed -E 's/^artifact: (.*) \(sha256 .*/\1/')
artifact_sha=$(echo "$artifact_line" | sed -E 's/.*\(sha256 ([0-9a-f]+)\)/\1/')
relative=${artifact_path#"$work/artifacts/"}

start_postgres
db=$pg_url

python_workers=${PYTHON_WORKERS:-2}
echo "== serving (PYTHON_WORKERS=$python_workers; builds the version's environment from its frozen requirements)" >&2
port=$(free_port)
conveyor=http://127.0.0.1:$port
DATABASE_URL=$db ARTIFACTS_DIR=$work/artifacts HOST=127.0.0.1 PORT=$port GRPC_PORT=off LOG_LEVEL=notice \
  PREDICTION_SPILL_DIR=$work/spill ADMIN_TOKEN=$bench_admin_token \
  PYTHON_WORKERS=$python_workers PYTHON_ENVIRONMENTS=$work/python-environments \
  "$bin/serving" 2>"$work/serving.log" & pids+=($!)
serving_pid=$!
wait_http "$conveyor/health/live" || { cat "$work/serving.log" >&2; exit 1; }
psql -q "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO model_versions (version, model_name, pr_number, commit_sha, metrics, artifact_path, artifact_sha256)
VALUES ('local', 'friedman', 1, 'bench', '{}', '$relative', '$artifact_sha');
SQL
started=$SECONDS
deploy_version "$conveyor" local
live=
for _ in $(seq 1 1800); do # the environment is installed from PyPI: up to 15 minutes
  page=$(curl -fsS "$conveyor/" 2>/dev/null || true)
  if grep -qE '"version" *: *"local"' <<<"$page"; then live=yes; break; fi
  kill -0 "$serving_pid" 2>/dev/null || break
  sleep 0.5
done
[ -n "$live" ] || { curl -sS "$conveyor/health/ready" >&2 || true; cat "$work/serving.log" >&2; exit 1; }
wait_http "$conveyor/health/ready" || { curl -sS "$conveyor/health/ready" >&2; cat "$work/serving.log" >&2; exit 1; }
echo "   live after $((SECONDS - started)) s" >&2

# Every process under serving (the sandboxes, the interpreters), as "pid rss_kb pss_kb cmdline".
descendants() { # ROOT_PID
  python3 - "$1" <<'PY'
import os, sys
children = {}
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
def kb(pid, path, key):
    try:
        for line in open(f"/proc/{pid}/{path}"):
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
todo, seen = list(children.get(int(sys.argv[1]), [])), []
while todo:
    pid = todo.pop(0)
    seen.append(pid)
    todo += children.get(pid, [])
for pid in seen:
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        continue
    print(pid, kb(pid, "status", "VmRSS:"), kb(pid, "smaps_rollup", "Pss:"), command)
PY
}
# CPU seconds of a process and every process under it (utime + stime); with "self", of the process alone.
tree_cpu() { # ROOT_PID [self]
  python3 - "$1" "${2:-tree}" <<'PY'
import os, sys
stats = {}
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
ticks, todo = 0, [int(sys.argv[1])]
while todo:
    pid = todo.pop()
    ticks += stats.get(pid, (0, 0))[1]
    if sys.argv[2] == "tree":
        todo += [child for child, (ppid, _) in stats.items() if ppid == pid]
print(ticks / os.sysconf("SC_CLK_TCK"))
PY
}
# Busy and total jiffies of the whole machine.
machine_cpu() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
# On a shared machine: before each load, wait (up to QUIET_WAIT seconds, default 600) until the
# machine is idle (under 10% busy over 2 s) while our own servers sit idle.
wait_quiet() {
  local until=$((SECONDS + ${QUIET_WAIT:-600})) said= a b
  while [ $SECONDS -lt $until ]; do
    a=$(machine_cpu); sleep 2; b=$(machine_cpu)
    if awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " "); exit !((y[1] - x[1]) < 0.1 * (y[2] - x[2]))}'
    then return 0; fi
    [ -n "$said" ] || { echo "   the machine is busy (someone else's processes): waiting for it to quiet down" >&2; said=1; }
    sleep 3
  done
  echo "   still busy after ${QUIET_WAIT:-600} s: measuring anyway" >&2
}
descendants "$serving_pid" >"$work/serving-children.txt"
while read -r pid _; do worker_pids+=("$pid"); done <"$work/serving-children.txt"
[ "$(grep -cE '^[0-9]+ [0-9]+ [0-9]+ [^ ]+/bin/python3 [^ ]+/conveyor_worker\.py serve ' "$work/serving-children.txt")" = "$python_workers" ] \
  || { echo "expected $python_workers Python workers under serving:" >&2; cat "$work/serving-children.txt" >&2; exit 1; }

echo "== the peers' model (train.py ${peer_args[*]})" >&2
"$venv/bin/python" "$peers/train.py" "$data/friedman_200k.csv" y "${peer_args[@]}" --save "$work/model.pkl" >&2
flask_port=$(free_port)
# train.py fits on a DataFrame and the peers predict a numpy row, so scikit-learn warns "X does
# not have valid feature names" on every request (its catch_warnings defeats Python's
# once-per-place filter), a line in their log each time: ignored, their fastest setting.
PYTHONWARNINGS=ignore::UserWarning MODEL=$work/model.pkl \
  "$venv/bin/gunicorn" -w 2 -b "127.0.0.1:$flask_port" --chdir "$peers" serve_flask:app \
  >"$work/flask.log" 2>&1 & pids+=($!)
flask_pid=$!
fastapi_port=$(free_port)
# Access logs off: the peers get their fastest setting.
PYTHONWARNINGS=ignore::UserWarning MODEL=$work/model.pkl \
  "$venv/bin/uvicorn" --workers 2 --no-access-log --host 127.0.0.1 --port "$fastapi_port" \
  --app-dir "$peers" serve_fastapi:app >"$work/fastapi.log" 2>&1 & pids+=($!)
fastapi_pid=$!
for url in http://127.0.0.1:$flask_port/hello http://127.0.0.1:$fastapi_port/hello; do
  wait_http "$url" || { cat "$work/flask.log" "$work/fastapi.log" >&2; exit 1; }
done

echo "== one answer from each, checked equal (the same rows, the same coefficients)" >&2
answer() { # NAME URL
  local status
  status=$(curl -sS -o "$work/answer-$1.json" -w '%{http_code}' -XPOST -H 'content-type: application/json' \
    --data "$body" "$2/predict")
  [ "$status" = 200 ] && return 0
  echo "$1 answered $status: $(cat "$work/answer-$1.json")" >&2
  grep -v 'no model is deployed yet' "$work/serving.log" | tail -10 >&2
  if grep -q 'worker.*died' "$work/answer-$1.json"; then
    echo "A sandboxed worker killed a few seconds after it started: bwrap --die-with-parent kills the" \
      "sandbox when the thread that spawned it exits (an idle dispatch thread). SANDBOX=none avoids it." >&2
  fi
  exit 1
}
answer conveyor "$conveyor"
answer flask "http://127.0.0.1:$flask_port"
answer fastapi "http://127.0.0.1:$fastapi_port"
"$venv/bin/python" - "$work" "$artifact_path" <<'PY' >&2
import json, os, pickle, sys
import numpy as np, pandas as pd
work, artifact = sys.argv[1:3]
body = json.loads(os.environ["BODY"])
bundle = pickle.load(open(f"{work}/model.pkl", "rb"))
row = pd.DataFrame([[float(body[f]) for f in bundle["features"]]], columns=bundle["features"])
answers = {name: json.load(open(f"{work}/answer-{name}.json"))["prediction"] for name in ("conveyor", "flask", "fastapi")}
answers["peers' pickle in-process"] = float(bundle["model"].predict(row)[0])
conveyor_model = pickle.load(open(f"{artifact}/model.pkl", "rb"))
answers["Conveyor's pickle in-process"] = float(conveyor_model.predict(row)[0])
for name, value in answers.items():
    print(f"   {name:30} {value!r}")
if hasattr(bundle["model"], "coef_"):
    gap = np.max(np.abs(bundle["model"].coef_ - conveyor_model.coef_))
    print(f"   largest coefficient difference between the two pickles: {gap:.3g}")
reference = answers["flask"]
worst = max(abs(v - reference) for v in answers.values())
if worst > 1e-9 * max(1.0, abs(reference)):
    sys.exit(f"the answers differ by {worst:.3g}: not the same model")
print("   equal" + ("" if worst == 0 else f" within {worst:.3g}"))
PY

wait_quiet
echo "== in-process: one row through the same pickle, and through conveyor_worker.py's handler" >&2
"$venv/bin/python" - "$work/model.pkl" "$artifact_path" "$root/Shared/Learning/Python/conveyor_worker.py" \
  >"$work/in-process.txt" <<'PY'
import importlib.util, json, os, pickle, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore", UserWarning)  # the numpy row has no feature names: warned on every call
peer_pickle, artifact, worker_script = sys.argv[1:4]
bundle = pickle.load(open(peer_pickle, "rb"))
model, features = bundle["model"], bundle["features"]
if hasattr(model, "n_jobs"):
    model.set_params(n_jobs=1)
body = json.loads(os.environ["BODY"])
values = [float(body[f]) for f in features]
frame = pd.DataFrame([values], columns=features)
array = np.array([values])

def per_call(function):
    function()
    n, spent = 1, 0.0
    while spent < 0.5:  # calibrate to about 2 s, then best of three
        n *= 2
        t0 = time.perf_counter()
        for _ in range(n):
            function()
        spent = time.perf_counter() - t0
    n = max(1, int(n * 2.0 / spent / 3))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            function()
        best = min(best, (time.perf_counter() - t0) / n)
    return best

rows = [("model.predict(1-row DataFrame), peers' pickle", per_call(lambda: model.predict(frame))),
        ("model.predict(1-row numpy array), peers' pickle", per_call(lambda: model.predict(array)))]
# conveyor_worker.py's handling of the request serving sends a worker for this body (JSON in,
# the DataFrame, the module's predict on Conveyor's own pickle, JSON out), minus the pipe.
spec = importlib.util.spec_from_file_location("conveyor_worker", worker_script)
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)
worker._libraries()
server_spec = worker.read_spec(os.path.join(artifact, "spec.json"))
module = worker.load_module(os.path.join(artifact, "main.py"))
payload = open(os.path.join(artifact, "model.pkl"), "rb").read()
server = worker.Server(worker.Entry(module, "main.py"), server_spec, pickle.loads(payload))
names = [f["name"] for f in server_spec["features"]]
request = json.dumps({"op": "predict", "columns": names, "rows": [[body[n] for n in names]]}).encode()
dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
answer = server.handle(request)
assert answer.get("ok"), answer
rows.append(("conveyor_worker.py Server.handle + encode (no pipe)", per_call(lambda: dumps(server.handle(request)))))
for name, seconds in rows:
    print(f"{name}\t{seconds * 1e6:.1f}\t{1 / seconds:.0f}")
PY
cat "$work/in-process.txt" >&2

results=$work/results
load() { # label url server_pid
  wait_quiet
  # A first load of WARMUP (default 3s) for every stack, not measured: Conveyor's first seconds
  # after the deployment run ~13% slower (rounds 2 and 3 of ROUNDS=3 agreed, the first did not).
  if [ "${WARMUP:-3s}" != 0 ]; then
    wrk -t2 -c32 -d"${WARMUP:-3s}" -s "$peers/post.lua" "$2" >/dev/null
  fi
  echo "== wrk $1" >&2
  local out=$work/wrk-${1// /}
  local cpu0 cpu1 self0 self1 machine0 machine1 pg0 pg1 postmaster
  postmaster=$(head -1 "$pgdata/postmaster.pid")
  cpu0=$(tree_cpu "$3")
  self0=$(tree_cpu "$3" self)
  pg0=$(tree_cpu "$postmaster")
  machine0=$(machine_cpu)
  local profiler=
  if [ -n "${PERF:-}" ]; then # PERF=1: a system-wide profile of the load's middle 10 s
    (sleep 2 && exec perf record -q -F 499 -g -a -o "$out.perf" -- sleep 10) >/dev/null 2>&1 &
    profiler=$!
    pids+=("$profiler")
  fi
  /usr/bin/time -f '%U %S' -o "$out.cpu" \
    wrk -t2 -c32 -d"$duration" --latency -s "$peers/post.lua" "$2" >"$out.txt"
  machine1=$(machine_cpu)
  pg1=$(tree_cpu "$postmaster")
  self1=$(tree_cpu "$3" self)
  cpu1=$(tree_cpu "$3")
  if [ -n "$profiler" ]; then
    wait "$profiler" || true
    echo "== perf, $1: CPU by process and library (whole machine)" >&2
    perf report -i "$out.perf" --stdio --no-children --sort comm,dso --percent-limit 1 -g none 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -25 >&2 || true
    echo "== perf, $1: hottest symbols" >&2
    perf report -i "$out.perf" --stdio --no-children --sort comm,sym --percent-limit 0.7 -g none 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -40 >&2 || true
    if [ "$3" = "$serving_pid" ]; then
      echo "== perf, $1: serving's own process, inclusive (share of the machine, callees included)" >&2
      perf report -i "$out.perf" --stdio --children --pid "$3" --sort sym --percent-limit 1.5 \
        -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-220 | head -40 >&2 || true
      echo "== perf, $1: serving's own code and libraries, inclusive" >&2
      perf report -i "$out.perf" --stdio --children --pid "$3" --sort sym --percent-limit 0.4 \
        -g none 2>/dev/null | grep -E 'ServingService|Learning|Subprocess|ServiceKit|JSON|Postgres|Hummingbird|dispatch|poll' \
        | { command -v swift-demangle >/dev/null && swift-demangle --simplified || cat; } | cut -c1-220 | head -60 >&2 || true
    fi
  fi
  local rps p50 p99 errors requests
  rps=$(awk '/^Requests\/sec/ {print $2}' "$out.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$out.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out.txt")
  requests=$(awk '/ requests in / {print $1}' "$out.txt")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$out.txt" | tr '\n' ' ')
  # CPU seconds: the server's tree, wrk, PostgreSQL (the prediction log), and the whole machine's busy
  # and total (jiffies): what is left is someone else's (another build or test run on the machine).
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s %s\n' "$1" "$rps" "$p50" "$p99" "${errors:-none}" "$requests" \
    "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {print b - a}')" "$(awk -v a="$self0" -v b="$self1" 'BEGIN {print b - a}')" \
    "$(awk '{print $1 + $2}' "$out.cpu")" \
    "$(awk -v a="$pg0" -v b="$pg1" 'BEGIN {print b - a}')" "$machine0" "$machine1" >>"$results"
}
# RSS after each stack's own load: serving and its workers, each peer master and its workers.
# With each process's CPU seconds so far: a peer whose workers split the connections unevenly shows it.
cpu_seconds() { awk -v tick="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.1f", ($12 + $13) / tick}' "/proc/$1/stat"; }
rss() { # label pid
  local kb
  kb=$(awk '/^VmRSS/ {print $2}' "/proc/$2/status")
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$kb" "$(awk '/^Pss:/ {print $2}' "/proc/$2/smaps_rollup")" \
    "$(cpu_seconds "$2")" >>"$work/rss.txt"
  descendants "$2" | while read -r pid rss_kb pss_kb command; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1 child" "$pid" "$rss_kb" "$pss_kb" "$(cpu_seconds "$pid" 2>/dev/null)" \
      "$command" >>"$work/rss.txt"
  done
}
# ROUNDS=N (default 1): the three loads N times over, each round's ratios against its own FastAPI.
rounds=${ROUNDS:-1}
for round in $(seq 1 "$rounds"); do
  suffix=$([ "$rounds" = 1 ] || echo " #$round")
  load "conveyor-python$suffix" "$conveyor/predict" "$serving_pid"
  [ "$round" != 1 ] || rss conveyor-python "$serving_pid"
  load "flask-gunicorn$suffix" "http://127.0.0.1:$flask_port/predict" "$flask_pid"
  [ "$round" != 1 ] || rss flask-gunicorn "$flask_pid"
  load "fastapi-uvicorn$suffix" "http://127.0.0.1:$fastapi_port/predict" "$fastapi_pid"
  [ "$round" != 1 ] || rss fastapi-uvicorn "$fastapi_pid"
done
# Rows per call to a worker (adaptive batching, PYTHON_MAX_BATCH), from serving's own metrics.
batching=$(curl -fsS "$conveyor/metrics" | awk '
  /^conveyor_python_batch_rows_sum/ {s += $NF} /^conveyor_python_batch_rows_count/ {c += $NF}
  END {if (c > 0) printf "%.0f calls to the workers, %.2f rows each on average", c, s / c; else print "n/a"}')
logged=$(psql -qtA "$db" -c "SELECT count(*) FROM prediction_log")
# The 503s "no model is deployed yet" are the wait for the deployment above.
grep -iE '"level":"(error|critical|warning)"' "$work/serving.log" | grep -v 'no model is deployed yet' \
  >"$work/serving-errors.txt" || true

echo "== logs after the runs: serving $(wc -l <"$work/serving.log") lines, $(wc -l <"$work/serving-errors.txt")" \
  "errors or warnings besides the wait; gunicorn $(wc -l <"$work/flask.log"), uvicorn $(wc -l <"$work/fastapi.log")" >&2
tail -5 "$work/serving-errors.txt" >&2

built=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Services Shared Package.swift || echo ' + uncommitted changes')
python3 - "$results" "$work/rss.txt" "$work/in-process.txt" "$logged" "$model_kind" "$duration" "$pins" \
  "$built" "$batching" <<'PY'
import os, sys
results, rss_file, in_process, logged, kind, duration, pins, built, batching = sys.argv[1:10]
rows = [line.rstrip("\n").split("\t") for line in open(results)]
rps = {r[0]: float(r[1]) for r in rows}
def same_round(name, stack):
    return stack + name[len(name.split(" ")[0]):]
def ms(text):
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    for unit in ("us", "ms", "s"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float("nan")
mem = {}
details = []
for line in open(rss_file):
    parts = line.rstrip("\n").split("\t")
    label, pid, rss_kb, pss_kb, cpu = parts[:5]
    stack = label.removesuffix(" child")
    command = parts[5] if len(parts) > 5 else ""
    entry = mem.setdefault(stack, {"main": None, "workers": []})
    if label.endswith(" child"):
        entry["workers"].append((int(rss_kb), int(pss_kb or 0), pid, command))
    else:
        entry["main"] = (int(rss_kb), int(pss_kb or 0))
    details.append((stack, label, pid, rss_kb, pss_kb, cpu, command))
def worker_mb(stack):
    workers = mem.get(stack, {}).get("workers", [])
    if stack == "conveyor-python":
        workers = [w for w in workers if w[3].split(" ")[0].endswith("/bin/python3")]
    workers = [w for w in workers if "resource_tracker" not in w[3]]  # uvicorn's spawn helper
    return ", ".join(f"{w[0] / 1024:.0f}" for w in workers)
def main_mb(stack):
    main = mem.get(stack, {}).get("main")
    return f"{main[0] / 1024:.0f}" if main else "?"
print(f"Model: {kind} ({pins.replace(chr(10), ', ')}); wrk -t2 -c32 -d{duration} --latency, one single-row body; "
      f"serving built from {built}, PYTHON_WORKERS={os.environ.get('PYTHON_WORKERS', '2')}, SANDBOX={os.environ.get('SANDBOX', 'auto')}, "
      f"PYTHON_MAX_BATCH={os.environ.get('PYTHON_MAX_BATCH', 'default')}")
print()
print("| stack | requests/s | p50 | p99 | errors | ÷ FastAPI | CPU µs/request: server = main + workers "
      "| machine: server / wrk / postgres / others | RSS: server MB | RSS: each worker MB |")
print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
disturbed, idle_servers = [], []
for name, r, p50, p99, errors, requests, cpu, own_cpu, wrk_cpu, pg_cpu, machine in rows:
    cpu, own_cpu, wrk_cpu, pg_cpu = float(cpu), float(own_cpu), float(wrk_cpu), float(pg_cpu)
    per_request = lambda seconds: f"{seconds / int(requests) * 1e6:.0f}"
    busy0, total0, busy1, total1 = map(float, machine.split())
    tick = os.sysconf("SC_CLK_TCK")
    busy, total = (busy1 - busy0) / tick, (total1 - total0) / tick
    others = busy - cpu - wrk_cpu - pg_cpu
    if others > 0.05 * total:
        disturbed.append(f"{name}: {others / total:.0%} of the machine")
    elif cpu < 0.65 * total:
        idle_servers.append(f"{name} ({cpu / total:.0%})")
    fastapi = rps[same_round(name, "fastapi-uvicorn")]
    stack = name.split(" ")[0]
    print(f"| {name} | {float(r):,.0f} | {p50} | {p99} | {errors.strip()} | {float(r) / fastapi:.2f}× "
          f"| {per_request(cpu)} = {per_request(own_cpu)} + {per_request(cpu - own_cpu)} | {cpu / total:.0%} / {wrk_cpu / total:.0%} / {pg_cpu / total:.0%} / "
          f"{max(0.0, others) / total:.0%} | {main_mb(stack)} | {worker_mb(stack)} |")
print()
print("In-process, one Python process, no HTTP (µs per call, calls/s):")
print()
print("| call | µs | calls/s |")
print("|---|---:|---:|")
for line in open(in_process):
    name, us, calls = line.rstrip("\n").split("\t")
    print(f"| {name} | {us} | {int(calls):,} |")
print()
for conveyor in [r for r in rows if r[0].startswith("conveyor-python")]:
    fast = next(r for r in rows if r[0] == same_round(conveyor[0], "fastapi-uvicorn"))
    ratio = float(conveyor[1]) / float(fast[1])
    tail_ok = ms(conveyor[3]) < ms(fast[2])
    print(f"Goal{conveyor[0][len('conveyor-python'):]}: ≥ 3× FastAPI's requests/s: {ratio:.2f}× — "
          f"{'met' if ratio >= 3 else 'NOT met'}; Conveyor's p99 ({conveyor[3]}) below FastAPI's p50 ({fast[2]}): "
          f"{'met' if tail_ok else 'NOT met'}.")
print(f"prediction_log rows written: {logged}; Conveyor's Python workers during its load: {batching}")
if disturbed:
    print("WARNING: other processes took CPU during " + "; ".join(disturbed) + ": run again on a quiet machine.")
if idle_servers:
    print("WARNING: a server used little of an otherwise idle machine during " + ", ".join(idle_servers)
          + ": not CPU-bound, e.g. one of its workers holding most of the connections (uvicorn's do at random).")
for stack in ("flask-gunicorn", "fastapi-uvicorn", "conveyor-python"):
    busy = [float(d[5]) for d in details if d[0] == stack and d[1].endswith(" child") and d[5]
            and "resource_tracker" not in d[6] and not d[6].startswith("/usr/bin/bwrap")]
    if len(busy) > 1 and max(busy) > 2 * max(0.1, min(busy)):
        print(f"WARNING: {stack}'s workers shared the load unevenly (CPU seconds "
              f"{' / '.join(f'{b:.1f}' for b in busy)}): its figure is mostly one worker's; ROUNDS=3 shows the spread.")
print()
print("Processes after each stack's first load (RSS and PSS in MB, CPU seconds since they started; "
      "server = serving / gunicorn master / uvicorn master):")
for stack, label, pid, rss_kb, pss_kb, cpu, command in details:
    what = " ".join(w.rsplit("/", 1)[-1] if w.startswith("/") else w for w in command.split(" "))
    what = (what[:90] + " …" if len(what) > 90 else what) if command else "(the server)"
    print(f"  {label:24} pid {pid:>7}  RSS {int(rss_kb) / 1024:6.1f}  PSS {int(pss_kb or 0) / 1024:6.1f}  "
          f"CPU {cpu or '?':>5}  {what}")
PY
