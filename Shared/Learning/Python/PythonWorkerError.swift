/// Why a Python model worker gave no answer.
public enum PythonWorkerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The module's code raised, or broke the contract (`predict returned 3 values for 5 rows`):
    /// the exception's type and message, the function, and the traceback (for the log only).
    case raised(type: String, message: String, function: String?, traceback: String)
    /// The worker died (exited, was killed, closed its output) during the call.
    case died(String)
    /// No answer within the time allowed; the worker was stopped.
    case timedOut(seconds: Double)
    /// The worker could not be started or would not load the model.
    case cannotStart(String)
    /// The answer was not what the protocol promises.
    case badAnswer(String)

    public var description: String {
        switch self {
        case .raised(let type, let message, let function, _):
            "\(function.map { "\($0): " } ?? "")\(type): \(message)"
        case .died(let why): "the Python worker died: \(why)"
        case .timedOut(let seconds): "the Python model gave no answer within \(seconds) s"
        case .cannotStart(let why): "the Python worker could not start: \(why)"
        case .badAnswer(let why): "the Python worker's answer is malformed: \(why)"
        }
    }
}
