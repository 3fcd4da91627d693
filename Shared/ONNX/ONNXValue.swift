import Foundation

/// A value flowing through a graph: a tensor, or the sequence of maps ZipMap makes.
public enum ONNXValue: Sendable, Equatable {
    case tensor(ONNXTensor)
    /// One map per row from class label to probability (ZipMap's output).
    case maps(labels: ONNXTensor.Storage, probabilities: [[Float]])

    public var tensor: ONNXTensor? {
        if case .tensor(let tensor) = self { return tensor }
        return nil
    }
}
