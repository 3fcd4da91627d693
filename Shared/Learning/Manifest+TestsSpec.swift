import Foundation

extension Manifest {
    /// The repository's own tests (`tests:`), run before training in the training sandbox; a
    /// failure fails the run at stage `tests`. See docs/manifest.md.
    public struct TestsSpec: Codable, Sendable, Equatable {
        public var command: [String]
        /// The Python environment's requirements (default: the model's, if any).
        public var requirements: String?
        /// `90s`, `10m`, `1h` (default `10m`).
        public var timeout: String?

        public init(command: [String], requirements: String? = nil, timeout: String? = nil) {
            self.command = command
            self.requirements = requirements
            self.timeout = timeout
        }

        /// The timeout as a duration, or nil when it does not parse.
        public var resolvedTimeout: Duration? { DurationText.parse(timeout ?? "10m") }

        func check() throws {
            if command.isEmpty || command[0].isEmpty {
                throw Problem(
                    key: "tests.command", problem: "must list the program and its arguments, e.g. [python3, -m, pytest]"
                )
            }
            if (resolvedTimeout.map { $0 > .seconds(24 * 3600) }) ?? true {
                throw Problem(key: "tests.timeout", problem: "must be a duration like 90s, 10m or 1h, at most 24h")
            }
            if let requirements,
                requirements.isEmpty || requirements.hasPrefix("/") || requirements.split(separator: "/").contains("..")
            {
                throw Problem(
                    key: "tests.requirements", problem: "must be a file inside the repository, got \"\(requirements)\"")
            }
        }
    }
}
