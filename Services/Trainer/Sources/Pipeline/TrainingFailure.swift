import Foundation
import Learning
import Registry
import Subprocess

/// A failed or rejected run's reason, shown in `GET /runs/{id}`.
public struct TrainingFailure: Error, CustomStringConvertible, Sendable {
    public let stage: TrainingStage
    public let reason: String
    public var description: String { "\(stage.rawValue): \(reason)" }
}
