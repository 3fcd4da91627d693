# Shared by the benchmark scripts: a throwaway PostgreSQL server, process
# cleanup and HTTP waits. Source it after `set -euo pipefail`; it sets `work`
# (a temp directory removed on exit) and `pids` (killed on exit).
work=$(mktemp -d /tmp/conveyor-bench.XXXXXX)
chmod 755 "$work"
pids=()
pgdata=$work/pg
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bench_cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -f "$pgdata/postmaster.pid" ]] && as_pg "$pg_bin/pg_ctl" stop -D "$pgdata" -m fast >/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT
wait_http() { for _ in $(seq 1 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# Serving's admin token in every benchmark, and the way a recorded model version goes live:
# as an admin deploys one (POST /deployments), so the benchmarks write no deployments row by hand.
bench_admin_token=bench-admin-token
deploy_version() { # SERVING_URL VERSION
  curl -fsS -XPOST -H "authorization: Bearer $bench_admin_token" -H 'content-type: application/json' \
    -d "{\"version\": \"$2\"}" "$1/deployments" >/dev/null
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts PostgreSQL in $work/pg; sets pg_port and pg_url (the postgres database).
start_postgres() {
  echo "== PostgreSQL" >&2
  mkdir -p "$pgdata"
  if [[ $(id -u) == 0 ]]; then chown postgres "$pgdata"; fi
  as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  pg_port=$(free_port)
  as_pg "$pg_bin/pg_ctl" start -w -D "$pgdata" -l "$pgdata/server.log" \
    -o "-p $pg_port -k $pgdata -c listen_addresses=127.0.0.1" >/dev/null
  pg_url="postgresql://postgres@127.0.0.1:$pg_port/postgres"
}

# Creates database $1 and prints its URL.
create_database() {
  psql -q "$pg_url" -c "CREATE DATABASE $1" >/dev/null
  echo "postgresql://postgres@127.0.0.1:$pg_port/$1"
}

# friedman_repo DIR MODEL: a model repository over $data/friedman_200k.csv
# (ten numeric features x0…x9, target y, the last 20% as test) whose
# conveyor.yaml has `model: MODEL`.
friedman_repo() {
  mkdir -p "$1/data"
  cp "$data/friedman_200k.csv" "$1/data/friedman.csv"
  {
    echo "name: friedman"
    echo "task: regression"
    echo "data: {path: data/friedman.csv, split: {test_fraction: 0.2}}"
    echo "target: y"
    echo "features:"
    for i in 0 1 2 3 4 5 6 7 8 9; do echo "  - {name: x$i, type: numeric}"; done
    echo "model: $2"
  } >"$1/conveyor.yaml"
}

# friedman_artifact MODEL: trains MODEL on friedman_200k.csv with the release `trainer train`
# ($bin) in $work/repo, writing the artifact under $work/artifacts; sets artifact_relative (its
# path there) and artifact_sha.
friedman_artifact() {
  friedman_repo "$work/repo" "$1"
  local line path
  line=$("$bin/trainer" train --repo "$work/repo" --output "$work/artifacts" | grep '^artifact:')
  path=$(echo "$line" | sed -E 's/^artifact: (.*) \(sha256 .*/\1/')
  artifact_sha=$(echo "$line" | sed -E 's/.*\(sha256 ([0-9a-f]+)\)/\1/')
  artifact_relative=${path#"$work/artifacts/"}
}

# register_version DATABASE_URL VERSION: records friedman_artifact's artifact as model version
# VERSION of the model `friedman` (then deploy_version makes it live).
register_version() {
  psql -q "$1" -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO model_versions (version, model_name, pr_number, commit_sha, metrics, artifact_path, artifact_sha256)
VALUES ('$2', 'friedman', 1, 'bench', '{}', '$artifact_relative', '$artifact_sha');
SQL
}
