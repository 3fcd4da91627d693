import Postgres

/// A word of the vocabulary the services share (a run's status, a
/// deployment's kind…), stored as its raw text: sent to Postgres as a bound
/// parameter, never spelled as a SQL literal outside the migrations.
public protocol RegistryValue: RawRepresentable<String>, PostgresEncodable, PostgresDecodable, Codable, Sendable,
    CaseIterable
{}

extension RegistryValue {
    public var postgresText: String? { rawValue }
    public init?(postgresText: String) { self.init(rawValue: postgresText) }
}
