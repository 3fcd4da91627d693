import Dispatch
import Foundation
import Synchronization

/// What a learner predicts.
public enum LearningTarget: Sendable, Equatable {
    case regression
    /// Class indices 0..<classes in the dataset's target.
    case classification(classes: Int)

    var outputs: Int {
        switch self {
        case .regression: 1
        case .classification(let classes): classes
        }
    }
}
