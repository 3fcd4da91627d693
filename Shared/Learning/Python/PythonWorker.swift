import Foundation
import JSON
import Subprocess

/// One process of `conveyor_worker.py serve` holding one Python model: started
/// in the sandbox as untrusted code (`UserCommand`: `nobody` when root, a
/// scrubbed environment, none of our descriptors, `RLIMIT_AS`), it checks the
/// pickle's hash before importing anything, loads the model once and answers
/// framed JSON requests until it is stopped. Calls block the calling thread
/// (never an event loop) and take one request at a time: a pool gives each
/// worker to one caller at a time.
public final class PythonWorker: Sendable {
    /// How to start a worker for a model.
    public struct Launch: Sendable {
        /// The virtual environment it runs in.
        public var environment: URL
        /// The model's files (the module, `model.pkl`, `spec.json`).
        public var model: PythonModel
        public var directory: URL
        public var sandbox: Sandbox
        /// Address-space limit in bytes (`PYTHON_MEMORY_LIMIT`); nil for none.
        public var memoryLimit: Int?
        /// How long loading may take (import, unpickling, the first answer).
        public var loadTimeout: Duration

        public init(
            environment: URL, model: PythonModel, directory: URL, sandbox: Sandbox, memoryLimit: Int?,
            loadTimeout: Duration = .seconds(120)
        ) {
            self.environment = environment
            self.model = model
            self.directory = directory
            self.sandbox = sandbox
            self.memoryLimit = memoryLimit
            self.loadTimeout = loadTimeout
        }
    }

    private let process: FramedProcess
    /// The process id of the sandbox (or the interpreter, without one).
    public var pid: Int32 { process.pid }
    public var hasExited: Bool { process.hasExited }
    /// How the worker ended (its status and last stderr), once it has.
    public var exitDescription: String {
        Self.death(status: process.exitStatus, stderr: process.stderrTail)
    }

    /// Starts the worker and waits until it answers a ping (the model is loaded);
    /// `onStderr` gets each line it writes to stderr (the model's own prints, tracebacks).
    public init(_ launch: Launch, onStderr: @escaping @Sendable (String) -> Void) throws(PythonWorkerError) {
        let script: URL
        do { script = try PythonWorkerScript.url } catch { throw .cannotStart("\(error)") }
        let bin = launch.environment.appendingPathComponent("bin")
        let command = UserCommand(
            arguments: [bin.appendingPathComponent("python3").path, script.path, "serve"]
                + (launch.model.mlflowFiles == nil
                    ? ["--module", launch.directory.appendingPathComponent(launch.model.module).path] : ["--mlflow"])
                + ["--model", launch.directory.path],
            directory: launch.directory,
            environment: [
                "CONVEYOR_MODEL_SHA256": launch.model.pickleSHA256, "PATH": "\(bin.path):/usr/local/bin:/usr/bin:/bin",
                "VIRTUAL_ENV": launch.environment.path, "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
            ],
            timeout: launch.loadTimeout, memoryLimit: launch.memoryLimit, sandbox: launch.sandbox,
            readOnly: [launch.environment, script.deletingLastPathComponent()])
        do {
            process = try command.startFramed(onStderr: onStderr)
        } catch {
            throw .cannotStart("\(error)")
        }
        do {
            _ = try exchange(#"{"op":"ping"}"#, timeout: launch.loadTimeout)
        } catch {
            process.stop()
            switch error {
            case .died(let why): throw .cannotStart(Self.loadFailure(why))
            default: throw .cannotStart("\(error)")
            }
        }
    }

    /// Stops the worker (its whole process group); idempotent.
    public func stop() { process.stop() }

    /// Predicts `rows` (a JSON array of arrays, values in `columns` order, as
    /// `FeatureValue.canonicalJSON` writes them); `classes` for a classifier.
    public func predict(columns: [String], rows: String, classes: [String]?, timeout: Duration)
        throws(PythonWorkerError) -> PythonPrediction
    {
        var request = #"{"op":"predict","columns":["#
        request += columns.map(JSONText.quoted).joined(separator: ",")
        request += #"],"rows":"#
        request += rows
        if let classes {
            request += #","classes":["# + classes.map(JSONText.quoted).joined(separator: ",") + "]"
        }
        request += "}"
        return try prediction(from: exchange(request, timeout: timeout), classified: classes != nil)
    }

    /// A forecast model's next `horizon` values, after the end of its training data.
    public func forecast(horizon: Int, timeout: Duration) throws(PythonWorkerError) -> [Double] {
        try prediction(from: exchange(#"{"op":"forecast","horizon":\#(horizon)}"#, timeout: timeout), classified: false)
            .values
    }

    /// The answer to one request, or the error it carries.
    private func exchange(_ request: String, timeout: Duration) throws(PythonWorkerError) -> [String: JSONValue] {
        let bytes: [UInt8]
        do {
            bytes = try process.exchange(Array(request.utf8), timeout: timeout)
        } catch {
            switch error {
            case .timedOut(let seconds):
                process.stop()
                throw .timedOut(seconds: seconds)
            case .exited(let status, let stderr):
                process.stop()
                throw .died(Self.death(status: status, stderr: stderr))
            case .broken(let why):
                process.stop()
                throw .died(why)
            }
        }
        guard let answer = (try? JSONValue.parse(bytes))?.objectValue else {
            throw .badAnswer("not a JSON object: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        if answer["ok"]?.boolValue == true { return answer }
        let error = answer["error"]?.objectValue ?? [:]
        throw .raised(
            type: error["type"]?.stringValue ?? "Error", message: error["message"]?.stringValue ?? "(no message)",
            function: error["function"]?.stringValue, traceback: error["traceback"]?.stringValue ?? "")
    }

    private func prediction(from answer: [String: JSONValue], classified: Bool) throws(PythonWorkerError)
        -> PythonPrediction
    {
        guard let predictions = answer["predictions"]?.arrayValue else {
            throw .badAnswer("no predictions")
        }
        var result = PythonPrediction(values: [], labels: [], probabilities: nil)
        if classified {
            result.labels = predictions.compactMap(\.stringValue)
            guard result.labels.count == predictions.count else { throw .badAnswer("a label is not a string") }
            if let rows = answer["probabilities"]?.arrayValue {
                let probabilities = rows.map { ($0.arrayValue ?? []).compactMap(\.doubleValue) }
                result.probabilities = probabilities
            }
        } else {
            result.values = predictions.compactMap(\.doubleValue)
            guard result.values.count == predictions.count else { throw .badAnswer("a prediction is not a number") }
        }
        return result
    }

    /// What a worker that died said: its error line when it wrote one, else its status and last output.
    static func death(status: Int32?, stderr: String) -> String {
        let lastLine = stderr.split(separator: "\n").last.map(String.init) ?? ""
        if let error = (try? JSONValue.parse(Array(lastLine.utf8)))?["error"]?.objectValue {
            let type = error["type"]?.stringValue ?? "Error"
            let message = error["message"]?.stringValue ?? ""
            return "\(error["function"]?.stringValue.map { "\($0): " } ?? "")\(type): \(message)"
        }
        let signal = status.flatMap { $0 > 128 ? $0 - 128 : nil }
        let how =
            signal.map { $0 == 9 ? "was killed (SIGKILL: the memory limit, or stopped)" : "was killed by signal \($0)" }
            ?? status.map { "exited with status \($0)" } ?? "exited"
        let tail = stderr.trimmingCharacters(in: .whitespacesAndNewlines).suffix(500)
        return how + (tail.isEmpty ? "" : ": \(tail)")
    }

    /// Why loading failed, from a worker that died before its first answer.
    static func loadFailure(_ why: String) -> String { "loading the model: \(why)" }
}
