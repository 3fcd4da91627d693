#!/usr/bin/env bash
# The Open Inference Protocol over HTTP and gRPC, one run, same machine:
# `serving` (release build) answering a 100-tree depth-12 random forest on the
# ten Friedman features, with the same rows sent as
#   - POST /predict (JSON objects),
#   - POST /v2/models/friedman/infer with JSON tensors,
#   - the same with binary tensors (Inference-Header-Content-Length), outputs binary,
#   - gRPC inference.GRPCInferenceService/ModelInfer with raw_input_contents (as
#     tritonclient.grpc sends), outputs raw,
# for 1 row and 100 rows a request. HTTP is loaded with wrk -t2 -c32, gRPC with
# h2load -t2 -c32 -m1 (Debian's nghttp2-client: 32 HTTP/2 connections, one call
# in flight each, as wrk's 32 connections), each for ${DURATION}; requests/s,
# rows/s and p50/p99 (h2load's per-request log). Every gRPC call is checked to
# have ended with grpc-status 0 (serving's conveyor_grpc_requests_total). Last,
# a liveness call over each transport: what HTTP/1.1 and gRPC cost without a model.
# Usage: Benchmarks/inference.sh [DATA_DIR]   (default /tmp/cdata; DURATION=10s)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
peers=$(cd "${PEERS_DIR:-../shared/peers}" && pwd)
data=${1:-/tmp/cdata}
duration=${DURATION:-10s}
venv=$("$peers/setup.sh" | tail -1)
[ -f "$data/friedman_200k.csv" ] || "$venv/bin/python" "$peers/make_data.py" "$data" >&2
swift build -c release --product serving >&2
swift build -c release --product trainer >&2
bin=$(swift build -c release --show-bin-path)

source Benchmarks/lib/common.sh

repo=$work/repo
friedman_repo "$repo" "{algorithm: random_forest, params: {trees: 100, max_depth: 12}}"
line=$("$bin/trainer" train --repo "$repo" --output "$work/artifacts" | grep '^artifact:')
path=$(echo "$line" | sed -E 's/^artifact: (.*) \(sha256 .*/\1/')
sha=$(echo "$line" | sed -E 's/.*\(sha256 ([0-9a-f]+)\)/\1/')
start_postgres
port=$(free_port)
grpc_port=$(free_port)
DATABASE_URL=$pg_url ARTIFACTS_DIR=$work/artifacts PORT=$port GRPC_PORT=$grpc_port LOG_LEVEL=warning \
  PREDICTION_SPILL_DIR=$work/spill MAX_BODY_BYTES=4194304 ADMIN_TOKEN=$bench_admin_token "$bin/serving" 2>"$work/serving.log" & pids+=($!)
wait_http "http://127.0.0.1:$port/health/live"
psql -q "$pg_url" -c "INSERT INTO model_versions (version, model_name, pr_number, commit_sha, metrics, artifact_path, artifact_sha256)
  VALUES ('local', 'friedman', 1, 'c0ffee', '{}', '${path#"$work/artifacts/"}', '$sha')"
deploy_version "http://127.0.0.1:$port" local
wait_http "http://127.0.0.1:$port/health/ready"

# Request bodies: N rows of the test split, as /predict instances, v2 JSON tensors and v2 binary tensors.
"$venv/bin/python" - "$data/friedman_200k.csv" "$work" <<'PY'
import csv, json, struct, sys
rows = []
with open(sys.argv[1]) as f:
    reader = csv.DictReader(f)
    for i, row in enumerate(reader):
        if i >= 100: break
        rows.append({f"x{j}": float(row[f"x{j}"]) for j in range(10)})
for n in (1, 100):
    part = rows[:n]
    open(f"{sys.argv[2]}/predict-{n}.json", "w").write(json.dumps({"instances": part}))
    tensors = [{"name": f"x{j}", "shape": [n], "datatype": "FP64", "data": [r[f"x{j}"] for r in part]} for j in range(10)]
    open(f"{sys.argv[2]}/v2json-{n}.json", "w").write(json.dumps({"inputs": tensors}))
    header = json.dumps({"inputs": [{"name": f"x{j}", "shape": [n], "datatype": "FP64",
                                     "parameters": {"binary_data_size": 8 * n}} for j in range(10)],
                         "parameters": {"binary_data_output": True}}).encode()
    body = header + b"".join(struct.pack(f"<{n}d", *[r[f"x{j}"] for r in part]) for j in range(10))
    open(f"{sys.argv[2]}/v2binary-{n}.bin", "wb").write(body)
    open(f"{sys.argv[2]}/v2binary-{n}.len", "w").write(str(len(header)))
    # ModelInferRequest (model_name 1, inputs 5: {name 1, datatype 2, shape 3}, raw_input_contents 7),
    # encoded by hand so no protobuf package is needed, in gRPC's 5-byte length-prefixed frame.
    def varint(v):
        out = b""
        while True:
            out += bytes([(v & 0x7F) | (0x80 if v > 0x7F else 0)])
            v >>= 7
            if not v: return out
    def field(number, payload): return varint(number << 3 | 2) + varint(len(payload)) + payload
    message = field(1, b"friedman")
    for j in range(10):
        message += field(5, field(1, f"x{j}".encode()) + field(2, b"FP64") + field(3, varint(n)))
    for j in range(10):
        message += field(7, struct.pack(f"<{n}d", *[r[f"x{j}"] for r in part]))
    open(f"{sys.argv[2]}/grpc-{n}.bin", "wb").write(b"\0" + struct.pack(">I", len(message)) + message)
PY
cat >"$work/post.lua" <<'LUA'
wrk.method = os.getenv("METHOD") or "POST"
local file = io.open(os.getenv("BODY_FILE"), "rb"); wrk.body = file:read("*a"); file:close()
wrk.headers["Content-Type"] = os.getenv("TYPE")
local length = os.getenv("HEADER_LENGTH")
if length and length ~= "" then wrk.headers["Inference-Header-Content-Length"] = length end
LUA

run() { # label rows url file type header_length
  local out
  out=$(BODY_FILE=$4 TYPE=$5 HEADER_LENGTH=$6 wrk -t2 -c32 -d"$duration" --latency -s "$work/post.lua" "$3")
  local rps p50 p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $4}')
  printf '| %-28s | %4s | %10s | %12.0f | %8s | %8s | %s\n' "$1" "$2" "$rps" "$(echo "$rps * $2" | bc)" "$p50" "$p99" "${errors:-0} non-2xx"
}
grpc_calls() { # calls of method $1 that ended with a status other than OK, from serving's /metrics
  curl -fsS "http://127.0.0.1:$port/metrics" |
    awk -v method="$1" 'index($1, "conveyor_grpc_requests_total{method=\"" method "\"") == 1 && $1 !~ /code="OK"/ {n += $2}
      END {print n + 0}'
}
run_grpc() { # label rows file method
  local url="http://127.0.0.1:$grpc_port/inference.GRPCInferenceService/$4" before out
  # One call first, whose trailers must say grpc-status 0 (a wrong body would fail here, not hide in the load).
  curl -fsS --http2-prior-knowledge -o /dev/null -D "$work/grpc-check" -H 'content-type: application/grpc' \
    -H 'te: trailers' --data-binary "@$3" "$url"
  grep -qi '^grpc-status: 0' "$work/grpc-check" || { echo "gRPC check failed:" >&2; cat "$work/grpc-check" >&2; exit 1; }
  before=$(grpc_calls "$4")
  rm -f "$work/h2load.log"
  out=$(h2load -t2 -c32 -m1 -D "${duration%s}" -d "$3" -H 'content-type: application/grpc' -H 'te: trailers' \
    --log-file="$work/h2load.log" "$url")
  local rps p50 p99
  rps=$(echo "$out" | awk '/^finished in/ {print $4}')
  read -r p50 p99 < <(sort -n -k3 "$work/h2load.log" |
    awk '{v[NR] = $3} END {printf "%.2fms %.2fms\n", v[int(NR * 0.5)] / 1000, v[int(NR * 0.99)] / 1000}')
  printf '| %-28s | %4s | %10s | %12.0f | %8s | %8s | %s\n' "$1" "$2" "$rps" "$(echo "$rps * $2" | bc)" "$p50" "$p99" \
    "$(($(grpc_calls "$4") - before)) not OK"
}
printf '\0\0\0\0\0' >"$work/empty.bin"  # an empty message (ServerLiveRequest) in gRPC's frame
echo "| request | rows | requests/s | rows/s | p50 | p99 |"
echo "|---|---:|---:|---:|---:|---:|"
for n in 1 100; do
  run "POST /predict (JSON)" $n "http://127.0.0.1:$port/predict" "$work/predict-$n.json" application/json ""
  run "v2 infer, JSON tensors" $n "http://127.0.0.1:$port/v2/models/friedman/infer" "$work/v2json-$n.json" application/json ""
  run "v2 infer, binary tensors" $n "http://127.0.0.1:$port/v2/models/friedman/infer" "$work/v2binary-$n.bin" \
    application/octet-stream "$(cat "$work/v2binary-$n.len")"
  run_grpc "gRPC ModelInfer, raw contents" $n "$work/grpc-$n.bin" ModelInfer
done
# What each transport costs with no model behind it: a liveness call.
METHOD=GET run "GET /v2/health/live (HTTP)" 0 "http://127.0.0.1:$port/v2/health/live" /dev/null application/json ""
run_grpc "gRPC ServerLive" 0 "$work/empty.bin" ServerLive
