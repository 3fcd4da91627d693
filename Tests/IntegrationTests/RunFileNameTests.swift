import Foundation
import HTTPTypes
import Postgres
import Registry
import Testing

/// Kept files are downloaded by the names clients percent-encode.
@Suite("trainer: kept files with names that need percent-encoding", .tags(.routes))
struct RunFileNameTests {
    @Test(
        "a name with a space, a percent sign or non-ASCII letters downloads by its percent-encoded path",
        arguments: [
            ("loss curve.png", "loss%20curve.png"), ("100%.txt", "100%25.txt"),
            ("résumé.json", "r%C3%A9sum%C3%A9.json"),
            ("weights [final].bin", "weights%20%5Bfinal%5D.bin"),
        ])
    func encodedNames(_ name: String, _ encoded: String) async throws {
        try await ControlRouteTests.withTrainer { client, database in
            let rows = try await database.query(
                """
                INSERT INTO training_runs (pr_number, merge_commit_sha, merged_at, status, reason)
                VALUES (1, 'aaa', now(), \(RunStatus.failed), 'x') RETURNING id
                """)
            let id = try #require(try rows.first?.decode("id", as: Int64.self))
            try await database.query(
                """
                INSERT INTO run_files (run_id, name, bytes, sha256, content)
                VALUES (\(id), \(name), 5, 'x', convert_to('hello', 'UTF8'))
                """)
            let reply = try await client.send(.get, "/runs/\(id)/files/\(encoded)")
            #expect(reply.status == 200, "\(encoded): \(reply.status) \(reply.text)")
            #expect(reply.text == "hello")
            if let disposition = reply.headers[.contentDisposition] {
                #expect(disposition.contains("filename*=UTF-8''"), "\(disposition)")
            }
            let bad = try await client.send(.get, "/runs/\(id)/files/%E0%A4%A")
            #expect(bad.status == 422 || bad.status == 404, "an invalid encoding is refused: \(bad.status)")
        }
    }
}
