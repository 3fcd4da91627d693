#!/usr/bin/env bash
# VCS load benchmark, one run, same machine, release build:
#  1. `GET /checkout` syncs N generated pull requests (default 10,000) from the
#     GitHub sandbox into Postgres in-process (tap → target, libcurl + COPY);
#  2. `vcs tap` saves the same Singer stream to a file;
#  3. that file is loaded by `vcs target` and by the Python loader the original
#     design used (PyPI singer-target-postgres 0.2.4), each into an empty database.
# Prints records/s and ratios as a Markdown table.
# Usage: Benchmarks/vcs.sh [N]      (STP_VENV: where to install the Python loader)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
venv=${STP_VENV:-/tmp/conveyor-stp-venv}
if ! "$venv/bin/python" -c "import target_postgres" 2>/dev/null; then
  echo "== installing singer-target-postgres into $venv" >&2
  python3 -m venv "$venv"
  # Its pins (psycopg2 2.8.5, built from source) predate Python 3.11 wheels:
  # install it without them, then the current binary driver and its pure-Python pins.
  "$venv/bin/pip" install -q --no-deps singer-target-postgres==0.2.4
  "$venv/bin/pip" install -q psycopg2-binary "arrow==0.15.5" "singer-python==5.9.0" 2>/dev/null
fi
swift build -c release --product vcs >&2
swift build -c release --product github-sandbox >&2
bin=$(swift build -c release --show-bin-path)
source Benchmarks/lib/common.sh
start_postgres

echo "== sandbox with $count generated pull requests" >&2
bash deploy/example-repo.sh init "$work/model-repo" >/dev/null
sandbox_port=$(free_port)
SANDBOX_REPO_PATH=$work/model-repo PORT=$sandbox_port LOG_LEVEL=warning "$bin/github-sandbox" \
  2>"$work/sandbox.log" & pids+=($!)
wait_http "http://127.0.0.1:$sandbox_port/health/live"
curl -fsS -XPOST -H 'content-type: application/json' -d "{\"count\": $count}" \
  "http://127.0.0.1:$sandbox_port/_sandbox/pulls/generate" >/dev/null
export GITHUB_REPOSITORY=conveyor/example-model GITHUB_API_URL=http://127.0.0.1:$sandbox_port LOG_LEVEL=warning

echo "== GET /checkout (in-process tap → target)" >&2
vcs_port=$(free_port)
DATABASE_URL=$(create_database checkout) PORT=$vcs_port "$bin/vcs" 2>"$work/vcs.log" & pids+=($!)
wait_http "http://127.0.0.1:$vcs_port/health/live"
checkout=$(curl -fsS "http://127.0.0.1:$vcs_port/checkout")
echo "$checkout" >&2

echo "== vcs tap > stream.jsonl" >&2
start=$(date +%s.%N)
"$bin/vcs" tap >"$work/stream.jsonl"
tap_seconds=$(echo "$(date +%s.%N) - $start" | bc)
records=$(grep -c '"type":"RECORD"' "$work/stream.jsonl")

echo "== vcs target < stream.jsonl" >&2
target_url=$(create_database swift_target)
start=$(date +%s.%N)
DATABASE_URL=$target_url "$bin/vcs" target <"$work/stream.jsonl" >/dev/null
swift_seconds=$(echo "$(date +%s.%N) - $start" | bc)

echo "== target-postgres (Python) < stream.jsonl" >&2
create_database python_target >/dev/null
cat >"$work/target-postgres.json" <<JSON
{"postgres_host": "127.0.0.1", "postgres_port": $pg_port, "postgres_database": "python_target",
 "postgres_username": "postgres", "postgres_password": "", "postgres_schema": "public",
 "disable_collection": true}
JSON
start=$(date +%s.%N)
"$venv/bin/target-postgres" -c "$work/target-postgres.json" <"$work/stream.jsonl" >/dev/null 2>"$work/python-target.log"
python_seconds=$(echo "$(date +%s.%N) - $start" | bc)

count_rows() { psql -qtA "postgresql://postgres@127.0.0.1:$pg_port/$1" -c "SELECT count(*) FROM pull_requests"; }
python3 - "$checkout" "$tap_seconds" "$swift_seconds" "$python_seconds" "$records" \
  "$(count_rows checkout)" "$(count_rows swift_target)" "$(count_rows python_target)" <<'PY'
import json, sys
checkout = json.loads(sys.argv[1])
tap, swift, python = map(float, sys.argv[2:5])
records = int(sys.argv[5])
rows = sys.argv[6:9]
sync = checkout["duration_seconds"]
print("| step | records | seconds | records/s | rows stored |")
print("|---|---:|---:|---:|---:|")
print(f"| GET /checkout: sandbox → Postgres in-process | {checkout['records_fetched']} | {sync:.2f} | {checkout['records_fetched'] / sync:,.0f} | {rows[0]} |")
print(f"| vcs tap → file | {records} | {tap:.2f} | {records / tap:,.0f} | – |")
print(f"| vcs target ← file | {records} | {swift:.2f} | {records / swift:,.0f} | {rows[1]} |")
print(f"| target-postgres (Python) ← file | {records} | {python:.2f} | {records / python:,.0f} | {rows[2]} |")
print()
print(f"vcs target is {python / swift:.1f}× the Python loader's records/s on the same stream.")
PY
