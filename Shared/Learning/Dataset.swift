import Crypto
import Foundation

/// Encoded training or test data: a column-major feature matrix and the
/// target (a number, or a class index for classification).
public struct Dataset: Sendable {
    /// `columns[j][i]` is encoded input `j` of row `i`.
    public var columns: [[Double]]
    public var target: [Double]
    public var count: Int { target.count }
    public var width: Int { columns.count }

    public init(columns: [[Double]], target: [Double]) {
        precondition(columns.allSatisfy { $0.count == target.count })
        self.columns = columns
        self.target = target
    }

    /// Builds from row-major rows.
    public init(rows: [[Double]], target: [Double]) {
        let width = rows.first?.count ?? 0
        self.init(columns: (0..<width).map { j in rows.map { $0[j] } }, target: target)
    }

    /// One row, gathered from the columns.
    public func row(_ index: Int) -> [Double] { columns.map { $0[index] } }

    /// The rows at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        Dataset(columns: columns.map { column in indices.map { column[$0] } }, target: indices.map { target[$0] })
    }
}
