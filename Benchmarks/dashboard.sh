#!/usr/bin/env bash
# serving's dashboard pages with 100 deployed versions and 10,000 training runs
# in Postgres (release build): the time of each page over 200 requests, beside
# the same timeline (the newest 100 runs with their pull requests) rendered by
# the seeds' stack, Flask + Jinja2 + psycopg2 under gunicorn, from the same database.
# Usage: Benchmarks/dashboard.sh   (RUNS=10000 VERSIONS=100 REQUESTS=200;
#        the peers' venv from ../shared/peers/setup.sh in PEERS_VENV for the Flask side)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-10000}
versions=${VERSIONS:-100}
requests=${REQUESTS:-200}
swift build -c release --product serving >&2
swift build -c release --product trainer >&2
bin=$(swift build -c release --show-bin-path)

source Benchmarks/lib/common.sh

line=$("$bin/trainer" train --repo deploy/example-model --version bench --output "$work/artifacts" | grep '^artifact:')
sha=$(echo "$line" | sed -E 's/.*\(sha256 ([0-9a-f]+)\)/\1/')
start_postgres
db=$(create_database dashboard)
port=$(free_port)
DATABASE_URL=$db ARTIFACTS_DIR=$work/artifacts PORT=$port POLL_INTERVAL=1s LOG_LEVEL=warning \
  "$bin/serving" 2>"$work/serving.log" & pids+=($!)
wait_http "http://127.0.0.1:$port/health/live"

echo "== seeding $runs runs, $versions versions" >&2
psql -q "$db" <<SQL
INSERT INTO pull_requests (id, number, state, title, user__login, merged_at, updated_at, merge_commit_sha, base__ref)
SELECT n, n, 'closed', 'Change number ' || n, 'author-' || (n % 17), now() - (($runs - n) || ' minutes')::interval,
       now(), md5(n::text), 'main' FROM generate_series(1, $runs) n;
INSERT INTO training_runs (id, pr_number, merge_commit_sha, merged_at, status, reason, metrics, gates, timings, log,
                           created_at, started_at, finished_at, model_name)
SELECT n, n, md5(n::text), now() - (($runs - n) || ' minutes')::interval,
       CASE WHEN n % ($runs / $versions) = 0 THEN 'succeeded' WHEN n % 3 = 0 THEN 'failed' ELSE 'rejected' END,
       CASE WHEN n % 3 = 0 THEN 'load: data/x.csv: a bad row' ELSE 'gate failed: rmse above 5' END,
       jsonb_build_object('rmse', 3 + (n % 50) / 100.0, 'r2', 0.8 - (n % 50) / 1000.0),
       '[{"gate":"rmse.max","metric":"rmse","value":3.2,"threshold":5,"passed":true,"detail":"rmse 3.2 must be ≤ 5"}]',
       '{"clone":0.2,"load":0.1,"train":1.5,"write":0.01}', repeat('a log line' || chr(10), 200),
       now() - (($runs - n) || ' minutes')::interval, now() - (($runs - n) || ' minutes')::interval,
       now() - (($runs - n) || ' minutes')::interval + interval '2 seconds', 'seattle-temp-max'
FROM generate_series(1, $runs) n;
SELECT setval('training_runs_id_seq', $runs);
UPDATE training_runs SET model_version = 'v' || id WHERE status = 'succeeded';
INSERT INTO model_versions (version, model_name, run_id, pr_number, pr_title, pr_author, commit_sha, merged_at,
                            data_sha256, data_rows, params, metrics, gates, artifact_path, artifact_sha256, created_at)
SELECT 'v' || t.id, 'seattle-temp-max', t.id, t.pr_number, 'Change number ' || t.id, 'author', md5(t.id::text),
       t.merged_at, md5('data'), 1461, '{"algorithm":"linear_regression","params":{"l2":0.1}}', t.metrics, t.gates,
       'seattle-temp-max/bench', '$sha', t.finished_at
FROM training_runs t WHERE t.status = 'succeeded';
INSERT INTO deployments (model_name, version, reason, deployed_at)
SELECT 'seattle-temp-max', version, 'trained', created_at FROM model_versions ORDER BY created_at;
NOTIFY deployments;
ANALYZE;
SQL
last=$(psql -Atq "$db" -c "SELECT version FROM model_versions ORDER BY created_at DESC LIMIT 1")
first=$(psql -Atq "$db" -c "SELECT version FROM model_versions ORDER BY created_at LIMIT 1")
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q "\"$last\"" && break
  sleep 0.2
done

# Median and 95th percentile of $requests sequential requests, in milliseconds.
# Every answer must be a 200, or the page is reported as failing.
measure() {
  local url=$1
  curl -fsS -o /dev/null -H 'Accept: text/html' "$url" || { echo "FAILED (not 200)"; return; }  # warm caches
  for _ in $(seq 1 "$requests"); do
    curl -s -o /dev/null -H 'Accept: text/html' -w '%{http_code} %{time_total}\n' "$url"
  done | sort -k2 -n | awk '$1 != 200 { bad++ } { t[NR] = $2 * 1000 }
    END { if (bad) print bad " answers were not 200"; else printf "%8.2f ms median %8.2f ms p95\n", t[int(NR / 2)], t[int(NR * 0.95)] }'
}

echo "== Conveyor serving (Swift, Mustache), $requests requests each"
for page in "/" "/runs" "/runs?status=failed" "/runs/5000" "/versions/$last" "/compare?a=$first&b=$last" "/predict" "/docs"; do
  printf '%-40s %s\n' "$page" "$(measure "http://127.0.0.1:$port$page")"
done

venv=${PEERS_VENV:-/tmp/conveyor-peers-venv}
if [[ -x "$venv/bin/gunicorn" ]] && "$venv/bin/python" -c "import psycopg2, jinja2" 2>/dev/null; then
  flask_port=$(free_port)
  DATABASE_URL=$db "$venv/bin/gunicorn" -w 2 -b "127.0.0.1:$flask_port" --chdir "$root/Benchmarks" \
    dashboard_flask:app 2>"$work/flask.log" & pids+=($!)
  wait_http "http://127.0.0.1:$flask_port/"
  echo "== Flask + Jinja2 + psycopg2 (gunicorn, 2 workers): the same timeline"
  printf '%-40s %s\n' "/ (newest 100 runs)" "$(measure "http://127.0.0.1:$flask_port/")"
else
  echo "(no Flask baseline: $venv lacks gunicorn, psycopg2 or jinja2; run ../shared/peers/setup.sh and pip install psycopg2-binary)"
fi
