import Crypto
import Foundation

/// Reads and writes artifact directories: `<root>/<name>/<version>/` holding
/// `model.json`, `manifest.yaml`, `metrics.json`, `reference.json` and, for
/// tree models, `trees.bin` (for ONNX models, `model.onnx`). A
/// directory is written under a temporary name, fsynced and renamed into
/// place, and never modified afterwards; its content hash detects tampering.
public enum ArtifactStore {
    /// The `conveyor.yaml` stored beside the artifact at `path` (relative to `root`), if readable.
    public static func manifestYAML(root: URL, path: String) -> String? {
        let file = root.appendingPathComponent(path).appendingPathComponent("manifest.yaml")
        return FileManager.default.contents(atPath: file.path).map { String(decoding: $0, as: UTF8.self) }
    }

    public static let modelFile = "model.json"
    /// The decoder's user-info key for the directory `model.json` is read from.
    static let directoryKey = CodingUserInfoKey(rawValue: "conveyor.artifactDirectory")!

    /// A stored artifact that failed its integrity check or did not load.
    public struct LoadError: Error, CustomStringConvertible {
        public let problem: String
        public init(problem: String) { self.problem = problem }
        public var description: String { problem }
    }

    /// Writes the directory atomically and returns its path and content hash.
    public static func write(
        _ artifact: ModelArtifact, manifestYAML: String, root: URL
    ) throws -> (path: URL, sha256: String) {
        let fileManager = FileManager.default
        let parent = root.appendingPathComponent(artifact.name, isDirectory: true)
        try fileManager.createDirectory(at: parent, withIntermediateDirectories: true)
        let final = parent.appendingPathComponent(artifact.version, isDirectory: true)
        let temporary = parent.appendingPathComponent(
            ".tmp-\(artifact.version)-\(UUID().uuidString)", isDirectory: true)
        try fileManager.createDirectory(at: temporary, withIntermediateDirectories: false)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.dateEncodingStrategy = .iso8601
            var files: [(String, Data)] = [
                (modelFile, try encoder.encode(artifact)),
                ("manifest.yaml", Data(manifestYAML.utf8)),
                ("metrics.json", try encoder.encode(artifact.metrics)),
                ("reference.json", try encoder.encode(artifact.reference)),
            ]
            if case .trees(let ensemble) = artifact.predictor {
                files.append((PredictorDescription.treeFile, ensemble.binary()))
            }
            if case .onnx(let model) = artifact.predictor {
                files.append((PredictorDescription.onnxFile, model.data))
            }
            if case .python(let model) = artifact.predictor {
                // The pickle, the module and what describes them, as training wrote them.
                guard let source = model.directory else {
                    throw LoadError(problem: "the Python model's files are not on disk")
                }
                for name in model.artifactFiles {
                    let file = source.appendingPathComponent(name)
                    guard let data = FileManager.default.contents(atPath: file.path) else {
                        if model.requiredFiles.contains(name) {
                            throw LoadError(problem: "the Python model's \(name) is missing")
                        }
                        continue
                    }
                    files.append((name, data))
                }
            }
            for (name, data) in files {
                try writeDurably(data, to: temporary.appendingPathComponent(name))
            }
            try fsyncPath(temporary)
            try fileManager.moveItem(at: temporary, to: final)
            try fsyncPath(parent)
        } catch {
            try? fileManager.removeItem(at: temporary)
            throw error
        }
        return (final, try contentHash(of: final))
    }

    /// Loads `model.json` after checking the directory's hash (when given).
    public static func load(from directory: URL, expectedSHA256: String?) throws -> ModelArtifact {
        if let expectedSHA256 {
            let actual = try contentHash(of: directory)
            guard actual == expectedSHA256 else {
                throw LoadError(problem: "artifact \(directory.path) has hash \(actual), expected \(expectedSHA256)")
            }
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.userInfo[directoryKey] = directory
        var artifact: ModelArtifact
        do {
            artifact = try decoder.decode(
                ModelArtifact.self, from: Data(contentsOf: directory.appendingPathComponent(modelFile)))
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError(problem: "\(modelFile) does not decode: \(error)")
        }
        guard artifact.format == ModelArtifact.format, artifact.formatVersion <= ModelArtifact.currentFormatVersion
        else {
            throw LoadError(problem: "unsupported artifact format \(artifact.format) v\(artifact.formatVersion)")
        }
        if case .trees(var ensemble) = artifact.predictor {
            try ensemble.load(binary: Data(contentsOf: directory.appendingPathComponent(PredictorDescription.treeFile)))
            artifact.predictor = .trees(ensemble)
        }
        let width = artifact.encoder.width + (artifact.forecast?.inputWidth ?? 0)
        guard artifact.predictorWidth <= width else {
            throw LoadError(
                problem: "the model reads \(artifact.predictorWidth) inputs but its features encode \(width)")
        }
        return artifact
    }

    /// sha256 over the sorted file names and each file's own sha256.
    public static func contentHash(of directory: URL) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var hasher = SHA256()
        for name in names {
            let digest = SHA256.hash(data: try Data(contentsOf: directory.appendingPathComponent(name)))
            hasher.update(data: Data(name.utf8))
            hasher.update(data: Data([0]))
            hasher.update(data: Data(digest))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func writeDurably(_ data: Data, to url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: data) else {
            throw LoadError(problem: "cannot write \(url.path)")
        }
        try fsyncPath(url)
    }

    private static func fsyncPath(_ url: URL) throws {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LoadError(problem: "cannot open \(url.path) to sync it") }
        defer { close(descriptor) }
        _ = fsync(descriptor)
    }
}
