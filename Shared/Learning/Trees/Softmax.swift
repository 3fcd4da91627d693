import Foundation

/// In-place softmax, stable for large scores.
enum Softmax {
    static func apply(_ values: UnsafeMutableBufferPointer<Double>) {
        guard let largest = values.max() else { return }
        var total = 0.0
        for k in values.indices {
            values[k] = exp(values[k] - largest)
            total += values[k]
        }
        for k in values.indices { values[k] /= total }
    }
}
