/// A window's live values of one feature as Postgres aggregates them.
public struct LiveBins: Sendable, Equatable {
    /// Numeric: count and sum of values per `width_bucket` bin (0-based).
    public var counts: [Int: Int] = [:]
    public var sums: [Int: Double] = [:]
    /// Categorical: count per category.
    public var categories: [String: Int] = [:]
    /// Numeric values outside the training range.
    public var outOfRange = 0

    public init() {}
}
