#!/usr/bin/env bash
# Conveyor's ONNX evaluator (onnx-bench, release build) against onnxruntime
# (a pre-built InferenceSession, one thread) on the same models and rows:
# a 100-tree depth-10 random forest, a 200-round GBDT and a scikit-learn
# pipeline (ColumnTransformer + Ridge, string column included). Single-row
# latency over 10,000 different rows, and one 10,000-row batch.
# usage: Benchmarks/onnx.sh   (needs the test venv: deploy/local.sh test builds it)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${CONVEYOR_TEST_PYTHON:-$root/.local/test-venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
swift build -c release --product onnx-bench >/dev/null
bench="$(swift build -c release --show-bin-path)/onnx-bench"
"$python" Benchmarks/onnx_models.py "$work" deploy/example-model/data/seattle-weather.csv > "$work/ort.json"
echo "| model | Conveyor single row (µs) | onnxruntime single row (µs) | ratio | Conveyor 10k batch (ms) | onnxruntime 10k batch (ms) | ratio |"
echo "|---|---|---|---|---|---|---|"
"$python" - "$work" "$bench" <<'PY'
import json, subprocess, sys
work, bench = sys.argv[1], sys.argv[2]
for peer in json.load(open(f"{work}/ort.json")):
    name = peer["model"]
    ours = json.loads(subprocess.run([bench, f"{work}/{name}.onnx", f"{work}/{name}.json"], check=True,
                                     capture_output=True, text=True).stdout)
    s, o = ours["single_row_us"], peer["ort_single_row_us"]
    b, ob = ours["batch_s"] * 1e3, peer["ort_batch_s"] * 1e3
    print(f"| {name} | {s:.2f} | {o:.2f} | {s / o:.2f}× | {b:.1f} | {ob:.1f} | {b / ob:.2f}× |")
PY
