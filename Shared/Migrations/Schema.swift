/// The database schema shared by the three services, as ordered migrations.
/// Append new migrations; never edit one that has shipped.
public enum Schema {
    /// Notification channel: `vcs` has stored merged pull requests.
    public static let pullRequestsChannel = "conveyor_pull_requests"
    /// Notification channel: a deployment (or rollback) was recorded.
    public static let deploymentsChannel = "conveyor_deployments"
    /// Notification channel: a prediction token was created or revoked.
    public static let predictionTokensChannel = "conveyor_prediction_tokens"

    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "singer pull_requests and state",
            // `IF NOT EXISTS` was added after this shipped (a no-op where it ran):
            // datamill's target-postgres may have created pull_requests first.
            sql: """
                CREATE TABLE IF NOT EXISTS pull_requests (
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
                CREATE INDEX IF NOT EXISTS pull_requests_merged ON pull_requests (base__ref, merged_at DESC, number DESC)
                    WHERE merged_at IS NOT NULL;
                CREATE TABLE IF NOT EXISTS singer_state (
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
        Migration(
            version: 10, name: "monitoring: instances in the log, feedback, drift and live-metric reports",
            sql: """
                -- From now on a logged request's inputs are an array of instances in canonical
                -- form, lined up with its outputs. Earlier rows held the body verbatim: they are
                -- kept, set aside under "unmonitored", and monitoring does not read them.
                UPDATE prediction_log SET inputs = json_build_object('unmonitored', inputs);
                CREATE TABLE prediction_feedback (
                    request_id text NOT NULL,
                    position integer NOT NULL,
                    actual json NOT NULL,
                    model_version text NOT NULL,
                    predicted_at timestamptz NOT NULL,
                    received_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (request_id, position)
                );
                CREATE INDEX prediction_feedback_time ON prediction_feedback (predicted_at);
                CREATE TABLE monitoring_reports (
                    id bigserial PRIMARY KEY,
                    model_version text NOT NULL,
                    window_kind text NOT NULL,
                    window_size double precision NOT NULL,
                    window_start timestamptz,
                    window_end timestamptz NOT NULL,
                    rows bigint NOT NULL,
                    reference text NOT NULL,
                    drifted_features integer NOT NULL,
                    monitored_features integer NOT NULL,
                    drift_share double precision NOT NULL,
                    dataset_drift boolean NOT NULL,
                    labelled bigint NOT NULL,
                    live_metrics jsonb NOT NULL,
                    training_metrics jsonb NOT NULL,
                    duration_ms double precision NOT NULL,
                    -- The whole report as GET /monitoring shows it.
                    report jsonb NOT NULL,
                    computed_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX monitoring_reports_version ON monitoring_reports (model_version, id DESC);
                CREATE TABLE monitoring_statistics (
                    report_id bigint NOT NULL REFERENCES monitoring_reports (id) ON DELETE CASCADE,
                    feature text NOT NULL,
                    kind text NOT NULL,
                    method text NOT NULL,
                    value double precision NOT NULL,
                    threshold double precision NOT NULL,
                    drifted boolean NOT NULL,
                    statistics jsonb NOT NULL,
                    rows bigint NOT NULL,
                    missing_share double precision NOT NULL,
                    out_of_range_share double precision NOT NULL,
                    PRIMARY KEY (report_id, feature)
                );
                """),
        Migration(
            version: 11, name: "prediction log partitioned by day, with retention",
            sql: """
                ALTER TABLE prediction_log RENAME TO prediction_log_unpartitioned;
                ALTER SEQUENCE prediction_log_id_seq OWNED BY NONE;
                ALTER INDEX prediction_log_pkey RENAME TO prediction_log_unpartitioned_pkey;
                ALTER INDEX prediction_log_request RENAME TO prediction_log_unpartitioned_request;
                ALTER INDEX prediction_log_version RENAME TO prediction_log_unpartitioned_version;
                CREATE TABLE prediction_log (
                    id bigint NOT NULL DEFAULT nextval('prediction_log_id_seq'),
                    logged_at timestamptz NOT NULL,
                    request_id text NOT NULL,
                    model_version text NOT NULL,
                    inputs json NOT NULL,
                    outputs json NOT NULL,
                    latency_us bigint NOT NULL,
                    -- How many predictions the request answered (monitoring windows count them).
                    instances integer GENERATED ALWAYS AS (json_array_length(outputs)) STORED,
                    PRIMARY KEY (id, logged_at)
                ) PARTITION BY RANGE (logged_at);
                ALTER SEQUENCE prediction_log_id_seq OWNED BY prediction_log.id;
                -- Unique per request (a unique index must hold the partition key; a replay keeps logged_at).
                CREATE UNIQUE INDEX prediction_log_request ON prediction_log (request_id, logged_at);
                CREATE INDEX prediction_log_version ON prediction_log (model_version, logged_at);
                CREATE INDEX prediction_log_time ON prediction_log (logged_at) INCLUDE (instances);
                -- Rows no daily partition takes (a clock far off); partitions are made days ahead.
                CREATE TABLE prediction_log_default PARTITION OF prediction_log DEFAULT;

                -- Makes the daily partition holding `day` (UTC), moving any rows the default
                -- partition holds for it; a no-op when it exists.
                CREATE FUNCTION conveyor_prediction_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
                DECLARE
                    name text := 'prediction_log_' || to_char(day, 'YYYYMMDD');
                    low timestamptz := (day::timestamp AT TIME ZONE 'UTC');
                    high timestamptz := ((day + 1)::timestamp AT TIME ZONE 'UTC');
                BEGIN
                    IF to_regclass(name) IS NOT NULL THEN RETURN false; END IF;
                    EXECUTE format('CREATE TABLE %I (LIKE prediction_log INCLUDING DEFAULTS INCLUDING GENERATED)', name);
                    EXECUTE format(
                        'WITH moved AS (DELETE FROM prediction_log_default WHERE logged_at >= $1 AND logged_at < $2 RETURNING *) '
                        'INSERT INTO %I (id, logged_at, request_id, model_version, inputs, outputs, latency_us) '
                        'SELECT id, logged_at, request_id, model_version, inputs, outputs, latency_us FROM moved',
                        name) USING low, high;
                    EXECUTE format('ALTER TABLE prediction_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                        name, low, high);
                    RETURN true;
                END $$;

                -- Partitions for today and the next `ahead` days; drops those wholly older than
                -- `retention_days` (NULL keeps everything). Returns the partitions dropped.
                CREATE FUNCTION conveyor_prediction_retention(retention_days integer, ahead integer DEFAULT 3)
                    RETURNS SETOF text LANGUAGE plpgsql AS $$
                DECLARE
                    partition record;
                    today date := (now() AT TIME ZONE 'UTC')::date;
                BEGIN
                    -- Replicas take turns: two never create the same partition at once.
                    PERFORM pg_advisory_xact_lock(7262);
                    FOR offset_days IN 0..ahead LOOP
                        PERFORM conveyor_prediction_partition(today + offset_days);
                    END LOOP;
                    IF retention_days IS NULL THEN RETURN; END IF;
                    DELETE FROM prediction_log_default
                    WHERE logged_at < ((today - retention_days)::timestamp AT TIME ZONE 'UTC');
                    FOR partition IN
                        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                        WHERE i.inhparent = 'prediction_log'::regclass AND c.relname ~ '^prediction_log_[0-9]{8}$'
                            AND to_date(substring(c.relname FROM 16), 'YYYYMMDD') + 1 <= today - retention_days
                    LOOP
                        EXECUTE format('DROP TABLE %I', partition.relname);
                        RETURN NEXT partition.relname;
                    END LOOP;
                END $$;

                -- Partitions for the days already logged, then the rows, then the old table goes.
                SELECT conveyor_prediction_partition(day) FROM (
                    SELECT DISTINCT (logged_at AT TIME ZONE 'UTC')::date AS day FROM prediction_log_unpartitioned) d;
                SELECT conveyor_prediction_retention(NULL);
                INSERT INTO prediction_log (id, logged_at, request_id, model_version, inputs, outputs, latency_us)
                SELECT id, logged_at, request_id, model_version, inputs, outputs, latency_us
                FROM prediction_log_unpartitioned;
                DROP TABLE prediction_log_unpartitioned;

                -- Where a monitoring window of the last `last_n` predictions up to `until` starts
                -- (an index-only walk back over (logged_at, instances)); NULL when the log is empty.
                CREATE FUNCTION conveyor_window_start(until timestamptz, last_n bigint) RETURNS timestamptz
                    LANGUAGE sql STABLE AS $$
                    SELECT min(logged_at) FROM (
                        SELECT logged_at, instances, sum(instances) OVER (ORDER BY logged_at DESC) AS seen
                        FROM (SELECT logged_at, instances FROM prediction_log WHERE logged_at <= until
                              ORDER BY logged_at DESC LIMIT last_n) newest
                    ) counted WHERE seen - instances < last_n
                $$;
                """),
        Migration(
            version: 12, name: "shadow replay of logged requests in training runs",
            sql: """
                ALTER TABLE training_runs ADD COLUMN shadow jsonb;
                """),
        Migration(
            version: 13, name: "rollback rules: deployment kinds, bad versions, rule evaluations",
            sql: """
                ALTER TABLE deployments ADD COLUMN kind text NOT NULL DEFAULT 'deploy'
                    CHECK (kind IN ('deploy', 'rollback'));
                UPDATE deployments SET kind = 'rollback' WHERE reason = 'rollback';
                ALTER TABLE model_versions ADD COLUMN marked_bad_at timestamptz, ADD COLUMN marked_bad_reason text;
                -- Each monitoring report's rules, as the trainer evaluated them.
                CREATE TABLE rule_evaluations (
                    id bigserial PRIMARY KEY,
                    report_id bigint NOT NULL REFERENCES monitoring_reports (id) ON DELETE CASCADE,
                    model_version text NOT NULL,
                    rule text NOT NULL,
                    value double precision,
                    bound text NOT NULL,
                    samples bigint,
                    verdict text NOT NULL CHECK (verdict IN ('ok', 'tripped', 'insufficient', 'unavailable')),
                    action text,
                    evaluated_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX rule_evaluations_report ON rule_evaluations (report_id);
                CREATE INDEX rule_evaluations_version ON rule_evaluations (model_version, id DESC);
                """),
        Migration(
            version: 14, name: "indexes the dashboard reads by",
            sql: """
                -- Each timeline row finds its pull request by merge commit; runs filter by status;
                -- a version page lists its deployments; the metric charts order versions by creation.
                CREATE INDEX IF NOT EXISTS pull_requests_merge_commit ON pull_requests (merge_commit_sha);
                CREATE INDEX training_runs_status ON training_runs (status, id DESC);
                CREATE INDEX deployments_version ON deployments (version, id DESC);
                CREATE INDEX model_versions_created ON model_versions (created_at DESC, version DESC);
                """),
        Migration(
            version: 15, name: "PR previews: run kinds, the commit a preview trained, its kept model, its PR comment",
            sql: """
                -- merge (a merged PR), retrain (an admin's request) or preview (an open PR's head, never deployed).
                ALTER TABLE training_runs ADD COLUMN kind text NOT NULL DEFAULT 'merge'
                    CHECK (kind IN ('merge', 'retrain', 'preview'));
                UPDATE training_runs SET kind = 'retrain' WHERE reason = 'retrain requested';
                -- The git tree a run trained (a merge whose tree equals a passed preview's reuses its model),
                -- a preview's written model, and what was reported on GitHub.
                ALTER TABLE training_runs ADD COLUMN tree_sha text, ADD COLUMN artifact_path text,
                    ADD COLUMN artifact_sha256 text, ADD COLUMN data_fingerprint jsonb, ADD COLUMN github_report jsonb,
                    ADD COLUMN reused_run bigint REFERENCES training_runs (id);
                CREATE INDEX training_runs_kind ON training_runs (kind, id DESC);
                CREATE INDEX training_runs_preview_tree ON training_runs (tree_sha) WHERE kind = 'preview';
                -- The one comment a PR's previews edit.
                CREATE TABLE preview_comments (
                    pr_number bigint PRIMARY KEY,
                    comment_id bigint NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                """),
        Migration(
            version: 16, name: "monitoring rollups: the log binned per 10-second period; outputs beside feedback",
            sql: """
                -- The 10-second period a time falls in (UTC, from 2000-01-01).
                CREATE FUNCTION conveyor_rollup_period(at timestamptz) RETURNS timestamptz
                    LANGUAGE sql IMMUTABLE PARALLEL SAFE
                    RETURN date_bin('10 seconds', at, timestamptz '2000-01-01 00:00:00+00');
                -- Periods before `sealed_until` are rolled up (serving's rollup job), except the dirty ones.
                CREATE TABLE prediction_rollup_state (
                    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                    sealed_until timestamptz
                );
                INSERT INTO prediction_rollup_state DEFAULT VALUES;
                -- A sealed period's predictions (every version, as prediction_log.instances counts them).
                CREATE TABLE prediction_rollup_periods (
                    period timestamptz PRIMARY KEY,
                    instances bigint NOT NULL
                );
                -- A sealed period's drift bins: per version and monitored column ('' is the prediction),
                -- the rows per width_bucket bin or category (NULL: missing), their sum and those out of range.
                CREATE TABLE prediction_rollups (
                    -- No foreign key (it would check each bin row sealing copies in): deletes name both tables.
                    period timestamptz NOT NULL,
                    model_version text NOT NULL,
                    feature text NOT NULL,
                    bucket text,
                    n bigint NOT NULL,
                    total double precision,
                    outside bigint NOT NULL
                );
                CREATE INDEX prediction_rollups_period ON prediction_rollups (period);
                -- Sealed periods that rows reached late (a spill replay): recomputed, read raw until then.
                CREATE TABLE prediction_rollup_dirty (period timestamptz PRIMARY KEY);

                -- Any insert into the log (COPY included) unseals the sealed periods it reaches. The shared
                -- lock orders it with the rollup job's exclusive one: either the job's aggregation sees these
                -- rows, or this sees the job's new sealed_until and marks the periods dirty.
                CREATE FUNCTION conveyor_rollup_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    late timestamptz[];
                BEGIN
                    PERFORM pg_advisory_xact_lock_shared(7263);
                    SELECT array_agg(DISTINCT conveyor_rollup_period(n.logged_at)) INTO late
                    FROM inserted n WHERE n.logged_at < (SELECT sealed_until FROM prediction_rollup_state);
                    IF late IS NOT NULL THEN
                        INSERT INTO prediction_rollup_dirty SELECT unnest(late) ON CONFLICT DO NOTHING;
                        DELETE FROM prediction_rollup_periods WHERE period = ANY (late);
                        DELETE FROM prediction_rollups WHERE period = ANY (late);
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER prediction_log_rollup_invalidate AFTER INSERT ON prediction_log
                    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION conveyor_rollup_invalidate();

                -- The rollups of the days retention drops (PredictionLogRetention runs both).
                CREATE FUNCTION conveyor_rollup_retention(retention_days integer) RETURNS void LANGUAGE sql AS $$
                    DELETE FROM prediction_rollup_periods
                    WHERE period < (((now() AT TIME ZONE 'UTC')::date - retention_days)::timestamp AT TIME ZONE 'UTC');
                    DELETE FROM prediction_rollups
                    WHERE period < (((now() AT TIME ZONE 'UTC')::date - retention_days)::timestamp AT TIME ZONE 'UTC');
                $$;

                -- The prediction each actual is for, kept with it: live metrics read feedback alone.
                ALTER TABLE prediction_feedback ADD COLUMN output json;
                UPDATE prediction_feedback f SET output = p.outputs->(f.position)
                FROM prediction_log p WHERE p.request_id = f.request_id AND p.logged_at = f.predicted_at;
                """),
        Migration(
            version: 17, name: "pull_requests as datamill's target-postgres keeps it: table comment, upsert index",
            sql: """
                -- datamill's loader reads a table's metadata from its comment and fails without one
                -- (TypeError), so migration 1's table gets the comment adopting it wrote: each column
                -- mapped to its property path and type (an older vcs's nanosecond _sdc_sequence and
                -- jsonb columns converted as adopting did).
                DO $$
                DECLARE
                    jsonb_column record;
                BEGIN
                    IF obj_description('pull_requests'::regclass, 'pg_class') IS NULL THEN
                        UPDATE pull_requests SET _sdc_sequence = _sdc_sequence / 1000000000
                            WHERE _sdc_sequence >= 100000000000000;
                        FOR jsonb_column IN SELECT column_name FROM information_schema.columns
                            WHERE table_schema = current_schema() AND table_name = 'pull_requests' AND data_type = 'jsonb'
                        LOOP
                            EXECUTE format('ALTER TABLE pull_requests ALTER COLUMN %I TYPE text USING %I::text',
                                jsonb_column.column_name, jsonb_column.column_name);
                        END LOOP;
                        EXECUTE format('COMMENT ON TABLE pull_requests IS %L', (
                            SELECT json_build_object(
                                'path', json_build_array('pull_requests'), 'version', NULL, 'schema_version', 2,
                                'key_properties', json_build_array('id'),
                                'mappings', json_object_agg(c.column_name,
                                    CASE WHEN c.data_type = 'timestamp with time zone'
                                        THEN json_build_object('type', t.types, 'from', string_to_array(c.column_name, '__'),
                                            'format', 'date-time')
                                        ELSE json_build_object('type', t.types, 'from', string_to_array(c.column_name, '__'))
                                    END ORDER BY c.ordinal_position))::text
                            FROM information_schema.columns c
                            CROSS JOIN LATERAL (SELECT CASE c.data_type WHEN 'bigint' THEN 'integer'
                                WHEN 'double precision' THEN 'number' WHEN 'boolean' THEN 'boolean'
                                ELSE 'string' END AS name) j
                            -- Nullable: datamill lists null first for the _sdc_ columns it adds, last for the stream's.
                            CROSS JOIN LATERAL (SELECT CASE WHEN c.is_nullable = 'NO' THEN json_build_array(j.name)
                                WHEN left(c.column_name, 5) = '_sdc_' THEN json_build_array('null', j.name)
                                ELSE json_build_array(j.name, 'null') END AS types) t
                            WHERE c.table_schema = current_schema() AND c.table_name = 'pull_requests'));
                    END IF;
                END $$;
                -- datamill's tables have its upsert index, not a primary key: a stream whose id allows
                -- null (tap-github's) makes the column nullable, which a primary key forbids (42P16).
                ALTER TABLE pull_requests DROP CONSTRAINT IF EXISTS pull_requests_pkey;
                CREATE INDEX IF NOT EXISTS tp_pull_requests_id__sdc_sequence_idx ON pull_requests (id, _sdc_sequence);
                """),
        Migration(
            version: 18, name: "runs record the data fetched outside git and the repository's test report",
            sql: """
                -- Each fetched data file's key, URL, hash and size (lineage), and what `tests:` said.
                ALTER TABLE training_runs ADD COLUMN data_files jsonb, ADD COLUMN tests jsonb;
                """),
        Migration(
            version: 19, name: "prediction tokens, and which token made each prediction",
            sql: """
                -- Only the SHA-256 of a token's secret is stored; revoked tokens stay (revoked_at) for the record.
                CREATE TABLE prediction_tokens (
                    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
                    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
                    models text[] NOT NULL CHECK (cardinality(models) > 0),
                    scopes text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['predict', 'feedback']),
                    rate_limit_per_second double precision CHECK (rate_limit_per_second >= 0.001),
                    created_at timestamptz NOT NULL DEFAULT now(),
                    expires_at timestamptz,
                    revoked_at timestamptz,
                    last_used_at timestamptz
                );
                ALTER TABLE prediction_log ADD COLUMN token_name text;
                """),
        Migration(
            version: 20, name: "several model repositories: runs name theirs, deployments are read per model",
            sql: """
                -- The tracked repository a run came from (its owner/name, or its URL); NULL on runs
                -- recorded while one repository was all a stack could follow: that one.
                ALTER TABLE training_runs ADD COLUMN repository text;
                -- A version's repository: each repository has one live model (its newest deployment),
                -- so a model renamed in its conveyor.yaml replaces the old name. NULL (versions
                -- recorded before, or without a run): one group of their own.
                ALTER TABLE model_versions ADD COLUMN repository text;
                -- A preview's comment is per pull request of a repository ('' on those kept before).
                ALTER TABLE preview_comments ADD COLUMN repository text NOT NULL DEFAULT '';
                ALTER TABLE preview_comments DROP CONSTRAINT preview_comments_pkey;
                ALTER TABLE preview_comments ADD PRIMARY KEY (repository, pr_number);
                CREATE INDEX deployments_model_latest ON deployments (model_name, id DESC);
                """),
    ]
}
