import Foundation

/// A repository's own Python model inside an artifact (`model: {format: python}`):
/// the pickle the module's `train` returned, the module itself, and what a
/// replica needs to run it anywhere (the Python version and the frozen
/// requirements of the environment it was trained in). Its files sit beside
/// `model.json`; `directory` is where they are (the artifact's directory once
/// loaded, the training output before it is written).
public struct PythonModel: Codable, Sendable, Equatable {
    /// The module's file name in the artifact (`main.py`): classes it defines pickle under its name.
    public var module: String
    /// sha256 of `model.pkl`: the worker refuses to unpickle anything else.
    public var pickleSHA256: String
    /// `sys.version` of the interpreter that trained it.
    public var python: String
    /// `pip freeze` of the training environment: a replica builds its environment from these.
    public var requirements: [String]
    /// What the module's `evaluate` returned (shown, never gated on).
    public var reportedMetrics: [String: Double]
    /// One instance of the test data (a JSON array in feature order), answered before the model goes live.
    public var example: String?
    /// For an MLflow model: the files of its MLmodel directory, each kept as `mlflow.<name>`
    /// (then `module` is empty and `pickleSHA256` covers these files, see `MLflowFiles`).
    public var mlflowFiles: [String]?
    /// Where the files are; not stored.
    public var directory: URL?

    public static let pickleFile = "model.pkl"
    /// The files a Python model keeps beside `model.json` (besides the module).
    public static let files = [
        pickleFile, "model.format", "spec.json", "info.json", "reported_metrics.json", "environment.json",
    ]

    enum CodingKeys: String, CodingKey {
        case module, python, requirements, example
        case mlflowFiles = "mlflow_files"
        case pickleSHA256 = "pickle_sha256"
        case reportedMetrics = "reported_metrics"
    }

    public init(
        module: String, pickleSHA256: String, python: String, requirements: [String],
        reportedMetrics: [String: Double], example: String?, directory: URL?, mlflowFiles: [String]? = nil
    ) {
        self.mlflowFiles = mlflowFiles
        self.module = module
        self.pickleSHA256 = pickleSHA256
        self.python = python
        self.requirements = requirements
        self.reportedMetrics = reportedMetrics
        self.example = example
        self.directory = directory
    }

    /// The requirements file a replica installs (`pip freeze` output, one requirement per line).
    public var requirementsText: String { requirements.map { $0 + "\n" }.joined() }

    /// The file names to copy into the artifact.
    public var artifactFiles: [String] {
        if let mlflowFiles { return Self.describingFiles + mlflowFiles }
        return Self.files + [module]
    }

    /// The files without which the model cannot load.
    public var requiredFiles: [String] {
        if let mlflowFiles { return mlflowFiles + ["spec.json"] }
        return [Self.pickleFile, module, "spec.json"]
    }

    /// The files describing any Python model (what the worker reads and what is shown).
    public static let describingFiles = ["spec.json", "info.json", "reported_metrics.json", "environment.json"]

    /// `info()`'s dictionary as the worker wrote it (`info.json`), if any.
    public var info: Data? {
        directory.flatMap { FileManager.default.contents(atPath: $0.appendingPathComponent("info.json").path) }
    }
}
