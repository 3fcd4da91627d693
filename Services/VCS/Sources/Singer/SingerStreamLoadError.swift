import Postgres

/// Postgres refused a stream's batch for a reason other than its values
/// (a row too big, too many columns): the batch is not committed, and the
/// error names the stream.
public struct SingerStreamLoadError: Error, CustomStringConvertible {
    public let stream: String
    public let error: PostgresError
    public var description: String { "stream \(stream): \(error)" }
}
