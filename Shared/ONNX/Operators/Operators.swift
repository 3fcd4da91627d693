import Foundation

/// Every supported operator, by `domain:name`.
enum Operators {
    static let registry: [String: Operator] = {
        let all =
            ElementwiseOperators.all + ShapeOperators.all + MathOperators.all + TreeOperators.all + MLOperators.all
        return Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
    }()

    /// Supported operators as `domain.Name`, sorted (for docs and error messages).
    static var supported: [String] {
        registry.values.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain).\($0.name)" }.sorted()
    }
}
