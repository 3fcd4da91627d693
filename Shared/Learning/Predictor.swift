/// A fitted model of any supported kind.
public enum Predictor: Sendable, Equatable {
    case linear(LinearModel)
    case logistic(LogisticModel)
    case trees(TreeEnsemble)
    /// A repository's own model, evaluated by Shared/ONNX.
    case onnx(ONNXPredictor)
    /// A repository's own Python model, answered by `conveyor_worker.py` processes.
    case python(PythonModel)
}
