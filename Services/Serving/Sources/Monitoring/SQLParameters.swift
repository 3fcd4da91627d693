import Learning
import Postgres

/// Bound parameters for monitoring SQL that is assembled piece by piece
/// (one branch per version): each value becomes `$n`, never SQL text.
struct SQLParameters {
    private(set) var values: [String?] = []

    /// Binds `value` and returns its placeholder.
    mutating func add(_ value: (some PostgresEncodable)?) -> String {
        values.append(value?.postgresText)
        return "$\(values.count)"
    }

    /// `width_bucket(value, <the histogram's edges>)` as text, the edges bound as one array.
    mutating func bucket(_ value: String, by histogram: Histogram) -> String {
        "width_bucket(\(value), \(add(histogram.edges))::double precision[])::text"
    }
}
