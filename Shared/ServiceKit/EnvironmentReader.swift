import Foundation
import Logging
import Synchronization

/// Reads typed settings from environment variables, failing with the name of
/// the variable and what is wrong with it.
public struct EnvironmentReader: Sendable {
    private let values: [String: String]
    private let recorder: EnvironmentRecorder?

    /// Reads from `values`; a `recorder` notes every name asked for.
    public init(_ values: [String: String] = ProcessInfo.processInfo.environment, recorder: EnvironmentRecorder? = nil)
    {
        self.values = values
        self.recorder = recorder
    }

    /// A non-empty string, or `nil`.
    public func string(_ name: String) -> String? {
        recorder?.note(name)
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// A required non-empty string.
    public func required(_ name: String) throws -> String {
        guard let value = string(name) else { throw ConfigurationError(variable: name, problem: "is required") }
        return value
    }

    /// An integer within `range`, or `defaultValue` when unset.
    public func int(_ name: String, default defaultValue: Int, range: ClosedRange<Int> = 0...Int.max) throws -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(
                variable: name, problem: "\"\(text)\" is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A duration (`15`, `2.5`, `15s`, `500ms`, `1m`, `1h`; a bare number is
    /// seconds), or `defaultValue` when unset. Below `minimum` (zero and
    /// negative durations included) is an error naming the variable: a zero
    /// poll interval or lease would make its loop spin.
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), or `defaultValue` when unset; anything
    /// else is an error naming the variable.
    public func bool(_ name: String, default defaultValue: Bool) throws -> Bool {
        guard let text = string(name)?.lowercased() else { return defaultValue }
        switch text {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(variable: name, problem: "\"\(text)\" is not true or false")
        }
    }

    public func duration(_ name: String, default defaultValue: Duration, minimum: Duration = .milliseconds(1))
        throws -> Duration
    {
        guard let text = string(name) else { return defaultValue }
        guard let value = Self.parseDuration(text) else {
            throw ConfigurationError(variable: name, problem: "\"\(text)\" is not a duration (e.g. 15, 15s, 500ms)")
        }
        guard value >= minimum else {
            throw ConfigurationError(variable: name, problem: "\"\(text)\" is shorter than the minimum \(minimum)")
        }
        return value
    }

    /// Parses `15`, `2.5`, `15s`, `500ms`, `1m`, `1h` (finite, non-negative).
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Double(text)
        var scale = 1.0
        if number == nil {
            for (suffix, unitScale) in units where text.hasSuffix(suffix) {
                number = Double(text.dropLast(suffix.count))
                scale = unitScale
                break
            }
        }
        guard let number, number.isFinite, number >= 0, number * scale < 1e9 else { return nil }
        return .milliseconds(Int64((number * scale * 1000).rounded()))
    }

    /// A swift-log level name, default `info`.
    public func logLevel(_ name: String = "LOG_LEVEL") throws -> Logger.Level {
        guard let text = string(name) else { return .info }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ConfigurationError(
                variable: name,
                problem: "\"\(text)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }
}
