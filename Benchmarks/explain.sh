#!/usr/bin/env bash
# Exact explanations, side by side in one run: Conveyor's TreeSHAP (release `learning-bench
# --explain-rows`, one row at a time, one thread) against the `shap` package's TreeExplainer
# on the very same trees (exported in shap's custom format) and the same rows, shap timed at
# its fastest (all rows in one call, its C++ loop) and one row a call; every contribution is
# checked equal first (the largest difference is printed). For context, shap on LightGBM's /
# scikit-learn's own model of the same shape. Models: a 100-round GBDT (31 leaves) and a
# 100-tree depth-12 random forest on friedman_20k.csv (first 80% train, rows from the last 20%).
# Usage: Benchmarks/explain.sh [DATA_DIR]   (default /tmp/cdata; ROWS=1000; SWIFT_SCRATCH_PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${PEERS_DIR:-../shared/peers}
data=${1:-/tmp/cdata}
rows=${ROWS:-1000}
venv=$("$peers/setup.sh" | tail -1)
"$venv/bin/python" -c "import shap" 2>/dev/null || "$venv/bin/pip" install -q --disable-pip-version-check shap >&2
[ -f "$data/friedman_20k.csv" ] || "$venv/bin/python" "$peers/make_data.py" "$data" >&2
scratch=(); [[ -n "${SWIFT_SCRATCH_PATH:-}" ]] && scratch=(--scratch-path "$SWIFT_SCRATCH_PATH")
swift build -c release "${scratch[@]}" --product learning-bench >&2
bench=$(swift build -c release "${scratch[@]}" --show-bin-path)/learning-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
f=$data/friedman_20k.csv
for case in "hgb --trees 100" "rf --trees 100 --max-depth 12"; do
  algo=${case%% *}
  echo "== $case" >&2
  # shellcheck disable=SC2086 # the case's words are arguments
  "$bench" "$f" y $case --explain-rows "$rows" --shap-export "$work/$algo.json" >"$work/$algo.conveyor.json"
  "$venv/bin/python" Benchmarks/explain_shap.py "$work/$algo.json" "$f" y "$algo" >"$work/$algo.shap.json"
done
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
print("| model | Conveyor µs/row (one row a call) | shap, same trees, µs/row (all rows in one call) | ratio | shap, one row a call | shap on the peer's own model (one call) | largest difference |")
print("|---|---|---|---|---|---|---|")
for algo, name in (("hgb", "GBDT, 100 rounds, 31 leaves"), ("rf", "random forest, 100 trees, depth 12")):
    ours = json.load(open(f"{work}/{algo}.conveyor.json"))
    peer = json.load(open(f"{work}/{algo}.shap.json"))
    ratio = ours["explain_row_us"] / peer["shap_same_model_batch_row_us"]
    print(f"| {name} ({ours['nodes']} nodes) | {ours['explain_row_us']:.1f} | {peer['shap_same_model_batch_row_us']:.1f} "
          f"| {ratio:.2f}× | {peer['shap_same_model_one_row_us']:.1f} | {peer['shap_peer_model_batch_row_us']:.1f} ({peer['peer']}) "
          f"| {peer['max_abs_difference']:.1e} |")
print(f"\n{ours['explain_rows']} rows; shap {peer['shap']}; ratio = Conveyor / shap (goal ≤ 0.5).")
PY
