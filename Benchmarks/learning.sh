#!/usr/bin/env bash
# Side-by-side training benchmark: Conveyor's learners vs scikit-learn and
# LightGBM (../shared/peers/train.py) on the same files and the same split
# (first 80% of rows train, last 20% test). Release build. Prints a Markdown
# table of fit times, ratios and test metrics.
# Usage: Benchmarks/learning.sh [DATA_DIR]   (default /tmp/cdata)
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${PEERS_DIR:-../shared/peers}
data=${1:-/tmp/cdata}
venv=$("$peers/setup.sh" | tail -1)
# train.py tells classification from the label column's dtype "object";
# pandas 3 reads strings as "str", so pin pandas 2 for the peers.
"$venv/bin/pip" install -q --disable-pip-version-check "pandas<3" >&2
[ -f "$data/friedman_200k.csv" ] || "$venv/bin/python" "$peers/make_data.py" "$data" >&2
swift build -c release --product learning-bench >&2
bench=$(swift build -c release --show-bin-path)/learning-bench
out=$(mktemp)
run() {  # label, command...
  local label=$1
  shift
  echo "== $label" >&2
  printf '%s\t%s\n' "$label" "$("$@")" >>"$out"
}
f=$data/friedman_200k.csv
c=$data/classes_200k.csv
run "rf-reg conveyor" "$bench" "$f" y rf --trees 100
run "rf-reg sklearn" "$venv/bin/python" "$peers/train.py" "$f" y rf --trees 100 --jobs 2
run "rf12 conveyor" "$bench" "$f" y rf --trees 100 --max-depth 12 --latency
run "rf12 sklearn" "$venv/bin/python" "$peers/train.py" "$f" y rf --trees 100 --max-depth 12 --jobs 2
run "gb-reg conveyor" "$bench" "$f" y hgb --trees 100
run "gb-reg sklearn-hgb" "$venv/bin/python" "$peers/train.py" "$f" y hgb --trees 100
run "gb-reg lightgbm" "$venv/bin/python" "$peers/train.py" "$f" y lgbm --trees 100 --jobs 2
run "rf-cls conveyor" "$bench" "$c" label rf --trees 100
run "rf-cls sklearn" "$venv/bin/python" "$peers/train.py" "$c" label rf --trees 100 --jobs 2
run "gb-cls conveyor" "$bench" "$c" label hgb --trees 100
run "gb-cls sklearn-hgb" "$venv/bin/python" "$peers/train.py" "$c" label hgb --trees 100
run "gb-cls lightgbm" "$venv/bin/python" "$peers/train.py" "$c" label lgbm --trees 100 --jobs 2
run "logistic conveyor" "$bench" "$c" label logistic
run "logistic sklearn" "$venv/bin/python" "$peers/train.py" "$c" label logistic
run "linear conveyor" "$bench" "$f" y linear
run "linear sklearn" "$venv/bin/python" "$peers/train.py" "$f" y linear
python3 - "$out" <<'PY'
import json, sys
rows = [line.rstrip("\n").split("\t", 1) for line in open(sys.argv[1])]
results = {label: json.loads(text) for label, text in rows}
print("| case | tool | fit s | fit ratio (peer / conveyor) | metric | load s |")
print("|---|---|---|---|---|---|")
for label, r in results.items():
    case, tool = label.split(" ", 1)
    ours = results[f"{case} conveyor"]
    metric = f"rmse {r['rmse']:.4f}" if "rmse" in r else f"accuracy {r['accuracy']:.4f}"
    load = r["load_s"] + r.get("encode_s", 0)  # Conveyor parses numbers while encoding
    ratio = "" if tool == "conveyor" else f"{r['fit_s'] / ours['fit_s']:.2f}×"
    print(f"| {case} | {tool} | {r['fit_s']:.3f} | {ratio} | {metric} | {load:.3f} |")
r = results["rf12 conveyor"]
print()
print(f"rf12 (100 trees, depth 12, {r['nodes']} nodes): single-row predict {r['predict_one_us']} µs "
      f"(10,000 different rows, cold caches), artifact load {r['artifact_load_ms']} ms, "
      f"{r['artifact_bytes'] / 1e6:.1f} MB")
PY
