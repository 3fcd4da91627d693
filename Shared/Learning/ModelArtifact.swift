import Crypto
import Foundation

/// A trained model as stored in `model.json` inside an artifact directory.
/// Self-describing: it carries its feature schema, metrics and reference
/// statistics, so `serving` needs nothing else to validate and predict.
public struct ModelArtifact: Codable, Sendable, Equatable {
    public static let format = "conveyor-model"
    public static let currentFormatVersion = 1

    public var format: String = ModelArtifact.format
    public var formatVersion: Int = ModelArtifact.currentFormatVersion
    public var name: String
    public var version: String
    public var task: Manifest.Task
    public var algorithm: String
    public var target: String
    public var features: [FeatureSpec]
    public var linear: LinearModel
    public var metrics: [String: Double]
    public var reference: [String: FeatureStatistics]
    public var trainedAt: Date

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case name, version, task, algorithm, target, features, linear,
            metrics, reference
        case trainedAt = "trained_at"
    }

    public init(
        name: String, version: String, task: Manifest.Task, algorithm: String, target: String,
        features: [FeatureSpec], linear: LinearModel, metrics: [String: Double],
        reference: [String: FeatureStatistics], trainedAt: Date
    ) {
        self.name = name
        self.version = version
        self.task = task
        self.algorithm = algorithm
        self.target = target
        self.features = features
        self.linear = linear
        self.metrics = metrics
        self.reference = reference
        self.trainedAt = trainedAt
    }

    /// Predicts an already-encoded row.
    public func predict(encoded row: [Double]) -> Double { linear.predict(row) }

    /// The encoder for this model's inputs.
    public var encoder: FeatureEncoder { FeatureEncoder(features: features) }
}

/// Summary of one numeric input in the training data, for drift checks.
public struct FeatureStatistics: Codable, Sendable, Equatable {
    public var count: Int
    public var mean: Double
    public var std: Double
    public var min: Double
    public var max: Double
    /// The 0, 10, …, 100th percentiles.
    public var deciles: [Double]

    public init(values: [Double]) {
        let sorted = values.sorted()
        count = sorted.count
        let average = sorted.reduce(0, +) / Double(Swift.max(1, sorted.count))
        mean = average
        let variance = sorted.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(Swift.max(1, sorted.count))
        std = variance.squareRoot()
        min = sorted.first ?? 0
        max = sorted.last ?? 0
        deciles = (0...10).map { decile in
            sorted.isEmpty ? 0 : sorted[Swift.min(sorted.count - 1, decile * (sorted.count - 1) / 10)]
        }
    }
}

/// Reads and writes artifact directories: `<root>/<name>/<version>/` holding
/// `model.json`, `manifest.yaml`, `metrics.json` and `reference.json`. A
/// directory is written under a temporary name, fsynced and renamed into
/// place, and never modified afterwards; its content hash detects tampering.
public enum ArtifactStore {
    public static let modelFile = "model.json"

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
            let files: [(String, Data)] = [
                (modelFile, try encoder.encode(artifact)),
                ("manifest.yaml", Data(manifestYAML.utf8)),
                ("metrics.json", try encoder.encode(artifact.metrics)),
                ("reference.json", try encoder.encode(artifact.reference)),
            ]
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
        let artifact = try decoder.decode(
            ModelArtifact.self, from: Data(contentsOf: directory.appendingPathComponent(modelFile)))
        guard artifact.format == ModelArtifact.format, artifact.formatVersion <= ModelArtifact.currentFormatVersion
        else {
            throw LoadError(problem: "unsupported artifact format \(artifact.format) v\(artifact.formatVersion)")
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
