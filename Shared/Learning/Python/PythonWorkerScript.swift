import Crypto
import Foundation

/// `conveyor_worker.py`, the Python side of repository models, as a file every
/// sandboxed account can read: the package's copy may sit under a directory
/// `nobody` cannot enter, so it is copied once per process into a directory
/// of its own under the temporary directory (mode 0755, the file 0644).
public enum PythonWorkerScript {
    /// The script's path, copied on first use.
    public static var url: URL {
        get throws { try copied.get() }
    }

    private static let copied = Result<URL, any Error> {
        guard let source = Bundle.module.url(forResource: "conveyor_worker", withExtension: "py"),
            let data = FileManager.default.contents(atPath: source.path)
        else {
            throw PythonWorkerError.cannotStart("conveyor_worker.py is missing from the Learning resources")
        }
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined().prefix(16)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conveyor-python-worker-\(digest)-\(getpid())", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = chmod(directory.path, 0o755)
        let file = directory.appendingPathComponent("conveyor_worker.py")
        try data.write(to: file, options: .atomic)
        _ = chmod(file.path, 0o644)
        return file
    }
}
