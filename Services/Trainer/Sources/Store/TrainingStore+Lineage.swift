import Foundation
import Postgres

extension TrainingStore {
    /// Records where the run's data came from (`data_files`), as soon as it is fetched.
    func recordData(run: Int64, files: [DataLineage]) async throws {
        let json = try PostgresJSON(encoding: files)
        try await database.query("UPDATE training_runs SET data_files = \(json)::jsonb WHERE id = \(run)")
    }

    /// Records what the repository's tests said (`tests`), passed or failed.
    func recordTests(run: Int64, report: RepositoryTestReport) async throws {
        let json = try PostgresJSON(encoding: report)
        try await database.query("UPDATE training_runs SET tests = \(json)::jsonb WHERE id = \(run)")
    }
}

extension TrainingStore {
    /// The run's recorded data lineage (empty: all of it was in git).
    func dataLineage(run: Int64) async throws -> [DataLineage] {
        let rows = try await database.query(
            "SELECT coalesce(data_files, '[]'::jsonb)::text AS files FROM training_runs WHERE id = \(run)")
        guard let text = try rows.first?.decode("files", as: String.self) else { return [] }
        return try JSONDecoder().decode([DataLineage].self, from: Data(text.utf8))
    }
}
