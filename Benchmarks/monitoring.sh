#!/usr/bin/env bash
# Drift and live metrics over a window of 1,000,000 logged predictions of the
# Seattle example, computed in Postgres by `serving` (release build), against
# what a user would otherwise do: export the window and run scipy on it.
# Prints the time of each, Postgres's plan of the drift query (auto_explain,
# EXPLAIN ANALYZE of the real statement) and the statistics side by side.
# Usage: Benchmarks/monitoring.sh   (ROWS=1000000; the test venv from
#        deploy/local.sh test, or CONVEYOR_TEST_PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rows=${ROWS:-1000000}
python=${CONVEYOR_TEST_PYTHON:-$root/.local/test-venv/bin/python}
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
psql -q "$db" -c "ALTER DATABASE bench SET session_preload_libraries = 'auto_explain'" \
  -c "ALTER DATABASE bench SET auto_explain.log_min_duration = 200" \
  -c "ALTER DATABASE bench SET auto_explain.log_analyze = on" \
  -c "ALTER DATABASE bench SET auto_explain.log_buffers = on" >/dev/null
port=$(free_port)
DATABASE_URL=$db ARTIFACTS_DIR=$work/artifacts PORT=$port LOG_LEVEL=warning PREDICTION_SPILL_DIR=$work/spill \
  MONITORING_INTERVAL=0 ADMIN_TOKEN=bench "$bin/serving" 2>"$work/serving.log" & pids+=($!)
wait_http "http://127.0.0.1:$port/health/live" || { cat "$work/serving.log" >&2; exit 1; }

echo "== $rows logged predictions (training rows drawn with a fixed stride) and 10% with ground truth" >&2
psql -q "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO model_versions (version, model_name, pr_number, commit_sha, metrics, artifact_path, artifact_sha256)
VALUES ('bench', 'seattle-temp-max', 1, 'bench', '{}', 'seattle-temp-max/bench', '$sha');
INSERT INTO deployments (model_name, version, reason) VALUES ('seattle-temp-max', 'bench', 'benchmark');
NOTIFY conveyor_deployments, 'bench';
CREATE TABLE seattle (day date, precipitation float8, temp_max float8, temp_min float8, wind float8, weather text);
\copy seattle FROM '$root/deploy/example-model/data/seattle-weather.csv' CSV HEADER
CREATE TABLE seattle_rows AS SELECT row_number() OVER (ORDER BY day) - 1 AS n, * FROM seattle;
INSERT INTO prediction_log (logged_at, request_id, model_version, inputs, outputs, latency_us)
SELECT now() - g * interval '20 ms', 'bench-' || g, 'bench',
    json_build_array(json_build_object('temp_min', s.temp_min, 'precipitation', s.precipitation, 'wind', s.wind,
        'weather', s.weather)),
    json_build_array(round((s.temp_max + 0.5 * sin(g))::numeric, 3)), 40
FROM generate_series(1, $rows) g JOIN seattle_rows s ON s.n = (g::bigint * 7919) % 1461;
INSERT INTO prediction_feedback (request_id, position, actual, model_version, predicted_at)
SELECT p.request_id, 0, to_json(s.temp_max), 'bench', p.logged_at
FROM prediction_log p JOIN seattle_rows s ON s.n = (substring(p.request_id FROM 7)::bigint * 7919) % 1461
WHERE substring(p.request_id FROM 7)::bigint % 10 = 0;
VACUUM ANALYZE;
SQL
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q '"version":"bench"' && break
  sleep 0.1
done

echo "== Conveyor: POST /monitoring/reports (drift of 4 features and the prediction, live metrics), 3 runs" >&2
times=()
for run in 1 2 3; do
  start=$(date +%s.%N)
  curl -fsS -XPOST -H 'Authorization: Bearer bench' "http://127.0.0.1:$port/monitoring/reports" >"$work/report.json"
  end=$(date +%s.%N)
  times+=("$(echo "$end - $start" | bc)")
done
echo "== scipy: export the same window with COPY, then ks_2samp / wasserstein_distance / chisquare / jensenshannon" >&2
start=$(date +%s.%N)
psql -q "$db" -c "\\copy (SELECT i->>'temp_min' AS temp_min, i->>'precipitation' AS precipitation, i->>'wind' AS wind, i->>'weather' AS weather FROM prediction_log p, json_array_elements(p.inputs) i ORDER BY p.logged_at DESC LIMIT $rows) TO '$work/live.csv' CSV HEADER"
exported=$(date +%s.%N)
head -n "$((1461 - 292 + 1))" deploy/example-model/data/seattle-weather.csv >"$work/reference.csv"
"$python" Tests/Fixtures/drift_oracle.py "$work/reference.csv" "$work/live.csv" temp_min,precipitation,wind weather >"$work/scipy.json"
done_at=$(date +%s.%N)

echo
echo "### Monitoring a window of $rows predictions ($(nproc) cores, release build)"
echo
echo "| | run 1 | run 2 | run 3 |"
echo "|---|---:|---:|---:|"
printf '| Conveyor (SQL in Postgres, one request) | %.2f s | %.2f s | %.2f s |\n' "${times[@]}"
printf '| export with COPY, then scipy | %.2f s + %.2f s | | |\n' "$(echo "$exported - $start" | bc)" "$(echo "$done_at - $exported" | bc)"
echo
"$python" - "$work/report.json" "$work/scipy.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))["reports"][0]
scipy = json.load(open(sys.argv[2]))
print(f"rows {report['rows']}, labelled {report['labelled']}, duration in serving {report['duration_ms']:.0f} ms")
print(f"live metrics {report['live_metrics']}; at training {report['training_metrics']}")
print()
print("| feature | statistic | Conveyor | scipy |")
print("|---|---|---:|---:|")
for feature in report["features"]:
    theirs = scipy.get(feature["feature"], {})
    for key, value in sorted(theirs.items()):
        print(f"| {feature['feature']} | {key} | {feature['statistics'].get(key, float('nan')):.6g} | {value:.6g} |")
PY
echo
psql -qAt "$db" -c "SELECT 'prediction_log: ' || (SELECT count(*) FROM prediction_log) || ' rows, ' || pg_size_pretty(s) || ' with indexes: ' || round(s::numeric / (SELECT count(*) FROM prediction_log)) || ' bytes per logged prediction' FROM (SELECT sum(pg_total_relation_size(inhrelid))::bigint AS s FROM pg_inherits WHERE inhparent = 'prediction_log'::regclass) t"
echo
echo
echo "### Postgres's plan of the drift query (auto_explain, EXPLAIN ANALYZE)"
awk '/duration: [0-9.]+ ms  plan:/ {show = 1} show && /Query Text/ {print; next} show {print} /^[^ \t]/ && !/plan:/ {show = 0}' \
  "$pgdata/server.log" | grep -v "^$" | grep -v "Query Text" | head -150
