#!/usr/bin/env bash
# Drift and live metrics over a window of 1,000,000 logged predictions of the
# Seattle example, computed in Postgres by `serving` (release build): without
# rollups (every logged request read raw), then with the log rolled up into
# 10-second periods, against what a user would otherwise do: export the window
# and run scipy on it. Prints the time of each, how long rolling the backlog up
# took, Postgres's plans of the real statements (auto_explain, EXPLAIN
# ANALYZE), the statistics side by side, and the cost of the log's trigger.
# Usage: Benchmarks/monitoring.sh   (ROWS=1000000; the test venv from
#        deploy/local.sh test, or CONVEYOR_TEST_PYTHON). Evidently is a third
#        column when EVIDENTLY_PYTHON (default .local/evidently-venv) has it:
#        python3 -m venv .local/evidently-venv &&
#        .local/evidently-venv/bin/pip install evidently 'pandas<3'
#        (evidently 0.7 does not import with pandas 3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rows=${ROWS:-1000000}
python=${CONVEYOR_TEST_PYTHON:-$root/.local/test-venv/bin/python}
evidently_python=${EVIDENTLY_PYTHON:-$root/.local/evidently-venv/bin/python}
swift build -c release --product serving >&2
swift build -c release --product trainer >&2
bin=$(swift build -c release --show-bin-path)

source Benchmarks/lib/common.sh

echo "== the example model, monitored over the last $rows predictions" >&2
cp -r deploy/example-model "$work/repo"
sed -i "s/^monitoring:/monitoring:\\n  window: {last: $rows}/" "$work/repo/conveyor.yaml"
line=$("$bin/trainer" train --repo "$work/repo" --version bench --output "$work/artifacts" | grep '^artifact:')
sha=$(echo "$line" | sed -E 's/.*\(sha256 ([0-9a-f]+)\)/\1/')

start_postgres
db=$(create_database bench)
port=$(free_port)
# serving with rollups every ROLLUP_INTERVAL (0: none, every report reads its window raw).
launch_serving() {
  DATABASE_URL=$db ARTIFACTS_DIR=$work/artifacts PORT=$port LOG_LEVEL=warning PREDICTION_SPILL_DIR=$work/spill \
    MONITORING_INTERVAL=0 MONITORING_ROLLUP_INTERVAL=$1 GRPC_PORT=off ADMIN_TOKEN=$bench_admin_token "$bin/serving" \
    2>>"$work/serving.log" &
  serving_pid=$!
  pids+=("$serving_pid")
  wait_http "http://127.0.0.1:$port/health/live" || { cat "$work/serving.log" >&2; exit 1; }
}
report() {
  local start end
  start=$(date +%s.%N)
  curl -fsS -XPOST -H "Authorization: Bearer $bench_admin_token" "http://127.0.0.1:$port/monitoring/reports" >"$work/report.json"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
wait_model() {
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q '"version":"bench"' && return 0
    sleep 0.1
  done
}
launch_serving 0

echo "== $rows logged predictions (training rows drawn with a fixed stride) and 10% with ground truth" >&2
psql -q "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO model_versions (version, model_name, pr_number, commit_sha, metrics, artifact_path, artifact_sha256)
VALUES ('bench', 'seattle-temp-max', 1, 'bench', '{}', 'seattle-temp-max/bench', '$sha');
CREATE TABLE seattle (day date, precipitation float8, temp_max float8, temp_min float8, wind float8, weather text);
\copy seattle FROM '$root/deploy/example-model/data/seattle-weather.csv' CSV HEADER
CREATE TABLE seattle_rows AS SELECT row_number() OVER (ORDER BY day) - 1 AS n, * FROM seattle;
INSERT INTO prediction_log (logged_at, request_id, model_version, inputs, outputs, latency_us)
SELECT now() - g * interval '20 ms', 'bench-' || g, 'bench',
    json_build_array(json_build_object('temp_min', s.temp_min, 'precipitation', s.precipitation, 'wind', s.wind,
        'weather', s.weather)),
    json_build_array(round((s.temp_max + 0.5 * sin(g))::numeric, 3)), 40
FROM generate_series(1, $rows) g JOIN seattle_rows s ON s.n = (g::bigint * 7919) % 1461;
INSERT INTO prediction_feedback (request_id, position, actual, model_version, predicted_at, output)
SELECT p.request_id, 0, to_json(s.temp_max), 'bench', p.logged_at, p.outputs->0
FROM prediction_log p JOIN seattle_rows s ON s.n = (substring(p.request_id FROM 7)::bigint * 7919) % 1461
WHERE substring(p.request_id FROM 7)::bigint % 10 = 0;
VACUUM ANALYZE;
SQL
deploy_version "http://127.0.0.1:$port" bench
# Postgres logs the plan of each statement over the threshold (EXPLAIN ANALYZE) in connections opened from now on.
explain_over() {
  psql -q "$db" -c "ALTER DATABASE bench SET session_preload_libraries = 'auto_explain'" \
    -c "ALTER DATABASE bench SET auto_explain.log_min_duration = $1" \
    -c "ALTER DATABASE bench SET auto_explain.log_analyze = on" \
    -c "ALTER DATABASE bench SET auto_explain.log_buffers = on" >/dev/null
}
restart_serving() {
  kill -TERM "$serving_pid"
  wait "$serving_pid" || true
  launch_serving "$1"
  wait_model
}
explain_over 200
restart_serving 0

echo "== Conveyor without rollups: POST /monitoring/reports reads the whole window raw, 1 run" >&2
raw_time=$(report)
echo "== rollups: serving rolls the $rows-row backlog up into 10-second periods (MONITORING_ROLLUP_INTERVAL=1s)" >&2
explain_over 20
restart_serving 1s
seal_start=$(date +%s.%N)
for _ in $(seq 1 1200); do
  behind=$(psql -qAt "$db" -c "SELECT coalesce(extract(epoch FROM now() - sealed_until), 1e9) > 20 FROM prediction_rollup_state")
  [[ $behind == f ]] && break
  sleep 0.2
done
seal_time=$(echo "$(date +%s.%N) - $seal_start" | bc)
echo "== Conveyor with rollups: POST /monitoring/reports (drift of 4 features and the prediction, live metrics), 3 runs" >&2
plans_from=$(stat -c %s "$pgdata/server.log")
times=()
for run in 1 2 3; do times+=("$(report)"); done
plans_to=$(stat -c %s "$pgdata/server.log")
echo "== scipy: export the same window with COPY, then ks_2samp / wasserstein_distance / chisquare / jensenshannon" >&2
start=$(date +%s.%N)
psql -q "$db" -c "\\copy (SELECT i->>'temp_min' AS temp_min, i->>'precipitation' AS precipitation, i->>'wind' AS wind, i->>'weather' AS weather FROM prediction_log p, json_array_elements(p.inputs) i ORDER BY p.logged_at DESC LIMIT $rows) TO '$work/live.csv' CSV HEADER"
exported=$(date +%s.%N)
head -n "$((1461 - 292 + 1))" deploy/example-model/data/seattle-weather.csv >"$work/reference.csv"
"$python" Tests/Fixtures/drift_oracle.py "$work/reference.csv" "$work/live.csv" temp_min,precipitation,wind weather >"$work/scipy.json"
done_at=$(date +%s.%N)
echo '{}' >"$work/evidently.json"
if [[ -x $evidently_python ]]; then
  echo "== Evidently: the same export, ValueDrift per feature and method" >&2
  evidently_start=$(date +%s.%N)
  "$evidently_python" Benchmarks/lib/evidently_drift.py "$work/reference.csv" "$work/live.csv" \
    temp_min,precipitation,wind weather >"$work/evidently.json"
  evidently_time=$(echo "$(date +%s.%N) - $evidently_start" | bc)
fi

echo
echo "### Monitoring a window of $rows predictions ($(nproc) cores, release build)"
echo
echo "| | run 1 | run 2 | run 3 |"
echo "|---|---:|---:|---:|"
printf '| Conveyor, sealed 10-second rollups + the raw rest (one request) | %.2f s | %.2f s | %.2f s |\n' "${times[@]}"
printf '| Conveyor, no rollups (every logged request read raw) | %.2f s | | |\n' "$raw_time"
printf '| export with COPY, then scipy | %.2f s + %.2f s | | |\n' "$(echo "$exported - $start" | bc)" "$(echo "$done_at - $exported" | bc)"
if [[ -n ${evidently_time:-} ]]; then
  printf '| export with COPY, then Evidently | %.2f s + %.2f s | | |\n' "$(echo "$exported - $start" | bc)" "$evidently_time"
fi
echo
printf 'Rolling the %s-row backlog up (once, in the background; live traffic is sealed every few seconds): %.1f s\n' "$rows" "$seal_time"
psql -qAt "$db" -c "SELECT 'rollups: ' || (SELECT count(*) FROM prediction_rollup_periods) || ' periods, ' || (SELECT count(*) FROM prediction_rollups) || ' bin rows, ' || pg_size_pretty(pg_total_relation_size('prediction_rollups') + pg_total_relation_size('prediction_rollup_periods'))"
echo
"$python" - "$work/report.json" "$work/scipy.json" "$work/evidently.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))["reports"][0]
scipy = json.load(open(sys.argv[2]))
evidently = json.load(open(sys.argv[3]))
print(f"rows {report['rows']}, labelled {report['labelled']}, duration in serving {report['duration_ms']:.0f} ms")
print(f"live metrics {report['live_metrics']}; at training {report['training_metrics']}")
print()
print("| feature | statistic | Conveyor | scipy | Evidently |")
print("|---|---|---:|---:|---:|")
cell = lambda value: "" if value is None else f"{value:.6g}"
for feature in report["features"]:
    name = feature["feature"]
    theirs, others = scipy.get(name, {}), evidently.get(name, {})
    for key in sorted(set(theirs) | set(others)):
        ours = feature["statistics"].get(key)
        print(f"| {name} | {key} | {cell(ours)} | {cell(theirs.get(key))} | {cell(others.get(key))} |")
PY
echo
psql -qAt "$db" -c "SELECT 'prediction_log: ' || (SELECT count(*) FROM prediction_log) || ' rows, ' || pg_size_pretty(s) || ' with indexes: ' || round(s::numeric / (SELECT count(*) FROM prediction_log)) || ' bytes per logged prediction' FROM (SELECT sum(pg_total_relation_size(inhrelid))::bigint AS s FROM pg_inherits WHERE inhparent = 'prediction_log'::regclass) t"
echo
echo
# The statements and plans auto_explain logged in a byte range of the server log.
plans() {
  tail -c +"$(($1 + 1))" "$pgdata/server.log" | head -c "$(($2 - $1))" |
    awk '/duration: [0-9.]+ ms  plan:/ {show = 1; print; next} /^[^ \t]/ {show = 0} show {print}' |
    grep -v "^$" | sed -n '1,200p'
}
echo "### Postgres's plans of one report with rollups, statements over 20 ms (auto_explain, EXPLAIN ANALYZE)"
echo
echo '```'
plans "$plans_from" "$plans_to"
echo '```'
echo
echo "### Postgres's plans before the timed runs: the report without rollups (statements over 200 ms), then the backlog's sealing (over 20 ms)"
echo
echo '```'
plans 0 "$plans_from"
echo '```'
echo
echo "### The log's insert trigger (it unseals late rows' periods): COPY of 5,000 logged predictions, 5 runs each"
echo
psql -q "$db" -c "\\copy (SELECT now() + interval '1 hour', 'copy-' || request_id, model_version, inputs, outputs, latency_us FROM prediction_log ORDER BY logged_at DESC LIMIT 5000) TO '$work/batch.copy'"
for mode in DISABLE ENABLE; do
  psql -q "$db" -c "ALTER TABLE prediction_log $mode TRIGGER prediction_log_rollup_invalidate"
  copies=()
  for _ in 1 2 3 4 5; do
    copies+=("$(psql -q "$db" -c BEGIN -c '\timing on' \
      -c "\\copy prediction_log (logged_at, request_id, model_version, inputs, outputs, latency_us) FROM '$work/batch.copy'" \
      -c ROLLBACK | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)")
  done
  echo "trigger ${mode,,}d: ${copies[*]} ms"
done
