import Crypto
import Foundation

/// The `model` object of `model.json`: the parameters of small models
/// inline, the shape of a tree ensemble (its arrays are in `trees.bin`).
struct PredictorDescription: Codable {
    var kind: String
    var intercept: Double?
    var coefficients: [Double]?
    var intercepts: [Double]?
    var classCoefficients: [[Double]]?
    var file: String?
    var trees: Int?
    var nodes: Int?
    var leafWidth: Int?
    var outputs: Int?
    var base: [Double]?
    var combine: TreeEnsemble.Combine?
    var link: TreeEnsemble.Link?
    var python: PythonModel?
    /// A linear or logistic model's training input means (explanations' reference).
    var means: [Double]?
    /// An ONNX tree ensemble's covers, per node in the graph's attribute order (explanations).
    var covers: [Double]?
    /// Why an ONNX graph has no covers (the reason `explain` answers).
    var explanationUnavailable: String?

    enum CodingKeys: String, CodingKey {
        case kind, intercept, coefficients, intercepts, file, trees, nodes, outputs, base, combine, link, python, means
        case covers
        case explanationUnavailable = "explanation_unavailable"
        case classCoefficients = "class_coefficients"
        case leafWidth = "leaf_width"
    }

    static let treeFile = "trees.bin"
    static let onnxKind = "onnx"
    static let onnxFile = "model.onnx"
    static let pythonKind = "python"

    init(_ predictor: Predictor) {
        switch predictor {
        case .linear(let model):
            kind = "linear"
            intercept = model.intercept
            coefficients = model.coefficients
            means = model.means
        case .logistic(let model):
            kind = "logistic"
            intercepts = model.intercepts
            classCoefficients = model.coefficients
            means = model.means
        case .trees(let ensemble):
            kind = "trees"
            file = Self.treeFile
            trees = ensemble.treeCount
            nodes = ensemble.nodes.count
            leafWidth = ensemble.leafWidth
            outputs = ensemble.outputs
            base = ensemble.base
            combine = ensemble.combine
            link = ensemble.link
        case .onnx(let model):
            kind = Self.onnxKind
            file = Self.onnxFile
            covers = model.covers
            explanationUnavailable = model.explanationUnavailable
        case .python(let model):
            kind = Self.pythonKind
            file = PythonModel.pickleFile
            python = model
        }
    }

    /// The predictor; a tree ensemble still needs its arrays from `trees.bin`.
    var predictor: Predictor {
        get throws {
            func missing(_ key: String) -> ArtifactStore.LoadError {
                ArtifactStore.LoadError(problem: "model.json: model.\(key) is required for kind \(kind)")
            }
            switch kind {
            case "linear":
                guard let intercept else { throw missing("intercept") }
                guard let coefficients else { throw missing("coefficients") }
                return .linear(LinearModel(intercept: intercept, coefficients: coefficients, means: means))
            case "logistic":
                guard let intercepts else { throw missing("intercepts") }
                guard let classCoefficients, classCoefficients.count == intercepts.count else {
                    throw missing("class_coefficients")
                }
                return .logistic(
                    LogisticModel(intercepts: intercepts, coefficients: classCoefficients, means: means))
            case "trees":
                guard let leafWidth, leafWidth > 0 else { throw missing("leaf_width") }
                guard let outputs, outputs > 0 else { throw missing("outputs") }
                guard let base, base.count == outputs else { throw missing("base") }
                guard let combine else { throw missing("combine") }
                guard let link else { throw missing("link") }
                return .trees(
                    TreeEnsemble(leafWidth: leafWidth, outputs: outputs, base: base, combine: combine, link: link))
            case Self.onnxKind, Self.pythonKind:
                throw ArtifactStore.LoadError(problem: "model.json: an onnx model loads from its artifact directory")
            default:
                throw ArtifactStore.LoadError(problem: "model.json: unknown model kind \"\(kind)\"")
            }
        }
    }
}
