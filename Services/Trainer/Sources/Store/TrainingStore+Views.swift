import Foundation
import Postgres
import Registry

extension TrainingStore {
    /// `GET /runs`: the newest `limit` runs (of `kind`, when given) as a JSON array, newest first;
    /// each names its repository (runs from before several could be followed: the first one's).
    public func runsJSON(kind: RunKind?, limit: Int) async throws -> String {
        let first = repositories[0].key
        let rows = try await database.query(
            """
            SELECT coalesce(json_agg(r ORDER BY r.id DESC), '[]'::json)::text AS runs FROM (
                SELECT id, kind, coalesce(repository, \(first)) AS repository, pr_number, merge_commit_sha, status,
                       reason, model_name, model_version, metrics, created_at, started_at, finished_at
                FROM training_runs WHERE \(kind)::text IS NULL OR kind = \(kind)
                ORDER BY id DESC LIMIT \(limit)) r
            """)
        return try rows.first?.decode("runs", as: String.self) ?? "[]"
    }

    /// `GET /runs/{id}`: the run with its kept files' names, sizes and hashes, as a JSON object (nil: no such run).
    public func runJSON(id: Int64) async throws -> String? {
        let rows = try await database.query(
            """
            SELECT (to_jsonb(r) || jsonb_build_object('files', coalesce(
                (SELECT jsonb_agg(jsonb_build_object('name', f.name, 'bytes', f.bytes, 'sha256', f.sha256)
                    ORDER BY f.name) FROM run_files f WHERE f.run_id = r.id), '[]'::jsonb)))::text AS run
            FROM training_runs r WHERE r.id = \(id)
            """)
        return try rows.first?.decode("run", as: String.self)
    }
}
