import Foundation
import JSON
import Migrations
import Postgres

/// `prediction_tokens`: created and revoked by an admin (each change NOTIFYs every replica),
/// read whole by each replica, and stamped with `last_used_at` in batches.
struct TokenStore: Sendable {
    let database: PostgresClient

    /// Every token, revoked and expired ones included (so a refusal can say which).
    func all() async throws -> [PredictionToken] {
        let rows = try await database.query(
            """
            SELECT name, encode(token_sha256, 'hex') AS hash, to_json(models)::text AS models,
                   to_json(scopes)::text AS scopes, expires_at, revoked_at, rate_limit_per_second
            FROM prediction_tokens
            """)
        return try rows.map { row in
            let hash: String = try row.decode("hash")
            return PredictionToken(
                name: try row.decode("name"), hash: Self.bytes(hex: hash),
                models: try PostgresJSON(text: try row.decode("models")).decode([String].self),
                scopes: try PostgresJSON(text: try row.decode("scopes")).decode([String].self).compactMap(
                    TokenScope.init(rawValue:)),
                expiresAt: try row.decodeIfPresent("expires_at"), revokedAt: try row.decodeIfPresent("revoked_at"),
                ratePerSecond: try row.decodeIfPresent("rate_limit_per_second"))
        }
    }

    /// `GET /tokens`: every token without its hash, newest first, as a JSON array.
    func listJSON() async throws -> String {
        let rows = try await database.query(
            """
            SELECT coalesce(json_agg(t ORDER BY t.created_at DESC, t.name), '[]'::json)::text AS tokens FROM (
                SELECT name, models, scopes, rate_limit_per_second, created_at, expires_at, revoked_at, last_used_at,
                       CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                            WHEN expires_at <= now() THEN 'expired' ELSE 'active' END AS state
                FROM prediction_tokens) t
            """)
        return try rows.first?.decode("tokens", as: String.self) ?? "[]"
    }

    /// Stores a new token (by the hash of its secret) and tells every replica; false when the name is taken.
    func create(
        name: String, hash: [UInt8], models: [String], scopes: [TokenScope], expiresAt: Date?, ratePerSecond: Double?
    ) async throws -> Bool {
        let hex = hash.map { String(format: "%02x", $0) }.joined()
        let channel = Schema.predictionTokensChannel
        return try await database.transaction { connection in
            let rows = try connection.query(
                """
                INSERT INTO prediction_tokens (name, token_sha256, models, scopes, expires_at, rate_limit_per_second)
                VALUES (\(name), decode(\(hex), 'hex'), \(models)::text[], \(scopes.map(\.rawValue))::text[],
                        \(expiresAt), \(ratePerSecond))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """)
            guard rows.count == 1 else { return false }
            _ = try connection.query("SELECT pg_notify(\(channel), \(name))")
            return true
        }
    }

    /// Revokes the token and tells every replica; false when there is no such (unrevoked) token.
    func revoke(name: String) async throws -> Bool {
        let channel = Schema.predictionTokensChannel
        return try await database.transaction { connection in
            let rows = try connection.query(
                """
                UPDATE prediction_tokens SET revoked_at = now() WHERE name = \(name) AND revoked_at IS NULL
                RETURNING name
                """)
            guard rows.count == 1 else { return false }
            _ = try connection.query("SELECT pg_notify(\(channel), \(name))")
            return true
        }
    }

    /// Whether a token of that name exists (revoked or not).
    func exists(name: String) async throws -> Bool {
        try await database.query("SELECT 1 FROM prediction_tokens WHERE name = \(name)").count == 1
    }

    /// Stamps `last_used_at` for the tokens used since the last batch (one statement).
    func touch(_ uses: [String: Date]) async throws {
        guard !uses.isEmpty else { return }
        let json = try PostgresJSON(encoding: uses.mapValues { $0.timeIntervalSince1970 })
        try await database.query(
            """
            UPDATE prediction_tokens t SET last_used_at = greatest(t.last_used_at, to_timestamp(u.value::double precision))
            FROM json_each_text(\(json)::json) u WHERE t.name = u.key
            """)
    }

    static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            if let byte = UInt8(hex[index..<next], radix: 16) { bytes.append(byte) }
            index = next
        }
        return bytes
    }
}
