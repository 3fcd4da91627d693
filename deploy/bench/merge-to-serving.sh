#!/usr/bin/env bash
# Merge → serving latency: from a signed `pull_request` closed+merged webhook
# arriving at vcs to serving answering with the new version, minus the pure
# training time, plus the trainer's stage timings. Needs `deploy/local.sh up`
# running (release build) in another terminal. Loopback only.
#
#   deploy/bench/merge-to-serving.sh [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-5}"
repo="$root/.local/example-model-repo"
secret="${GITHUB_WEBHOOK_SECRET:-local-webhook-secret}"
[[ -d "$repo/.git" ]] || { echo "run deploy/local.sh up first" >&2; exit 1; }
curl -fsS -o /dev/null localhost:8000/health/ready || { echo "serving is not ready" >&2; exit 1; }

results=()
for round in $(seq 1 "$rounds"); do
  bash "$root/deploy/example-repo.sh" merge-next "$repo" >/dev/null
  body=$(python3 - "$repo" <<'PY'
import json, subprocess, sys
repo = sys.argv[1]
git = lambda *a: subprocess.check_output(["git", "-C", repo, *a], text=True).strip()
sha, parents, date, subject, title = git("log", "-1", "--format=%H%n%P%n%cI%n%s%n%b", "main").split("\n", 4)
number = int(subject.split("#")[1].split()[0])
base, head = parents.split()
pr = {"id": 1_000_000 + number, "number": number, "state": "closed", "title": title.strip(), "body": None,
      "html_url": f"https://github.com/conveyor/example-model/pull/{number}", "user": {"login": "dana-scientist", "id": 1},
      "created_at": date, "updated_at": date, "closed_at": date, "merged_at": date, "merged": True,
      "merge_commit_sha": sha, "head": {"ref": f"branch-{number}", "sha": head}, "base": {"ref": "main", "sha": base}}
print(json.dumps({"action": "closed", "number": number, "pull_request": pr}))
PY
)
  number=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["number"])' "$body")
  signature="sha256=$(printf '%s' "$body" | python3 -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' "$secret")"
  start=$(date +%s%N)
  curl -fsS -o /dev/null -XPOST localhost:8080/webhook -H 'content-type: application/json' \
    -H 'X-GitHub-Event: pull_request' -H "X-GitHub-Delivery: bench-$start" -H "X-Hub-Signature-256: $signature" --data-binary "$body"
  until curl -fsS localhost:8000/ 2>/dev/null | grep -q "\"number\":$number[,}]"; do sleep 0.002; done
  end=$(date +%s%N)
  run=$(curl -fsS "localhost:8001/runs?limit=1")
  results+=("$(python3 - "$run" "$start" "$end" <<'PY'
import json, sys
run = json.loads(sys.argv[1])[0]
detail = run  # /runs has no timings; fetch them
import urllib.request
detail = json.load(urllib.request.urlopen(f"http://127.0.0.1:8001/runs/{run['id']}"))
t = detail["timings"]
total = (int(sys.argv[3]) - int(sys.argv[2])) / 1e6
train = t.get("train", 0) * 1000
print(json.dumps({"pr": detail["pr_number"], "total_ms": round(total, 1), "train_ms": round(train, 1),
                  "overhead_ms": round(total - train, 1), **{k + "_ms": round(v * 1000, 1) for k, v in sorted(t.items())}}))
PY
)")
  echo "${results[-1]}"
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin]
keys = [k for k in rows[0] if k.endswith("_ms")]
print("median over %d merges: " % len(rows) + ", ".join("%s %.1f" % (k, statistics.median(r[k] for r in rows)) for k in keys))'
