import Foundation
import Postgres
import Registry

/// A kept file's name, size and hash, as `GET /runs/{id}` lists it.
public struct RunFileSummary: Sendable, Codable, Equatable {
    public let name: String
    public let bytes: Int64
    public let sha256: String
}

extension TrainingStore {
    /// Copies the live log of a running run (only while this trainer holds it).
    public func updateLog(run: Int64, log: String) async throws {
        let owner = owner
        try await database.query(
            "UPDATE training_runs SET log = \(log) WHERE id = \(run) AND lease_owner = \(owner) AND status = \(RunStatus.running)"
        )
    }

    /// Stores the files the run's training command kept (a retry replaces its own).
    public func keep(_ files: [RunFile], run: Int64) async throws {
        guard !files.isEmpty else { return }
        try await database.transaction { connection in
            for file in files {
                let hex = Self.hex(file.content)
                try connection.query(
                    """
                    INSERT INTO run_files (run_id, name, bytes, sha256, content)
                    VALUES (\(run), \(file.name), \(Int64(file.content.count)), \(file.sha256), decode(\(hex), 'hex'))
                    ON CONFLICT (run_id, name) DO UPDATE SET bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256,
                        content = EXCLUDED.content, kept_at = now()
                    """)
            }
        }
    }

    /// One kept file's content, if the run kept a file of that name.
    public func file(run: Int64, name: String) async throws -> Data? {
        let rows = try await database.query(
            "SELECT encode(content, 'base64') AS content FROM run_files WHERE run_id = \(run) AND name = \(name)")
        guard let text = try rows.first?.decode("content", as: String.self) else { return nil }
        return Data(base64Encoded: text, options: .ignoreUnknownCharacters)
    }

    /// Lower-case hex, for a bytea parameter (parameters are sent as text).
    static func hex(_ data: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(data.count * 2)
        for byte in data {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
