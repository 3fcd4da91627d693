import Crypto
import Foundation

/// A data problem, named by file, line and column.
public struct DataProblem: Error, CustomStringConvertible, Equatable {
    public let problem: String
    public init(problem: String) { self.problem = problem }
    public var description: String { problem }
}
