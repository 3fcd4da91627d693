/// The database schema shared by the three services, as ordered migrations.
/// Append new migrations; never edit one that has shipped.
public enum Schema {
    /// Notification channel: `vcs` has stored merged pull requests.
    public static let pullRequestsChannel = "conveyor_pull_requests"
    /// Notification channel: a deployment (or rollback) was recorded.
    public static let deploymentsChannel = "conveyor_deployments"

    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "singer pull_requests and state",
            sql: """
                CREATE TABLE pull_requests (
                    id bigint PRIMARY KEY,
                    number bigint,
                    state text,
                    title text,
                    body text,
                    html_url text,
                    user__login text,
                    user__id bigint,
                    created_at timestamptz,
                    updated_at timestamptz,
                    closed_at timestamptz,
                    merged_at timestamptz,
                    merge_commit_sha text,
                    head__ref text,
                    head__sha text,
                    base__ref text,
                    base__sha text,
                    _sdc_received_at timestamptz,
                    _sdc_sequence bigint,
                    _sdc_batched_at timestamptz,
                    _sdc_table_version bigint
                );
                CREATE INDEX pull_requests_merged ON pull_requests (base__ref, merged_at DESC, number DESC)
                    WHERE merged_at IS NOT NULL;
                CREATE TABLE singer_state (
                    tap text PRIMARY KEY,
                    state jsonb NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                """),
        Migration(
            version: 2, name: "training runs, model versions, deployments",
            sql: """
                CREATE TABLE training_runs (
                    id bigserial PRIMARY KEY,
                    model_name text,
                    pr_number bigint NOT NULL,
                    merge_commit_sha text NOT NULL,
                    merged_at timestamptz,
                    status text NOT NULL CHECK (status IN ('queued','running','succeeded','rejected','failed')),
                    reason text,
                    params jsonb,
                    metrics jsonb,
                    gates jsonb,
                    timings jsonb,
                    log text NOT NULL DEFAULT '',
                    model_version text,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    started_at timestamptz,
                    finished_at timestamptz
                );
                CREATE INDEX training_runs_commit ON training_runs (merge_commit_sha);
                CREATE TABLE model_versions (
                    version text PRIMARY KEY,
                    model_name text NOT NULL,
                    run_id bigint REFERENCES training_runs (id),
                    pr_number bigint NOT NULL,
                    pr_title text,
                    pr_author text,
                    commit_sha text NOT NULL,
                    merged_at timestamptz,
                    data_sha256 text,
                    data_rows bigint,
                    params jsonb,
                    metrics jsonb NOT NULL,
                    gates jsonb,
                    artifact_path text NOT NULL,
                    artifact_sha256 text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE deployments (
                    id bigserial PRIMARY KEY,
                    model_name text NOT NULL,
                    version text NOT NULL REFERENCES model_versions (version),
                    reason text NOT NULL,
                    deployed_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX deployments_latest ON deployments (id DESC);
                """),
        Migration(
            version: 3, name: "prediction log",
            sql: """
                CREATE TABLE prediction_log (
                    id bigserial PRIMARY KEY,
                    logged_at timestamptz NOT NULL,
                    request_id text NOT NULL,
                    model_version text NOT NULL,
                    inputs jsonb NOT NULL,
                    outputs jsonb NOT NULL,
                    latency_us bigint NOT NULL
                );
                CREATE INDEX prediction_log_version ON prediction_log (model_version, logged_at);
                """),
        Migration(
            version: 4, name: "webhook deliveries",
            sql: """
                CREATE TABLE webhook_deliveries (
                    delivery_id text PRIMARY KEY,
                    event text NOT NULL,
                    received_at timestamptz NOT NULL DEFAULT now()
                );
                """),
        Migration(
            version: 5, name: "training run leases",
            sql: """
                ALTER TABLE training_runs
                    ADD COLUMN lease_owner text,
                    ADD COLUMN lease_expires_at timestamptz,
                    ADD COLUMN attempts integer NOT NULL DEFAULT 0;
                CREATE INDEX training_runs_claimable ON training_runs (id) WHERE status IN ('queued', 'running');
                """),
        Migration(
            version: 6, name: "prediction log request ids unique (spill replay is idempotent)",
            sql: """
                CREATE UNIQUE INDEX prediction_log_request ON prediction_log (request_id);
                """),
        Migration(
            version: 7, name: "prediction log inputs and outputs as json (validated text, no jsonb conversion per row)",
            sql: """
                ALTER TABLE prediction_log ALTER COLUMN inputs TYPE json, ALTER COLUMN outputs TYPE json;
                """),
        Migration(
            version: 8, name: "runs can be cancelled",
            sql: """
                ALTER TABLE training_runs DROP CONSTRAINT training_runs_status_check;
                ALTER TABLE training_runs ADD CONSTRAINT training_runs_status_check
                    CHECK (status IN ('queued','running','succeeded','rejected','failed','cancelled'));
                ALTER TABLE training_runs ADD COLUMN cancel_requested_at timestamptz;
                """),
        Migration(
            version: 9, name: "files a run's training command wrote beside its model",
            sql: """
                CREATE TABLE run_files (
                    run_id bigint NOT NULL REFERENCES training_runs (id) ON DELETE CASCADE,
                    name text NOT NULL,
                    bytes bigint NOT NULL,
                    sha256 text NOT NULL,
                    content bytea NOT NULL,
                    kept_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (run_id, name)
                );
                """),
    ]
}
