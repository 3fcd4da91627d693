#!/usr/bin/env bash
# PR preview latency, against `deploy/local.sh up` (release build) running in
# another terminal. Loopback only.
#   1. push → verdict: a signed `pull_request` `synchronize` webhook for a new
#      head of an open PR arriving at vcs, until the sandbox holds the final
#      `conveyor/model` status of that commit; reported with and without the
#      pure training time (goal: ≤ 1 s without it).
#   2. merge → serving: the previewed PR merged (same tree), its signed
#      `closed`+merged webhook, until serving answers with it (goal: ≤ 500 ms;
#      the merge reuses the preview's model instead of training).
#
#   deploy/bench/preview.sh [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-5}"
repo="$root/.local/example-model-repo"
secret="${GITHUB_WEBHOOK_SECRET:-local-webhook-secret}"
[[ -d "$repo/.git" ]] || { echo "run deploy/local.sh up first" >&2; exit 1; }
curl -fsS -o /dev/null localhost:8000/health/ready || { echo "serving is not ready" >&2; exit 1; }

# Signs and POSTs the `pull_request` webhook of PR $1 with action $2, as the sandbox lists the PR now.
send() {
  local body signature
  body=$(curl -fsS 'localhost:9090/repos/conveyor/example-model/pulls?state=all&per_page=100' |
    python3 -c 'import json,sys; n=int(sys.argv[1]); pr=[p for p in json.load(sys.stdin) if p["number"]==n][0]
pr["merged"] = pr["state"] == "closed"
print(json.dumps({"action": sys.argv[2], "number": n, "pull_request": pr}))' "$1" "$2")
  signature="sha256=$(printf '%s' "$body" | python3 -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' "$secret")"
  curl -fsS -o /dev/null -XPOST localhost:8080/webhook -H 'content-type: application/json' \
    -H 'X-GitHub-Event: pull_request' -H "X-GitHub-Delivery: bench-$(date +%s%N)" -H "X-Hub-Signature-256: $signature" \
    --data-binary "$body"
}

final_status() { # sha → the newest conveyor/model state, when it is not pending
  curl -fsS "localhost:9090/repos/conveyor/example-model/commits/$1/statuses" |
    python3 -c 'import json,sys; s=json.load(sys.stdin); print(s[0]["state"] if s and s[0]["state"] != "pending" else "")'
}

pushes=() merges=()
for round in $(seq 1 "$rounds"); do
  head=$(bash "$root/deploy/example-repo.sh" open "$repo")
  number=$(git -C "$repo" for-each-ref --format='%(refname)' --points-at "$head" refs/pull/ | sed -n 's|refs/pull/\([0-9]*\)/head|\1|p')
  curl -fsS -o /dev/null localhost:8080/checkout   # opened: its first preview (not timed)
  until [[ -n "$(final_status "$head")" ]]; do sleep 0.05; done
  head=$(bash "$root/deploy/example-repo.sh" push "$repo" "$number")
  start=$(date +%s%N)
  send "$number" synchronize
  until [[ -n "$(final_status "$head")" ]]; do sleep 0.002; done
  end=$(date +%s%N)
  run=$(curl -fsS 'localhost:8001/runs?kind=preview&limit=1' | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  train=$(curl -fsS "localhost:8001/runs/$run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["timings"].get("train", 0))')
  pushes+=("$(python3 -c 'import sys; t=(int(sys.argv[2])-int(sys.argv[1]))/1e6; tr=float(sys.argv[3])*1000; print(f"{t:.1f} {tr:.1f} {t-tr:.1f}")' "$start" "$end" "$train")")
  echo "PR #$number push → verdict: total, train, without training (ms): ${pushes[-1]}"

  bash "$root/deploy/example-repo.sh" merge-open "$repo" "$number" >/dev/null
  start=$(date +%s%N)
  send "$number" closed
  until curl -fsS localhost:8000/ 2>/dev/null | grep -q "\"number\":$number[,}]"; do sleep 0.002; done
  end=$(date +%s%N)
  merges+=("$(( (end - start) / 1000000 ))")
  echo "PR #$number merge → serving (ms): ${merges[-1]}"
done
printf '%s\n' "${pushes[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin]
print("median push → verdict over %d: total %.1f ms, training %.1f ms, without training %.1f ms"
      % (len(rows), *(statistics.median(r[i] for r in rows) for i in range(3))))'
printf '%s\n' "${merges[@]}" | python3 -c '
import statistics, sys
rows = [float(l) for l in sys.stdin]
print("median merge of a previewed PR → serving over %d: %.0f ms (max %.0f)" % (len(rows), statistics.median(rows), max(rows)))'
