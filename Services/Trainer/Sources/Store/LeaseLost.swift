import Foundation
import Migrations
import Postgres
import Registry
import ServiceKit

/// The run's lease passed to another trainer: this one's result is discarded.
public struct LeaseLost: Error, CustomStringConvertible {
    public let run: Int64
    public var description: String { "run \(run): the lease expired and another trainer took the run over" }
}
