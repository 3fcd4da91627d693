#!/usr/bin/env bash
# Data pinned outside git (issue 34): what a cached run saves over a fresh download, for a
# 100 MB CSV served on loopback, side by side in one run with what a user would otherwise do.
# Release build.
#
#   conveyor, fresh   `trainer data` with an empty cache: download (libcurl, streamed to disk),
#                     SHA-256 check, into the cache, linked into the run's directory
#   conveyor, cached  the same with the file already cached (what every later run and preview of
#                     the same data pays): a lookup, a touch and a hard link
#   curl + sha256sum  `curl -o` then `sha256sum` (downloading and checking by hand)
#   dvc get-url       DVC's own URL download (no hash check), when dvc is installed
#                     (CONVEYOR_DVC, or .local/dvc-venv from `deploy/local.sh test`)
#
# The server is Python's http.server (one thread per connection). Each row is the median of
# REPS runs (default 5), wall time of the whole command (process start included).
#
# Usage: Benchmarks/data-fetch.sh [MEGABYTES] [REPS]   (default 100 and 5; SWIFT_SCRATCH_PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
megabytes=${1:-100}
reps=${2:-5}
release=(-c release ${SWIFT_SCRATCH_PATH:+--scratch-path "$SWIFT_SCRATCH_PATH"})
swift build "${release[@]}" --product trainer >&2
bin=$(swift build "${release[@]}" --show-bin-path)
source Benchmarks/lib/common.sh

echo "== a ${megabytes} MB CSV on loopback" >&2
mkdir -p "$work/srv" "$work/repo/data"
python3 - "$work/srv/train.csv" "$megabytes" <<'PY'
import random, sys
path, megabytes = sys.argv[1], int(sys.argv[2])
random.seed(7)
with open(path, "w") as f:
    f.write("a,b,c,y\n")
    written = 0
    while written < megabytes * 1_000_000:
        a, b, c = random.random(), random.random(), random.random()
        line = f"{a:.9f},{b:.9f},{c:.9f},{2 * a + 3 * b - c:.9f}\n"
        f.write(line)
        written += len(line)
PY
size=$(stat -c %s "$work/srv/train.csv")
sha=$(sha256sum "$work/srv/train.csv" | cut -d' ' -f1)
port=$(free_port)
(cd "$work/srv" && exec python3 -m http.server "$port" --bind 127.0.0.1) >"$work/http.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/train.csv"
url="http://127.0.0.1:$port/train.csv"
head -1001 "$work/srv/train.csv" >"$work/repo/data/test.csv"
cat >"$work/repo/conveyor.yaml" <<YAML
name: fetched
task: regression
data:
  train: {url: "$url", sha256: $sha}
  test: data/test.csv
target: y
features: [{name: a, type: numeric}, {name: b, type: numeric}, {name: c, type: numeric}]
model: {algorithm: linear_regression}
gates: {}
YAML

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
time_it() { # COMMAND... → seconds
  local start end
  start=$(now)
  "$@" >/dev/null
  end=$(now)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
fresh=() cached=() by_hand=() dvc_times=()
dvc=${CONVEYOR_DVC:-$root/.local/dvc-venv/bin/dvc}
for i in $(seq 1 "$reps"); do
  rm -rf "$work/cache"
  fresh+=("$(time_it "$bin/trainer" data --repo "$work/repo" --data-cache "$work/cache")")
  cached+=("$(time_it "$bin/trainer" data --repo "$work/repo" --data-cache "$work/cache")")
  rm -f "$work/by-hand.csv"
  by_hand+=("$(time_it bash -c "curl -fsS -o '$work/by-hand.csv' '$url' && sha256sum '$work/by-hand.csv'")")
  if [[ -x $dvc ]]; then
    rm -f "$work/dvc.csv"
    dvc_times+=("$(time_it env DVC_NO_ANALYTICS=1 "$dvc" get-url "$url" "$work/dvc.csv")")
  fi
done
# The fetched bytes are the served bytes.
cmp "$work/srv/train.csv" "$work/by-hand.csv"
ls "$work/cache" | grep -qx "sha256-$sha"

calc() { awk "BEGIN { print $1 }"; }
row() { printf '| %-18s | %8.3f s | %8.1f MB/s |\n' "$1" "$2" "$(calc "$size / 1000000 / $2")"; }
echo
echo "${megabytes} MB ($size bytes) over loopback HTTP, median of $reps; $(nproc) cores"
echo
echo "| how                | time       | throughput     |"
echo "|---|---:|---:|"
f=$(printf '%s\n' "${fresh[@]}" | median)
c=$(printf '%s\n' "${cached[@]}" | median)
row "conveyor, fresh" "$f"
row "conveyor, cached" "$c"
row "curl + sha256sum" "$(printf '%s\n' "${by_hand[@]}" | median)"
if ((${#dvc_times[@]})); then row "dvc get-url" "$(printf '%s\n' "${dvc_times[@]}" | median)"; fi
echo
printf 'a cached run saves %.3f s of %.3f s (%.0f× faster)\n' "$(calc "$f - $c")" "$f" "$(calc "$f / $c")"
